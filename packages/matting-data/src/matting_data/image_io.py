"""Read and write images, alpha mattes and trimaps as validated numpy arrays.

Conventions (all readers):

* image: (H, W, 3) float32 RGB in [0, 1];
* alpha: (H, W) float32 in [0, 1];
* trimap: (H, W) uint8 with values exactly in {0, 128, 255}.

Pixels are returned as stored: EXIF orientation is *not* applied (``cv2.IMREAD_UNCHANGED``), so
an image and its alpha/trimap stay pixel-aligned. Every reader refuses images larger than the
pixel limit (see :mod:`matting_data.limits`) *before* decoding when the size can be read from
the header (PNG, JPEG, BMP, TIFF, WebP).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from matting_data._channels import as_hwc, dtype_scale, unequal_channels
from matting_data._decode import decode_image_file
from matting_data.atomic import atomic_write_bytes
from matting_data.errors import (
    DataError,
    DroppedAlphaChannelWarning,
    UnsupportedImageError,
)
from matting_data.trimap import normalize_trimap

__all__ = [
    "WRITE_EXTENSIONS",
    "encode_alpha",
    "encode_image",
    "read_alpha",
    "read_image",
    "read_mask",
    "read_trimap",
    "write_alpha",
    "write_image",
]

PathLike = str | os.PathLike[str]

#: Extensions :func:`write_image` can write (lower case). 16-bit needs PNG or TIFF.
WRITE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_SIXTEEN_BIT_EXTENSIONS = (".png", ".tif", ".tiff")
_ALPHA_CHANNEL_EXTENSIONS = (".png", ".tif", ".tiff", ".webp")


def read_image(path: PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read a colour image as float32 RGB in [0, 1].

    Accepts PNG, JPEG, BMP, TIFF and WebP files, 8- or 16-bit (scaled by
    255 or 65535), or float in [0, 1]. Grayscale is promoted to RGB (three equal channels).
    RGBA: the alpha channel is dropped and the colour channels are returned as stored (not
    composited); if any pixel is not fully opaque a :class:`DroppedAlphaChannelWarning` names the
    file.

    Args:
        path: image file.
        max_pixels: pixel limit; ``None`` = env var ``MATTING_MAX_PIXELS`` or
            :data:`~matting_data.DEFAULT_MAX_PIXELS`.

    Returns:
        (H, W, 3) float32 C-contiguous array, RGB order, values in [0, 1].

    Raises:
        MissingFileError, CorruptFileError, ImageTooLargeError, UnsupportedImageError, DataError;
        OSError for file-system failures (permission denied, a symlink loop).
    """
    path = Path(path)
    source = f"image {path}"
    hwc = as_hwc(decode_image_file(path, what="image", max_pixels=max_pixels), source=source)
    scale = dtype_scale(hwc, source=source)
    channels = hwc.shape[2]
    if channels == 1:
        rgb = np.repeat(hwc, 3, axis=2)
    else:
        if channels == 4:
            non_opaque = int(np.count_nonzero(hwc[:, :, 3] != hwc.dtype.type(scale)))
            if non_opaque:
                warnings.warn(
                    DroppedAlphaChannelWarning(
                        f"{source} has an alpha channel with {non_opaque} non-opaque pixels; it "
                        "was dropped and the colours are returned as stored, not composited."
                    ),
                    stacklevel=2,
                )
        rgb = hwc[:, :, 2::-1]  # BGR(A) -> RGB
    return _to_unit_float(rgb, scale)


