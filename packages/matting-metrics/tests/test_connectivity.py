"""Connectivity error: hand-computed values, conventions, and equality with a reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import matting_metrics as mm
from matting_metrics._levels import survival_counts
from matting_metrics.connectivity import _passes

U = 128


def _row(pred: list[int], gt: list[int], unknown: list[int]) -> tuple[np.ndarray, ...]:
    """A 1×n case; ``unknown`` lists the unknown columns."""
    trimap = np.zeros((1, len(pred)), np.uint8)
    trimap[0, unknown] = U
    return np.array([pred], np.uint8), np.array([gt], np.uint8), trimap


# --- straightforward reference implementations ------------------------------------------


def _reference_counts(passes: np.ndarray, *, column_major: bool) -> np.ndarray:
    """Leading steps survived, per pixel: one scipy labelling per threshold.

    scipy numbers components in raster order of their first pixel, so labelling the
    transposed mask numbers them in column-major order; argmax takes the first (lowest)
    label among equally large components.
    """
    alive = np.ones(passes.shape, bool)
    counts = np.zeros(passes.shape, np.uint8)
    for i in range(1, 11):
        mask = passes >= i
        scan = mask.T if column_major else mask
        labels, n = ndimage.label(scan)
        omega = np.zeros(scan.shape, bool)
        if n:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            omega = labels == np.argmax(sizes)
        alive &= omega.T if column_major else omega
        counts[alive] = i
    return counts


def _reference_dim(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """DIM Conn for uint8 inputs, written out plainly (exact integer thresholds)."""
    p, g = pred.astype(np.int64), gt.astype(np.int64)
    passes = np.minimum(10 * p // 255, 10 * g // 255)  # i with 10·k ≥ 255·i
    level = _reference_counts(passes, column_major=True) / 10.0
    d_p, d_g = p / 255.0 - level, g / 255.0 - level
    phi_p = 1.0 - d_p * (d_p >= 0.15)
    phi_g = 1.0 - d_g * (d_g >= 0.15)
    return float(np.abs(phi_p - phi_g)[trimap == U].sum() / 1000)


def _reference_mmagic(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """mmagic's algorithm for uint8 inputs: float arange thresholds, row-major labels."""
    a_p, a_g = pred / 255.0, gt / 255.0
    steps = np.arange(0, 1.1, 0.1)
    round_down = -np.ones(a_p.shape)
    for i in range(1, len(steps)):
        labels, n = ndimage.label((a_p >= steps[i]) & (a_g >= steps[i]))
        omega = np.zeros(a_p.shape, bool)
        if n:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            omega = labels == np.argmax(sizes)
        round_down[(round_down == -1) & ~omega] = steps[i - 1]
    round_down[round_down == -1] = 1
    d_p, d_g = a_p - round_down, a_g - round_down
    phi_p = 1 - d_p * (d_p >= 0.15)
    phi_g = 1 - d_g * (d_g >= 0.15)
    return float(np.abs(phi_g - phi_p)[trimap == U].sum() / 1000)


# --- hand-computed cases -----------------------------------------------------------------


def test_threshold_exactness_153_reaches_0_6():
    values = np.array([[152, 153, 25, 26, 255]], np.uint8)
    # 10·k ≥ 255·i: 1520 → 5, 1530 → 6 (= 0.6 exactly), 250 → 0, 260 → 1, 2550 → 10.
    np.testing.assert_array_equal(_passes(values, "dim"), [[5, 6, 0, 1, 10]])
    # np.arange's 0.6 is 0.6000000000000001 > 153/255: mmagic gives 5.
    np.testing.assert_array_equal(_passes(values, "mmagic"), [[5, 5, 0, 1, 10]])
    floats = values / 255.0
    np.testing.assert_array_equal(_passes(floats, "dim"), [[5, 6, 0, 1, 10]])
    np.testing.assert_array_equal(_passes(floats.astype(np.float32), "dim"), [[5, 6, 0, 1, 10]])


