"""The metrics on a real alphamatting.com matte (GT01, official Trimap1)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

import matting_metrics as mm


@pytest.fixture(scope="module")
def gt01(shared_data):
    root = shared_data / "alphamatting_training_lowres"
    alpha = cv2.imread(str(root / "alpha" / "GT01.png"), cv2.IMREAD_UNCHANGED)
    trimap = cv2.imread(str(root / "trimap" / "GT01.png"), cv2.IMREAD_GRAYSCALE)
    assert alpha is not None and trimap is not None, "could not read GT01"
    gt = np.ascontiguousarray(alpha[:, :, 0])  # three identical channels
    assert set(np.unique(trimap).tolist()) == {0, 128, 255}
    return gt, trimap


def _blurred_prediction(gt: np.ndarray, trimap: np.ndarray, sigma: float) -> np.ndarray:
    return mm.mask_with_trimap(cv2.GaussianBlur(gt, (0, 0), sigma), trimap)


def test_blurrier_prediction_scores_worse(gt01):
    gt, trimap = gt01
    mild = mm.compute_all(_blurred_prediction(gt, trimap, 1.5), gt, trimap)
    strong = mm.compute_all(_blurred_prediction(gt, trimap, 5.0), gt, trimap)
    for name in ("sad", "mse", "grad", "conn"):
        assert math.isfinite(mild[name]) and mild[name] > 0, name
        assert strong[name] > mild[name], name


def test_conventions_and_dtypes_on_real_data(gt01):
    gt, trimap = gt01
    pred = _blurred_prediction(gt, trimap, 2.0)
    dim = mm.compute_all(pred, gt, trimap)
    # Masked prediction, ground truth exactly 0/255 on GT01's known regions: the mmagic
    # whole-image SAD/MSE and its Grad agree; only Conn's thresholds and tie-break differ.
    mmagic = mm.compute_all(pred, gt, trimap, convention="mmagic")
    for name in ("sad", "mse", "grad"):
        assert mmagic[name] == pytest.approx(dim[name], rel=1e-12)
    assert mmagic["conn"] == pytest.approx(dim["conn"], rel=0.02)
    as_float = mm.compute_all(pred / 255.0, gt.astype(np.float32) / 255, trimap)
    assert as_float == pytest.approx(dim, rel=1e-6)