def read_alpha(path: PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an alpha matte as float32 in [0, 1].

    Accepted files (8- or 16-bit, or float in [0, 1]):

    * grayscale;
    * 3-channel with identical channels (e.g. the alphamatting.com ground truth PNGs);
    * 4-channel (RGBA) -- the matte is taken from, in this order:
      the colour channels if the alpha channel is fully opaque (they must be equal);
      the alpha channel if the colour channels are constant over the whole image
      (a "white/black cut-out" matte); the alpha channel if the colour channels are equal to it.
      Any other RGBA file (colours and alpha both vary, e.g. a foreground cut-out) is ambiguous.

    Args:
        path: alpha file.
        max_pixels: pixel limit, see :func:`read_image`.

    Returns:
        (H, W) float32 C-contiguous array in [0, 1].

    Raises:
        UnsupportedImageError: colour channels that differ, an ambiguous RGBA file, a bad dtype.
        MissingFileError, CorruptFileError, ImageTooLargeError, DataError: as for
        :func:`read_image`.
    """
    path = Path(path)
    source = f"alpha {path}"
    hwc = as_hwc(decode_image_file(path, what="alpha", max_pixels=max_pixels), source=source)
    scale = dtype_scale(hwc, source=source)
    if hwc.shape[2] == 4:
        gray = _alpha_from_rgba(hwc, scale, source)
    else:
        if hwc.shape[2] == 3:
            _require_equal_channels(hwc, source)
        gray = hwc[:, :, 0]
    return _to_unit_float(gray, scale)


def read_mask(path: PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read a rough mask (a segmentation, a selection exported from an editor) as float32 in
    [0, 1]: 1 = foreground.

    Like :func:`read_alpha`, with one more layout an editor writes: an RGBA cut-out whose
    colours are the photo's and whose alpha channel is the selection. A mask in an RGBA file
    is its alpha channel whenever that channel is not fully opaque; an opaque file is read
    from its colour channels, which must be equal (grayscale).

    Args:
        path: mask file, 8- or 16-bit, binary or soft.
        max_pixels: pixel limit, see :func:`read_image`.

    Returns:
        (H, W) float32 C-contiguous array in [0, 1].

    Raises:
        UnsupportedImageError: an opaque file whose colour channels differ (a photo, not a mask).
        MissingFileError, CorruptFileError, ImageTooLargeError, DataError: as for
        :func:`read_image`.
    """
    path = Path(path)
    source = f"mask {path}"
    hwc = as_hwc(decode_image_file(path, what="mask", max_pixels=max_pixels), source=source)
    scale = dtype_scale(hwc, source=source)
    if hwc.shape[2] == 4 and not (hwc[:, :, 3] == hwc.dtype.type(scale)).all():
        gray = hwc[:, :, 3]  # a cut-out: the selection is the transparency
    else:
        if hwc.shape[2] >= 3:
            _require_equal_channels(hwc, source)
        gray = hwc[:, :, 0]
    return _to_unit_float(gray, scale)


def read_trimap(
    path: PathLike,
    *,
    max_pixels: int | None = None,
    thresholds: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read a trimap as uint8 with values exactly in {0 = bg, 128 = unknown, 255 = fg}.

    Accepts palette PNGs (OpenCV expands gray palettes to equal channels), grayscale, RGB with
    equal channels, RGBA with opaque alpha, 8- or 16-bit; the values are mapped by
    :func:`~matting_data.normalize_trimap` (exact values, 127, label indices {0, 1, 2}, 16-bit,
    and JPEG noise within ±32 are accepted).

    Args:
        path: trimap file.
        max_pixels: pixel limit, see :func:`read_image`.
        thresholds: read any gray level by the official releases' rule instead (``< low``
            background, ``>= high`` foreground), see :func:`~matting_data.normalize_trimap`.

    Returns:
        (H, W) uint8 C-contiguous array with values in {0, 128, 255}.

    Raises:
        TrimapValueError: values that cannot be mapped, or a coloured trimap.
        MissingFileError, CorruptFileError, ImageTooLargeError, UnsupportedImageError, DataError.
    """
    path = Path(path)
    raw = decode_image_file(path, what="trimap", max_pixels=max_pixels)
    hwc = as_hwc(raw, source=f"trimap {path}")
    if hwc.shape[2] >= 3:  # BGR(A) -> RGB(A) so that error examples are in RGB order
        hwc = np.concatenate([hwc[:, :, 2::-1], hwc[:, :, 3:]], axis=2)
    return normalize_trimap(hwc, source=str(path), thresholds=thresholds)


def write_alpha(path: PathLike, alpha: np.ndarray, *, bit_depth: int = 8) -> Path:
    """Write an alpha matte as an 8- or 16-bit grayscale PNG, atomically.

    Args:
        path: destination, must end in ``.png``; parent directories are created.
        alpha: (H, W) or (H, W, 1) array. Float: values are clipped to [0, 1] and scaled
            (NaN or infinite values are an error). uint8/uint16: taken as 8-/16-bit levels and
            rescaled (x257 or /257, rounded) if ``bit_depth`` differs. bool: 0 or full.
        bit_depth: 8 or 16.

    Returns:
        ``Path(path)``.

    Raises:
        ValueError: bad ``bit_depth`` or extension.
        DataError: non-finite float values. UnsupportedImageError: bad shape or dtype.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"write_alpha writes PNG files, but {path} does not end in .png.")
    return atomic_write_bytes(path, _encode_alpha(alpha, bit_depth, f"alpha for {path}"))