def test_single_pixel_exact_versus_arange_thresholds():
    # One unknown pixel, p = 200, g = 153, so min = 153.
    # DIM: 153 reaches t_6 = 0.6, the pixel is the only component up to Ω_6: l = 0.6.
    #   d_p = 200/255 − 0.6 = 47/255 ≥ 0.15 → φ_p = 1 − 47/255; d_g = 0 → φ_g = 1.
    #   Conn = 47/255 / 1000.
    # mmagic: 153/255 < 0.6000000000000001, so l = 0.5.
    #   d_p = 200/255 − 0.5 = 72.5/255 → φ_p = 1 − 72.5/255; d_g = 0.1 < 0.15 → φ_g = 1.
    #   Conn = 72.5/255 / 1000.
    case = _row([200], [153], [0])
    assert mm.connectivity_error(*case) == pytest.approx(47 / 255_000, rel=1e-12)
    assert mm.connectivity_error(*case, convention="mmagic") == pytest.approx(
        72.5 / 255_000, rel=1e-12
    )
    # The float 0.6 reaches t_6 exactly as 153 does.
    assert mm.connectivity_error(np.array([[200 / 255]]), np.array([[0.6]]), case[2]) == (
        pytest.approx(47 / 255_000, rel=1e-12)
    )


def test_background_is_not_a_component():
    # 1×4, only column 0 unknown: p = 255, g = 200 there (min 200 reaches t_1..t_7), zeros
    # elsewhere. Column 0 is the only component up to t_7: l = 0.7.
    #   d_p = 1 − 0.7 = 0.3 → φ_p = 0.7; d_g = 200/255 − 0.7 = 0.084 < 0.15 → φ_g = 1.
    #   Conn = 0.3 / 1000. (Counting the 3-pixel background as a component would give l = 0
    #   and 55/255 / 1000 instead.)
    assert mm.connectivity_error(*_row([255, 0, 0, 0], [200, 0, 0, 0], [0])) == pytest.approx(
        0.3 / 1000, rel=1e-12
    )


def test_pixel_outside_the_largest_component_gets_level_0():
    # 1×5: column 0 (p = 255, g = 200) is alone; columns 2–3 (255/255) are larger.
    # Ω_1..Ω_7 = columns 2–3, so column 0 leaves at t_1: l = 0.
    #   φ_p = 1 − 1 = 0, φ_g = 1 − 200/255 = 55/255 → Conn = 55/255 / 1000.
    case = _row([255, 0, 255, 255, 0], [200, 0, 255, 255, 0], [0])
    assert mm.connectivity_error(*case) == pytest.approx(55 / 255_000, rel=1e-12)


def test_level_drops_when_the_component_splits():
    # 1×5: [test pixel, 100, 255, 255, 255] with the test pixel p = 255, g = 230 (min 230
    # reaches t_9). Up to t_3 all five pixels are one component. At t_4 the 100 drops out
    # (10·100 < 255·4) and the test pixel is cut off from the larger {2, 3, 4}: l = 0.3.
    #   d_p = 1 − 0.3 = 0.7 → φ_p = 0.3; d_g = 230/255 − 0.3 → φ_g = 1.3 − 230/255.
    #   Conn = |0.3 − 1.3 + 230/255| / 1000 = 25/255 / 1000.
    # Without the split it would keep l = 0.9, where both d < 0.15 and Conn = 0.
    case = _row([255, 100, 255, 255, 255], [230, 100, 255, 255, 255], [0])
    assert mm.connectivity_error(*case) == pytest.approx(25 / 255_000, rel=1e-12)
    assert mm.connectivity_error(*_row([255], [230], [0])) == 0.0


def test_column_major_tie_break():
    # 3×3 zeros with two unknown single pixels: A = (0, 2) with p = 255, g = 200 (t_1..t_7)
    # and B = (2, 0) with p = g = 100 (t_1..t_3). At t_1..t_3 they tie (size 1 each).
    # Column-major (DIM): B comes first (column 0), so A leaves at t_1 (l_A = 0) and B at
    # t_4 (l_B = 0.3).
    #   A: φ_p = 0, φ_g = 55/255 → 55/255.  B: d = 100/255 − 0.3 < 0.15 → both φ = 1 → 0.
    #   Conn = 55/255 / 1000.
    # Row-major (mmagic): A comes first and keeps Ω_1..Ω_7 (l_A = 0.7), B leaves at t_1.
    #   A: φ_p = 0.7, φ_g = 1 (d_g = 0.084) → 0.3.  B: l = 0, φ_p = φ_g → 0.
    #   Conn = 0.3 / 1000.
    pred = np.array([[0, 0, 255], [0, 0, 0], [100, 0, 0]], np.uint8)
    gt = np.array([[0, 0, 200], [0, 0, 0], [100, 0, 0]], np.uint8)
    trimap = np.zeros((3, 3), np.uint8)
    trimap[0, 2] = trimap[2, 0] = U
    assert mm.connectivity_error(pred, gt, trimap) == pytest.approx(55 / 255_000, rel=1e-12)
    assert mm.connectivity_error(pred, gt, trimap, convention="mmagic") == pytest.approx(
        0.3 / 1000, rel=1e-12
    )
    passes = np.minimum(_passes(pred, "dim"), _passes(gt, "dim"))
    index = np.array([2, 6])  # A, B
    for method in ("merging", "labelling"):
        got = survival_counts(passes, index, column_major=True, method=method)
        np.testing.assert_array_equal(got, [0, 3])
        got = survival_counts(passes, index, column_major=False, method=method)
        np.testing.assert_array_equal(got, [7, 0])


