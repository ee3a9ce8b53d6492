"""The five classical solves: a matting Laplacian from pymatting, constraints, conjugate gradient.

Each function solves one image (or one tile) whole:

    solve(image, known, values, config, x0=None, desc=..., progress=False, frame=None) -> alpha

with ``image`` (H, W, 3) float64 RGB in [0, 1], ``known`` (H, W) bool the pixels whose alpha is
given, ``values`` (H, W) float64 that alpha where ``known`` (0 / 1 for a trimap; a tile's
border also carries the fractional coarse solution, see :mod:`matting_classical.tiling`), and
``x0`` an optional first iterate, ``frame`` the (height, width) of the whole image when the
image is a tile of it (only KNN, whose features hold the pixel position, needs it).  The
result is (H, W) float64 clipped to [0, 1].

The Laplacians, preconditioners and the conjugate gradient are pymatting's; what is written
here is how the known pixels constrain them, which pymatting hard-wires to a 0/1 trimap:

- closed-form fixes the known pixels exactly and solves ``L_UU α_U = -L_UK α_K`` over the
  unknown ones (as pymatting's ``estimate_alpha_cf``);
- the other four solve ``(L + λ D) α = λ D v`` over all pixels, ``D`` the diagonal of known
  pixels and ``v`` their values (pymatting's ``make_linear_system``, λ = ``constraint_weight``).

With a 0/1 trimap and the default config each function gives pymatting's
``estimate_alpha_*`` result (the tests check it on real photos).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse
from pymatting.laplacian.cf_laplacian import cf_laplacian
from pymatting.laplacian.lbdm_laplacian import lbdm_laplacian
from pymatting.laplacian.lkm_laplacian import lkm_laplacian
from pymatting.preconditioner.ichol import ichol
from pymatting.preconditioner.jacobi import jacobi
from pymatting.util.kdtree import knn as nearest_neighbours
from pymatting.util.util import normalize_rows, weights_to_laplacian

from matting_classical.config import (
    ClosedFormConfig,
    KNNConfig,
    LargeKernelConfig,
    LearningBasedConfig,
    RandomWalkConfig,
    SolverConfig,
)
from matting_classical.conjugate_gradient import conjugate_gradient

__all__ = [
    "Solve",
    "closed_form",
    "knn",
    "knn_laplacian",
    "large_kernel",
    "learning_based",
    "random_walk",
    "random_walk_weights",
]


class Solve(Protocol):
    """The signature every method in this module has."""

    def __call__(
        self,
        image: np.ndarray,
        known: np.ndarray,
        values: np.ndarray,
        config: SolverConfig,
        x0: np.ndarray | None = None,
        desc: str = "",
        progress: bool = False,
        frame: tuple[int, int] | None = None,
    ) -> np.ndarray: ...


def closed_form(
    image: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    config: ClosedFormConfig,
    x0: np.ndarray | None = None,
    desc: str = "closed-form",
    progress: bool = False,
    frame: tuple[int, int] | None = None,
) -> np.ndarray:
    """Closed-form matting (Levin et al. 2008): known pixels fixed exactly, unknown solved.

    The matting Laplacian is built only for windows that contain an unknown pixel, the
    system ``L_UU α_U = -L_UK α_K`` is preconditioned with an incomplete Cholesky factor.
    """
    height, width = known.shape
    is_known = known.ravel()
    is_unknown = ~is_known
    alpha = values.astype(np.float64, copy=True).ravel()
    if is_unknown.any():
        laplacian = cf_laplacian(image, config.epsilon, config.radius, is_known=known)
        rows = laplacian[is_unknown, :]
        system = rows[:, is_unknown]
        rhs = -rows[:, is_known].dot(alpha[is_known])
        alpha[is_unknown] = conjugate_gradient(
            system,
            rhs,
            preconditioner=ichol(system, discard_threshold=config.preconditioner_threshold),
            x0=None if x0 is None else x0.ravel()[is_unknown].astype(np.float64),
            tolerance=config.tolerance,
            max_iterations=config.max_iterations,
            desc=desc,
            progress=progress,
        )
    return np.clip(alpha, 0.0, 1.0).reshape(height, width)


def _solve_constrained(
    laplacian: scipy.sparse.spmatrix,
    known: np.ndarray,
    values: np.ndarray,
    config: SolverConfig,
    weight: float,
    preconditioner: str,
    x0: np.ndarray | None,
    desc: str,
    progress: bool,
    preconditioner_threshold: float = 1e-4,
) -> np.ndarray:
    """Solve ``(L + λ D) α = λ D v`` (pymatting's ``make_linear_system``) and clip."""
    constraint = weight * known.ravel().astype(np.float64)
    system = (laplacian + scipy.sparse.diags(constraint)).tocsr()
    system.sum_duplicates()
    if preconditioner == "ichol":
        apply_preconditioner = ichol(system, discard_threshold=preconditioner_threshold)
    else:
        apply_preconditioner = jacobi(system)
    alpha = conjugate_gradient(
        system,
        constraint * values.ravel(),
        preconditioner=apply_preconditioner,
        x0=None if x0 is None else x0.ravel().astype(np.float64),
        tolerance=config.tolerance,
        max_iterations=config.max_iterations,
        desc=desc,
        progress=progress,
    )
    return np.clip(alpha, 0.0, 1.0).reshape(known.shape)


def knn_laplacian(
    image: np.ndarray,
    n_neighbors: tuple[int, ...],
    distance_weights: tuple[float, ...],
    kernel: str,
    frame: tuple[int, int] | None = None,
) -> scipy.sparse.csr_matrix:
    """The KNN matting Laplacian ``I - D^-1 W`` as pymatting's ``knn_laplacian`` builds it.

    Each pixel's feature is its RGB colour and its position, column and row scaled to [0, 1]
    across the image and weighted; for every ``(k, weight)`` of ``zip(n_neighbors,
    distance_weights)`` each pixel is linked to its ``k`` nearest neighbours in feature space
    (pymatting's k-d tree) with affinity 1 (``binary``) or ``1 - ||f_i - f_j||_1 / 5``
    (``soft``); the links are symmetrised and the rows normalised.

    ``frame`` is the (height, width) of the whole image when ``image`` is a tile of it:
    positions are then scaled by the whole image's size, so that a tile's neighbours are the
    ones they are in the whole image (pymatting's function scales by the tile's own size).
    """
    height, width = image.shape[:2]
    frame_height, frame_width = frame if frame is not None else (height, width)
    n = height * width
    # the same positions as pymatting's np.linspace(0, 1, width) for a whole image
    column_positions = np.tile(np.linspace(0.0, 1.0, frame_width)[:width], height)
    row_positions = np.repeat(np.linspace(0.0, 1.0, frame_height)[:height], width)
    colours = image.reshape(n, 3)
    sources, targets, affinities = [], [], []
    for k, weight in zip(n_neighbors, distance_weights, strict=True):
        features = np.empty((n, 5), np.float32)
        features[:, :3] = colours
        features[:, 3] = weight * column_positions
        features[:, 4] = weight * row_positions
        _, neighbours = nearest_neighbours(features, features, k=k)
        source = np.repeat(np.arange(n), k)
        target = neighbours.ravel()
        affinity = np.ones(n * k)
        if kernel == "soft":
            affinity -= np.abs(features[source] - features[target]).sum(axis=1) / 5
        sources.append(source)
        targets.append(target)
        affinities.append(affinity)
    # W + W^T, duplicates summed by the constructor
    weights = scipy.sparse.csr_matrix(
        (
            np.concatenate(affinities * 2),
            (np.concatenate(sources + targets), np.concatenate(targets + sources)),
        ),
        shape=(n, n),
    )
    return scipy.sparse.identity(n) - normalize_rows(weights)


def knn(
    image: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    config: KNNConfig,
    x0: np.ndarray | None = None,
    desc: str = "knn",
    progress: bool = False,
    frame: tuple[int, int] | None = None,
) -> np.ndarray:
    """KNN matting (Chen et al. 2013): :func:`knn_laplacian`, Jacobi-preconditioned."""
    laplacian = knn_laplacian(
        image, config.n_neighbors, config.distance_weights, config.kernel, frame
    )
    return _solve_constrained(
        laplacian, known, values, config, config.constraint_weight, "jacobi", x0, desc, progress
    )


def large_kernel(
    image: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    config: LargeKernelConfig,
    x0: np.ndarray | None = None,
    desc: str = "lkm",
    progress: bool = False,
    frame: tuple[int, int] | None = None,
) -> np.ndarray:
    """Large-kernel matting (He et al. 2010): the closed-form Laplacian of
    ``(2 radius + 1)^2`` windows applied by box filters (never stored), Jacobi-preconditioned
    by its diagonal (as pymatting's ``estimate_alpha_lkm``)."""
    apply_laplacian, diagonal = lkm_laplacian(image, config.epsilon, config.radius)
    constraint = config.constraint_weight * known.ravel().astype(np.float64)
    inverse_diagonal = 1.0 / (diagonal + constraint)
    alpha = conjugate_gradient(
        lambda x: apply_laplacian(x) + constraint * x,
        constraint * values.ravel(),
        preconditioner=lambda x: inverse_diagonal * x,
        x0=None if x0 is None else x0.ravel().astype(np.float64),
        tolerance=config.tolerance,
        max_iterations=config.max_iterations,
        desc=desc,
        progress=progress,
    )
    return np.clip(alpha, 0.0, 1.0).reshape(known.shape)


def random_walk_weights(image: np.ndarray, sigma: float, radius: int) -> scipy.sparse.csr_matrix:
    """Random-walk edge weights ``exp(-||I_i - I_j||^2 / sigma^2)`` to every pixel ``j`` in the
    ``(2 radius + 1)^2`` window around ``i`` (the pixel itself included; offsets past the
    border are clamped to it, as in pymatting's ``rw_laplacian``).

    Args:
        image: (H, W, 3) float RGB.
        sigma: colour scale.
        radius: window radius.

    Returns:
        (H*W, H*W) sparse weights, row ``i`` the neighbours of pixel ``i`` (row-major).
    """
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    index = (ys * width + xs).ravel()
    rows, cols, weights = [], [], []
    for dy in range(-radius, radius + 1):
        ny = np.clip(ys + dy, 0, height - 1)
        for dx in range(-radius, radius + 1):
            nx = np.clip(xs + dx, 0, width - 1)
            difference = image - image[ny, nx]
            distance = np.einsum("hwc,hwc->hw", difference, difference)
            rows.append(index)
            cols.append((ny * width + nx).ravel())
            weights.append(np.exp(-distance.ravel() / sigma**2))
    n = height * width
    return scipy.sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def random_walk(
    image: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    config: RandomWalkConfig,
    x0: np.ndarray | None = None,
    desc: str = "random-walk",
    progress: bool = False,
    frame: tuple[int, int] | None = None,
) -> np.ndarray:
    """Random-walk matting (Grady et al. 2005): the random-walk Laplacian of colour-similarity
    weights (:func:`random_walk_weights`), rows normalised, Jacobi-preconditioned."""
    weights = random_walk_weights(image, config.sigma, config.radius)
    laplacian = weights_to_laplacian(weights, regularization=config.regularization)
    return _solve_constrained(
        laplacian, known, values, config, config.constraint_weight, "jacobi", x0, desc, progress
    )


def learning_based(
    image: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    config: LearningBasedConfig,
    x0: np.ndarray | None = None,
    desc: str = "lbdm",
    progress: bool = False,
    frame: tuple[int, int] | None = None,
) -> np.ndarray:
    """Learning-based digital matting (Zheng & Kambhamettu 2009): the Laplacian of a local
    kernel ridge regression, incomplete-Cholesky-preconditioned."""
    laplacian = lbdm_laplacian(image, config.epsilon, config.radius)
    return _solve_constrained(
        laplacian,
        known,
        values,
        config,
        config.constraint_weight,
        "ichol",
        x0,
        desc,
        progress,
        config.preconditioner_threshold,
    )
