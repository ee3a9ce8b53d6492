"""SAD and MSE on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

import matting_metrics as mm

U, B, F = 128, 0, 255  # trimap values: unknown, background, foreground


def _small():
    pred = np.array([[0, 255], [100, 80]], np.uint8)
    gt = np.array([[0, 0], [200, 50]], np.uint8)
    trimap = np.array([[U, U], [U, B]], np.uint8)
    return pred, gt, trimap


def test_sad_by_hand():
    # U = 3 pixels with |p − g| = 0, 255, 100; (1, 1) is outside U.
    # SAD = (0 + 255 + 100) / 255 / 1000 = 355 / 255000
    assert mm.sad(*_small()) == pytest.approx(355 / 255_000, rel=1e-15)


def test_mse_by_hand():
    # MSE = ((0/255)² + (255/255)² + (100/255)²) / 3 = (65025 + 10000) / 65025 / 3
    assert mm.mse(*_small()) == pytest.approx(75_025 / 65_025 / 3, rel=1e-15)


def test_mmagic_convention_sums_over_the_whole_image():
    # mmagic adds the known pixel (1, 1): |80 − 50| = 30.
    # SAD = (355 + 30) / 255 / 1000; MSE = (65025 + 10000 + 900) / 65025 / |U| with |U| = 3
    assert mm.sad(*_small(), convention="mmagic") == pytest.approx(385 / 255_000, rel=1e-15)
    assert mm.mse(*_small(), convention="mmagic") == pytest.approx(75_925 / 65_025 / 3, rel=1e-15)


def test_mmagic_equals_dim_on_a_masked_prediction():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 256, (16, 16)).astype(np.uint8)
    trimap = rng.choice(np.array([B, U, F], np.uint8), (16, 16))
    gt[trimap == B], gt[trimap == F] = 0, 255  # ground truth exact on the known regions
    pred = mm.mask_with_trimap(rng.integers(0, 256, (16, 16)).astype(np.uint8), trimap)
    for metric in (mm.sad, mm.mse):
        assert metric(pred, gt, trimap, convention="mmagic") == pytest.approx(
            metric(pred, gt, trimap), rel=1e-12
        )


def test_all_wrong_prediction():
    # pred 255, gt 0 on all 12 pixels, all unknown:
    # SAD = 12 · 255/255 / 1000 = 0.012; MSE = 12 · 1² / 12 = 1;
    # Grad = 0 (both images constant); Conn: every level is 0 (min(p, g) = 0 reaches no
    # threshold), φ(p) = 1 − 1 = 0, φ(g) = 1 − 0 = 1, so Conn = 12 · 1 / 1000 = 0.012.
    pred = np.full((3, 4), 255, np.uint8)
    gt = np.zeros((3, 4), np.uint8)
    trimap = np.full((3, 4), U, np.uint8)
    assert mm.compute_all(pred, gt, trimap) == pytest.approx(
        {"sad": 0.012, "mse": 1.0, "grad": 0.0, "conn": 0.012}, rel=1e-15, abs=0
    )


def test_all_correct_prediction_scores_zero():
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 256, (20, 24)).astype(np.uint8)
    trimap = rng.choice(np.array([B, U, F], np.uint8), (20, 24))
    for convention in mm.CONVENTIONS:
        scores = mm.compute_all(gt.copy(), gt, trimap, convention=convention)
        assert scores == {"sad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0}


def test_empty_unknown_region_scores_zero():
    # MATLAB would give NaN for MSE (0/0); we return 0.0 for all four.
    pred = np.zeros((5, 5), np.uint8)
    gt = np.full((5, 5), 255, np.uint8)
    trimap = np.full((5, 5), F, np.uint8)
    trimap[0] = B
    assert mm.compute_all(pred, gt, trimap) == {"sad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0}
    assert mm.mse(pred, gt, trimap, convention="mmagic") == 0.0


def test_single_unknown_pixel():
    # Only (1, 2) is unknown: |p − g| = |30 − 200| = 170.
    # SAD = 170 / 255 / 1000; MSE = (170/255)² / 1
    pred = np.full((3, 4), 30, np.uint8)
    gt = np.full((3, 4), 200, np.uint8)
    trimap = np.zeros((3, 4), np.uint8)
    trimap[1, 2] = U
    assert mm.sad(pred, gt, trimap) == pytest.approx(170 / 255_000, rel=1e-15)
    assert mm.mse(pred, gt, trimap) == pytest.approx((170 / 255) ** 2, rel=1e-15)


def test_float_input_is_not_quantised():
    # 0.5 is 127.5 on the 0..255 scale, not rounded to 128: SAD = 127.5 / 255 / 1000.
    pred = np.array([[0.5]])
    gt = np.array([[0]], np.uint8)
    trimap = np.array([[U]], np.uint8)
    assert mm.sad(pred, gt, trimap) == pytest.approx(0.5 / 1000, rel=1e-15)
    assert mm.mse(pred, gt, trimap) == pytest.approx(0.25, rel=1e-15)
