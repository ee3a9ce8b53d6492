"""Internal: read a file's bytes safely and decode them with OpenCV.

One job: turn a path into the raw decoded array (``cv2.IMREAD_UNCHANGED``: BGR/BGRA channel
order, uint8/uint16/float dtype as stored, EXIF orientation *not* applied), with every failure
mapped to a :class:`~matting_data.errors.DataError` subclass that names the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from matting_data.errors import (
    CorruptFileError,
    DataError,
    ImageTooLargeError,
    MissingFileError,
    UnsupportedImageError,
)
from matting_data.image_header import (
    SUPPORTED_FORMATS,
    check_complete,
    format_description,
    read_image_header,
    sniff_format,
)
from matting_data.limits import MAX_PIXELS_ENV_VAR, resolve_max_pixels

__all__ = ["check_jpeg_data", "check_pixel_limit", "decode_image_file", "read_file_bytes"]


def read_file_bytes(path: str | os.PathLike[str], *, what: str = "file") -> bytes:
    """Return all bytes of ``path``; ``what`` (e.g. ``"image"``) is used in error messages.

    Works with non-ASCII paths (Python file I/O, not ``cv2.imread``).

    Raises:
        MissingFileError: the path does not exist.
        DataError: the path is a directory.
        CorruptFileError: the file is empty.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{what} {path} is a directory, not a file.")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise MissingFileError(f"{what} file {path} does not exist.") from exc
    except IsADirectoryError as exc:  # pragma: no cover - raced with the is_dir() check
        raise DataError(f"{what} {path} is a directory, not a file.") from exc
    if not data:
        raise CorruptFileError(f"{what} {path} is empty (0 bytes).")
    return data


def check_pixel_limit(width: int, height: int, max_pixels: int, *, source: str) -> None:
    """Raise :class:`ImageTooLargeError` if ``width * height > max_pixels``."""
    pixels = width * height
    if pixels > max_pixels:
        raise ImageTooLargeError(
            f"{source} is {width}x{height} ({pixels:,} pixels), more than the limit of "
            f"{max_pixels:,} pixels (raise it with max_pixels= or {MAX_PIXELS_ENV_VAR})."
        )


def decode_image_file(
    path: str | os.PathLike[str], *, what: str, max_pixels: int | None = None
) -> np.ndarray:
    """Read and decode an image file, refusing oversized or unsupported images before decoding.

    The steps, each before OpenCV allocates anything: the format is taken from the file's first
    bytes (the way OpenCV chooses its decoder, whatever the extension) and must be PNG, JPEG,
    BMP, TIFF or WebP; the size is read from the header and checked against the pixel limit;
    PNG/JPEG must not be truncated and a JPEG's compressed data must decode without libjpeg's
    "corrupt data" warnings (which OpenCV only prints). After decoding, the array must have
    the header's size (a second line of defence).

    Args:
        path: file to read.
        what: role used in messages (``"image"``, ``"alpha"``, ``"trimap"``).
        max_pixels: pixel limit; ``None`` = ``MATTING_MAX_PIXELS`` or the default.

    Returns:
        The array from ``cv2.imdecode(..., cv2.IMREAD_UNCHANGED)``: (H, W) or (H, W, C) with
        C in {3, 4} in BGR(A) order, dtype as stored (uint8, uint16, float32...).

    Raises:
        MissingFileError, DataError, CorruptFileError, ImageTooLargeError,
        UnsupportedImageError.
    """
    path = Path(path)
    source = f"{what} {path}"
    limit = resolve_max_pixels(max_pixels)
    data = read_file_bytes(path, what=what)
    fmt = sniff_format(data)
    if fmt is None:
        raise CorruptFileError(
            f"{source} could not be decoded: it is not a {_SUPPORTED_TEXT} image."
        )
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedImageError(
            f"{source} is a {format_description(fmt)} file, but only {_SUPPORTED_TEXT} "
            "images are read (convert it first)."
        )
    header = read_image_header(data, source=source)
    if header is None:
        raise CorruptFileError(f"{source} does not state its size in its {fmt.upper()} header.")
    check_pixel_limit(header.width, header.height, limit, source=source)
    check_complete(data, source=source)
    if fmt == "jpeg":
        check_jpeg_data(data, source=source)
    try:
        array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        reason = getattr(exc, "err", "") or str(exc).strip()
        raise CorruptFileError(f"{source} could not be decoded (OpenCV: {reason}).") from exc
    if array is None or array.size == 0:
        raise CorruptFileError(
            f"{source} could not be decoded as an image (corrupt or unsupported)."
        )
    if array.shape[:2] != (header.height, header.width):
        raise CorruptFileError(
            f"{source} is ambiguous: its header says {header.width}x{header.height} but it "
            f"decodes to {array.shape[1]}x{array.shape[0]}."
        )
    return array


def check_jpeg_data(data: bytes, *, source: str) -> None:
    """Raise :class:`CorruptFileError` if libjpeg warns that a JPEG's compressed data is corrupt.

    libjpeg recovers from damaged entropy-coded data (a block of zeros, a file cut short with
    an end marker appended) by filling in gray or garbage and only printing a warning, which
    OpenCV ignores. simplejpeg turns those warnings into errors; the scan is decoded at 1/8
    scale, which reads every coefficient (so every warning fires) but allocates 1/64 of the
    image. Warnings that are not about corrupt data (an unusual but valid header) pass.
    """
    import simplejpeg

    try:
        colorspace = {"Gray": "GRAY", "CMYK": "CMYK", "YCCK": "CMYK"}.get(
            simplejpeg.decode_jpeg_header(data)[2], "RGB"
        )
        simplejpeg.decode_jpeg(
            data, colorspace=colorspace, strict=True, min_factor=8, min_height=1, min_width=1
        )
    except ValueError as exc:
        message = str(exc).strip()
        if _JPEG_CORRUPTION.search(message):
            raise CorruptFileError(f"{source} is corrupt (libjpeg: {message}).") from None
    except Exception:  # anything else is OpenCV's to judge, as before
        return


_JPEG_CORRUPTION = re.compile(r"corrupt|premature end|bad huffman|inconsistent progression", re.I)
_SUPPORTED_TEXT = ", ".join(format_description(f) for f in SUPPORTED_FORMATS[:-1]) + (
    f" or {format_description(SUPPORTED_FORMATS[-1])}"
)
