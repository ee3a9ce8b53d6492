"""Every failure mode of the readers raises the documented error, naming the file."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md

READERS = [md.read_image, md.read_alpha, md.read_trimap]


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("cv2.imdecode must not be called")

    monkeypatch.setattr(cv2, "imdecode", boom)


def test_error_hierarchy() -> None:
    for cls in (
        md.MissingFileError,
        md.CorruptFileError,
        md.ImageTooLargeError,
        md.TrimapValueError,
        md.SizeMismatchError,
        md.UnsupportedImageError,
    ):
        assert issubclass(cls, md.DataError)
    assert issubclass(md.DataError, ValueError)
    assert issubclass(md.MissingFileError, FileNotFoundError)
    assert issubclass(md.DroppedAlphaChannelWarning, UserWarning)


@pytest.mark.parametrize("reader", READERS)
def test_missing_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "nope.png"
    with pytest.raises(md.MissingFileError, match=r"nope\.png does not exist\.$"):
        reader(path)
    with pytest.raises(FileNotFoundError):
        reader(str(path))


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(md.DataError, match=r"is a directory, not a file\.$") as info:
        md.read_image(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert not isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("reader", READERS)
def test_empty_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(md.CorruptFileError, match=r"empty\.png is empty \(0 bytes\)\.$"):
        reader(path)


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.png"
    path.write_bytes(b"this is not an image at all, just text\n" * 10)
    with pytest.raises(md.CorruptFileError, match=r"garbage\.png could not be decoded"):
        md.read_image(path)


def test_png_signature_with_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(md.CorruptFileError, match=r"bad\.png is not a valid PNG"):
        md.read_image(path)


@pytest.mark.parametrize("keep", [0.5, 0.99, -12])
def test_truncated_png(tmp_path: Path, lowres: Path, keep: float) -> None:
    data = (lowres / "image" / "GT01.png").read_bytes()
    cut = int(len(data) * keep) if keep > 0 else len(data) + int(keep)  # -12: only IEND lost
    path = tmp_path / "cut.png"
    path.write_bytes(data[:cut])
    with pytest.raises(md.CorruptFileError, match=r"cut\.png is truncated"):
        md.read_image(path)


@pytest.mark.parametrize("where", ["in_header", "half", "only_eoi_lost"])
def test_truncated_jpeg(tmp_path: Path, mmagic: Path, where: str) -> None:
    data = (mmagic / "image" / "GT05.jpg").read_bytes()
    n = {"in_header": 300, "half": len(data) // 2, "only_eoi_lost": len(data) - 2}[where]
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:n])
    with pytest.raises(md.CorruptFileError, match=r"cut\.jpg is truncated"):
        md.read_image(path)


def test_jpeg_with_trailing_bytes_is_accepted(tmp_path: Path, mmagic: Path) -> None:
    data = (mmagic / "image" / "GT05.jpg").read_bytes()
    path = tmp_path / "trailer.jpg"
    path.write_bytes(data + b"\x00" * 64 + b"camera trailer")
    assert md.read_image(path).shape == (552, 800, 3)


def test_max_pixels_on_real_image(lowres: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = lowres / "image" / "GT01.png"  # 800 x 497 = 397600 px
    with pytest.raises(md.ImageTooLargeError) as info:
        md.read_image(path, max_pixels=397_599)
    msg = str(info.value)
    assert str(path) in msg and "800x497" in msg and "397,599" in msg
    assert md.read_image(path, max_pixels=397_600).shape == (497, 800, 3)
    # Environment variable, read at call time; an explicit argument wins over it.
    monkeypatch.setenv(md.MAX_PIXELS_ENV_VAR, "1000")
    with pytest.raises(md.ImageTooLargeError, match="1,000 pixels"):
        md.read_alpha(lowres / "alpha" / "GT01.png")
    assert md.read_alpha(lowres / "alpha" / "GT01.png", max_pixels=10**6).shape == (497, 800)
    monkeypatch.setenv(md.MAX_PIXELS_ENV_VAR, "lots")
    with pytest.raises(md.DataError, match=r"MATTING_MAX_PIXELS=.lots. is not a positive"):
        md.read_image(path)


def test_resolve_max_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(md.MAX_PIXELS_ENV_VAR, raising=False)
    assert md.DEFAULT_MAX_PIXELS == 2**27
    assert md.resolve_max_pixels() == 2**27
    monkeypatch.setenv(md.MAX_PIXELS_ENV_VAR, "500_000_000")
    assert md.resolve_max_pixels() == 500_000_000
    assert md.resolve_max_pixels(5) == 5
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_pixels"):
            md.resolve_max_pixels(bad)


def test_png_bomb_refused_before_decoding(
    tmp_path: Path, make_raw_png, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(make_raw_png(None, size=(100_000, 100_000)))
    assert path.stat().st_size < 200
    monkeypatch.delenv(md.MAX_PIXELS_ENV_VAR, raising=False)
    _forbid_decoding(monkeypatch)
    start = time.perf_counter()
    for reader in READERS:
        with pytest.raises(md.ImageTooLargeError) as info:
            reader(path)
        assert "bomb.png is 100000x100000 (10,000,000,000 pixels)" in str(info.value)
        assert "134,217,728" in str(info.value)
    assert time.perf_counter() - start < 1.0


def test_jpeg_bomb_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 65000, 65000, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    path = tmp_path / "bomb.jpg"
    path.write_bytes(b"\xff\xd8" + sof + sos + b"\x00" * 16 + b"\xff\xd9")
    _forbid_decoding(monkeypatch)
    with pytest.raises(md.ImageTooLargeError, match=r"bomb\.jpg is 65000x65000"):
        md.read_image(path, max_pixels=2**27)


def test_size_mismatch_names_both_files(lowres: Path) -> None:
    image = lowres / "image" / "GT01.png"  # 800x497
    trimap = lowres / "trimap" / "GT03.png"  # 640x800
    with pytest.raises(md.SizeMismatchError) as info:
        md.read_sample(image=image, trimap=trimap)
    assert str(info.value) == f"trimap {trimap} is 640x800 but image {image} is 800x497."


def test_check_same_size() -> None:
    a, b = np.zeros((480, 640)), np.zeros((600, 800, 3))
    assert md.check_same_size(x=(None, a), y=("y.png", np.zeros((480, 640, 3)))) == (480, 640)
    with pytest.raises(
        md.SizeMismatchError, match=r"^alpha is 800x600 but image a\.png is 640x480\.$"
    ):
        md.check_same_size(image=("a.png", a), alpha=(None, b))
    assert md.check_same_size() is None


def test_read_sample_needs_a_path() -> None:
    with pytest.raises(ValueError, match="at least one"):
        md.read_sample()


def test_alpha_with_unequal_channels(tmp_path: Path, lowres: Path) -> None:
    path = tmp_path / "colour_alpha.png"
    path.write_bytes((lowres / "image" / "GT01.png").read_bytes())
    with pytest.raises(md.UnsupportedImageError, match=r"colour_alpha\.png has \d+ pixels whose"):
        md.read_alpha(path)


def test_alpha_from_rgba(tmp_path: Path, lowres: Path) -> None:
    alpha8 = (md.read_alpha(lowres / "alpha" / "GT01.png") * 255).round().astype(np.uint8)
    white = np.full_like(alpha8, 255)
    cut_out = tmp_path / "cutout.png"
    cv2.imwrite(str(cut_out), np.dstack([white, white, white, alpha8]))
    np.testing.assert_array_equal(md.read_alpha(cut_out), alpha8 / np.float32(255))
    opaque = tmp_path / "opaque.png"
    cv2.imwrite(str(opaque), np.dstack([alpha8, alpha8, alpha8, white]))
    np.testing.assert_array_equal(md.read_alpha(opaque), alpha8 / np.float32(255))
    rgb = (md.read_image(lowres / "image" / "GT01.png") * 255).round().astype(np.uint8)
    foreground = tmp_path / "fg.png"
    cv2.imwrite(str(foreground), np.dstack([rgb, alpha8]))
    with pytest.raises(md.UnsupportedImageError, match=r"fg\.png is an RGBA image .* ambiguous"):
        md.read_alpha(foreground)


def test_messages_are_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "e.png"
    path.touch()
    with pytest.raises(md.CorruptFileError) as info:
        md.read_image(path)
    msg = str(info.value)
    assert msg.endswith(".") and "\n" not in msg and msg.count(". ") == 0
