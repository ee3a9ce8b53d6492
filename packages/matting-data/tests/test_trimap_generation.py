"""Tests of matting_data.trimap_generation on real alphamatting.com ground-truth mattes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy import ndimage

from matting_data.errors import DataError, UnsupportedImageError
from matting_data.image_io import read_alpha
from matting_data.trimap_generation import (
    DEFAULT_KERNEL_RANGES,
    trimap_from_alpha,
    trimap_from_alpha_fixed,
)

VALUES = {0, 128, 255}


@pytest.fixture(scope="module")
def alpha_gt(shared_data: Path) -> dict[str, np.ndarray]:
    """Real mattes as uint8 levels (exact: 8-bit PNGs)."""
    folder = shared_data / "alphamatting_training_lowres" / "alpha"
    if not folder.is_dir():
        pytest.fail(f"real test data missing: {folder}")
    return {
        case: np.rint(read_alpha(folder / f"{case}.png") * 255).astype(np.uint8)
        for case in ("GT01", "GT04", "GT13")
    }


def _check_consistent(trimap: np.ndarray, alpha_u8: np.ndarray) -> None:
    """Known trimap pixels agree with alpha; fractional alpha is always unknown."""
    assert trimap.dtype == np.uint8 and trimap.shape == alpha_u8.shape
    assert set(np.unique(trimap).tolist()) <= VALUES
    assert (alpha_u8[trimap == 255] == 255).all()
    assert (alpha_u8[trimap == 0] == 0).all()
    fractional = (alpha_u8 > 0) & (alpha_u8 < 255)
    assert (trimap[fractional] == 128).all()


@pytest.mark.parametrize("mode", ["erode_dilate", "dilate"])
def test_values_and_consistency_on_real_mattes(alpha_gt, mode):
    for case, alpha in alpha_gt.items():
        trimap = trimap_from_alpha(alpha, rng=np.random.default_rng(7), mode=mode)
        _check_consistent(trimap, alpha)
        assert set(np.unique(trimap).tolist()) == VALUES, case


@pytest.mark.parametrize("mode", ["erode_dilate", "dilate"])
def test_same_seed_same_trimap_other_seed_differs(alpha_gt, mode):
    alpha = alpha_gt["GT01"]
    first = trimap_from_alpha(alpha, rng=np.random.default_rng(123), mode=mode)
    again = trimap_from_alpha(alpha, rng=np.random.default_rng(123), mode=mode)
    np.testing.assert_array_equal(first, again)
    others = [trimap_from_alpha(alpha, rng=np.random.default_rng(s), mode=mode) for s in (1, 2, 3)]
    assert any(not np.array_equal(first, other) for other in others)


def test_rng_is_the_only_randomness(alpha_gt):
    alpha = alpha_gt["GT04"]
    rng = np.random.default_rng(5)
    sequence = [trimap_from_alpha(alpha, rng=rng) for _ in range(3)]
    np.random.seed(0)  # global state must not matter
    rng = np.random.default_rng(5)
    again = [trimap_from_alpha(alpha, rng=rng) for _ in range(3)]
    for a, b in zip(sequence, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_float_and_uint8_alpha_give_the_same_trimap(alpha_gt):
    alpha = alpha_gt["GT13"]
    as_float = alpha.astype(np.float32) / 255
    for mode in ("erode_dilate", "dilate"):
        a = trimap_from_alpha(alpha, rng=np.random.default_rng(3), mode=mode)
        b = trimap_from_alpha(as_float, rng=np.random.default_rng(3), mode=mode)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        trimap_from_alpha_fixed(alpha, 9), trimap_from_alpha_fixed(as_float[:, :, None], 9)
    )


@pytest.mark.parametrize("mode", ["erode_dilate", "dilate"])
def test_unknown_band_grows_with_kernel_size(alpha_gt, mode):
    alpha = alpha_gt["GT01"]
    counts = [
        int(
            np.count_nonzero(
                trimap_from_alpha(
                    alpha, rng=np.random.default_rng(0), kernel_range=(k, k), mode=mode
                )
                == 128
            )
        )
        for k in (2, 5, 11, 21, 29)
    ]
    assert counts == sorted(counts) and len(set(counts)) == len(counts), counts


def test_fixed_trimap_band_grows_and_is_deterministic(alpha_gt):
    alpha = alpha_gt["GT04"]
    trimaps = [trimap_from_alpha_fixed(alpha, k) for k in (1, 5, 15, 25)]
    counts = [int(np.count_nonzero(t == 128)) for t in trimaps]
    assert counts == sorted(counts) and len(set(counts)) == 4, counts
    for t in trimaps:
        _check_consistent(t, alpha)
    np.testing.assert_array_equal(trimaps[2], trimap_from_alpha_fixed(alpha, 15))
    # kernel 1 erodes nothing: unknown is exactly the fractional alpha
    np.testing.assert_array_equal(trimaps[0] == 128, (alpha > 0) & (alpha < 255))


def test_erosion_matches_scipy_with_the_same_ellipse(alpha_gt):
    """Independent check of the GCA recipe: binary erosion of fg/bg by an elliptic element."""
    alpha = alpha_gt["GT13"]
    for size in (4, 9, 17):
        element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)).astype(bool)
        # Both anchor the element at (size // 2, size // 2); OpenCV's default erosion border
        # never erodes, which is scipy's border_value=1.
        fg = ndimage.binary_erosion(alpha == 255, element, border_value=1)
        bg = ndimage.binary_erosion(alpha == 0, element, border_value=1)
        expected = np.full(alpha.shape, 128, np.uint8)
        expected[fg] = 255
        expected[bg] = 0
        np.testing.assert_array_equal(trimap_from_alpha_fixed(alpha, size), expected)


def test_random_kernel_sizes_cover_the_range(alpha_gt):
    alpha = alpha_gt["GT01"]
    rng = np.random.default_rng(11)
    counts = {int(np.count_nonzero(trimap_from_alpha(alpha, rng=rng) == 128)) for _ in range(12)}
    assert len(counts) >= 8  # fg and bg sizes drawn independently from 5..29
    low = int(np.count_nonzero(trimap_from_alpha_fixed(alpha, 5) == 128))
    high = int(np.count_nonzero(trimap_from_alpha_fixed(alpha, 29) == 128))
    assert low <= min(counts) and max(counts) <= high
    assert DEFAULT_KERNEL_RANGES == {"erode_dilate": (5, 29), "dilate": (2, 20)}


def test_gca_definite_thresholds():
    alpha = np.zeros((9, 9), np.float32)
    alpha[:, 3:] = 1.0 - 1e-6  # counts as foreground (alpha + 1e-5 >= 1 in the release)
    alpha[:, 6:] = 1.0 - 1e-3  # fractional
    trimap = trimap_from_alpha_fixed(alpha, 1)
    assert (trimap[:, :3] == 0).all()
    assert (trimap[:, 3:6] == 255).all()
    assert (trimap[:, 6:] == 128).all()


def test_dilate_mode_gives_a_band_on_a_hard_edge():
    alpha = np.zeros((40, 40), np.uint8)
    alpha[:, 20:] = 255
    trimap = trimap_from_alpha(
        alpha, rng=np.random.default_rng(0), kernel_range=(5, 5), mode="dilate"
    )
    assert set(np.unique(trimap).tolist()) == VALUES
    unknown_columns = np.flatnonzero((trimap == 128).all(axis=0))
    assert unknown_columns.min() <= 19 and unknown_columns.max() >= 20


def test_invalid_alpha_raises_data_errors():
    rng = np.random.default_rng(0)
    bad = [
        np.zeros((4, 4, 3), np.float32),  # colour
        np.zeros((0, 4), np.float32),  # empty
        np.zeros((4, 4), np.int32),  # dtype
        np.full((4, 4), 1.5, np.float32),  # range
        np.full((4, 4), np.nan, np.float32),  # NaN
    ]
    for alpha in bad:
        with pytest.raises(UnsupportedImageError):
            trimap_from_alpha(alpha, rng=rng)
        with pytest.raises(DataError):
            trimap_from_alpha_fixed(alpha, 3)


def test_invalid_arguments():
    alpha = np.zeros((8, 8), np.float32)
    with pytest.raises(TypeError, match="Generator"):
        trimap_from_alpha(alpha, rng=np.random.RandomState(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        trimap_from_alpha(alpha, rng=np.random.default_rng(0), mode="erode")  # type: ignore[arg-type]
    for kernel_range in ((0, 3), (5, 4), (2.5, 4), (3,)):
        with pytest.raises(ValueError, match="kernel"):
            trimap_from_alpha(alpha, rng=np.random.default_rng(0), kernel_range=kernel_range)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="iterations"):
        trimap_from_alpha(alpha, rng=np.random.default_rng(0), iterations=0)
    with pytest.raises(ValueError):
        trimap_from_alpha_fixed(alpha, 0)


def test_iterations_widen_the_band(alpha_gt):
    alpha = alpha_gt["GT01"]
    one = trimap_from_alpha(alpha, rng=np.random.default_rng(1), kernel_range=(7, 7))
    two = trimap_from_alpha(alpha, rng=np.random.default_rng(1), kernel_range=(7, 7), iterations=2)
    assert np.count_nonzero(two == 128) > np.count_nonzero(one == 128)
    _check_consistent(two, alpha)
