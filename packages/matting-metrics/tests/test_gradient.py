"""Gradient error: the filter, hand-computed values and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

import matting_metrics as mm

SIGMA = 1.4


def _g(x: float) -> float:
    return math.exp(-(x**2) / (2 * SIGMA**2)) / (SIGMA * math.sqrt(2 * math.pi))


def _dg(x: float) -> float:
    return -x * _g(x) / SIGMA**2


def _norm() -> float:
    """Frobenius norm of the unnormalised 9×9 hx, by an explicit double loop."""
    return math.sqrt(sum((_g(r) * _dg(c)) ** 2 for r in range(-4, 5) for c in range(-4, 5)))


def test_filter_shape_norm_and_symmetry():
    hx, hy = mm.gauss_gradient_filters()
    assert hx.shape == hy.shape == (9, 9)  # half-size ceil(1.4·sqrt(−2·ln(√(2π)·1.4·0.01))) = 4
    assert np.sum(hx * hx) == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_allclose(hx[:, ::-1], -hx, rtol=0, atol=1e-17)  # odd along the row
    np.testing.assert_allclose(hx[::-1, :], hx, rtol=0, atol=1e-17)  # even along the column
    np.testing.assert_array_equal(hy, hx.T)
    np.testing.assert_array_equal(hx[:, 4], 0.0)  # G′(0) = 0


def test_filter_values_against_the_formula():
    hx, _ = mm.gauss_gradient_filters()
    norm = _norm()
    for r, c in [(0, 1), (1, 2), (-3, 4), (2, -1)]:
        assert hx[4 + r, 4 + c] == pytest.approx(_g(r) * _dg(c) / norm, rel=1e-13)
    # Derivative of Gaussian: positive weight on the left, negative on the right.
    assert hx[4, 3] > 0 > hx[4, 5]


def test_filter_size_follows_sigma():
    # σ = 1: ceil(sqrt(−2·ln(√(2π)·0.01))) = ceil(2.715) = 3, so 7×7.
    assert mm.gauss_gradient_filters(sigma=1.0)[0].shape == (7, 7)


def _impulse(value: int = 255) -> np.ndarray:
    image = np.zeros((13, 13), np.uint8)
    image[6, 6] = value
    return image


def test_impulse_by_hand():
    # Min-max normalised, the prediction is a unit impulse far enough (6 ≥ 4) from the
    # border, so ∇p = (hx, hy) shifted to the impulse and Σ ‖∇p‖² = ‖hx‖² + ‖hy‖² = 2. The
    # ground truth is constant (∇g = 0) and every pixel is unknown: Grad = 2 / 1000.
    gt = np.zeros((13, 13), np.uint8)
    trimap = np.full((13, 13), 128, np.uint8)
    assert mm.gradient_error(_impulse(), gt, trimap) == pytest.approx(0.002, rel=1e-13)
    # Min-max normalisation, not /255: an impulse of 100 gives the same value.
    assert mm.gradient_error(_impulse(100), gt, trimap) == pytest.approx(0.002, rel=1e-13)


def test_single_unknown_pixel_next_to_an_impulse():
    # Only (6, 7) is unknown, one column right of the impulse. Convolution puts
    # hx(0, +1) = G(0)·G′(1)/N there and hy(0, +1) = hx(+1, 0) = G(1)·G′(0)/N = 0, so
    # Grad = (G(0)·G′(1)/N)² / 1000.
    trimap = np.zeros((13, 13), np.uint8)
    trimap[6, 7] = 128
    expected = (_g(0) * _dg(1) / _norm()) ** 2 / 1000
    got = mm.gradient_error(_impulse(), np.zeros((13, 13), np.uint8), trimap)
    assert got == pytest.approx(expected, rel=1e-12)


def test_constant_images_have_zero_gradient():
    trimap = np.full((8, 9), 128, np.uint8)
    assert (
        mm.gradient_error(np.full((8, 9), 200, np.uint8), np.full((8, 9), 17, np.uint8), trimap)
        == 0.0
    )
    assert mm.gradient_error(np.full((8, 9), 0.3), np.zeros((8, 9)), trimap) == 0.0


def test_min_max_invariance():
    rng = np.random.default_rng(0)
    gt = (rng.integers(0, 128, (20, 20)) * 2).astype(np.uint8)  # even values
    gt[0, 0], gt[0, 1] = 0, 254
    trimap = np.full((20, 20), 128, np.uint8)
    # Inverted (1 − x′) and halved (same x′) images have the same gradient magnitude.
    assert mm.gradient_error(255 - gt, gt, trimap) == pytest.approx(0.0, abs=1e-15)
    assert mm.gradient_error(gt // 2, gt, trimap) == pytest.approx(0.0, abs=1e-15)


def _straightforward(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """mat2gray, 2-D convolution with the 9×9 filters and replicated borders, Σ over U."""
    hx, hy = mm.gauss_gradient_filters()

    def magnitude(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float64)
        a = (a - a.min()) / (a.max() - a.min())
        gx = ndimage.convolve(a, hx, mode="nearest")
        gy = ndimage.convolve(a, hy, mode="nearest")
        return np.sqrt(gx**2 + gy**2)

    return float(((magnitude(pred) - magnitude(gt)) ** 2)[trimap == 128].sum() / 1000)


@pytest.mark.parametrize("convention", ["dim", "mmagic"])
def test_matches_straightforward_2d_convolution(convention):
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:60, 0:70]
    gt = np.clip((25 - np.hypot(yy - 28, xx - 33)) * 20 + 128, 0, 255).astype(np.uint8)
    pred = np.clip(gt + rng.normal(0, 20, gt.shape), 0, 255).astype(np.uint8)
    trimap = np.where((gt > 0) & (gt < 255), 128, gt).astype(np.uint8)
    trimap[0:3, :] = 128  # unknown pixels on the border too
    expected = _straightforward(pred, gt, trimap)
    got = mm.gradient_error(pred, gt, trimap, convention=convention)
    assert got == pytest.approx(expected, rel=1e-12)
    assert mm.gradient_error(pred / 255.0, gt / 255.0, trimap) == pytest.approx(expected, rel=1e-12)