def encode_alpha(alpha: np.ndarray, *, bit_depth: int = 8) -> bytes:
    """The bytes :func:`write_alpha` writes: an 8- or 16-bit grayscale PNG, in memory.

    Args and errors as for :func:`write_alpha` (no path).
    """
    return _encode_alpha(alpha, bit_depth, "alpha")


def write_image(path: PathLike, rgb: np.ndarray, *, bit_depth: int = 8) -> Path:
    """Write an RGB, RGBA or grayscale image atomically; the format follows the extension.

    Args:
        path: destination with one of :data:`WRITE_EXTENSIONS`; parent directories are
            created. JPEG is written at OpenCV's default quality (95), WebP losslessly.
        rgb: (H, W, 3) RGB, (H, W, 4) RGBA (``.png``, ``.tif``, ``.tiff``, ``.webp`` only) or
            (H, W) grayscale; float (clipped to [0, 1]; NaN/inf is an error), uint8, uint16
            or bool, converted like :func:`write_alpha`.
        bit_depth: 8, or 16 for ``.png``/``.tif``/``.tiff``.

    Returns:
        ``Path(path)``.

    Raises:
        ValueError: bad ``bit_depth`` or extension.
        DataError: non-finite float values. UnsupportedImageError: bad shape or dtype.
    """
    path = Path(path)
    if path.suffix.lower() not in WRITE_EXTENSIONS:
        raise ValueError(f"cannot write {path}: extension must be one of {WRITE_EXTENSIONS}.")
    data = _encode_image(rgb, path.suffix.lower(), bit_depth, f"image for {path}")
    return atomic_write_bytes(path, data)


def encode_image(rgb: np.ndarray, ext: str = ".png", *, bit_depth: int = 8) -> bytes:
    """The bytes :func:`write_image` writes for a file ending in ``ext``, in memory.

    Args:
        rgb: (H, W, 3) RGB, (H, W, 4) RGBA (``.png``, ``.tif``, ``.tiff``, ``.webp``: e.g. a
            cut-out whose colour channels are the estimated foreground) or (H, W) grayscale;
            dtypes as for :func:`write_image`.
        ext: one of :data:`WRITE_EXTENSIONS`, with its dot.
        bit_depth: 8, or 16 for ``.png``/``.tif``/``.tiff``.

    Raises:
        ValueError: bad ``bit_depth`` or extension.
        DataError: non-finite float values. UnsupportedImageError: bad shape or dtype.
    """
    ext = ext.lower()
    if ext not in WRITE_EXTENSIONS:
        raise ValueError(
            f"cannot encode as {ext!r}: the extension must be one of {WRITE_EXTENSIONS}."
        )
    return _encode_image(rgb, ext, bit_depth, "image")


# --------------------------------------------------------------------------- helpers


def _encode_alpha(alpha: np.ndarray, bit_depth: int, source: str) -> bytes:
    _check_bit_depth(bit_depth)
    alpha = np.asarray(alpha)
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[:, :, 0]
    if alpha.ndim != 2:
        raise UnsupportedImageError(f"{source} has shape {alpha.shape}, but (H, W) is expected.")
    return _encode(_to_levels(alpha, bit_depth, source), ".png", source)


