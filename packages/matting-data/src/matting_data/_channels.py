"""Internal helpers on channel layout and dtype scale of decoded arrays."""

from __future__ import annotations

import numpy as np

from matting_data.errors import UnsupportedImageError

__all__ = ["as_hwc", "dtype_scale", "unequal_channels"]


def as_hwc(array: np.ndarray, *, source: str) -> np.ndarray:
    """Return ``array`` as (H, W, C) with C in {1, 3, 4} (a view, no copy).

    Raises:
        UnsupportedImageError: not 2-D or 3-D, or a channel count other than 1, 3, 4.
    """
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        return array
    raise UnsupportedImageError(
        f"{source} has shape {array.shape}, but (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) "
        "is expected."
    )


def dtype_scale(array: np.ndarray, *, source: str) -> float:
    """Return the value that means "full intensity" for ``array``'s dtype.

    uint8 -> 255, uint16 -> 65535, float16/32/64 -> 1.0 (values must be finite and in [0, 1]).

    Raises:
        UnsupportedImageError: any other dtype, or a float array outside [0, 1] / non-finite.
    """
    if array.dtype == np.uint8:
        return 255.0
    if array.dtype == np.uint16:
        return 65535.0
    if np.issubdtype(array.dtype, np.floating):
        if array.size and not (
            np.isfinite(array).all() and array.min() >= 0.0 and array.max() <= 1.0
        ):
            raise UnsupportedImageError(
                f"{source} holds floating-point values that are not finite numbers in [0, 1]."
            )
        return 1.0
    raise UnsupportedImageError(
        f"{source} has dtype {array.dtype}, but uint8, uint16 or float in [0, 1] is expected."
    )


def unequal_channels(colour: np.ndarray) -> tuple[int, tuple[int | float, ...] | None]:
    """Count pixels of an (H, W, C) array whose channels are not all equal.

    Returns:
        ``(count, example)`` where ``example`` is the channel values of the first such pixel
        (in the array's channel order), or ``None`` if the count is 0.
    """
    differs = (colour != colour[:, :, :1]).any(axis=2)
    count = int(np.count_nonzero(differs))
    if count == 0:
        return 0, None
    row, col = np.unravel_index(int(differs.argmax()), differs.shape)
    return count, tuple(v.item() for v in colour[row, col])
