"""Hostile files: bombs that hide their size, formats the toolkit does not read, corrupt JPEGs.

Every case is refused before OpenCV decodes anything (``cv2.imdecode`` is forbidden), with a
typed error that names the file; the real-size bombs run in a child process whose address
space is capped at 1.5 GiB and report their peak memory.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md
from matting_data.image_header import sniff_format

READERS = [md.read_image, md.read_alpha, md.read_trimap]


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("cv2.imdecode must not be called")

    monkeypatch.setattr(cv2, "imdecode", boom)


# ------------------------------------------------------------------------------ file makers


def tiff_with_repeated_size(first: tuple[int, int], last: tuple[int, int]) -> bytes:
    """An 8-bit gray TIFF whose directory states ImageWidth/ImageLength twice.

    ``first`` (width, height) comes first, as libtiff (OpenCV's decoder) reads it; ``last``
    comes later, as a keep-the-last parser reads it. The one strip holds deflate-compressed
    zeros for the *first* size, so the decoder really fills ``first[0] * first[1]`` bytes.
    """
    width, height = first
    squeeze = zlib.compressobj(9)
    row_block = bytes(width * 64)
    chunks = [squeeze.compress(row_block) for _ in range(height // 64)]
    chunks += [squeeze.compress(bytes(width * (height % 64))), squeeze.flush()]
    strip = b"".join(chunks)
    entries = []

    def entry(tag: int, kind: int, value: int) -> None:
        if kind == 3:  # SHORT, left-justified in the value field
            entries.append(struct.pack("<HHIHH", tag, 3, 1, value, 0))
        else:
            entries.append(struct.pack("<HHII", tag, 4, 1, value))

    entry(256, 4, first[0])
    entry(257, 4, first[1])
    entry(256, 4, last[0])
    entry(257, 4, last[1])
    entry(258, 3, 8)  # BitsPerSample
    entry(259, 3, 8)  # Compression: deflate
    entry(262, 3, 1)  # BlackIsZero
    entry(273, 4, 8)  # StripOffsets: right after the file header
    entry(277, 3, 1)  # SamplesPerPixel
    entry(278, 4, height)  # RowsPerStrip
    entry(279, 4, len(strip))  # StripByteCounts
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8 + len(strip)) + strip + ifd


def radiance_hdr(width: int, height: int) -> bytes:
    """A run-length-encoded Radiance HDR image: about 1.3 KB per 20000-pixel row."""
    runs = b"".join(bytes([128 + 127, 0x80]) for _ in range(width // 127))
    runs += bytes([128 + width % 127, 0x80]) if width % 127 else b""
    row = b"\x02\x02" + struct.pack(">H", width) + runs * 4
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    return header + row * height


def _encoded(ext: str) -> bytes:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    if ext in (".hdr", ".pfm"):
        image = image.astype(np.float32) / 255
    if ext in (".pgm", ".pbm"):
        image = image[:, :, 0]
    ok, buffer = cv2.imencode(ext, image)
    assert ok, ext
    return buffer.tobytes()


# ------------------------------------------------------------------------------ bombs


def test_tiff_with_repeated_size_tags_is_ambiguous(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "bomb.tif"
    path.write_bytes(tiff_with_repeated_size((3000, 3000), (10, 10)))
    _forbid_decoding(monkeypatch)
    for reader in READERS:
        with pytest.raises(md.CorruptFileError, match=r"bomb\.tif is ambiguous: .*256, 257"):
            reader(path)


@pytest.mark.parametrize(
    ("ext", "name"),
    [
        (".hdr", "Radiance HDR"),
        (".gif", "GIF"),
        (".ppm", "PNM"),
        (".pgm", "PNM"),
        (".pbm", "PNM"),
        (".pam", "PNM"),
        (".pfm", "PFM"),
        (".ras", "Sun raster"),
        (".avif", "AVIF"),
    ],
)
def test_formats_outside_the_five_are_refused_before_decoding(
    tmp_path: Path, monkeypatch, ext: str, name: str
) -> None:
    """OpenCV decodes these whatever the extension, and none has a size check before it."""
    path = tmp_path / "photo.png"
    path.write_bytes(_encoded(ext))
    _forbid_decoding(monkeypatch)
    for reader in READERS:
        with pytest.raises(md.UnsupportedImageError) as info:
            reader(path)
        message = str(info.value)
        assert f"photo.png is a {name}" in message
        assert "PNG, JPEG, BMP, TIFF or WebP" in message


def test_jpeg2000_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    ok, buffer = cv2.imencode(".jp2", np.zeros((256, 256, 3), np.uint8))
    assert ok
    path = tmp_path / "x.jpg"
    path.write_bytes(buffer.tobytes())
    _forbid_decoding(monkeypatch)
    with pytest.raises(md.UnsupportedImageError, match=r"x\.jpg is a JPEG 2000 file"):
        md.read_image(path)


def test_sniffing_names_what_opencv_would_decode() -> None:
    assert sniff_format(_encoded(".hdr")) == "hdr"
    assert sniff_format(_encoded(".gif")) == "gif"
    assert sniff_format(_encoded(".avif")) == "avif"
    assert sniff_format(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff_format(b"hello") is None


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**29, 3 * 2**29))  # 1.5 GiB of address space
    import matting_data as md
    try:
        md.read_image(sys.argv[1])
        outcome = "decoded"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"outcome": outcome, "peak_bytes": peak}))
    """
)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        # 17 MB naming itself .png; decoded it is 20000 x 20000 float32 RGB, 4.8 GB.
        ("hdr.png", lambda: radiance_hdr(20000, 20000), "UnsupportedImageError: .* HDR"),
        # 1 MB; libtiff decodes 30000 x 30000, read_image makes 10.8 GB of float32 of it.
        (
            "dup.tif",
            lambda: tiff_with_repeated_size((30000, 30000), (10, 10)),
            "CorruptFileError: .* ambiguous",
        ),
    ],
)
def test_real_size_bombs_are_refused_in_little_memory(tmp_path: Path, name, make, expected):
    path = tmp_path / name
    path.write_bytes(make())
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert re.match(expected, report["outcome"]), report
    assert report["peak_bytes"] < 1.5 * 2**30, report