def _encode_image(rgb: np.ndarray, ext: str, bit_depth: int, source: str) -> bytes:
    _check_bit_depth(bit_depth)
    if bit_depth == 16 and ext not in _SIXTEEN_BIT_EXTENSIONS:
        raise ValueError(f"cannot write {source} with 16 bits: use .png, .tif or .tiff.")
    rgb = np.asarray(rgb)
    channels = rgb.shape[2] if rgb.ndim == 3 else None
    if channels == 4 and ext not in _ALPHA_CHANNEL_EXTENSIONS:
        raise ValueError(
            f"cannot write {source} with an alpha channel as {ext}: use .png, .tif, .tiff or .webp."
        )
    if not (rgb.ndim == 2 or channels in (3, 4)):
        raise UnsupportedImageError(
            f"{source} has shape {rgb.shape}, but (H, W, 3), (H, W, 4) or (H, W) is expected."
        )
    levels = _to_levels(rgb, bit_depth, source)
    if levels.ndim == 3:  # RGB(A) -> BGR(A) for OpenCV
        order = [2, 1, 0, 3][: levels.shape[2]]
        levels = np.ascontiguousarray(levels[:, :, order])
    return _encode(levels, ext, source)


def _to_unit_float(array: np.ndarray, scale: float) -> np.ndarray:
    out = np.array(array, dtype=np.float32, order="C", copy=True)
    if scale != 1.0:
        out /= np.float32(scale)
    return out


def _require_equal_channels(hwc: np.ndarray, source: str) -> None:
    count, example = unequal_channels(hwc[:, :, :3])
    if count and example is not None:
        example = example[::-1]  # decoded arrays are BGR
        raise UnsupportedImageError(
            f"{source} has {count} pixels whose colour channels differ (e.g. RGB {example}), "
            "but an alpha matte must be grayscale."
        )


def _alpha_from_rgba(hwc: np.ndarray, scale: float, source: str) -> np.ndarray:
    colour, alpha = hwc[:, :, :3], hwc[:, :, 3]
    if (alpha == hwc.dtype.type(scale)).all():  # opaque: the matte is in the colours
        _require_equal_channels(colour, source)
        return colour[:, :, 0]
    if (colour == colour.flat[0]).all():  # constant colour, varying alpha: a cut-out matte
        return alpha
    if (colour == alpha[:, :, None]).all():
        return alpha
    raise UnsupportedImageError(
        f"{source} is an RGBA image whose colour and alpha channels both vary, so it is "
        "ambiguous which one is the matte (save the matte as a grayscale image)."
    )


def _check_bit_depth(bit_depth: int) -> None:
    if bit_depth not in (8, 16) or isinstance(bit_depth, bool):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth!r}.")


def _to_levels(array: np.ndarray, bit_depth: int, source: str) -> np.ndarray:
    """Convert float [0, 1] / bool / uint8 / uint16 to uint8 or uint16 levels."""
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    top = 255 if bit_depth == 8 else 65535
    if array.dtype == np.bool_:
        return array.astype(dtype) * dtype(top)
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(array.size - np.count_nonzero(finite))
            raise DataError(f"{source} contains {bad} NaN or infinite values.")
        return np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * top).astype(dtype)
    if array.dtype == np.uint8:
        return array.astype(dtype) * dtype(257) if bit_depth == 16 else array
    if array.dtype == np.uint16:
        if bit_depth == 16:
            return array
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise UnsupportedImageError(
        f"{source} has dtype {array.dtype}, but float in [0, 1], bool, uint8 or uint16 is expected."
    )


def _encode(levels: np.ndarray, ext: str, source: str) -> bytes:
    try:
        ok, buffer = cv2.imencode(ext, np.ascontiguousarray(levels))
    except cv2.error as exc:
        reason = getattr(exc, "err", "") or str(exc).strip()
        raise UnsupportedImageError(f"{source} could not be encoded (OpenCV: {reason}).") from exc
    if not ok:
        raise UnsupportedImageError(f"{source} could not be encoded as {ext}.")
    return buffer.tobytes()
