"""Internal: read a file's bytes safely and decode them with OpenCV.

One job: turn a path into the raw decoded array (``cv2.IMREAD_UNCHANGED``: BGR/BGRA channel
order, uint8/uint16/float dtype as stored, EXIF orientation *not* applied), with every failure
mapped to a :class:`~matting_data.errors.DataError` subclass that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from matting_data.errors import (
    CorruptFileError,
    DataError,
    ImageTooLargeError,
    MissingFileError,
)
from matting_data.image_header import check_complete, read_image_header
from matting_data.limits import MAX_PIXELS_ENV_VAR, resolve_max_pixels

__all__ = ["check_pixel_limit", "decode_image_file", "read_file_bytes"]


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
    """Read and decode an image file, refusing oversized images before decoding.

    Args:
        path: file to read.
        what: role used in messages (``"image"``, ``"alpha"``, ``"trimap"``).
        max_pixels: pixel limit; ``None`` = ``MATTING_MAX_PIXELS`` or the default.

    Returns:
        The array from ``cv2.imdecode(..., cv2.IMREAD_UNCHANGED)``: (H, W) or (H, W, C) with
        C in {3, 4} in BGR(A) order, dtype as stored (uint8, uint16, float32...).

    Raises:
        MissingFileError, DataError, CorruptFileError, ImageTooLargeError.
    """
    path = Path(path)
    source = f"{what} {path}"
    limit = resolve_max_pixels(max_pixels)
    data = read_file_bytes(path, what=what)
    header = read_image_header(data, source=source)
    if header is not None:
        check_pixel_limit(header.width, header.height, limit, source=source)
    check_complete(data, source=source)
    try:
        array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        reason = getattr(exc, "err", "") or str(exc).strip()
        raise CorruptFileError(f"{source} could not be decoded (OpenCV: {reason}).") from exc
    if array is None or array.size == 0:
        raise CorruptFileError(
            f"{source} could not be decoded as an image (corrupt or unsupported)."
        )
    if header is None:  # size unknown before decoding: check afterwards
        check_pixel_limit(array.shape[1], array.shape[0], limit, source=source)
    return array
