"""Tests of matting_data.compositing: hand-computed values, the real mmagic composite, and
the Deep Image Matting background rule (Pillow bicubic, top-left crop)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from matting_data.compositing import composite, composite_over, resize_background_to_cover
from matting_data.errors import DataError, SizeMismatchError, UnsupportedImageError
from matting_data.image_io import read_alpha, read_image


@pytest.fixture(scope="module")
def mmagic(shared_data: Path) -> Path:
    folder = shared_data / "mmagic_matting_sample"
    if not folder.is_dir():
        pytest.fail(f"real test data missing: {folder}")
    return folder


# --------------------------------------------------------------------------- composite


def test_float_2x2_hand_computed():
    fg = np.array(
        [[[1.0, 0.0, 0.5], [0.2, 0.4, 0.6]], [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]], np.float32
    )
    bg = np.array(
        [[[0.0, 1.0, 0.5], [0.8, 0.0, 0.2]], [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]], np.float32
    )
    alpha = np.array([[0.25, 0.5], [1.0, 0.0]], np.float32)
    expected = np.array(
        [[[0.25, 0.75, 0.5], [0.5, 0.2, 0.4]], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]], np.float32
    )
    out = composite(fg, bg, alpha)
    assert out.dtype == np.float32 and out.shape == (2, 2, 3)
    np.testing.assert_allclose(out, expected, atol=1e-7)
    # (H, W, 1) alpha broadcasts the same way; float64 stays float64
    np.testing.assert_allclose(composite(fg, bg, alpha[:, :, None]), expected, atol=1e-7)
    out64 = composite(fg.astype(np.float64), bg.astype(np.float64), alpha.astype(np.float64))
    assert out64.dtype == np.float64


def test_uint8_2x2_hand_computed_round_and_floor():
    fg = np.full((2, 2, 3), 200, np.uint8)
    bg = np.zeros((2, 2, 3), np.uint8)
    bg[..., 1] = 100
    alpha = np.array([[255, 0], [191, 128]], np.uint8)
    # channel 0: 200*a/255 -> 200, 0, 149.80..., 100.39...
    # channel 1: 200*a/255 + 100*(1 - a/255) -> 200, 100, 174.90..., 150.19...
    nearest = composite(fg, bg, alpha)
    floor = composite(fg, bg, alpha, rounding="floor")
    assert nearest.dtype == np.uint8 and floor.dtype == np.uint8
    assert nearest[..., 0].tolist() == [[200, 0], [150, 100]]
    assert floor[..., 0].tolist() == [[200, 0], [149, 100]]
    assert nearest[..., 1].tolist() == [[200, 100], [175, 150]]
    assert floor[..., 1].tolist() == [[200, 100], [174, 150]]
    # float alpha with uint8 images: same as the equal uint8 levels
    np.testing.assert_array_equal(composite(fg, bg, alpha / 255.0), nearest)


def test_floor_reproduces_the_dim_per_pixel_formula():
    """DIM: alpha >= 1 -> fg; alpha > 0 -> int(a*f + (1-a)*b) in Python floats; else bg."""
    rng = np.random.default_rng(0)
    fg = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    alpha[0, :3] = (0, 255, 1)
    expected = np.empty_like(fg)
    for y in range(7):
        for x in range(9):
            a = int(alpha[y, x]) / 255
            for c in range(3):
                f, b = int(fg[y, x, c]), int(bg[y, x, c])
                expected[y, x, c] = f if a >= 1 else (int(a * f + (1 - a) * b) if a > 0 else b)
    np.testing.assert_array_equal(composite(fg, bg, alpha, rounding="floor"), expected)


def test_grayscale_images():
    fg = np.array([[1.0, 0.5]], np.float32)
    bg = np.array([[0.0, 0.25]], np.float32)
    out = composite(fg, bg, np.array([[0.5, 0.5]], np.float32))
    np.testing.assert_allclose(out, [[0.5, 0.375]])


def test_composite_errors():
    fg = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(SizeMismatchError):
        composite(fg, np.zeros((4, 6, 3), np.float32), np.zeros((4, 5), np.float32))
    with pytest.raises(SizeMismatchError):
        composite(fg, fg, np.zeros((5, 4), np.float32))
    with pytest.raises(UnsupportedImageError):
        composite(fg, fg.astype(np.uint8), np.zeros((4, 5), np.float32))
    with pytest.raises(UnsupportedImageError):
        composite(fg, fg, np.full((4, 5), 1.5, np.float32))
    with pytest.raises(UnsupportedImageError):
        composite(fg + 2.0, fg, np.zeros((4, 5), np.float32))
    with pytest.raises(UnsupportedImageError):
        composite(fg, fg, np.zeros((4, 5, 2), np.float32))
    with pytest.raises(UnsupportedImageError):
        composite(fg.astype(np.int16), fg.astype(np.int16), np.zeros((4, 5), np.float32))
    with pytest.raises(DataError):  # every error above is a DataError (and a ValueError)
        composite(np.full((4, 5, 3), np.nan, np.float32), fg, np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="rounding"):
        composite(fg, fg, np.zeros((4, 5), np.float32), rounding="up")  # type: ignore[arg-type]


def test_recomposited_mmagic_sample_matches_the_real_composite(mmagic):
    fg = read_image(mmagic / "fg" / "GT05.jpg")
    bg = read_image(mmagic / "bg" / "GT26r.jpg")
    alpha = read_alpha(mmagic / "alpha" / "GT05.jpg")
    image = read_image(mmagic / "image" / "GT05.jpg")
    out = composite(fg, bg, alpha)
    assert out.shape == image.shape and out.dtype == np.float32
    assert float(np.abs(out - image).mean()) < 1 / 255  # JPEG noise only (measured 0.16/255)

    def levels(x):
        return np.rint(x * 255).astype(np.uint8)

    out8 = composite(levels(fg), levels(bg), levels(alpha))
    assert float(np.abs(out8.astype(np.float64) - levels(image)).mean()) < 1.0
    # same-size background: composite_over changes nothing
    np.testing.assert_array_equal(composite_over(levels(fg), levels(alpha), levels(bg)), out8)


# --------------------------------------------------------------------------- DIM background


def _formula_image(h: int, w: int) -> np.ndarray:
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((y * 37 + x * 91 + c * 53 + (x * y) % 7 * 29) % 256).astype(np.uint8)


# sha256 of Pillow 13's output (Image.resize(..., Image.BICUBIC) with the DIM size rule,
# then crop((0, 0, w, h))) for the formula image above: (bg h, bg w, target h, target w).
PILLOW_GOLDEN = {
    (5, 7, 13, 11): "19366becb3facc55b2a6c769a42dd31257ab237ecc96a85a29a039538dc34266",
    (9, 4, 9, 17): "15e1ff98615fda509f4235cd2758bdee32d5521e6e8e914fdfc677d35fed5740",
    (6, 6, 40, 25): "82883d54f9dd3bafe482ecbafcaf7d914dbde2738f24b389afd412c785a29b38",
}


@pytest.mark.parametrize("sizes", sorted(PILLOW_GOLDEN))
def test_cover_matches_pillow_golden_values(sizes):
    bh, bw, h, w = sizes
    out = resize_background_to_cover(_formula_image(bh, bw), h, w)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    assert hashlib.sha256(out.tobytes()).hexdigest() == PILLOW_GOLDEN[sizes]


def test_cover_matches_pillow_on_random_sizes():
    image_module = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    for _ in range(40):
        bh, bw = (int(v) for v in rng.integers(2, 40, 2))
        h, w = (int(v) for v in rng.integers(2, 90, 2))
        bg = rng.integers(0, 256, (bh, bw, 3), dtype=np.uint8)
        im = image_module.fromarray(bg)
        ratio = max(w / bw, h / bh)
        if ratio > 1:
            im = im.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), image_module.BICUBIC)
        expected = np.asarray(im.crop((0, 0, w, h)))
        np.testing.assert_array_equal(resize_background_to_cover(bg, h, w), expected)


def test_cover_large_background_is_only_cropped():
    bg = _formula_image(30, 40)
    np.testing.assert_array_equal(resize_background_to_cover(bg, 20, 25), bg[:20, :25])
    np.testing.assert_array_equal(resize_background_to_cover(bg, 30, 40), bg)


def test_cover_scales_by_the_larger_ratio_and_keeps_constants():
    # 10x20 background, 30x30 target: ratio max(30/20, 30/10) = 3 -> 30x60, then crop 30x30
    bg = np.full((10, 20, 3), 77, np.uint8)
    bg[:, 10:] = 200
    out = resize_background_to_cover(bg, 30, 30)
    assert out.shape == (30, 30, 3)
    assert (out[:, :26] == 77).all()  # left half of the 60-wide resize, away from the edge
    # float input: same weights, values stay in [0, 1] and close to the 8-bit result
    out_f = resize_background_to_cover(bg.astype(np.float32) / 255, 30, 30)
    assert out_f.dtype == np.float32 and out_f.min() >= 0.0 and out_f.max() <= 1.0
    assert np.abs(out_f * 255 - out).max() <= 1.0
    noise = np.random.default_rng(2).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    out8 = resize_background_to_cover(noise, 61, 40)
    out_f = resize_background_to_cover(noise.astype(np.float64) / 255, 61, 40)
    assert np.abs(out_f * 255 - out8).max() < 1.5  # the 8-bit path rounds its intermediate
    gray = resize_background_to_cover(np.full((3, 4), 0.5, np.float64), 9, 9)
    assert gray.shape == (9, 9) and np.allclose(gray, 0.5)


def test_composite_over_uses_the_dim_background_rule():
    rng = np.random.default_rng(4)
    fg = rng.integers(0, 256, (24, 31, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (24, 31), dtype=np.uint8)
    bg = _formula_image(7, 9)
    out = composite_over(fg, alpha, bg, rounding="floor")
    fitted = resize_background_to_cover(bg, 24, 31)
    np.testing.assert_array_equal(out, composite(fg, fitted, alpha, rounding="floor"))


def test_cover_errors():
    with pytest.raises(UnsupportedImageError):
        resize_background_to_cover(np.zeros((3, 3, 3), np.int32), 5, 5)
    with pytest.raises(ValueError):
        resize_background_to_cover(np.zeros((3, 3, 3), np.uint8), 0, 5)
