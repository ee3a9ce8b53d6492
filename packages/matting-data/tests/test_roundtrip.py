"""Write-then-read round trips (all files in tmp_path)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md


@pytest.fixture(scope="module")
def real_alpha(lowres: Path) -> np.ndarray:
    return md.read_alpha(lowres / "alpha" / "GT03.png")


@pytest.fixture(scope="module")
def smooth_alpha() -> np.ndarray:
    # Values that are not multiples of 1/255: only 16-bit keeps them.
    y, x = np.mgrid[0:64, 0:96]
    return ((np.sin(x / 7.0) * np.cos(y / 5.0) + 1) / 2).astype(np.float32)


def test_alpha_8bit_png(tmp_path: Path, real_alpha: np.ndarray) -> None:
    path = md.write_alpha(tmp_path / "a8.png", real_alpha)
    raw = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw.ndim == 2
    back = md.read_alpha(path)
    np.testing.assert_array_equal(back, real_alpha)  # real alpha is 8-bit: exact


def test_alpha_16bit_png_keeps_precision(tmp_path: Path, smooth_alpha: np.ndarray) -> None:
    path = md.write_alpha(tmp_path / "sub" / "dir" / "a16.png", smooth_alpha, bit_depth=16)
    raw = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    back = md.read_alpha(path)
    assert back.dtype == np.float32 and back.shape == smooth_alpha.shape
    err16 = np.abs(back - smooth_alpha).max()
    assert err16 < 1 / 65535 + 1e-6
    # ...whereas 8 bits lose it.
    err8 = np.abs(md.read_alpha(md.write_alpha(tmp_path / "a8.png", smooth_alpha)) - smooth_alpha)
    assert err8.max() > 100 * err16


def test_alpha_clipped_and_integer_inputs(tmp_path: Path) -> None:
    a = np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]], dtype=np.float64)
    back = md.read_alpha(md.write_alpha(tmp_path / "c.png", a))
    np.testing.assert_allclose(back, [[0, 0, 128 / 255, 1, 1]], atol=1e-7)
    u8 = np.array([[0, 1, 254, 255]], dtype=np.uint8)
    raw16 = cv2.imread(str(md.write_alpha(tmp_path / "u.png", u8, bit_depth=16)), -1)
    np.testing.assert_array_equal(raw16, u8.astype(np.uint16) * 257)
    u16 = np.array([[0, 128, 129, 65535]], dtype=np.uint16)
    raw8 = cv2.imread(str(md.write_alpha(tmp_path / "v.png", u16, bit_depth=8)), -1)
    np.testing.assert_array_equal(raw8, [[0, 0, 1, 255]])


def test_alpha_nan_rejected(tmp_path: Path) -> None:
    a = np.zeros((4, 4), np.float32)
    a[1, 2] = np.nan
    with pytest.raises(md.DataError, match=r"alpha for .*nan\.png contains 1 NaN"):
        md.write_alpha(tmp_path / "nan.png", a)
    assert os.listdir(tmp_path) == []


def test_write_alpha_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bit_depth"):
        md.write_alpha(tmp_path / "a.png", np.zeros((2, 2)), bit_depth=12)
    with pytest.raises(ValueError, match=r"\.png"):
        md.write_alpha(tmp_path / "a.jpg", np.zeros((2, 2)))
    with pytest.raises(md.UnsupportedImageError, match=r"shape \(2, 2, 3\)"):
        md.write_alpha(tmp_path / "a.png", np.zeros((2, 2, 3)))
    with pytest.raises(md.UnsupportedImageError, match="int32"):
        md.write_alpha(tmp_path / "a.png", np.zeros((2, 2), np.int32))


def test_rgba_image_warns_and_drops_alpha(tmp_path: Path, lowres: Path) -> None:
    rgb = md.read_image(lowres / "image" / "GT04.png")
    alpha = md.read_alpha(lowres / "alpha" / "GT04.png")
    bgra = np.dstack([(rgb[:, :, ::-1] * 255).round(), (alpha * 255).round()]).astype(np.uint8)
    path = tmp_path / "rgba.png"
    assert cv2.imwrite(str(path), bgra)
    with pytest.warns(md.DroppedAlphaChannelWarning, match=r"rgba\.png has an alpha channel"):
        back = md.read_image(path)
    assert back.shape == rgb.shape
    np.testing.assert_array_equal(back, rgb)


def test_opaque_rgba_image_does_not_warn(tmp_path: Path) -> None:
    bgra = np.full((3, 5, 4), 255, np.uint8)
    bgra[..., 0] = 10  # blue
    path = tmp_path / "opaque.png"
    cv2.imwrite(str(path), bgra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = md.read_image(path)
    np.testing.assert_allclose(img[0, 0], [1.0, 1.0, 10 / 255])


def test_grayscale_image_promoted_to_rgb(tmp_path: Path, lowres: Path) -> None:
    gray = cv2.imdecode(np.fromfile(lowres / "image" / "GT06.png", np.uint8), 0)
    path = tmp_path / "gray.png"
    cv2.imwrite(str(path), gray)
    img = md.read_image(path)
    assert img.shape == (*gray.shape, 3) and img.dtype == np.float32
    assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2])
    np.testing.assert_array_equal(img[..., 0], gray / np.float32(255))


def test_16bit_rgb_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgb16 = rng.integers(0, 65536, size=(20, 30, 3), dtype=np.uint16)
    path = md.write_image(tmp_path / "i16.png", rgb16, bit_depth=16)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    np.testing.assert_array_equal(raw[..., ::-1], rgb16)  # stored BGR on disk
    img = md.read_image(path)
    np.testing.assert_allclose(img, rgb16 / 65535.0, atol=1e-7)
    np.testing.assert_array_equal(np.rint(img.astype(np.float64) * 65535), rgb16)


def test_float_image_png_and_jpeg(tmp_path: Path, lowres: Path) -> None:
    rgb = md.read_image(lowres / "image" / "GT07.png")
    png = md.read_image(md.write_image(tmp_path / "x.png", rgb))
    np.testing.assert_array_equal(png, rgb)
    jpg = md.read_image(md.write_image(tmp_path / "x.jpg", rgb))
    assert jpg.shape == rgb.shape and jpg.dtype == np.float32
    err = np.abs(jpg - rgb)
    assert 0 < err.mean() < 3 / 255  # lossy, but the same picture
    # Colour channels were not swapped on the way.
    np.testing.assert_allclose(jpg.mean(axis=(0, 1)), rgb.mean(axis=(0, 1)), atol=2 / 255)


@pytest.mark.parametrize("ext", [".bmp", ".tif", ".webp"])
def test_other_formats(tmp_path: Path, ext: str) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    back = md.read_image(md.write_image(tmp_path / f"x{ext}", rgb))
    np.testing.assert_array_equal(np.rint(back * 255).astype(np.uint8), rgb)


def test_write_image_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16 bits"):
        md.write_image(tmp_path / "x.jpg", np.zeros((2, 2, 3)), bit_depth=16)
    with pytest.raises(ValueError, match="extension"):
        md.write_image(tmp_path / "x.gif", np.zeros((2, 2, 3)))
    with pytest.raises(md.UnsupportedImageError, match=r"shape \(2, 2, 5\)"):
        md.write_image(tmp_path / "x.png", np.zeros((2, 2, 5)))
    with pytest.raises(ValueError, match=r"alpha channel as \.jpg"):
        md.write_image(tmp_path / "x.jpg", np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="extension"):
        md.encode_image(np.zeros((2, 2, 3)), ".gif")


def test_encoders_give_the_bytes_the_writers_write(tmp_path: Path, real_alpha: np.ndarray) -> None:
    for bit_depth in (8, 16):
        written = md.write_alpha(tmp_path / f"a{bit_depth}.png", real_alpha, bit_depth=bit_depth)
        assert md.encode_alpha(real_alpha, bit_depth=bit_depth) == written.read_bytes()
    rgb = np.dstack([real_alpha, 1 - real_alpha, real_alpha * 0.5])
    for ext in (".png", ".jpg", ".webp"):
        written = md.write_image(tmp_path / f"x{ext}", rgb)
        assert md.encode_image(rgb, ext) == written.read_bytes()


def test_rgba_png_round_trip_keeps_channel_order(tmp_path: Path) -> None:
    rgba = np.random.default_rng(2).integers(0, 256, (7, 11, 4), dtype=np.uint8)
    for bit_depth in (8, 16):
        path = md.write_image(tmp_path / f"cutout{bit_depth}.png", rgba, bit_depth=bit_depth)
        raw = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
        assert raw.shape == (7, 11, 4)
        scale = 1 if bit_depth == 8 else 257
        np.testing.assert_array_equal(raw[:, :, [2, 1, 0, 3]], rgba.astype(raw.dtype) * scale)
