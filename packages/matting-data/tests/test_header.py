"""Header parsing agrees with the decoded size, for every format written by OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md


def test_real_files(lowres: Path, mmagic: Path) -> None:
    files = [
        lowres / sub / f"GT{n:02d}.png" for sub in ("image", "alpha", "trimap") for n in (3, 8)
    ]
    files += sorted(mmagic.glob("*/*"))
    for path in files:
        data = path.read_bytes()
        header = md.read_image_header(data, source=str(path))
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert header is not None, path
        assert (header.height, header.width) == decoded.shape[:2], path
        assert header.format == ("png" if path.suffix == ".png" else "jpeg")
        assert header.pixels == header.width * header.height


@pytest.mark.parametrize(
    ("ext", "fmt", "params"),
    [
        (".png", "png", []),
        (".jpg", "jpeg", []),
        (".jpg", "jpeg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        (".bmp", "bmp", []),
        (".tif", "tiff", []),
        (".webp", "webp", []),  # lossless: VP8L
        (".webp", "webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),  # lossy: VP8
    ],
)
def test_formats(ext: str, fmt: str, params: list[int]) -> None:
    image = np.random.default_rng(2).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(ext, image, params)
    assert ok
    header = md.read_image_header(buf.tobytes())
    assert header == md.ImageHeader(fmt, 53, 37)


def test_unknown_format_returns_none() -> None:
    assert md.read_image_header(b"P5\n3 2\n255\n" + bytes(6)) is None


def test_zero_size_is_corrupt(make_raw_png) -> None:
    with pytest.raises(md.CorruptFileError, match=r"x\.png is not a valid PNG"):
        md.read_image_header(make_raw_png(None, size=(0, 10)), source="x.png")
