"""Augmentation transforms: hand-computed values on tiny arrays, and real photos.

Real data: alphamatting.com low-res training set (``lowres`` fixture from conftest.py). The
photo serves as the foreground layer, its ground-truth alpha as alpha, the official trimap
where a trimap is needed, and another photo (of another size) as background.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md
from matting_data.augmentation import (
    INTERPOLATIONS,
    RANDOM_INTERPOLATIONS,
    CombineForegrounds,
    Compose,
    CompositeOnBackground,
    CropCenteredOnUnknown,
    GenerateTrimap,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomHSVJitter,
    RandomResize,
    RandomRotation,
    Resize,
    affine_matrix,
    aligned_keys,
    resolve_interpolation,
)
from matting_data.compositing import composite


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def real(lowres: Path) -> dict[str, np.ndarray]:
    """GT01 (497x800) as fg/alpha/trimap, GT02 as fg2/alpha2, GT05 (552x800) as bg."""
    return {
        "fg": md.read_image(lowres / "image" / "GT01.png"),
        "alpha": md.read_alpha(lowres / "alpha" / "GT01.png"),
        "trimap": md.read_trimap(lowres / "trimap" / "GT01.png"),
        "fg2": md.read_image(lowres / "image" / "GT02.png"),
        "alpha2": md.read_alpha(lowres / "alpha" / "GT02.png"),
        "bg": md.read_image(lowres / "image" / "GT05.png"),
        "name": "GT01",
    }


def snapshot(sample: dict) -> dict:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in sample.items()}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key]


def check_sample(sample: dict) -> tuple[int, int]:
    """Dtypes, ranges, and that fg/alpha/trimap/image share one (H, W); returns it."""
    h, w = sample["alpha"].shape
    assert sample["alpha"].dtype == np.float32
    assert sample["alpha"].min() >= 0.0 and sample["alpha"].max() <= 1.0
    for key in ("fg", "image", "bg"):
        if key in sample and key != "bg":
            assert sample[key].shape == (h, w, 3), key
        if key in sample:
            assert sample[key].dtype == np.float32, key
            assert sample[key].min() >= 0.0 and sample[key].max() <= 1.0, key
    if "trimap" in sample:
        assert sample["trimap"].shape == (h, w)
        assert sample["trimap"].dtype == np.uint8
        assert set(np.unique(sample["trimap"])) <= {0, 128, 255}
    return h, w


def misalignment(alpha: np.ndarray, trimap: np.ndarray) -> float:
    """Fraction of pixels where the trimap contradicts alpha: transition alpha outside the
    unknown band, or a known label with the other extreme of alpha."""
    fractional = (alpha > 0.02) & (alpha < 0.98) & (trimap != 128)
    wrong_fg = (trimap == 255) & (alpha < 0.5)
    wrong_bg = (trimap == 0) & (alpha > 0.5)
    return float((fractional | wrong_fg | wrong_bg).mean())


# ----------------------------------------------------------------------------- interpolation


def test_fixed_interpolation_names() -> None:
    for name, flag in INTERPOLATIONS.items():
        assert resolve_interpolation(name, rng()) == flag


def test_random_interpolation_draws_every_kernel_evenly() -> None:
    g = rng(1)
    counts = Counter(resolve_interpolation("random", g) for _ in range(2000))
    assert set(counts) == {INTERPOLATIONS[n] for n in RANDOM_INTERPOLATIONS}
    for count in counts.values():
        assert abs(count / 2000 - 1 / len(RANDOM_INTERPOLATIONS)) < 0.04
    picked = {resolve_interpolation(("area", "nearest"), g) for _ in range(100)}
    assert picked == {cv2.INTER_AREA, cv2.INTER_NEAREST}


def test_random_interpolation_changes_resize_result(real: dict) -> None:
    resize = Resize((150, 240), interpolation="random")
    results = {resize(real, rng(seed))["fg"].tobytes() for seed in range(12)}
    assert len(results) >= 3  # several kernels were drawn
    # The trimap is always resized with nearest, whatever the kernel.
    for seed in range(4):
        assert set(np.unique(resize(real, rng(seed))["trimap"])) <= {0, 128, 255}


@pytest.mark.parametrize("bad", ["bilinear", ("linear", "random"), ()])
def test_invalid_interpolation_rejected(bad) -> None:
    with pytest.raises(ValueError):
        Resize(32, interpolation=bad)


# ------------------------------------------------------------------ determinism, no mutation

TRANSFORMS = [
    CombineForegrounds(p=0.5),
    RandomResize(target=320, p=0.5),
    RandomAffine(rotate_min_size=0),
    RandomRotation(sigma_degrees=5),
    RandomRotation(max_degrees=15),
    RandomHorizontalFlip(p=0.5),
    CropCenteredOnUnknown(size=(256, 320, 400)),
    RandomCrop(size_range=(200, 400)),
    Resize(160, interpolation="random"),
    RandomHSVJitter(),
    GenerateTrimap(),
    CompositeOnBackground(interpolation="random"),
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_seeded_pure_and_valid(transform, real: dict) -> None:
    before = snapshot(real)
    out_a = transform(real, rng(7))
    out_b = transform(real, rng(7))
    assert_same(out_a, out_b)  # same seed, same output
    assert_same(real, before)  # input arrays untouched
    assert out_a is not real
    assert out_a["name"] == "GT01"  # extra keys pass through
    check_sample(out_a)
    outputs = [transform(real, rng(seed)) for seed in range(8)]
    differs = any(
        not np.array_equal(o[k], outputs[0][k])
        for o in outputs[1:]
        for k in o
        if isinstance(o[k], np.ndarray) and k in outputs[0]
    )
    assert differs, "different seeds should give different outputs"


def test_compose_applies_in_order_with_one_generator(real: dict) -> None:
    flip, crop = RandomHorizontalFlip(p=0.5), CropCenteredOnUnknown(size=256)
    composed = Compose([flip, crop])
    g = rng(3)
    by_hand = crop(flip(real, g), g)
    assert_same(composed(real, rng(3)), by_hand)
    assert len(composed) == 2 and isinstance(composed.transforms, tuple)


# ------------------------------------------------------------------------------------ flip


def tiny() -> dict:
    fg = np.arange(18, dtype=np.float32).reshape(2, 3, 3) / 17
    alpha = np.array([[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]], np.float32)
    trimap = np.array([[0, 128, 255], [255, 128, 0]], np.uint8)
    return {"fg": fg, "alpha": alpha, "trimap": trimap}


def test_flip_hand_computed() -> None:
    out = RandomHorizontalFlip(p=1.0)(tiny(), rng())
    np.testing.assert_array_equal(out["alpha"], [[1.0, 0.5, 0.0], [0.0, 0.25, 1.0]])
    np.testing.assert_array_equal(out["trimap"], [[255, 128, 0], [0, 128, 255]])
    np.testing.assert_array_equal(out["fg"][0, 0], tiny()["fg"][0, 2])
    twice = RandomHorizontalFlip(p=1.0)(out, rng())
    assert_same(twice, tiny())
    assert_same(RandomHorizontalFlip(p=0.0)(tiny(), rng()), tiny())


def test_flip_twice_is_identity_on_real(real: dict) -> None:
    flip = RandomHorizontalFlip(p=1.0)
    sample = {k: real[k] for k in ("fg", "alpha", "trimap")}
    assert_same(flip(flip(sample, rng()), rng()), sample)


def test_flip_moves_aligned_bg_only() -> None:
    sample = tiny()
    sample["bg"] = np.zeros((5, 5, 3), np.float32)
    sample["bg"][:, 0] = 1.0
    out = RandomHorizontalFlip(p=1.0)(sample, rng())
    np.testing.assert_array_equal(out["bg"], sample["bg"])  # other size: not aligned yet
    sample["bg"] = sample["fg"][::-1].copy()
    assert "bg" in aligned_keys(sample)
    np.testing.assert_array_equal(
        RandomHorizontalFlip(p=1.0)(sample, rng())["bg"], sample["bg"][:, ::-1]
    )


# ---------------------------------------------------------------------------------- affine


def test_affine_matrix_hand_computed() -> None:
    np.testing.assert_allclose(affine_matrix((4, 6)), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    # 90 degrees about the centre of a 3x3 grid: a clockwise quarter turn (y axis down).
    grid = np.arange(9, dtype=np.float32).reshape(3, 3)
    turned = cv2.warpAffine(grid, affine_matrix((3, 3), angle=90), (3, 3), flags=0)
    np.testing.assert_array_equal(turned, np.rot90(grid, -1))


def test_affine_pure_flips_are_exact(real: dict) -> None:
    both = RandomAffine(degrees=0, scale=(1, 1), shear=0, flip_p=1.0, interpolation="linear")
    sample = {k: real[k] for k in ("fg", "alpha", "trimap")}
    out = both(sample, rng())
    for key in sample:
        np.testing.assert_array_equal(out[key], sample[key][::-1, ::-1], err_msg=key)
    none = RandomAffine(degrees=0, scale=(1, 1), shear=0, flip_p=0.0)(sample, rng())
    assert_same(none, sample)


def test_affine_parameter_ranges() -> None:
    affine = RandomAffine()  # GCA release: degrees=30, scale=(0.8, 1.25), shear=10, flip=0.5
    g = rng(5)
    params = [affine.sample_params(g, (1500, 1200)) for _ in range(2000)]
    angles = np.array([p["angle"] for p in params])
    scales = np.array([p["scale"] for p in params])
    shears = np.array([p["shear"] for p in params])
    flips = np.array([p["flip"] for p in params])
    assert -30 <= angles.min() < -25 and 25 < angles.max() <= 30
    assert 0.8 <= scales.min() < 0.82 and 1.23 < scales.max() <= 1.25
    assert abs(np.corrcoef(scales[:, 0], scales[:, 1])[0, 1]) < 0.1  # independent axes
    assert -10 <= shears.min() < -9 and 9 < shears.max() <= 10
    assert np.all(np.abs(flips) == 1)
    assert abs((flips == -1).mean(axis=0) - 0.5).max() < 0.05
    # Release: no rotation when the longer side is below 1024 px.
    small = [affine.sample_params(g, (600, 1023))["angle"] for _ in range(50)]
    assert small == [0.0] * 50


@pytest.mark.parametrize("interpolation", ["linear", "nearest", "random"])
def test_affine_keeps_trimap_and_alpha_aligned(real: dict, interpolation) -> None:
    sample = {k: real[k] for k in ("fg", "alpha", "trimap")}
    assert misalignment(sample["alpha"], sample["trimap"]) < 0.001
    affine = RandomAffine(rotate_min_size=0, interpolation=interpolation)
    for seed in range(3):
        out = affine(sample, rng(seed))
        check_sample(out)
        assert out["alpha"].shape == sample["alpha"].shape
        assert misalignment(out["alpha"], out["trimap"]) < 0.01
    # The check can fail: a trimap warped apart from its alpha is far off.
    other = affine(sample, rng(1))["trimap"]
    assert misalignment(affine(sample, rng(0))["alpha"], other) > 0.03


def test_rotation_angle_distributions() -> None:
    g = rng(11)
    alphagan = np.array([RandomRotation(sigma_degrees=5).sample_angle(g) for _ in range(5000)])
    assert abs(alphagan.mean()) < 0.25
    assert abs(alphagan.std() - 5.0) < 0.2
    assert np.abs(alphagan).max() > 15  # a normal, not a bounded, distribution
    hdmatt = np.array([RandomRotation(max_degrees=15).sample_angle(g) for _ in range(5000)])
    assert np.abs(hdmatt).max() < 15
    assert abs(hdmatt.std() - 15 / np.sqrt(3)) < 0.3  # uniform on (-15, 15)
    with pytest.raises(ValueError):
        RandomRotation()
    with pytest.raises(ValueError):
        RandomRotation(sigma_degrees=5, max_degrees=15)


def test_rotation_fills_corners_with_background(real: dict) -> None:
    sample = {k: real[k] for k in ("fg", "alpha", "trimap")}
    matte = {**sample, "alpha": np.ones_like(sample["alpha"])}
    matte["trimap"] = np.full_like(sample["trimap"], 255)
    out = RandomRotation(max_degrees=15)(matte, rng(2))
    corners = [(0, 0), (0, -1), (-1, 0), (-1, -1)]
    assert any(out["alpha"][c] == 0 and out["trimap"][c] == 0 for c in corners)
    assert misalignment(out["alpha"], out["trimap"]) < 0.01


# ------------------------------------------------------------------------------------ crop


def test_crop_centred_hand_computed() -> None:
    values = np.arange(36, dtype=np.float32).reshape(6, 6) / 35
    trimap = np.zeros((6, 6), np.uint8)
    trimap[3, 4] = 128  # the only unknown pixel
    sample = {"fg": np.dstack([values] * 3), "alpha": values, "trimap": trimap}
    out = CropCenteredOnUnknown(size=3, min_unknown=1)(sample, rng())
    np.testing.assert_array_equal(out["alpha"], values[2:5, 3:6])  # centred on (3, 4)
    assert out["trimap"][1, 1] == 128
    out = CropCenteredOnUnknown(size=2, min_unknown=1)(sample, rng())
    np.testing.assert_array_equal(out["alpha"], values[2:4, 3:5])  # centre = (size//2,) * 2
    assert out["trimap"][1, 1] == 128
    # Too few unknown pixels: a random window of the right size, still cut consistently.
    out = CropCenteredOnUnknown(size=3, min_unknown=10)(sample, rng(4))
    assert out["alpha"].shape == (3, 3)
    np.testing.assert_array_equal(out["fg"][..., 0], out["alpha"])
    # No unknown pixel at all (release): the whole sample is resized to the crop size.
    empty = {**sample, "trimap": np.zeros((6, 6), np.uint8)}
    out = CropCenteredOnUnknown(size=3, interpolation="area")(empty, rng())
    np.testing.assert_allclose(out["alpha"], cv2.resize(values, (3, 3), interpolation=3))


def test_crop_cuts_background_from_the_same_window() -> None:
    values = np.arange(36, dtype=np.float32).reshape(6, 6) / 35
    trimap = np.zeros((6, 6), np.uint8)
    trimap[3, 4] = 128
    bg = np.dstack([values[::2, ::2]] * 3)  # 3x3: resized to 6x6 (nearest) before the cut
    sample = {"fg": np.dstack([values] * 3), "alpha": values, "trimap": trimap, "bg": bg}
    out = CropCenteredOnUnknown(size=3, min_unknown=1, bg_interpolation="nearest")(sample, rng())
    full_bg = cv2.resize(bg, (6, 6), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(out["bg"], full_bg[2:5, 3:6])


def test_crop_centred_on_unknown_real(real: dict) -> None:
    crop = CropCenteredOnUnknown(size=256)
    for seed in range(10):
        out = crop(real, rng(seed))
        check_sample(out)
        assert out["alpha"].shape == (256, 256) and out["bg"].shape == (256, 256, 3)
        assert out["trimap"][128, 128] == 128  # the window's centre is an unknown pixel
        assert misalignment(out["alpha"], out["trimap"]) < 0.01


def test_crop_enlarges_a_sample_smaller_than_the_crop(real: dict) -> None:
    # GT01 is 497 px high: a 512 crop enlarges it (shorter side to 1.1 x 512, as the release).
    out = CropCenteredOnUnknown(size=512)(real, rng(0))
    check_sample(out)
    assert out["fg"].shape == (512, 512, 3) and out["bg"].shape == (512, 512, 3)
    assert out["trimap"][256, 256] == 128
    assert misalignment(out["alpha"], out["trimap"]) < 0.01
    out = RandomCrop(size=800)(real, rng(0))
    assert out["alpha"].shape == (800, 800)
    assert misalignment(out["alpha"], out["trimap"]) < 0.01


def test_crop_size_choices_and_range(real: dict) -> None:
    sizes = {CropCenteredOnUnknown(size=(64, 96))(real, rng(s))["alpha"].shape for s in range(20)}
    assert sizes == {(64, 64), (96, 96)}
    drawn = {RandomCrop(size_range=(40, 44))(real, rng(s))["alpha"].shape[0] for s in range(60)}
    assert drawn == {40, 41, 42, 43, 44}
    with pytest.raises(KeyError):
        CropCenteredOnUnknown()({"alpha": real["alpha"]}, rng())


# ---------------------------------------------------------------------- resize, random resize


def test_random_resize(real: dict) -> None:
    sample = {k: real[k] for k in ("fg", "alpha", "bg")}
    resized = RandomResize(target=640, p=1.0)(sample, rng())
    assert resized["fg"].shape == (640, 640, 3) and resized["alpha"].shape == (640, 640)
    assert resized["bg"].shape == real["bg"].shape  # bg of another size is not touched
    assert_same(RandomResize(target=640, p=0.0)(sample, rng()), sample)
    hits = sum(
        RandomResize(p=0.25)(sample, rng(s))["alpha"].shape == (640, 640) for s in range(400)
    )
    assert 70 <= hits <= 130


def test_resize_cubic_keeps_ranges_and_trimap_labels(real: dict) -> None:
    out = Resize((100, 333), interpolation="cubic")(real, rng())
    check_sample(out)
    assert out["alpha"].shape == (100, 333)


# ------------------------------------------------------------------------- foreground layers


def test_combine_foregrounds_hand_computed() -> None:
    a1 = np.array([[0.0, 0.5], [1.0, 0.2]], np.float32)
    a2 = np.array([[0.5, 0.5], [0.0, 1.0]], np.float32)
    sample = {
        "fg": np.ones((2, 2, 3), np.float32),
        "alpha": a1,
        "fg2": np.zeros((2, 2, 3), np.float32),
        "alpha2": a2,
    }
    out = CombineForegrounds(p=1.0)(sample, rng())
    np.testing.assert_allclose(out["alpha"], [[0.5, 0.75], [1.0, 1.0]], atol=1e-7)
    # fg = fg1 * a1 + fg2 * (1 - a1), with fg1 white and fg2 black: fg = a1.
    np.testing.assert_allclose(out["fg"][..., 1], a1, atol=1e-7)
    assert "fg2" not in out and "alpha2" not in out
    # Union fully opaque: nothing to learn, the release keeps the first foreground.
    opaque = {**sample, "alpha": np.ones((2, 2), np.float32)}
    out = CombineForegrounds(p=1.0)(opaque, rng())
    np.testing.assert_array_equal(out["fg"], opaque["fg"])
    assert "fg2" not in out
    out = CombineForegrounds(p=0.0)(sample, rng())
    np.testing.assert_array_equal(out["alpha"], a1)
    assert "fg2" not in out and "alpha2" not in out


def test_combine_foregrounds_real_second_of_other_size(real: dict) -> None:
    out = CombineForegrounds(p=1.0)(real, rng())
    check_sample(out)
    assert out["alpha"].shape == real["alpha"].shape
    alpha2 = cv2.resize(real["alpha2"], real["alpha"].shape[::-1], interpolation=cv2.INTER_LINEAR)
    expected = 1 - (1 - real["alpha"]) * (1 - np.clip(alpha2, 0, 1))
    np.testing.assert_allclose(out["alpha"], expected, atol=1e-6)
    assert np.all(out["alpha"] >= real["alpha"] - 1e-6)
    fg2 = cv2.resize(real["fg2"], real["alpha"].shape[::-1], interpolation=cv2.INTER_LINEAR)
    over = composite(real["fg"], np.clip(fg2, 0, 1), real["alpha"])  # first over second
    np.testing.assert_allclose(out["fg"], over, atol=1e-6)


def test_generate_trimap_calls_generator(real: dict) -> None:
    out = GenerateTrimap(kernel_range=(2, 20), mode="dilate")(real, rng(3))
    check_sample(out)
    assert (out["trimap"] == 128).any()
    with pytest.raises(ValueError):
        GenerateTrimap(mode="grow")


def test_composite_hand_computed() -> None:
    sample = {
        "fg": np.full((2, 2, 3), 0.8, np.float32),
        "alpha": np.array([[0.0, 0.25], [0.5, 1.0]], np.float32),
        "bg": np.full((2, 2, 3), 0.4, np.float32),
    }
    out = CompositeOnBackground()(sample, rng())
    np.testing.assert_allclose(out["image"][..., 0], [[0.4, 0.5], [0.6, 0.8]], atol=1e-6)


def test_composite_resizes_background(real: dict) -> None:
    out = CompositeOnBackground()(real, rng())
    check_sample(out)
    assert out["bg"].shape == real["fg"].shape
    a = out["alpha"][..., None]
    np.testing.assert_allclose(out["image"], real["fg"] * a + out["bg"] * (1 - a), atol=1e-5)


# -------------------------------------------------------------------------------- HSV jitter


def test_hsv_jitter_zero_ranges_is_identity(real: dict) -> None:
    out = RandomHSVJitter(max_hue_degrees=0, sv_fraction=0.0)(real, rng())
    np.testing.assert_allclose(out["fg"], real["fg"], atol=1e-5)


def test_hsv_jitter_ranges(real: dict) -> None:
    hsv_in = cv2.cvtColor(real["fg"], cv2.COLOR_RGB2HSV)
    inside = real["alpha"] > 0
    for seed in range(6):
        out = RandomHSVJitter()(real, rng(seed))
        check_sample(out)
        np.testing.assert_array_equal(out["alpha"], real["alpha"])
        hsv_out = cv2.cvtColor(out["fg"], cv2.COLOR_RGB2HSV)
        for channel in (1, 2):
            mean_in = hsv_in[..., channel][inside].mean()
            bound = 0.1 * (1.1 - mean_in)
            shift = np.abs(hsv_out[..., channel] - hsv_in[..., channel])
            assert shift.max() <= bound + 1e-3  # reflection never moves a value further
    # Hue of a saturated colour moves by an integer in [-40, 40).
    red = {"fg": np.zeros((4, 4, 3), np.float32), "alpha": np.ones((4, 4), np.float32)}
    red["fg"][..., 0] = 1.0
    hues = set()
    for seed in range(200):
        hue = cv2.cvtColor(RandomHSVJitter()(red, rng(seed))["fg"], cv2.COLOR_RGB2HSV)[0, 0, 0]
        hues.add(round(float((hue + 180) % 360 - 180)))
    assert min(hues) >= -40 and max(hues) <= 39 and len(hues) > 40
    transparent = {**red, "alpha": np.zeros((4, 4), np.float32)}
    np.testing.assert_array_equal(RandomHSVJitter()(transparent, rng())["fg"], red["fg"])