# ------------------------------------------------------------------------------ corrupt JPEGs


@pytest.fixture
def jpeg_bytes(mmagic: Path) -> bytes:
    return (mmagic / "image" / "GT05.jpg").read_bytes()


def test_jpeg_with_a_block_of_zeros_is_corrupt(tmp_path: Path, jpeg_bytes: bytes) -> None:
    damaged = bytearray(jpeg_bytes)
    middle = len(damaged) // 2
    damaged[middle : middle + 4096] = bytes(4096)
    path = tmp_path / "zeros.jpg"
    path.write_bytes(bytes(damaged))
    for reader in (md.read_image, md.read_alpha):
        with pytest.raises(md.CorruptFileError, match=r"zeros\.jpg is corrupt \(libjpeg: Corrupt"):
            reader(path)


def test_jpeg_cut_short_with_an_end_marker_is_corrupt(tmp_path: Path, jpeg_bytes: bytes) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_bytes[: len(jpeg_bytes) // 2] + b"\xff\xd9")
    with pytest.raises(md.CorruptFileError, match=r"cut\.jpg is corrupt \(libjpeg: .*premature"):
        md.read_image(path)


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_intact_jpegs_of_every_colour_space_pass_the_check(tmp_path: Path, mode: str) -> None:
    from PIL import Image

    rng = np.random.default_rng(3)
    bands = {"L": 1, "RGB": 3, "CMYK": 4}[mode]
    pixels = rng.integers(0, 256, (48, 40, bands), dtype=np.uint8)
    path = tmp_path / f"{mode}.jpg"
    Image.frombytes(mode, (40, 48), pixels.tobytes()).save(path, quality=90)
    assert md.read_image(path).shape == (48, 40, 3)
