"""Reading the project's real data (alphamatting.com low-res training set, mmagic sample)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md


def test_image_gt01(lowres: Path) -> None:
    img = md.read_image(lowres / "image" / "GT01.png")
    assert img.shape == (497, 800, 3)
    assert img.dtype == np.float32
    assert img.flags.c_contiguous
    assert 0.0 <= img.min() < 0.05 and 0.95 < img.max() <= 1.0
    # Same pixels as OpenCV's BGR decode, reordered to RGB and scaled.
    bgr = cv2.imdecode(np.fromfile(lowres / "image" / "GT01.png", np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(img, bgr[:, :, ::-1].astype(np.float32) / 255)


def test_alpha_gt01_rgb_equal_channels(lowres: Path) -> None:
    path = lowres / "alpha" / "GT01.png"
    raw = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.shape == (497, 800, 3)  # the file really is 3-channel
    alpha = md.read_alpha(path)
    assert alpha.shape == (497, 800)
    assert alpha.dtype == np.float32
    assert alpha.min() == 0.0 and alpha.max() == 1.0
    np.testing.assert_array_equal(alpha, raw[:, :, 0].astype(np.float32) / 255)
    assert 0.0 < np.mean((alpha > 0) & (alpha < 1)) < 0.5  # a real matte has a soft band


def test_trimap_gt01_palette(lowres: Path) -> None:
    path = lowres / "trimap" / "GT01.png"
    assert path.read_bytes()[25] == 3  # IHDR colour type 3 = palette
    tri = md.read_trimap(path)
    assert tri.shape == (497, 800)
    assert tri.dtype == np.uint8
    assert set(np.unique(tri).tolist()) == {0, 128, 255}


def test_trimaps_consistent_with_alpha(lowres: Path) -> None:
    # Where Trimap1 says "known", the ground truth is (almost everywhere) exactly 0 or 1.
    tri = md.read_trimap(lowres / "trimap" / "GT02.png")
    alpha = md.read_alpha(lowres / "alpha" / "GT02.png")
    assert np.all(alpha[tri == 255] == 1.0)
    assert np.all(alpha[tri == 0] == 0.0)
    unknown = np.mean(tri == 128)
    assert 0.05 < unknown < 0.40
    # Trimap2 has the larger unknown band.
    assert np.mean(md.read_trimap(lowres / "trimap2" / "GT02.png") == 128) > unknown


@pytest.mark.parametrize("n", range(1, 21))
def test_all_cases_read_and_match(lowres: Path, n: int) -> None:
    name = f"GT{n:02d}.png"
    s = md.read_sample(lowres / "image" / name, lowres / "trimap" / name, lowres / "alpha" / name)
    h, w = s["alpha"].shape
    assert s["image"].shape == (h, w, 3)
    assert s["trimap"].shape == (h, w)
    assert max(h, w) == 800
    assert md.read_trimap(lowres / "trimap2" / name).shape == (h, w)


def test_mmagic_rgb_trimap_and_jpeg_alpha(mmagic: Path, lowres: Path) -> None:
    tri_path = mmagic / "trimap" / "GT05.png"
    assert cv2.imdecode(np.fromfile(tri_path, np.uint8), cv2.IMREAD_UNCHANGED).ndim == 3
    tri = md.read_trimap(tri_path)
    assert tri.shape == (552, 800)
    assert set(np.unique(tri).tolist()) == {0, 128, 255}

    alpha_jpg = md.read_alpha(mmagic / "alpha" / "GT05.jpg")
    assert alpha_jpg.shape == (552, 800)
    assert alpha_jpg.dtype == np.float32
    # Same matte as the lossless ground truth up to JPEG error.
    alpha_png = md.read_alpha(lowres / "alpha" / "GT05.png")
    assert np.mean(np.abs(alpha_jpg - alpha_png)) < 0.5 / 255

    img = md.read_image(mmagic / "image" / "GT05.jpg")
    assert img.shape == (552, 800, 3) and img.dtype == np.float32


def test_image_channel_order_is_rgb(tmp_path: Path, make_raw_png) -> None:
    # A PNG encoded by hand (no OpenCV): red, green, blue pixels.
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    path = tmp_path / "rgb.png"
    path.write_bytes(make_raw_png(pixels))
    img = md.read_image(path)
    np.testing.assert_array_equal(img[0], np.eye(3, dtype=np.float32))


def test_non_ascii_path(tmp_path: Path, lowres: Path) -> None:
    target = tmp_path / "données ünïcode 画像" / "GT01.png"
    target.parent.mkdir()
    target.write_bytes((lowres / "trimap" / "GT01.png").read_bytes())
    assert md.read_trimap(target).shape == (497, 800)
