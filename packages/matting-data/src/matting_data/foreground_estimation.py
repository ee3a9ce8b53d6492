"""Foreground colour estimation: given an image ``I`` and its alpha matte, find ``F`` (and ``B``)
with ``I ~= alpha * F + (1 - alpha) * B``.

Shapes and dtypes:

* ``image``: (H, W, 3) RGB, float in [0, 1] or uint8;
* ``alpha``: (H, W) or (H, W, 1), float in [0, 1] or uint8;
* returns ``F`` (and ``B``): (H, W, 3) float32 in [0, 1].

Methods of :func:`estimate_foreground`:

* ``"multilevel"`` (default) -- Germer, Uelwer, Conrad & Harmeling, "Fast Multi-Level
  Foreground Estimation" (ICPR 2020), through pymatting's ``estimate_foreground_ml``
  (optional dependency ``pymatting``, which brings numba; imported on first use). It solves
  the composite equation with a smoothness term weighted by the alpha gradient, coarse to fine.
* ``"blur_fusion"`` -- Forte & Pitie, "Approximate Fast Foreground Colour Estimation"
  (ICIP 2021), written here with OpenCV box filters: ``F_hat = F' + alpha * (I - alpha * F'
  - (1 - alpha) * B')`` where ``F'`` / ``B'`` are the alpha- / (1 - alpha)-weighted local means
  of F / B, starting from ``F = B = I``, applied twice (window 90, then 6 px: the paper's
  "Blur-Fusion x2"). Much faster, a little less accurate. ``B`` is returned as
  ``B' + (1 - alpha) * (I - alpha * F' - (1 - alpha) * B')`` (the same correction mirrored, a
  choice of this package; the paper only estimates F).

A torch re-implementation of the multi-level solver (vectorised red-black Gauss-Seidel) was
tried and left out: on the (2-core) CPU measured it was 2-4x slower than pymatting's numba
loop for the same accuracy (F error 0.98x); ``benchmarks/bench_foreground.py --torch``
re-measures it, also on a GPU (``--device cuda``).
"""

from __future__ import annotations

from typing import Literal, overload

import cv2
import numpy as np

from matting_data.errors import (
    MissingDependencyError,
    SizeMismatchError,
    UnsupportedImageError,
)

__all__ = [
    "BLUR_FUSION_SIZES",
    "FOREGROUND_METHODS",
    "ForegroundMethod",
    "MissingDependencyError",
    "estimate_foreground",
    "estimate_foreground_blur_fusion",
]

ForegroundMethod = Literal["multilevel", "blur_fusion"]
FOREGROUND_METHODS: tuple[str, ...] = ("multilevel", "blur_fusion")

#: Box-filter window sizes (pixels) of the two Blur-Fusion passes (Forte & Pitie 2021).
BLUR_FUSION_SIZES: tuple[int, ...] = (90, 6)
_EPS = 1e-5


@overload
def estimate_foreground(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    method: ForegroundMethod = ...,
    return_background: Literal[False] = ...,
    regularization: float = ...,
    gradient_weight: float = ...,
    n_small_iterations: int = ...,
    n_big_iterations: int = ...,
    small_size: int = ...,
    blur_sizes: tuple[int, ...] = ...,
) -> np.ndarray: ...


@overload
def estimate_foreground(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    method: ForegroundMethod = ...,
    return_background: Literal[True],
    regularization: float = ...,
    gradient_weight: float = ...,
    n_small_iterations: int = ...,
    n_big_iterations: int = ...,
    small_size: int = ...,
    blur_sizes: tuple[int, ...] = ...,
) -> tuple[np.ndarray, np.ndarray]: ...


