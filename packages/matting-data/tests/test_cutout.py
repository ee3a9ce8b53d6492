"""RGBA cutouts, background fitting and colours (matting_data.cutout), on the mmagic sample
(a real composite whose foreground, background and alpha are all known)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import matting_data as md


@pytest.fixture(scope="module")
def composite_case(mmagic: Path):
    return {
        "image": md.read_image(mmagic / "image" / "GT05.jpg"),
        "alpha": md.read_alpha(mmagic / "alpha" / "GT05.jpg"),
        "fg": md.read_image(mmagic / "fg" / "GT05.jpg"),
        "bg": md.read_image(mmagic / "bg" / "GT26r.jpg"),
    }


@pytest.mark.parametrize("method", ["multilevel", "blur_fusion"])
def test_cutout_colours_leave_the_old_background_behind(composite_case, method):
    case = composite_case
    rgba = md.cutout_rgba(case["image"], case["alpha"], method=method)
    assert rgba.shape == (*case["alpha"].shape, 4) and rgba.dtype == np.float32
    assert np.array_equal(rgba[:, :, 3], case["alpha"])
    naive = md.background_leak(case["image"], case["fg"], case["bg"], case["alpha"])
    ours = md.background_leak(rgba[:, :, :3], case["fg"], case["bg"], case["alpha"])
    # measured: the photo's pixels carry 29 % of the old background, multilevel 7 %,
    # Blur-Fusion 13 %
    assert naive > 0.25
    assert ours < 0.5 * naive, (ours, naive)
    # where the matte is opaque the cutout is the photo, over any background
    opaque = case["alpha"] == 1.0
    for new_background in (0.0, 1.0):
        over = md.composite(
            rgba[:, :, :3], np.full_like(case["image"], new_background), rgba[..., 3]
        )
        assert np.abs(over[opaque] - case["image"][opaque]).mean() < 1e-3


def test_cutout_of_uint8_inputs(composite_case):
    image8 = np.rint(composite_case["image"] * 255).astype(np.uint8)
    alpha8 = np.rint(composite_case["alpha"] * 255).astype(np.uint8)
    rgba = md.cutout_rgba(image8[:64, :64], alpha8[:64, :64, None], method="blur_fusion")
    assert rgba.dtype == np.float32 and rgba.shape == (64, 64, 4)
    assert np.allclose(rgba[:, :, 3], alpha8[:64, :64] / 255.0)


def test_fit_background_covers_and_centres():
    background = np.zeros((100, 200, 3), np.float32)
    background[:, 100:] = 1.0  # left half black, right half white
    fitted = md.fit_background(background, 50, 50)  # shrink to 50 x 100, keep the middle 50
    assert fitted.shape == (50, 50, 3)
    assert fitted[:, :24].max() < 0.05 and fitted[:, 26:].min() > 0.95
    grown = md.fit_background(np.ones((10, 10, 3), np.uint8) * 7, 30, 60)
    assert grown.shape == (30, 60, 3) and grown.dtype == np.uint8 and (grown == 7).all()


def test_fit_background_of_a_real_photo_is_not_its_corner():
    photo = md.read_image(md.sample_background())  # 1000 x 872
    fitted = md.fit_background(photo, 436, 500)  # half size: shrunk, not cropped
    assert fitted.shape == (436, 500, 3)
    assert abs(float(fitted.mean()) - float(photo.mean())) < 0.01


@pytest.mark.parametrize(
    "text, expected",
    [
        ("white", (1.0, 1.0, 1.0)),
        (" Black ", (0.0, 0.0, 0.0)),
        ("#ff8000", (1.0, 128 / 255, 0.0)),
        ("00FF00", (0.0, 1.0, 0.0)),
        ("#0f0", (0.0, 1.0, 0.0)),
        ("12,34,255", (12 / 255, 34 / 255, 1.0)),
        ("green", (0.0, 128 / 255, 0.0)),
    ],
)
def test_parse_colour(text, expected):
    assert md.parse_colour(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "blurple", "#12345", "1,2", "256,0,0", "-1,0,0", "photo.jpg"])
def test_parse_colour_refuses(text):
    with pytest.raises(ValueError, match="is not a colour"):
        md.parse_colour(text)


def test_solid_background():
    flat = md.solid_background((1.0, 0.5, 0.0), 3, 4)
    assert flat.shape == (3, 4, 3) and flat.dtype == np.float32
    assert flat[2, 3].tolist() == [1.0, 0.5, 0.0]