def test_never_leaving_pixel_has_level_1():
    # A fully opaque unknown pixel stays in every Ω: l = 1, d = 0 for both → Conn = 0;
    # with g = 250 instead: d_g = 250/255 − 1 < 0 → φ_g = 1, d_p = 0 → φ_p = 1 → 0.
    # With p = 255, g = 100 (level 0.3 via min = 100): |φ_p − φ_g| = |0.3 − 1| = 0.7.
    assert mm.connectivity_error(*_row([255], [255], [0])) == 0.0
    assert mm.connectivity_error(*_row([255], [250], [0])) == 0.0
    assert mm.connectivity_error(*_row([255], [100], [0])) == pytest.approx(0.7 / 1000)


# --- equality with the reference on random and realistic mattes ---------------------------


def _blurred_discs(shape, discs, sigma, rng, noise=12.0):
    """uint8 (pred, gt): discs (cy, cx, r) blurred into soft mattes; pred = gt + noise."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    alpha = np.zeros(shape)
    for cy, cx, r in discs:
        alpha[np.hypot(yy - cy, xx - cx) < r] = 1.0
    alpha = ndimage.gaussian_filter(alpha, sigma)
    gt = np.rint(alpha * 255).astype(np.uint8)
    pred = np.clip(np.rint(alpha * 255 + rng.normal(0, noise, shape)), 0, 255).astype(np.uint8)
    return pred, gt


def _twin_patches(rng, size=48):
    """Two identical patches, top-right and bottom-left: equal components at every level."""
    patch_p, patch_g = _blurred_discs((12, 12), [(6, 6, 4)], 1.5, rng)
    pred = np.zeros((size, size), np.uint8)
    gt = np.zeros((size, size), np.uint8)
    for y, x in [(2, size - 16), (size - 16, 2)]:
        pred[y : y + 12, x : x + 12] = patch_p
        gt[y : y + 12, x : x + 12] = patch_g
    return pred, gt


def _cases():
    rng = np.random.default_rng(2024)
    cases = []
    for shape in [(1, 1), (1, 9), (9, 1), (17, 23), (40, 31)]:
        cases.append(("noise", rng.integers(0, 256, shape), rng.integers(0, 256, shape)))
    for shape in [(30, 30), (64, 48)]:  # coarse values: many equal-size components
        cases.append(("levels", rng.integers(0, 4, shape) * 85, rng.integers(0, 4, shape) * 85))
    cases.append(("discs", *_blurred_discs((90, 110), [(30, 30, 18), (60, 80, 22)], 3, rng)))
    cases.append(("discs", *_blurred_discs((150, 150), [(75, 75, 50), (20, 130, 9)], 6, rng)))
    cases.append(("twins", *_twin_patches(rng)))
    return [(name, p.astype(np.uint8), g.astype(np.uint8)) for name, p, g in cases]


CASES = _cases()


def _trimap_for(gt: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trimap = np.where(rng.random(gt.shape) < 0.7, U, np.where(gt > 127, 255, 0))
    return trimap.astype(np.uint8)


@pytest.mark.parametrize(("name", "pred", "gt"), CASES, ids=[c[0] for c in CASES])
def test_matches_reference(name, pred, gt):
    trimap = _trimap_for(gt, seed=pred.size)
    assert mm.connectivity_error(pred, gt, trimap) == _reference_dim(pred, gt, trimap)
    assert mm.connectivity_error(pred, gt, trimap, convention="mmagic") == pytest.approx(
        _reference_mmagic(pred, gt, trimap), rel=1e-12, abs=1e-15
    )


@pytest.mark.parametrize("method", ["merging", "labelling"])
@pytest.mark.parametrize("column_major", [True, False])
@pytest.mark.parametrize(("name", "pred", "gt"), CASES, ids=[c[0] for c in CASES])
def test_levels_match_reference_for_both_algorithms(name, pred, gt, method, column_major):
    passes = np.minimum(_passes(pred, "dim"), _passes(gt, "dim"))
    expected = _reference_counts(passes, column_major=column_major)
    index = np.arange(passes.size)
    got = survival_counts(passes, index, column_major=column_major, method=method)
    np.testing.assert_array_equal(got.reshape(passes.shape), expected)


def test_twin_components_make_the_scan_order_matter():
    pred, gt = _twin_patches(np.random.default_rng(2024))
    passes = np.minimum(_passes(pred, "dim"), _passes(gt, "dim"))
    by_column = _reference_counts(passes, column_major=True)
    by_row = _reference_counts(passes, column_major=False)
    assert not np.array_equal(by_column, by_row)


def test_realistic_masked_matte_uses_merging_and_matches_reference(monkeypatch):
    import matting_metrics._levels as levels

    rng = np.random.default_rng(7)
    pred, gt = _blurred_discs((200, 210), [(100, 105, 80), (28, 32, 9)], 1.2, rng, noise=8)
    edge = ndimage.binary_dilation((gt > 0) & (gt < 255), iterations=2)
    trimap = np.where(edge, U, np.where(gt == 255, 255, 0)).astype(np.uint8)
    pred = mm.mask_with_trimap(pred, trimap)

    def no_labelling(*args, **kwargs):
        raise AssertionError("expected the merging algorithm for a realistic matte")

    monkeypatch.setattr(levels, "_by_labelling", no_labelling)
    conn = mm.connectivity_error(pred, gt, trimap)
    assert conn > 0
    assert conn == _reference_dim(pred, gt, trimap)
    assert mm.connectivity_error(pred, gt, trimap, convention="mmagic") == pytest.approx(
        _reference_mmagic(pred, gt, trimap), rel=1e-12
    )


@pytest.mark.parametrize("convention", ["dim", "mmagic"])
def test_float_threshold_counts_match_direct_comparisons(convention):
    # Random values plus every threshold and its neighbouring floats, for both rules.
    rng = np.random.default_rng(11)
    mmagic_steps = np.arange(0, 1.1, 0.1)[1:]
    edges = np.concatenate([np.arange(1, 11) / 10, mmagic_steps])
    near = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, 2)])
    x = np.clip(np.concatenate([rng.random(5000), near, [0.0, 1.0]]), 0, 1).reshape(1, -1)
    if convention == "mmagic":
        expected = (x[..., None] >= mmagic_steps).sum(axis=-1)
    else:
        expected = (10 * x[..., None] >= np.arange(1, 11)).sum(axis=-1)
    np.testing.assert_array_equal(_passes(x, convention), expected)


def test_wide_band_beyond_16_bit_node_ids():
    # A ramp band of ~82k pixels (more than 65535 band nodes) around an opaque disc.
    yy, xx = np.mgrid[0:400, 0:400]
    radius = np.hypot(yy - 200, xx - 200)
    gt = np.clip((190 - radius) / 90 * 255, 0, 255).astype(np.uint8)
    pred = gt.copy()
    pred[::7, ::5] = 0  # holes that split the ramp
    passes = np.minimum(_passes(pred, "dim"), _passes(gt, "dim"))
    assert np.count_nonzero((passes >= 1) & (passes <= 9)) > 0xFFFF
    expected = _reference_counts(passes, column_major=True)
    index = np.arange(passes.size)
    for method in ("merging", "labelling"):
        got = survival_counts(passes, index, column_major=True, method=method)
        np.testing.assert_array_equal(got.reshape(passes.shape), expected)


def test_sizes_with_many_band_nodes_pick_the_right_interior_component():
    # Opaque discs A (r = 50, inside a ~75k-pixel ramp band) and B (r = 52, hard edge). At
    # t_10 only the discs remain and B is larger, so A's interior gets count 9.
    yy, xx = np.mgrid[0:360, 0:560]
    gt = np.clip((175 - np.hypot(yy - 180, xx - 180)) / 125 * 255, 0, 255)
    gt[np.hypot(yy - 180, xx - 470) < 52] = 255
    gt = gt.astype(np.uint8)
    passes = np.minimum(_passes(gt, "dim"), _passes(gt, "dim"))
    assert np.count_nonzero((passes >= 1) & (passes <= 9)) > 0xFFFF
    expected = _reference_counts(passes, column_major=True)
    assert expected[180, 180] == 9 and expected[180, 470] == 0  # B fails already at t_1
    index = np.arange(passes.size)
    got = survival_counts(passes, index, column_major=True, method="merging")
    np.testing.assert_array_equal(got.reshape(passes.shape), expected)
