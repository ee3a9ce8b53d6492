"""HDMatt's training recipe and configs: the paper's numbers, the context crops, a real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matting_core import load_model
from matting_core.tiling import linear_blend_weights
from matting_core.training import load_config, recipe_for, train
from matting_data import read_alpha, read_image
from matting_hdmatt.training import HDMattRecipe, HDMattTrainTransform, blend_loss_weight

REPO = Path(__file__).resolve().parents[3]


def _config_path(name: str) -> Path:
    path = REPO / "configs" / name
    if not path.is_file():
        pytest.fail(f"{path} not found: run the tests from a checkout of the repository")
    return path


def test_comp1k_config_is_the_papers_recipe():
    cfg = load_config(_config_path("hdmatt-comp1k.toml"), [])
    assert cfg.model.name == "hdmatt" and cfg.model.options["context_patches"] == 3
    assert cfg.run.steps == 200_000 and cfg.data.batch_size == 32 and cfg.data.crop_size == 320
    assert cfg.optim.name == "adam" and cfg.optim.lr == 5e-4 and cfg.optim.weight_decay == 1e-4
    assert cfg.schedule.name == "warmup_cosine"
    assert cfg.loss.terms == {"alpha_prediction": 0.5, "composition": 0.5}
    assert isinstance(recipe_for(cfg), HDMattRecipe)


def test_the_loss_mask_is_the_blending_ramp_with_mean_one():
    weight = blend_loss_weight(8)
    assert weight.mean() == pytest.approx(1.0)
    ramp = linear_blend_weights(8, 8)
    np.testing.assert_allclose(weight, ramp / ramp.mean(), rtol=1e-6)
    assert weight[0, 0] < weight[4, 4]


def test_the_transform_gives_a_query_and_context_crops_of_one_composite(shared_data: Path):
    root = shared_data / "alphamatting_training_lowres"
    sample = {
        "fg": read_image(root / "image" / "GT04.png"),
        "alpha": read_alpha(root / "alpha" / "GT04.png"),
        "bg": read_image(root / "image" / "GT05.png"),
        "name": "GT04",
    }
    out = HDMattTrainTransform(size=48, candidates=3)(sample, np.random.default_rng(0))
    assert out["image"].shape == (48, 48, 3) and out["alpha"].shape == (48, 48)
    assert out["trimap"].dtype == np.uint8 and (out["trimap"] == 128).any()
    assert out["context_image"].shape == (3, 48, 48, 3)
    onehot = out["context_trimap_onehot"]
    assert onehot.shape == (3, 48, 48, 3)
    np.testing.assert_array_equal(onehot.sum(-1), 1.0)
    assert out["loss_weight"].shape == (48, 48)
    assert not np.allclose(out["context_image"][0], out["context_image"][1])


def test_a_short_real_run_writes_weights_that_load(shared_data: Path, tmp_path: Path):
    root = shared_data / "alphamatting_training_lowres"
    config = tmp_path / "tiny.toml"
    config.write_text(
        f"""
[run]
steps = 2
log_every = 1
checkpoint_every = 2
device = "cpu"
tensorboard = false
previews = 0

[model]
name = "hdmatt-small"
options = {{ aspp_channels = 16, key_channels = 8, value_channels = 8, decoder_width = 0.125, train_candidates = 2 }}

[data]
train = "foreground-background"
train_root = "{root / "image"}"
train_options = {{ alpha_dir = "{root / "alpha"}", bg_dir = "{root / "image"}", bg_per_fg = 2, exclude_same_name = true, second_fg = true }}
batch_size = 2
crop_size = 48

[optim]
lr = 5e-4

[loss]
terms = {{ alpha_prediction = 0.5, composition = 0.5 }}
"""
    )
    result = train(load_config(config, []), tmp_path / "run", progress=False)
    assert result.step == 2 and np.isfinite(result.loss)
    loaded = load_model("hdmatt-small", result.weights)
    assert loaded.model.config.train_candidates == 2 and loaded.model.config.key_channels == 8
