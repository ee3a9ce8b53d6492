"""The papers' reference pipelines on a real 800x600 sample (alphamatting.com photos)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md
from matting_data.augmentation import (
    CombineForegrounds,
    CompositeOnBackground,
    CropCenteredOnUnknown,
    RandomAffine,
    RandomResize,
)
from matting_data.pipelines import (
    alphagan_pipeline,
    gca_pipeline,
    hattmatting_pipeline,
    hdmatt_pipeline,
    hop_pipeline,
)

# name -> (factory, output side, makes a trimap centred on an unknown pixel)
PIPELINES = {
    "gca": (gca_pipeline, 512, True),
    "hop": (hop_pipeline, 512, True),
    "alphagan": (alphagan_pipeline, 320, True),
    "hdmatt": (hdmatt_pipeline, 320, True),
    "hattmatting": (hattmatting_pipeline, 512, False),
}


def _resized(array: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    return np.clip(cv2.resize(array, (800, 600), interpolation=interpolation), 0, 1)


@pytest.fixture(scope="module")
def sample(lowres: Path) -> dict[str, np.ndarray]:
    """A real 800x600 (W x H) foreground sample, a second foreground, and a 800x552 bg."""
    return {
        "fg": _resized(md.read_image(lowres / "image" / "GT04.png")),
        "alpha": _resized(md.read_alpha(lowres / "alpha" / "GT04.png")),
        "fg2": md.read_image(lowres / "image" / "GT10.png"),
        "alpha2": md.read_alpha(lowres / "alpha" / "GT10.png"),
        "bg": md.read_image(lowres / "image" / "GT05.png"),
    }


@pytest.mark.parametrize("name", PIPELINES)
def test_pipeline_output(name: str, sample: dict) -> None:
    factory, side, centred = PIPELINES[name]
    pipeline = factory()
    before = {k: v.copy() for k, v in sample.items()}
    for seed in range(4):
        out = pipeline(sample, np.random.default_rng(seed))
        combined = any(isinstance(t, CombineForegrounds) for t in pipeline.transforms)
        assert ("fg2" in out) != combined  # consumed by the combination, else passed through
        for key in ("fg", "bg", "image"):  # all at the crop size
            assert out[key].shape == (side, side, 3), key
            assert out[key].dtype == np.float32
            assert out[key].min() >= 0.0 and out[key].max() <= 1.0, key
        assert out["alpha"].shape == (side, side) and out["alpha"].dtype == np.float32
        assert out["alpha"].min() >= 0.0 and out["alpha"].max() <= 1.0
        assert out["alpha"].max() > 0.0 and out["alpha"].min() < 1.0  # a matting edge is in view
        a = out["alpha"][..., None]
        np.testing.assert_allclose(out["image"], out["fg"] * a + out["bg"] * (1 - a), atol=1e-5)
        if centred:
            trimap = out["trimap"]
            assert trimap.shape == (side, side) and trimap.dtype == np.uint8
            assert set(np.unique(trimap)) <= {0, 128, 255}
            c = side // 2  # flips/rotations after the crop move the centre by a few pixels
            assert (trimap[c - 4 : c + 5, c - 4 : c + 5] == 128).any()
            fractional = (out["alpha"] > 0.02) & (out["alpha"] < 0.98)
            assert (fractional & (trimap != 128)).mean() < 0.01
        else:
            assert "trimap" not in out
    for key, value in before.items():
        np.testing.assert_array_equal(sample[key], value, err_msg=f"input {key} modified")


@pytest.mark.parametrize("name", PIPELINES)
def test_pipeline_seeded(name: str, sample: dict) -> None:
    pipeline = PIPELINES[name][0]()
    a = pipeline(sample, np.random.default_rng(21))
    b = pipeline(sample, np.random.default_rng(21))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    c = pipeline(sample, np.random.default_rng(22))
    assert not np.array_equal(a["image"], c["image"])


def test_gca_recipe_parameters() -> None:
    steps = {type(t): t for t in gca_pipeline().transforms}
    assert steps[CombineForegrounds].p == 0.5
    assert (steps[RandomResize].target, steps[RandomResize].p) == (640, 0.25)
    affine = steps[RandomAffine]
    assert (affine.degrees, affine.scale, affine.shear, affine.flip_p) == (30, (0.8, 1.25), 10, 0.5)
    assert steps[CropCenteredOnUnknown].size == 512
    assert gca_pipeline(crop_size=320).transforms[4].size == 320


def test_hop_resamples_at_random() -> None:
    for transform in hop_pipeline().transforms:
        for field in ("interpolation", "bg_interpolation"):
            if hasattr(transform, field):
                assert getattr(transform, field) == "random", (type(transform).__name__, field)
    assert CompositeOnBackground in {type(t) for t in hop_pipeline().transforms}


def test_gca_on_large_foreground_rotates_and_crops(sample: dict) -> None:
    big = dict(sample)
    big["fg"] = cv2.resize(sample["fg"], (1600, 1200), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    big["alpha"] = cv2.resize(sample["alpha"], (1600, 1200), interpolation=cv2.INTER_LINEAR)
    out = gca_pipeline()(big, np.random.default_rng(0))
    assert out["image"].shape == (512, 512, 3)
    assert out["trimap"][256, 256] == 128
