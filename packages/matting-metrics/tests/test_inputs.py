"""Input validation, dtype handling and the masking helper."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

import matting_metrics as mm
from matting_metrics import MetricInputError

METRICS = [mm.sad, mm.mse, mm.gradient_error, mm.connectivity_error]


def _case(h: int = 6, w: int = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pred = rng.integers(0, 256, (h, w)).astype(np.uint8)
    gt = rng.integers(0, 256, (h, w)).astype(np.uint8)
    trimap = rng.choice(np.array([0, 128, 255], dtype=np.uint8), (h, w))
    trimap[0, 0] = 128
    return pred, gt, trimap


def test_version_and_exports():
    # the installed metadata's version is read from __version__, its single source
    assert mm.__version__ == importlib.metadata.version("matting-metrics")
    for name in mm.__all__:
        assert hasattr(mm, name)
    assert issubclass(MetricInputError, ValueError)


@pytest.mark.parametrize("metric", [*METRICS, mm.compute_all])
def test_mismatched_shapes(metric):
    pred = np.zeros((10, 12), np.uint8)
    gt = np.zeros((10, 13), np.uint8)
    trimap = np.full((10, 12), 128, np.uint8)
    with pytest.raises(
        MetricInputError,
        match=r"prediction has shape \(10, 12\) but ground truth has shape \(10, 13\)",
    ):
        metric(pred, gt, trimap)
    with pytest.raises(MetricInputError, match=r"trimap has shape \(10, 13\) but prediction"):
        metric(pred, pred, np.full((10, 13), 128, np.uint8))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((4, 5, 3), np.uint8), "3 channels"),
        (np.zeros((4, 5, 4), np.uint8), "4 channels"),
        (np.zeros((2, 4, 5), np.uint8), "2-D"),
        (np.zeros(20, np.uint8), "2-D"),
        (np.zeros((0, 5), np.uint8), "empty"),
        (np.zeros((4, 5), np.int64), "dtype int64"),
        (np.zeros((4, 5), np.uint16), "dtype uint16"),
        (np.zeros((4, 5), bool), "dtype bool"),
        (np.linspace(0.0, 1.5, 20).reshape(4, 5), r"values in \[0, 1.5\], but .* \[0, 1\]"),
        (np.full((4, 5), -0.25, np.float32), r"values in \[-0.25, -0.25\]"),
        (np.full((4, 5), np.inf), "values in"),
        (np.full((4, 5), np.nan), "NaN"),
    ],
)
def test_bad_alpha(metric, bad, message):
    ok = np.zeros((4, 5), np.uint8)
    trimap = np.full((4, 5), 128, np.uint8)
    with pytest.raises(MetricInputError, match=message):
        metric(bad, ok, trimap)
    if bad.ndim == 2 and bad.size:
        with pytest.raises(MetricInputError, match="ground truth"):
            metric(ok, bad, trimap)


def test_nan_among_valid_values():
    pred = np.full((3, 3), 0.5)
    pred[1, 2] = np.nan
    with pytest.raises(MetricInputError, match="prediction contains NaN"):
        mm.sad(pred, np.zeros((3, 3)), np.full((3, 3), 128, np.uint8))


@pytest.mark.parametrize(
    ("trimap", "message"),
    [
        (
            np.full((4, 5), 127, np.uint8),
            r"20 pixels with values outside \{0, 128, 255\} \(e.g. 127\)",
        ),
        (np.full((4, 5), 0.4), r"outside \{0, 0.5, 1\}"),
        (np.full((4, 5), 128, np.int32), "dtype int32"),
        (np.full((4, 5, 3), 128, np.uint8), "3 channels"),
    ],
)
def test_bad_trimap(trimap, message):
    ok = np.zeros((4, 5), np.uint8)
    for metric in METRICS:
        with pytest.raises(MetricInputError, match=message):
            metric(ok, ok, trimap)


@pytest.mark.parametrize("metric", [*METRICS, mm.compute_all])
def test_unknown_convention(metric):
    pred, gt, trimap = _case()
    with pytest.raises(
        MetricInputError, match="convention must be one of 'dim', 'mmagic', got 'matlab'"
    ):
        metric(pred, gt, trimap, convention="matlab")


def test_single_channel_axis_is_squeezed():
    pred, gt, trimap = _case()
    flat = mm.compute_all(pred, gt, trimap)
    assert mm.compute_all(pred[..., None], gt[..., None], trimap[..., None]) == flat


def test_float_trimap_equals_uint8_trimap():
    pred, gt, trimap = _case()
    as_float = trimap / 255.0
    as_float[trimap == 128] = 0.5
    assert mm.compute_all(pred, gt, as_float.astype(np.float32)) == mm.compute_all(pred, gt, trimap)


def test_uint8_and_float_inputs_agree():
    pred, gt, trimap = _case(20, 30, seed=3)
    expected = mm.compute_all(pred, gt, trimap)
    for p, g in [
        (pred / 255.0, gt / 255.0),  # float64 k/255
        (pred / 255.0, gt),  # mixed dtypes
        (pred, gt.astype(np.float32) / np.float32(255)),  # float32 k/255
    ]:
        got = mm.compute_all(p, g, trimap)
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)
    # float64 k/255 reaches exactly the same thresholds and levels: Conn is bit-identical.
    assert mm.connectivity_error(pred / 255.0, gt / 255.0, trimap) == expected["conn"]


def test_inputs_are_not_modified():
    pred, gt, trimap = _case()
    copies = [a.copy() for a in (pred, gt, trimap)]
    mm.compute_all(pred, gt, trimap)
    mm.mask_with_trimap(pred, trimap)
    for a, b in zip((pred, gt, trimap), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_mask_with_trimap_uint8():
    pred = np.array([[10, 20, 30], [40, 50, 60]], np.uint8)
    trimap = np.array([[0, 128, 255], [255, 0, 128]], np.uint8)
    out = mm.mask_with_trimap(pred, trimap)
    np.testing.assert_array_equal(out, [[0, 20, 255], [255, 0, 60]])
    assert out.dtype == np.uint8


def test_mask_with_trimap_float():
    pred = np.full((2, 2), 0.25, np.float32)
    trimap = np.array([[0.0, 0.5], [1.0, 0.5]])
    out = mm.mask_with_trimap(pred[..., None], trimap)
    np.testing.assert_array_equal(out, np.array([[0.0, 0.25], [1.0, 0.25]], np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 2)


def test_mask_with_trimap_errors():
    with pytest.raises(
        MetricInputError, match=r"trimap has shape \(2, 3\) but prediction has shape \(2, 2\)"
    ):
        mm.mask_with_trimap(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(MetricInputError, match="prediction has dtype int16"):
        mm.mask_with_trimap(np.zeros((2, 2), np.int16), np.zeros((2, 2), np.uint8))


def test_masking_does_not_change_sad_and_mse_but_can_change_grad_and_conn():
    pred, gt, trimap = _case(12, 12, seed=5)
    masked = mm.mask_with_trimap(pred, trimap)
    raw, protocol = mm.compute_all(pred, gt, trimap), mm.compute_all(masked, gt, trimap)
    assert raw["sad"] == protocol["sad"] and raw["mse"] == protocol["mse"]
    assert (raw["grad"], raw["conn"]) != (protocol["grad"], protocol["conn"])