def estimate_foreground(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    method: ForegroundMethod = "multilevel",
    return_background: bool = False,
    regularization: float = 1e-5,
    gradient_weight: float = 1.0,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
    blur_sizes: tuple[int, ...] = BLUR_FUSION_SIZES,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Estimate the foreground colours (and optionally the background) of a matted image.

    Args:
        image: (H, W, 3) RGB image, float in [0, 1] or uint8.
        alpha: (H, W) or (H, W, 1) matte, float in [0, 1] or uint8.
        method: ``"multilevel"`` (pymatting, default) or ``"blur_fusion"``.
        return_background: also return the background estimate.
        regularization, gradient_weight, n_small_iterations, n_big_iterations, small_size:
            ``"multilevel"`` options, pymatting's defaults (smoothness ``regularization +
            gradient_weight * |alpha_i - alpha_j|``; iterations per level on levels up to /
            above ``small_size`` pixels).
        blur_sizes: ``"blur_fusion"`` box-window sizes, one pass each (default (90, 6)).

    Returns:
        ``F`` (H, W, 3) float32 in [0, 1], or ``(F, B)`` with ``return_background=True``.

    Raises:
        MissingDependencyError: ``method="multilevel"`` without pymatting installed.
        SizeMismatchError: image and alpha differ in size.
        UnsupportedImageError: bad shape, dtype or values.
        ValueError: unknown ``method`` or bad options.
    """
    if method not in FOREGROUND_METHODS:
        raise ValueError(f"method must be one of {FOREGROUND_METHODS}, got {method!r}.")
    image32, alpha32 = _prepare(image, alpha)
    if method == "blur_fusion":
        fg, bg = estimate_foreground_blur_fusion(image32, alpha32, sizes=blur_sizes)
    else:
        fg, bg = _multilevel_pymatting(
            image32,
            alpha32,
            regularization=regularization,
            gradient_weight=gradient_weight,
            n_small_iterations=n_small_iterations,
            n_big_iterations=n_big_iterations,
            small_size=small_size,
        )
    return (fg, bg) if return_background else fg


def estimate_foreground_blur_fusion(
    image: np.ndarray, alpha: np.ndarray, *, sizes: tuple[int, ...] = BLUR_FUSION_SIZES
) -> tuple[np.ndarray, np.ndarray]:
    """Blur-Fusion foreground (and background) estimation (Forte & Pitie 2021).

    Args:
        image: (H, W, 3) RGB, float in [0, 1] or uint8.
        alpha: (H, W) or (H, W, 1), float in [0, 1] or uint8.
        sizes: box-filter window size of each pass, in pixels (>= 1); the first pass starts
            from ``F = B = image``, each later pass from the previous pass's ``F_hat`` and
            ``B'`` (the smooth background mean).

    Returns:
        ``(F, B)``: (H, W, 3) float32 in [0, 1] each.
    """
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be a non-empty tuple of integers >= 1, got {sizes!r}.")
    image32, alpha32 = _prepare(image, alpha)
    a = alpha32[:, :, None]
    fg = bg = image32
    for size in sizes:
        window = (size, size)
        blurred_a = cv2.blur(alpha32, window)[:, :, None]
        mean_fg = cv2.blur(fg * a, window) / (blurred_a + _EPS)
        mean_bg = cv2.blur(bg * (1.0 - a), window) / ((1.0 - blurred_a) + _EPS)
        residual = image32 - a * mean_fg - (1.0 - a) * mean_bg
        fg = np.clip(mean_fg + a * residual, 0.0, 1.0)
        bg_hat = mean_bg + (1.0 - a) * residual
        bg = mean_bg  # the next pass starts from the smooth background, as in the paper
    return fg.astype(np.float32), np.clip(bg_hat, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- helpers


def _prepare(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate; return C-contiguous float32 image (H, W, 3) and alpha (H, W) in [0, 1]."""
    image, alpha = np.asarray(image), np.asarray(alpha)
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise UnsupportedImageError(
            f"image has shape {image.shape}, but a non-empty (H, W, 3) array is expected."
        )
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[:, :, 0]
    if alpha.ndim != 2:
        raise UnsupportedImageError(
            f"alpha has shape {alpha.shape}, but (H, W) or (H, W, 1) is expected."
        )
    if alpha.shape != image.shape[:2]:
        raise SizeMismatchError(
            f"alpha is {alpha.shape[0]}x{alpha.shape[1]} (HxW) but image is "
            f"{image.shape[0]}x{image.shape[1]}."
        )
    return _unit_float32(image, "image"), _unit_float32(alpha, "alpha")


def _unit_float32(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array, dtype=np.float32) / np.float32(255.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise UnsupportedImageError(
            f"{name} has dtype {array.dtype}, but uint8 or float in [0, 1] is expected."
        )
    if not np.isfinite(array).all():
        raise UnsupportedImageError(f"{name} contains NaN or infinite values.")
    lo, hi = float(array.min()), float(array.max())
    if lo < 0.0 or hi > 1.0:
        raise UnsupportedImageError(
            f"{name} values must lie in [0, 1], but they span [{lo:.6g}, {hi:.6g}]."
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def _multilevel_pymatting(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    regularization: float,
    gradient_weight: float,
    n_small_iterations: int,
    n_big_iterations: int,
    small_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    for name, value in (
        ("n_small_iterations", n_small_iterations),
        ("n_big_iterations", n_big_iterations),
        ("small_size", small_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
    if not (regularization >= 0.0 and gradient_weight >= 0.0):
        raise ValueError("regularization and gradient_weight must be >= 0.")
    try:
        from pymatting import estimate_foreground_ml
    except ImportError as exc:
        raise MissingDependencyError(
            "method='multilevel' needs the pymatting package (pip install pymatting); "
            "method='blur_fusion' works without it."
        ) from exc
    fg, bg = estimate_foreground_ml(
        image,
        alpha,
        regularization=float(regularization),
        n_small_iterations=int(n_small_iterations),
        n_big_iterations=int(n_big_iterations),
        small_size=int(small_size),
        return_background=True,
        gradient_weight=float(gradient_weight),
    )
    return np.asarray(fg, dtype=np.float32), np.asarray(bg, dtype=np.float32)
