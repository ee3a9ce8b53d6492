"""GCA's training recipe and configs: the paper's numbers, and a real (tiny) run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matting_core import load_model, predict
from matting_core.training import load_config, recipe_for, train
from matting_data import CombineForegrounds, CropCenteredOnUnknown, read_image, read_trimap
from matting_gca.training import GCARecipe

REPO = Path(__file__).resolve().parents[3]


def _config_path(name: str) -> Path:
    path = REPO / "configs" / name
    if not path.is_file():
        pytest.fail(f"{path} not found: run the tests from a checkout of the repository")
    return path


def test_comp1k_config_is_the_papers_recipe():
    cfg = load_config(_config_path("gca-comp1k.toml"), [])
    assert cfg.model.name == "gca"
    assert cfg.run.steps == 200_000 and cfg.data.batch_size == 40
    assert cfg.optim.name == "adam" and cfg.optim.lr == 1e-4
    assert tuple(cfg.optim.betas) == (0.5, 0.999)
    assert cfg.schedule.name == "warmup_cosine" and cfg.schedule.warmup_steps > 0
    assert cfg.loss.terms == {"l1_unknown": 1.0}
    assert cfg.data.train == "composition-1k-train" and cfg.data.crop_size == 512


def test_gca_models_train_with_the_gca_pipeline():
    cfg = load_config(_config_path("gca-comp1k.toml"), [])
    recipe = recipe_for(cfg)
    assert isinstance(recipe, GCARecipe)
    recipe.cfg = cfg
    steps = recipe.train_transform().transforms
    assert isinstance(steps[0], CombineForegrounds)
    assert any(isinstance(t, CropCenteredOnUnknown) and t.size == 512 for t in steps)


def test_a_short_real_run_writes_weights_that_predict(shared_data: Path, tmp_path: Path):
    root = shared_data / "alphamatting_training_lowres"
    config = tmp_path / "tiny.toml"
    config.write_text(
        f"""
[run]
steps = 4
log_every = 2
val_every = 4
checkpoint_every = 2
device = "cpu"
tensorboard = false

[model]
name = "gca-small"
options = {{ width = 0.25 }}

[data]
train = "foreground-background"
train_root = "{root / "image"}"
train_options = {{ alpha_dir = "{root / "alpha"}", bg_dir = "{root / "image"}", bg_per_fg = 2, exclude_same_name = true, second_fg = true }}
val = "folder"
val_root = "{root / "image"}"
val_options = {{ trimaps = "{root / "trimap"}", alphas = "{root / "alpha"}" }}
val_limit = 1
batch_size = 2
crop_size = 64

[optim]
name = "adam"
lr = 1e-4
betas = [0.5, 0.999]

[loss]
terms = {{ l1_unknown = 1.0 }}
"""
    )
    result = train(load_config(config, []), tmp_path / "run", progress=False)
    assert result.step == 4 and np.isfinite(result.loss)
    assert result.best_sad is not None and result.best_sad > 0
    loaded = load_model("gca-small", result.weights)
    assert loaded.model.config.width == 0.25  # the sidecar restores the trained width
    image = read_image(root / "image" / "GT01.png")[:96, :128]
    trimap = read_trimap(root / "trimap" / "GT01.png")[:96, :128]
    alpha = predict(loaded.model, image, trimap, info=loaded.info)
    assert alpha.shape == (96, 128) and alpha.min() >= 0.0 and alpha.max() <= 1.0
