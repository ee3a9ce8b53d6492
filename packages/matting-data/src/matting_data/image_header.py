"""Read image dimensions from file headers, without decoding pixels.

Used to refuse decompression bombs *before* :func:`cv2.imdecode` allocates memory, and to detect
truncated PNG/JPEG files (OpenCV may decode a truncated JPEG partially on some versions).

The toolkit reads five formats: PNG, JPEG, BMP, TIFF and WebP. OpenCV picks its decoder from
the file's first bytes, whatever the extension, and would also decode Radiance HDR, GIF, JPEG
2000, PNM/PFM, Sun raster and AVIF; :func:`sniff_format` names those too, so that the reader can
refuse them before decoding. Sizes come from Pillow, which opens PNG, JPEG and BMP lazily and
reads a TIFF's first directory without touching pixels (and keeps the first of a duplicated tag,
as libtiff does); a TIFF whose first directory repeats a tag is refused as ambiguous. WebP's size
is read from its fixed header fields here, because Pillow's WebP reader allocates the canvas
when it opens a file.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from matting_data.errors import CorruptFileError

__all__ = [
    "SUPPORTED_FORMATS",
    "ImageHeader",
    "check_complete",
    "format_description",
    "read_image_header",
    "sniff_format",
]

#: The formats the readers decode (names as returned by :func:`sniff_format`).
SUPPORTED_FORMATS: tuple[str, ...] = ("png", "jpeg", "bmp", "tiff", "webp")

_DESCRIPTIONS = {
    "png": "PNG",
    "jpeg": "JPEG",
    "bmp": "BMP",
    "tiff": "TIFF",
    "webp": "WebP",
    "hdr": "Radiance HDR",
    "gif": "GIF",
    "jpeg2000": "JPEG 2000",
    "pnm": "PNM (PBM/PGM/PPM/PAM)",
    "pfm": "PFM",
    "sunras": "Sun raster",
    "avif": "AVIF/HEIF",
    "exr": "OpenEXR",
    "jpegxl": "JPEG XL",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Markers without a length field: TEM, RST0..7, SOI.
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class ImageHeader:
    """Format and size of an image as stated in its file header.

    Attributes:
        format: one of :data:`SUPPORTED_FORMATS`.
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
        One of :data:`SUPPORTED_FORMATS`, or the name of another format OpenCV decodes
        (``"hdr"``, ``"gif"``, ``"jpeg2000"``, ``"pnm"``, ``"pfm"``, ``"sunras"``, ``"avif"``,
        ``"exr"``, ``"jpegxl"``), or ``None``.
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
    if data.startswith(b"#?"):
        return "hdr"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith((b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP  \r\n\x87\n")):
        return "jpeg2000"
    if data.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "jpegxl"
    if data[:2] in (b"Pf", b"PF"):
        return "pfm"
    if len(data) >= 2 and data[0:1] == b"P" and data[1:2] in b"1234567":
        return "pnm"
    if data.startswith(b"\x59\xa6\x6a\x95"):
        return "sunras"
    if data[4:8] == b"ftyp":
        return "avif"
    if data.startswith(b"\x76\x2f\x31\x01"):
        return "exr"
    return None


def format_description(fmt: str) -> str:
    """A human name for a :func:`sniff_format` result (``"hdr"`` → ``"Radiance HDR"``)."""
    return _DESCRIPTIONS.get(fmt, fmt)


def read_image_header(data: bytes, *, source: str = "<bytes>") -> ImageHeader | None:
    """Read the width and height of an encoded image from its header.

    Args:
        data: the complete (or at least leading) bytes of the file.
        source: label for error messages, e.g. ``"image /data/x.png"``.

    Returns:
        An :class:`ImageHeader`, or ``None`` when the file is not one of
        :data:`SUPPORTED_FORMATS` or its header does not state the size (an unknown WebP chunk).

    Raises:
        CorruptFileError: the magic bytes name a supported format but its header is truncated,
            malformed, ambiguous (a TIFF directory that repeats a tag) or states a zero
            width/height.
    """
    fmt = sniff_format(data)
    if fmt not in SUPPORTED_FORMATS:
        return None
    size = _webp_size(data, source) if fmt == "webp" else _pillow_size(fmt, data, source)
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
        sos = _jpeg_scan_offset(data, source)
        # Inside entropy-coded data 0xFF is always followed by 0x00 or RSTn, so an FFD9 after
        # the first SOS can only be the end-of-image marker.
        if sos is None or data.rfind(b"\xff\xd9") < sos:
            raise CorruptFileError(f"{source} is truncated (the JPEG has no end-of-image marker).")


def _truncated(source: str, fmt: str) -> CorruptFileError:
    return CorruptFileError(f"{source} is truncated (its {fmt} header ends early).")


def _pillow_size(fmt: str, data: bytes, source: str) -> tuple[int, int]:
    """(width, height) from Pillow, which reads headers only (no pixel memory)."""
    from PIL import BmpImagePlugin, JpegImagePlugin, PngImagePlugin

    if fmt == "tiff":
        return _tiff_size(data, source)
    if fmt == "jpeg" and _jpeg_scan_offset(data, source) is None:
        raise _truncated(source, "JPEG")
    opener = {
        "png": PngImagePlugin.PngImageFile,
        "jpeg": JpegImagePlugin.JpegImageFile,
        "bmp": BmpImagePlugin.BmpImageFile,
    }[fmt]
    try:
        # The plugin classes parse the header when constructed and never decode here;
        # PIL.Image.open would add Pillow's own pixel limit, which is not the toolkit's.
        with opener(io.BytesIO(data)) as image:
            return image.size
    except Exception as exc:  # Pillow raises SyntaxError, OSError, struct.error, ...
        if isinstance(exc, (EOFError, struct.error)):
            raise _truncated(source, fmt.upper()) from exc
        raise CorruptFileError(f"{source} is not a valid {fmt.upper()} ({_reason(exc)}).") from exc


def _tiff_size(data: bytes, source: str) -> tuple[int, int]:
    """Width and length of the first image directory (the one OpenCV decodes)."""
    from PIL import TiffImagePlugin

    if len(data) < 16:
        raise _truncated(source, "TIFF")
    _check_unique_tiff_tags(data, source)
    handle = io.BytesIO(data)
    try:
        big = data[2:4] in (b"+\x00", b"\x00+")
        directory = TiffImagePlugin.ImageFileDirectory_v2(handle.read(16 if big else 8))
        handle.seek(directory.next)
        directory.load(handle)
    except Exception as exc:
        raise CorruptFileError(f"{source} is not a valid TIFF ({_reason(exc)}).") from exc
    width, height = directory.get(256), directory.get(257)
    if not isinstance(width, int) or not isinstance(height, int):
        raise CorruptFileError(
            f"{source} is not a valid TIFF (its image width or length is missing)."
        )
    return width, height


def _check_unique_tiff_tags(data: bytes, source: str) -> None:
    """Refuse a first directory that lists a tag twice: readers disagree on which one counts.

    The TIFF specification requires the entries sorted by tag, so a repeated tag is malformed;
    libtiff and Pillow keep the first ImageWidth, other readers the last, which once let a file
    claim 10x10 to the size check and 100000x100000 to the decoder.
    """
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:
            (offset,) = struct.unpack_from(order + "Q", data, 8)
            (count,) = struct.unpack_from(order + "Q", data, offset)
            first, step = offset + 8, 20
        else:
            (offset,) = struct.unpack_from(order + "I", data, 4)
            (count,) = struct.unpack_from(order + "H", data, offset)
            first, step = offset + 2, 12
    except struct.error as exc:
        raise _truncated(source, "TIFF") from exc
    if first + count * step > len(data):
        raise _truncated(source, "TIFF")
    tags = [struct.unpack_from(order + "H", data, first + k * step)[0] for k in range(count)]
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1})
    if repeated:
        raise CorruptFileError(
            f"{source} is ambiguous: its TIFF directory lists tag(s) "
            f"{', '.join(str(t) for t in repeated)} more than once."
        )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _jpeg_scan_offset(data: bytes, source: str) -> int | None:
    """Walk JPEG markers up to the first SOS; return its offset, or None if there is none."""
    n = len(data)
    i = 2  # after SOI
    while True:
        if i >= n:
            return None
        if data[i] != 0xFF:
            # Extraneous bytes between segments (libjpeg tolerates them): skip to next 0xFF.
            i = data.find(b"\xff", i)
            if i < 0:
                return None
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return None
        marker = data[i]
        i += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:  # EOI before any scan
            return None
        if i + 2 > n:
            return None
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            raise CorruptFileError(f"{source} is not a valid JPEG (segment length {length}).")
        if marker == 0xDA:
            return i - 2
        i += length


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
