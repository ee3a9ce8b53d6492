"""The options of the five classical methods: one frozen dataclass each.

Every field is a real parameter of the solve and can be set from the command line
(``matting predict --model closed-form --set epsilon=1e-6``) or from Python
(``create_model("closed-form", epsilon=1e-6)``).  The defaults are pymatting's, so a default
model gives pymatting's ``estimate_alpha_*`` result on every image that fits ``max_pixels``.

:class:`SolverConfig` holds what all five share: the conjugate-gradient stopping rule and the
limits that keep memory and time bounded on large photos (see :mod:`matting_classical.tiling`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from matting_core.errors import ConfigError

__all__ = [
    "ClosedFormConfig",
    "KNNConfig",
    "LargeKernelConfig",
    "LearningBasedConfig",
    "RandomWalkConfig",
    "SolverConfig",
]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


#: The lower bound of every numeric option, checked wherever a config has the option.
_LOWER_BOUNDS: dict[str, tuple[float, bool]] = {  # name: (bound, strictly greater)
    "epsilon": (0.0, True),
    "sigma": (0.0, True),
    "constraint_weight": (0.0, True),
    "regularization": (0.0, False),
    "preconditioner_threshold": (0.0, False),
    "radius": (1, False),
    "max_iterations": (1, False),
    "tile_margin": (0, False),
}


@dataclass(frozen=True)
class SolverConfig:
    """What every classical method shares: the linear solve and its memory and time limits.

    :param tolerance: conjugate gradient stops when the residual norm falls below
        ``tolerance`` times the norm of the right-hand side (pymatting's ``rtol``).
    :param max_iterations: conjugate gradient stops after this many iterations even if the
        tolerance is not reached; the matte is then the last iterate and a
        :class:`~matting_classical.ConvergenceWarning` says so.
    :param max_pixels: the largest image solved in one piece.  A larger image is solved
        coarse-to-fine: once downscaled to at most ``max_pixels``, then at full resolution in
        overlapping tiles of at most ``max_pixels`` each, so the solver's memory is bounded by
        this number whatever the photo's size (the defaults are set per method from measured
        peak memory, about 1-2 GiB; see ``benchmarks/bench_classical.py``).
    :param tile_margin: pixels of context each tile solves beyond the part it keeps; the
        outer ring of that context is held at the coarse solution.
    :param progress: show a progress bar (rate and ETA) on stderr for solves that take longer
        than a second.
    """

    tolerance: float = 1e-7
    max_iterations: int = 10000
    max_pixels: int = 1_000_000
    tile_margin: int = 32
    progress: bool = True

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name in _LOWER_BOUNDS:
                bound, strict = _LOWER_BOUNDS[field.name]
                value = getattr(self, field.name)
                _require(
                    value > bound if strict else value >= bound,
                    f"{field.name} must be {'>' if strict else '>='} {bound}, got {value}",
                )
        _require(0.0 < self.tolerance < 1.0, f"tolerance must be in (0, 1), got {self.tolerance}")
        side = math.isqrt(max(self.max_pixels, 0))
        _require(
            side - 2 * self.tile_margin >= max(16, self.tile_margin),
            f"max_pixels={self.max_pixels} leaves no room for tiles with "
            f"tile_margin={self.tile_margin}: need sqrt(max_pixels) >= 3 * tile_margin and >= "
            f"2 * tile_margin + 16",
        )

    @property
    def tile_size(self) -> int:
        """Side of the part of a tile that is kept: ``isqrt(max_pixels) - 2 * tile_margin``."""
        return math.isqrt(self.max_pixels) - 2 * self.tile_margin


@dataclass(frozen=True)
class ClosedFormConfig(SolverConfig):
    """Closed-form matting (Levin, Lischinski & Weiss 2008).

    :param epsilon: regularisation ε of the local colour-line model (pymatting's default
        1e-7); larger values give smoother mattes.
    :param radius: windows are ``(2 radius + 1)^2`` pixels (the paper's 3x3 for radius 1).
    :param preconditioner_threshold: entries the incomplete Cholesky preconditioner drops
        (pymatting's ``ichol`` ``discard_threshold``); smaller is a better but larger
        preconditioner.
    """

    epsilon: float = 1e-7
    radius: int = 1
    preconditioner_threshold: float = 1e-4


@dataclass(frozen=True)
class KNNConfig(SolverConfig):
    """KNN matting (Chen, Li & Tang 2013), pymatting's variant: features are RGB and the
    pixel position scaled to [0, 1] and weighted, not the paper's HSV.

    :param n_neighbors: neighbours per pixel, one entry per neighbour search; the searches
        are merged (pymatting's default (20, 10): 20 mostly by colour, 10 mostly by position).
    :param distance_weights: weight of the pixel position in each search's feature vector,
        one per entry of ``n_neighbors``.
    :param kernel: affinity of two neighbours: ``binary`` (1, pymatting's default) or
        ``soft`` (``1 - ||f_i - f_j||_1 / 5`` over the 5 features, pymatting's form of the
        paper's ``1 - ||X(i) - X(j)|| / C``).
    :param constraint_weight: λ, the weight of the trimap's known pixels in the system
        ``(L + λ D) α = λ b``.
    """

    n_neighbors: tuple[int, ...] = (20, 10)
    distance_weights: tuple[float, ...] = (2.0, 0.1)
    kernel: Literal["binary", "soft"] = "binary"
    constraint_weight: float = 100.0
    max_pixels: int = 550_000

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            len(self.n_neighbors) >= 1 and len(self.n_neighbors) == len(self.distance_weights),
            "n_neighbors and distance_weights need the same number (>= 1) of entries, got "
            f"{self.n_neighbors} and {self.distance_weights}",
        )
        _require(
            all(k >= 1 for k in self.n_neighbors), f"n_neighbors must be >= 1: {self.n_neighbors}"
        )
        _require(
            all(w >= 0 for w in self.distance_weights),
            f"distance_weights must be >= 0: {self.distance_weights}",
        )
        _require(
            self.kernel in ("binary", "soft"), f"kernel must be binary or soft, got {self.kernel!r}"
        )


@dataclass(frozen=True)
class LargeKernelConfig(SolverConfig):
    """Large-kernel matting (He, Sun & Tang 2010): the closed-form Laplacian of large windows,
    applied through box filters without being stored.

    :param epsilon: regularisation of the colour-line model, as closed-form's.
    :param radius: windows are ``(2 radius + 1)^2`` pixels (pymatting's default 10).
    :param constraint_weight: λ, the weight of the trimap's known pixels.
    """

    epsilon: float = 1e-7
    radius: int = 10
    constraint_weight: float = 100.0


@dataclass(frozen=True)
class RandomWalkConfig(SolverConfig):
    """Random-walk matting (Grady, Schiwietz, Aharon & Westermann 2005).

    :param sigma: colour scale of the edge weights ``exp(-||I_i - I_j||^2 / sigma^2)``.  The
        default 1/30 is the value pymatting's ``rw_laplacian`` hard-codes (it ignores its own
        ``sigma`` argument); here the option is honoured.
    :param radius: each pixel is linked to the ``(2 radius + 1)^2`` pixels around it.
    :param regularization: added to the Laplacian's diagonal (pymatting's default 1e-8).
    :param constraint_weight: λ, the weight of the trimap's known pixels.
    """

    sigma: float = 1.0 / 30.0
    radius: int = 1
    regularization: float = 1e-8
    constraint_weight: float = 100.0


@dataclass(frozen=True)
class LearningBasedConfig(SolverConfig):
    """Learning-based digital matting (Zheng & Kambhamettu 2009): a kernel ridge regression of
    alpha on colour in each window.

    :param epsilon: the ridge regularisation of each window's regression.
    :param radius: windows are ``(2 radius + 1)^2`` pixels.
    :param constraint_weight: λ, the weight of the trimap's known pixels.
    :param preconditioner_threshold: incomplete Cholesky drop threshold, as closed-form's.
    """

    epsilon: float = 1e-7
    radius: int = 1
    constraint_weight: float = 100.0
    preconditioner_threshold: float = 1e-4
    max_pixels: int = 750_000
