"""Read image dimensions from file headers, without decoding pixels.

Used to refuse decompression bombs *before* :func:`cv2.imdecode` allocates memory, and to detect
truncated PNG/JPEG files (OpenCV may decode a truncated JPEG partially on some versions).

All functions are pure: they take the file's bytes and a ``source`` label used in error messages.
Formats parsed: PNG (IHDR), JPEG (SOF0..SOF15 except DHT/JPG/DAC), BMP, TIFF (first IFD; not
BigTIFF) and WebP (VP8, VP8L, VP8X). Anything else returns ``None`` and the caller decodes and
checks the size afterwards.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from matting_data.errors import CorruptFileError

__all__ = ["ImageHeader", "check_complete", "read_image_header", "sniff_format"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers: C0..CF except C4 (DHT), C8 (JPG, reserved) and CC (DAC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0..7, SOI.
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class ImageHeader:
    """Format and size of an image as stated in its file header.

    Attributes:
        format: one of ``"png"``, ``"jpeg"``, ``"bmp"``, ``"tiff"``, ``"webp"``.
        width: width in pixels (> 0).
        height: height in pixels (> 0).
    """

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        """``width * height``."""
        return self.width * self.height


def sniff_format(data: bytes) -> str | None:
    """Return the image format named by the magic bytes of ``data``, or ``None`` if unknown.

    Args:
        data: the first bytes (or all bytes) of a file.

    Returns:
        ``"png"``, ``"jpeg"``, ``"bmp"``, ``"tiff"``, ``"webp"`` or ``None``.
    """
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def read_image_header(data: bytes, *, source: str = "<bytes>") -> ImageHeader | None:
    """Parse the width and height of an encoded image from its header.

    Args:
        data: the complete (or at least leading) bytes of the file.
        source: label for error messages, e.g. ``"image /data/x.png"``.

    Returns:
        An :class:`ImageHeader`, or ``None`` when the format is not parsed here or the header
        does not state the size (JPEG with a DNL marker, BigTIFF, unknown WebP chunk).

    Raises:
        CorruptFileError: the magic bytes name a known format but its header is truncated or
            malformed, or states a zero width/height.
    """
    fmt = sniff_format(data)
    if fmt is None:
        return None
    size = _PARSERS[fmt](data, source)
    if size is None:
        return None
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptFileError(f"{source} has an invalid {fmt.upper()} header ({width}x{height}).")
    return ImageHeader(fmt, width, height)


def check_complete(data: bytes, *, source: str = "<bytes>") -> None:
    """Raise if a PNG lacks its IEND chunk or a JPEG lacks an EOI marker after its scan data.

    Other formats are not checked. Trailing bytes after IEND/EOI are tolerated.

    Args:
        data: all bytes of the file.
        source: label for error messages.

    Raises:
        CorruptFileError: the file is truncated.
    """
    fmt = sniff_format(data)
    if fmt == "png" and data.rfind(b"IEND") < len(_PNG_SIGNATURE):
        raise CorruptFileError(f"{source} is truncated (the PNG has no IEND chunk).")
    if fmt == "jpeg":
        _, _, sos = _scan_jpeg(data, source)
        # Inside entropy-coded data 0xFF is always followed by 0x00 or RSTn, so an FFD9 after
        # the first SOS can only be the end-of-image marker.
        if sos is None or data.rfind(b"\xff\xd9") < sos:
            raise CorruptFileError(f"{source} is truncated (the JPEG has no end-of-image marker).")


def _truncated(source: str, fmt: str) -> CorruptFileError:
    return CorruptFileError(f"{source} is truncated (its {fmt} header ends early).")


def _png_size(data: bytes, source: str) -> tuple[int, int]:
    if len(data) < 24:
        raise _truncated(source, "PNG")
    if data[12:16] != b"IHDR":
        raise CorruptFileError(f"{source} is not a valid PNG (the first chunk is not IHDR).")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _scan_jpeg(data: bytes, source: str) -> tuple[int | None, int | None, int | None]:
    """Walk JPEG markers up to the first SOS; return (width, height, offset of SOS or None)."""
    n = len(data)
    i = 2  # after SOI
    width = height = None
    while True:
        if i >= n:
            return width, height, None
        if data[i] != 0xFF:
            # Extraneous bytes between segments (libjpeg tolerates them): skip to next 0xFF.
            i = data.find(b"\xff", i)
            if i < 0:
                return width, height, None
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return width, height, None
        marker = data[i]
        i += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:  # EOI before any scan
            return width, height, None
        if i + 2 > n:
            return width, height, None
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            raise CorruptFileError(f"{source} is not a valid JPEG (segment length {length}).")
        if marker in _JPEG_SOF and width is None:
            if i + 7 > n:
                return width, height, None
            height, width = struct.unpack(">HH", data[i + 3 : i + 7])
        if marker == 0xDA:
            return width, height, i - 2
        i += length


def _jpeg_size(data: bytes, source: str) -> tuple[int, int] | None:
    width, height, sos = _scan_jpeg(data, source)
    if width is None or height is None:
        if sos is None:
            raise _truncated(source, "JPEG")
        raise CorruptFileError(f"{source} is not a valid JPEG (no frame header before the scan).")
    if height == 0:  # height given later by a DNL marker: unknown here
        return None
    return width, height


def _bmp_size(data: bytes, source: str) -> tuple[int, int] | None:
    if len(data) < 26:
        raise _truncated(source, "BMP")
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12:  # BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    if dib_size >= 40:
        width, height = struct.unpack("<ii", data[18:26])
        return width, abs(height)  # negative height = top-down rows
    return None


def _tiff_size(data: bytes, source: str) -> tuple[int, int] | None:
    if len(data) < 8:
        raise _truncated(source, "TIFF")
    order = "<" if data[:2] == b"II" else ">"
    (magic,) = struct.unpack(order + "H", data[2:4])
    if magic != 42:  # BigTIFF: not parsed here
        return None
    (ifd,) = struct.unpack(order + "I", data[4:8])
    if ifd + 2 > len(data):
        raise _truncated(source, "TIFF")
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    found: dict[int, int] = {}
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(data):
            raise _truncated(source, "TIFF")
        tag, typ = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            if typ == 3:  # SHORT
                (found[tag],) = struct.unpack(order + "H", data[entry + 8 : entry + 10])
            elif typ == 4:  # LONG
                (found[tag],) = struct.unpack(order + "I", data[entry + 8 : entry + 12])
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def _webp_size(data: bytes, source: str) -> tuple[int, int] | None:
    if len(data) < 30:
        raise _truncated(source, "WebP")
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise CorruptFileError(f"{source} is not a valid WebP (bad VP8 start code).")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise CorruptFileError(f"{source} is not a valid WebP (bad VP8L signature).")
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


_PARSERS = {
    "png": _png_size,
    "jpeg": _jpeg_size,
    "bmp": _bmp_size,
    "tiff": _tiff_size,
    "webp": _webp_size,
}
