"""Trimaps from a mask and from scribbles (matting_data.user_trimaps), on hand-built arrays with
hand-computed bands and on the bundled real photos with their derived scribbles and masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md
from matting_data.user_trimaps import band_trimap


def _square(size: int = 40, lo: int = 10, hi: int = 30) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    mask[lo:hi, lo:hi] = 1.0
    return mask


# --------------------------------------------------------------------------- masks


def test_band_is_half_on_each_side_of_the_edge():
    trimap = md.trimap_from_mask(_square(), band=10)
    row = trimap[20]
    # the edge is between columns 9 and 10: columns 5..14 (5 px on each side) are unknown
    assert row[:5].tolist() == [0] * 5
    assert row[5:15].tolist() == [128] * 10
    assert row[15:25].tolist() == [255] * 10
    assert row[25:35].tolist() == [128] * 10
    assert row[35:].tolist() == [0] * 5


def test_asymmetric_band():
    trimap = md.trimap_from_mask(_square(), band=10, band_fg=2, band_bg=8)
    row = trimap[20]
    # 8 px of background (columns 2..9) and 2 px of foreground (10, 11)
    assert row[:2].tolist() == [0, 0]
    assert row[2:12].tolist() == [128] * 10
    assert row[12] == 255


def test_band_zero_marks_only_the_uncertain_zone():
    soft = _square()
    soft[20, 5:10] = 0.5  # a soft tail the mask is unsure of
    trimap = md.trimap_from_mask(soft, band=0)
    assert trimap[20, 5:10].tolist() == [128] * 5
    assert (trimap[soft >= 0.95] == 255).all()
    assert (trimap[soft <= 0.05] == 0).all()


def test_the_image_border_is_not_an_edge():
    mask = np.zeros((30, 30), np.float32)
    mask[:, :15] = 1.0  # the foreground touches the left, top and bottom borders
    trimap = md.trimap_from_mask(mask, band=6)
    assert trimap[0, 0] == 255 and trimap[29, 0] == 255  # corners are not shrunk
    assert trimap[15, :12].tolist() == [255] * 12
    assert trimap[15, 12:18].tolist() == [128] * 6


def test_mask_dtypes_agree():
    mask = _square()
    expected = md.trimap_from_mask(mask, band=8)
    assert np.array_equal(md.trimap_from_mask((mask * 255).astype(np.uint8), band=8), expected)
    assert np.array_equal(md.trimap_from_mask(mask > 0.5, band=8), expected)
    assert np.array_equal(md.trimap_from_mask(mask[:, :, None], band=8), expected)


def test_soft_mask_confidence():
    soft = np.tile(np.linspace(0.0, 1.0, 101, dtype=np.float32), (5, 1))
    trimap = md.trimap_from_mask(soft, band=0, confidence=0.9)
    assert trimap[0, 10] == 0 and trimap[0, 11] == 128  # 0.10 <= 1 - 0.9; 0.11 is not
    assert trimap[0, 89] == 128 and trimap[0, 90] == 255


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.zeros((8, 8), np.float32), "no foreground"),
        (np.ones((8, 8), np.float32), "no background"),
    ],
)
def test_mask_without_one_side_is_refused(mask, message):
    with pytest.raises(md.TrimapSourceError, match=message):
        md.trimap_from_mask(mask)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"band": -1}, ValueError),
        ({"band": 10_000}, ValueError),
        ({"band": 4, "band_fg": -2}, ValueError),
        ({"confidence": 0.5}, ValueError),
        ({"band": True}, ValueError),
    ],
)
def test_bad_options(kwargs, error):
    with pytest.raises(error):
        md.trimap_from_mask(_square(), **kwargs)


@pytest.mark.parametrize(
    "mask",
    [
        np.full((4, 4), 2.0, np.float32),
        np.full((4, 4), np.nan, np.float32),
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4), np.int32),
    ],
)
def test_bad_masks(mask):
    with pytest.raises(md.UnsupportedImageError):
        md.trimap_from_mask(mask)


def test_band_trimap_regions_shrink_independently():
    fg = np.zeros((20, 20), bool)
    fg[:, :10] = True
    trimap = band_trimap(fg, ~fg, 3.0, 0.0)
    assert trimap[5, 6] == 255 and trimap[5, 7] == 128 and trimap[5, 10] == 0


@pytest.mark.parametrize("name", ["GT17", "GT20"])
def test_rough_mask_of_a_real_photo(name):
    paths = md.sample_paths(name)
    mask = md.read_mask(paths["masks"])
    alpha = md.read_alpha(paths["alpha"])
    trimap = md.trimap_from_mask(mask, band=md.DEFAULT_BAND)
    assert set(np.unique(trimap).tolist()) == {0, 128, 255}
    # known pixels lie well inside the mask's own regions
    assert (mask[trimap == 255] == 1).all() and (mask[trimap == 0] == 0).all()
    # the rough outline misses hair, so a few known pixels are wrong, but not many
    wrong = np.mean((trimap == 255) & (alpha < 0.5)) + np.mean((trimap == 0) & (alpha > 0.5))
    assert wrong < 0.005, wrong
    # the band is where the outline's edge is: most of the ground truth's transition
    transition = (alpha > 0.02) & (alpha < 0.98)
    assert np.mean(trimap[transition] == 128) > 0.6


# --------------------------------------------------------------------------- scribbles


def test_scribble_masks_thresholds():
    values = np.array([[0, 63, 64, 128, 191, 192, 255]], np.uint8)
    fg, bg = md.scribble_masks(values)
    assert fg.tolist() == [[False, False, False, False, False, True, True]]
    assert bg.tolist() == [[True, True, False, False, False, False, False]]


def _scribble_case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    paths = md.sample_paths(name)
    return (
        md.read_image(paths["image"]),
        md.read_alpha(paths["scribbles"]),
        md.read_alpha(paths["alpha"]),
    )


@pytest.fixture(scope="module")
def gt19() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _scribble_case("GT19")


def test_grabcut_scribbles_on_a_real_photo(gt19):
    image, scribbles, alpha = gt19
    trimap = md.trimap_from_scribbles(image, scribbles)
    fg, bg = md.scribble_masks(scribbles)
    assert (trimap[fg] == 255).all() and (trimap[bg] == 0).all()
    wrong = np.mean((trimap == 255) & (alpha < 1.0)) + np.mean((trimap == 0) & (alpha > 0.0))
    assert wrong < 0.0005, wrong
    transition = (alpha > 0.0) & (alpha < 1.0)
    assert np.mean(trimap[transition] == 128) > 0.95
    assert 0.03 < np.mean(trimap == 128) < 0.15  # a band, not the whole photo
    # the same strokes give the same trimap (GrabCut's k-means is seeded)
    assert np.array_equal(md.trimap_from_scribbles(image, scribbles), trimap)


def test_geodesic_segmentation_and_grabcut_improves_it(gt19):
    image, scribbles, alpha = gt19
    fg, bg = md.scribble_masks(scribbles)
    truth = alpha >= 0.5
    geodesic = md.segment_scribbles(image, fg, bg, method="geodesic")
    grabcut = md.segment_scribbles(image, fg, bg, method="grabcut")
    geodesic_error = np.mean(geodesic != truth)
    grabcut_error = np.mean(grabcut != truth)
    assert geodesic_error < 0.06, geodesic_error
    assert grabcut_error < 0.5 * geodesic_error, (grabcut_error, geodesic_error)


def test_large_photos_are_segmented_downscaled(gt19):
    image, scribbles, alpha = gt19
    fg, bg = md.scribble_masks(scribbles)
    small = md.segment_scribbles(image, fg, bg, max_pixels=60_000)
    assert small.shape == alpha.shape
    assert (small[fg]).all() and not (small[bg]).any()
    assert np.mean(small != (alpha >= 0.5)) < 0.01


def test_uint8_photo_and_scribbles_agree():
    image = np.zeros((40, 60, 3), np.float32)
    image[:, 30:] = (0.9, 0.2, 0.1)
    scribbles = np.full((40, 60), 128, np.uint8)
    scribbles[18:22, 40:55] = 255
    scribbles[18:22, 5:20] = 0
    from_float = md.trimap_from_scribbles(image, scribbles, band=4)
    from_uint8 = md.trimap_from_scribbles((image * 255).astype(np.uint8), scribbles, band=4)
    assert np.array_equal(from_float, from_uint8)
    # a two-colour photo splits at the colour edge (column 30), the band around it
    assert from_float[5, :28].tolist() == [0] * 28
    assert from_float[5, 28:32].tolist() == [128] * 4
    assert from_float[5, 32:].tolist() == [255] * 28


@pytest.mark.parametrize(
    "paint, message",
    [
        ({"fg": True, "bg": False}, "no background stroke"),
        ({"fg": False, "bg": True}, "no foreground"),
    ],
)
def test_scribbles_need_both_kinds(paint, message):
    image = np.zeros((20, 20, 3), np.float32)
    scribbles = np.full((20, 20), 128, np.uint8)
    if paint["fg"]:
        scribbles[5, 5] = 255
    if paint["bg"]:
        scribbles[15, 15] = 0
    with pytest.raises(md.TrimapSourceError, match=message):
        md.trimap_from_scribbles(image, scribbles)


def test_scribbles_of_another_size_are_refused():
    with pytest.raises(md.SizeMismatchError):
        md.segment_scribbles(
            np.zeros((20, 20, 3), np.float32), np.ones((10, 10), bool), np.ones((10, 10), bool)
        )


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "magic"}, {"iterations": 0}, {"max_pixels": 10}],
)
def test_bad_segmentation_options(kwargs):
    fg = np.zeros((20, 20), bool)
    fg[2, 2] = True
    with pytest.raises(ValueError):
        md.segment_scribbles(np.zeros((20, 20, 3), np.float32), fg, ~fg, **kwargs)


# --------------------------------------------------------------------------- read_mask


def test_read_mask_layouts(tmp_path: Path):
    gray = np.zeros((6, 8), np.uint8)
    gray[:, 4:] = 255
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    assert np.array_equal(md.read_mask(tmp_path / "gray.png"), gray / np.float32(255))
    # an editor's cut-out: the photo's colours, the selection in the alpha channel
    cutout = np.dstack([np.random.default_rng(0).integers(0, 256, (6, 8, 3)), gray]).astype(
        np.uint8
    )
    cv2.imwrite(str(tmp_path / "cutout.png"), cutout)
    assert np.array_equal(md.read_mask(tmp_path / "cutout.png"), gray / np.float32(255))
    # an opaque colour photo is not a mask
    photo = cutout.copy()
    photo[:, :, 3] = 255
    cv2.imwrite(str(tmp_path / "photo.png"), photo)
    with pytest.raises(md.UnsupportedImageError, match="grayscale"):
        md.read_mask(tmp_path / "photo.png")
    with pytest.raises(md.MissingFileError):
        md.read_mask(tmp_path / "missing.png")
