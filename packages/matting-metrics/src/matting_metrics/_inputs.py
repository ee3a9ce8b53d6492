"""Validation and conversion of metric inputs (internal).

Every public function goes through :func:`prepare` (or :func:`as_alpha` / :func:`as_trimap`),
so all metrics accept and reject exactly the same inputs.

Accepted alpha mattes: (H, W) or (H, W, 1) arrays, either uint8 on the 0..255 scale or
floating point on the 0..1 scale (finite, within [0, 1]). Accepted trimaps: same shapes,
uint8 with values in {0, 128, 255} or floating point with values in {0, 0.5, 1}; the unknown
region U is ``trimap == 128`` (uint8) or ``trimap == 0.5`` (float).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matting_metrics.errors import MetricInputError

__all__ = [
    "CONVENTIONS",
    "MatteInputs",
    "as_alpha",
    "as_trimap",
    "check_convention",
    "prepare",
    "to_255",
    "trimap_regions",
]

#: Accepted values of the ``convention`` keyword.
CONVENTIONS: tuple[str, ...] = ("dim", "mmagic")

_TRIMAP_U8_VALUES = (0, 128, 255)
_TRIMAP_FLOAT_VALUES = (0.0, 0.5, 1.0)


def check_convention(convention: str) -> str:
    """Return ``convention`` if it is one of :data:`CONVENTIONS`, else raise."""
    if convention not in CONVENTIONS:
        raise MetricInputError(
            f"convention must be one of {', '.join(map(repr, CONVENTIONS))}, got {convention!r}"
        )
    return convention


def _as_2d(array: ArrayLike, name: str) -> np.ndarray:
    """``array`` as an ndarray of shape (H, W); (H, W, 1) is squeezed, anything else raises."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        raise MetricInputError(
            f"{name} has {arr.shape[2]} channels (shape {arr.shape}), "
            "but a single-channel (H, W) array is required"
        )
    if arr.ndim != 2:
        raise MetricInputError(f"{name} must be a 2-D (H, W) array, got shape {arr.shape}")
    if arr.size == 0:
        raise MetricInputError(f"{name} is empty (shape {arr.shape})")
    return arr


def as_alpha(array: ArrayLike, name: str) -> np.ndarray:
    """Validate an alpha matte.

    Args:
        array: (H, W) or (H, W, 1); uint8 in 0..255, or floating point in [0, 1].
        name: how error messages call the argument (``"prediction"``, ``"ground truth"``).

    Returns:
        The (H, W) array, dtype unchanged (no copy when none is needed).

    Raises:
        MetricInputError: wrong shape, dtype, NaN, or a float value outside [0, 1].
    """
    arr = _as_2d(array, name)
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise MetricInputError(
            f"{name} has dtype {arr.dtype}, but uint8 (0..255) or floating point (0..1) is required"
        )
    lo, hi = float(np.min(arr)), float(np.max(arr))  # NaN propagates into both
    if np.isnan(lo) or np.isnan(hi):
        raise MetricInputError(f"{name} contains NaN")
    if lo < 0.0 or hi > 1.0:
        raise MetricInputError(
            f"{name} is floating point with values in [{lo:g}, {hi:g}], "
            "but floating-point alphas must lie in [0, 1] (pass uint8 for the 0..255 scale)"
        )
    return arr


def as_trimap(array: ArrayLike) -> np.ndarray:
    """Validate a trimap.

    Args:
        array: (H, W) or (H, W, 1); uint8 with values in {0, 128, 255}, or floating point
            with values in {0, 0.5, 1}.

    Returns:
        The (H, W) array, dtype unchanged.

    Raises:
        MetricInputError: wrong shape or dtype, or any other value.
    """
    arr = _as_2d(array, "trimap")
    if arr.dtype == np.uint8:
        allowed: tuple[float, ...] = _TRIMAP_U8_VALUES
    elif np.issubdtype(arr.dtype, np.floating):
        allowed = _TRIMAP_FLOAT_VALUES
    else:
        raise MetricInputError(
            f"trimap has dtype {arr.dtype}, but uint8 with values {{0, 128, 255}} or "
            "floating point with values {0, 0.5, 1} is required"
        )
    bad = arr != allowed[0]
    for value in allowed[1:]:
        bad &= arr != value
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        example = arr[bad].flat[0]
        raise MetricInputError(
            f"trimap has {n_bad} pixels with values outside "
            f"{{{', '.join(f'{v:g}' for v in allowed)}}} (e.g. {example:g})"
        )
    return arr


def trimap_regions(trimap: np.ndarray) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Known-background and known-foreground masks of a validated trimap.

    Returns:
        ``(background, foreground)``, each a (H, W) bool array.
    """
    if trimap.dtype == np.uint8:
        return trimap == 0, trimap == 255
    return trimap == 0.0, trimap == 1.0


def _unknown(trimap: np.ndarray) -> NDArray[np.bool_]:
    return trimap == (128 if trimap.dtype == np.uint8 else 0.5)


def to_255(alpha: np.ndarray) -> NDArray[np.float64]:
    """A validated alpha (or a gathered 1-D selection of one) as float64 on the 0..255 scale.

    uint8 values are taken as they are; floats are multiplied by 255 and *not* rounded.
    """
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float64)
    return alpha.astype(np.float64) * 255.0


@dataclass(frozen=True)
class MatteInputs:
    """Validated inputs of one image.

    Attributes:
        pred: (H, W) prediction, uint8 or float, as given (squeezed).
        gt: (H, W) ground truth, uint8 or float, as given (squeezed).
        unknown: (H, W) bool, the unknown region U.
        unknown_index: (|U|,) intp, flat row-major indices of U in increasing order.
    """

    pred: np.ndarray
    gt: np.ndarray
    unknown: NDArray[np.bool_]
    unknown_index: NDArray[np.intp]

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W)."""
        return self.pred.shape  # type: ignore[return-value]

    def pred_u(self) -> NDArray[np.float64]:
        """Prediction on U, float64 on the 0..255 scale, row-major order."""
        return to_255(self.pred.ravel()[self.unknown_index])

    def gt_u(self) -> NDArray[np.float64]:
        """Ground truth on U, float64 on the 0..255 scale, row-major order."""
        return to_255(self.gt.ravel()[self.unknown_index])


def prepare(pred: ArrayLike, gt: ArrayLike, trimap: ArrayLike) -> MatteInputs:
    """Validate a (prediction, ground truth, trimap) triple; see the module docstring.

    Raises:
        MetricInputError: any array is invalid, or the shapes differ.
    """
    p = as_alpha(pred, "prediction")
    g = as_alpha(gt, "ground truth")
    if p.shape != g.shape:
        raise MetricInputError(
            f"prediction has shape {p.shape} but ground truth has shape {g.shape}"
        )
    t = as_trimap(trimap)
    if t.shape != p.shape:
        raise MetricInputError(f"trimap has shape {t.shape} but prediction has shape {p.shape}")
    unknown = _unknown(t)
    return MatteInputs(p, g, unknown, np.flatnonzero(unknown))
