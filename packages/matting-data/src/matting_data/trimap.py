"""Trimap value normalisation: map the many trimap encodings found in the wild to {0, 128, 255}.

Convention of this package: ``0`` = background, ``128`` = unknown, ``255`` = foreground, dtype
uint8, shape (H, W).
"""

from __future__ import annotations

import numpy as np

from matting_data._channels import as_hwc, unequal_channels
from matting_data.errors import TrimapValueError, UnsupportedImageError

__all__ = [
    "TRIMAP_BACKGROUND",
    "TRIMAP_FOREGROUND",
    "TRIMAP_SNAP_TOLERANCE",
    "TRIMAP_UNKNOWN",
    "normalize_trimap",
]

TRIMAP_BACKGROUND: int = 0
TRIMAP_UNKNOWN: int = 128
TRIMAP_FOREGROUND: int = 255
#: 8-bit values within this distance of 0, 128 or 255 are snapped to it (JPEG noise, 127).
TRIMAP_SNAP_TOLERANCE: int = 32

_CANONICAL = np.zeros(256, dtype=bool)
_CANONICAL[[0, 128, 255]] = True
_LABELS = np.zeros(256, dtype=bool)
_LABELS[[0, 1, 2]] = True
_LABEL_LUT = np.zeros(256, dtype=np.uint8)
_LABEL_LUT[1], _LABEL_LUT[2] = TRIMAP_UNKNOWN, TRIMAP_FOREGROUND


def _snap_tables() -> tuple[np.ndarray, np.ndarray]:
    lut = np.zeros(256, dtype=np.uint8)
    valid = np.zeros(256, dtype=bool)
    for target in (TRIMAP_BACKGROUND, TRIMAP_UNKNOWN, TRIMAP_FOREGROUND):
        lo = max(0, target - TRIMAP_SNAP_TOLERANCE)
        hi = min(255, target + TRIMAP_SNAP_TOLERANCE)
        lut[lo : hi + 1] = target
        valid[lo : hi + 1] = True
    return lut, valid


_SNAP_LUT, _SNAP_VALID = _snap_tables()


def normalize_trimap(
    array: np.ndarray,
    *,
    source: str = "<array>",
    thresholds: tuple[int, int] | None = None,
) -> np.ndarray:
    """Map a trimap in any common encoding to uint8 values exactly in {0, 128, 255}.

    Accepted layouts: (H, W); (H, W, 1); (H, W, 3) with equal channels (e.g. an expanded gray
    palette); (H, W, 4) with equal colour channels and a fully opaque alpha channel.

    Values are first brought to the 8-bit scale:

    * uint8: as is; bool: False -> 0, True -> 255;
    * uint16: divided by 257 (rounded) -- unless every value is <= 255, in which case the
      values are taken as 8-bit values stored in a 16-bit container;
    * other integer dtypes: must lie in [0, 255], taken as is;
    * float: must be finite and in [0, 255]; if the maximum is <= 1 the values are taken as
      fractions and multiplied by 255, then rounded.

    Then, on the 8-bit values, the first rule that applies:

    1. all values in {0, 128, 255}: returned unchanged;
    2. all values in {0, 1, 2} (label indices): 0 -> 0, 1 -> 128, 2 -> 255;
    3. every value within ±32 of 0, 128 or 255 (127, JPEG noise): snapped to it;
    4. otherwise (a value in 33..95 or 161..222): :class:`TrimapValueError`.

    With ``thresholds=(low, high)`` the rules above are replaced by the official GCA / DIM
    releases' reading of any gray level: ``< low`` background, ``>= high`` foreground, the
    rest unknown (``(85, 170)`` in the GCA demo). Use it for resampled trimaps whose levels
    are deliberately mixed; it never raises for values.

    Rule 2 means a trimap consisting only of values <= 2 is read as label indices (a
    degenerate all-background trimap with JPEG noise would be misread; real ones also contain
    128/255).

    Args:
        array: the trimap, see layouts and dtypes above. Not modified.
        source: label for error messages (a file name, or ``"<array>"``).
        thresholds: ``(low, high)`` with ``0 < low < high <= 255``, or None (the rules above).

    Returns:
        A new C-contiguous (H, W) uint8 array with values in {0, 128, 255}.

    Raises:
        TrimapValueError: values that cannot be mapped, NaN, or a colour (unequal-channel) trimap.
        UnsupportedImageError: wrong number of dimensions/channels, a transparent RGBA trimap,
            or an unsupported dtype.
    """
    array = np.asarray(array)
    gray = _single_channel(array, source)
    values = _to_8bit(gray, source)
    if thresholds is not None:
        return _threshold_lut(thresholds)[values]
    counts = np.bincount(values.ravel(), minlength=256)
    present = counts > 0
    if not present[~_CANONICAL].any():
        return np.array(values, dtype=np.uint8, order="C", copy=True)
    if not present[~_LABELS].any():
        return _LABEL_LUT[values]
    invalid = present & ~_SNAP_VALID
    if invalid.any():
        n_bad = int(counts[invalid].sum())
        example = int(np.flatnonzero(invalid)[np.argmax(counts[invalid])])
        raise TrimapValueError(
            f"trimap {source} has {n_bad} pixels with values not within "
            f"±{TRIMAP_SNAP_TOLERANCE} of 0, 128 or 255 (e.g. {example}), so they cannot be "
            "read as background/unknown/foreground."
        )
    return _SNAP_LUT[values]


def _threshold_lut(thresholds: tuple[int, int]) -> np.ndarray:
    low, high = (int(t) for t in thresholds)
    if not 0 < low < high <= 255:
        raise ValueError(f"trimap thresholds must satisfy 0 < low < high <= 255, got {thresholds}")
    lut = np.full(256, TRIMAP_UNKNOWN, dtype=np.uint8)
    lut[:low] = TRIMAP_BACKGROUND
    lut[high:] = TRIMAP_FOREGROUND
    return lut


def _single_channel(array: np.ndarray, source: str) -> np.ndarray:
    hwc = as_hwc(array, source=f"trimap {source}")
    channels = hwc.shape[2]
    if channels == 4:
        alpha = hwc[:, :, 3]
        opaque = True if alpha.dtype == np.bool_ else _max_of(alpha.dtype)
        if alpha.size and not (alpha == opaque).all():
            raise UnsupportedImageError(
                f"trimap {source} has a transparent alpha channel, but a trimap must be opaque."
            )
        hwc = hwc[:, :, :3]
    if hwc.shape[2] == 3:
        count, example = unequal_channels(hwc)
        if count:
            raise TrimapValueError(
                f"trimap {source} is a colour image ({count} pixels have unequal channels, "
                f"e.g. {example}), but a trimap must be grayscale."
            )
    return hwc[:, :, 0]


def _max_of(dtype: np.dtype) -> float:
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(dtype).max)
    return 1.0


def _to_8bit(gray: np.ndarray, source: str) -> np.ndarray:
    dtype = gray.dtype
    if dtype == np.uint8:
        return gray
    if dtype == np.bool_:
        return gray.astype(np.uint8) * np.uint8(255)
    if gray.size == 0:
        return gray.astype(np.uint8)
    if dtype == np.uint16:
        if int(gray.max()) <= 255:
            return gray.astype(np.uint8)
        return ((gray.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(dtype, np.integer):
        lo, hi = int(gray.min()), int(gray.max())
        if lo < 0 or hi > 255:
            raise TrimapValueError(
                f"trimap {source} has integer values in [{lo}, {hi}], outside the 8-bit range "
                "[0, 255]."
            )
        return gray.astype(np.uint8)
    if np.issubdtype(dtype, np.floating):
        if not np.isfinite(gray).all():
            raise TrimapValueError(f"trimap {source} contains NaN or infinite values.")
        lo, hi = float(gray.min()), float(gray.max())
        if lo < 0.0 or hi > 255.0:
            raise TrimapValueError(
                f"trimap {source} has float values in [{lo:g}, {hi:g}], outside [0, 1] and "
                "[0, 255]."
            )
        scaled = gray.astype(np.float64) * 255.0 if hi <= 1.0 else gray
        return np.rint(scaled).astype(np.uint8)
    raise UnsupportedImageError(f"trimap {source} has unsupported dtype {dtype}.")
