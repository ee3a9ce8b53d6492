"""HOP's training recipe and config: the paper's recipe, a tiny real batch overfit, a real run."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from matting_core import get_model_info, load_model, predict
from matting_core.training import load_config, recipe_for, train
from matting_data import (
    CombineForegrounds,
    CompositeOnBackground,
    CropCenteredOnUnknown,
    RandomAffine,
    read_alpha,
    read_image,
    read_trimap,
)
from matting_hop.training import HOPRecipe

REPO = Path(__file__).resolve().parents[3]


def _config_path(name: str) -> Path:
    path = REPO / "configs" / name
    if not path.is_file():
        pytest.fail(f"{path} not found: run the tests from a checkout of the repository")
    return path


def test_comp1k_config_is_the_papers_recipe():
    cfg = load_config(_config_path("hop-comp1k.toml"), [])
    assert cfg.model.name == "hop" and cfg.model.options == {}
    assert cfg.loss.terms == {"l1_unknown": 1.0}  # Eq. 5 only
    assert cfg.optim.name == "adam" and tuple(cfg.optim.betas) == (0.5, 0.999)
    assert cfg.optim.lr == 6.4e-5  # the release's G_lr
    assert cfg.schedule.name == "warmup_cosine" and cfg.schedule.warmup_steps == 5000
    assert cfg.amp.enabled and cfg.amp.dtype == "fp16"  # "trained in FP16 precision"
    assert cfg.data.train == "composition-1k-train" and cfg.data.crop_size == 512
    assert cfg.data.batch_size == 14 and cfg.run.steps == 200_000
    assert cfg.data.train_options["second_fg"] is True
    # the default `hop` config keeps the release's fp16-training BN eps
    assert get_model_info("hop").config_class().batchnorm_eps == 1e-3


def test_hop_trains_with_gca_augmentation_and_random_interpolation():
    cfg = load_config(_config_path("hop-comp1k.toml"), [])
    recipe = recipe_for(cfg)
    assert isinstance(recipe, HOPRecipe)
    recipe.cfg = cfg
    steps = recipe.train_transform().transforms
    assert isinstance(steps[0], CombineForegrounds)
    assert any(isinstance(t, CropCenteredOnUnknown) and t.size == 512 for t in steps)
    kernels = [
        getattr(t, "interpolation", None)
        for t in steps
        if isinstance(t, (CombineForegrounds, RandomAffine, CompositeOnBackground))
    ]
    assert kernels and all(k == "random" for k in kernels)


def _tiny_config(tmp_path: Path, body: str):
    path = tmp_path / "tiny.toml"
    path.write_text(body)
    return load_config(path, [])


def _real_batch(shared_data: Path, size: int = 96) -> dict[str, torch.Tensor]:
    """Two real crops centred in the unknown region of GT01 and GT02."""
    root = shared_data / "alphamatting_training_lowres"
    images, alphas, trimaps = [], [], []
    for name in ("GT01.png", "GT02.png"):
        image = read_image(root / "image" / name)
        alpha = read_alpha(root / "alpha" / name)
        trimap = read_trimap(root / "trimap" / name)
        ys, xs = np.nonzero(trimap == 128)
        y = int(np.clip(np.median(ys) - size // 2, 0, trimap.shape[0] - size))
        x = int(np.clip(np.median(xs) - size // 2, 0, trimap.shape[1] - size))
        images.append(image[y : y + size, x : x + size].astype(np.float32) / 255)
        alphas.append(alpha[y : y + size, x : x + size])
        trimaps.append(trimap[y : y + size, x : x + size])
    tri = torch.from_numpy(np.stack(trimaps))
    return {
        "image": torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(),
        "alpha": torch.from_numpy(np.stack(alphas))[:, None],
        "trimap": (tri.float() / 255)[:, None],
        "trimap_onehot": torch.stack([tri == 0, tri == 128, tri == 255], dim=1).float(),
    }


def test_training_on_a_tiny_real_batch_lowers_the_loss(shared_data: Path, tmp_path: Path):
    cfg = _tiny_config(
        tmp_path,
        """
[run]
steps = 30
[model]
name = "hop"
options = { width = 0.25 }
[data]
train = "folder"
[loss]
terms = { l1_unknown = 1.0 }
""",
    )
    recipe = recipe_for(cfg)
    recipe.setup(cfg, get_model_info("hop"), torch.device("cpu"))
    torch.manual_seed(0)
    nets = recipe.build_networks()
    generator = nets["generator"].train()
    batch = _real_batch(shared_data)
    assert batch["trimap_onehot"][:, 1].sum() > 1000  # real unknown pixels to learn
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(30):
        outputs = recipe.forward(generator, batch)
        loss = recipe.generator_loss(nets, batch, outputs).total()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first, last = losses[0], sum(losses[-5:]) / 5
    assert last < first / 5, f"L1 over the unknown region {first:.4f} -> {last:.4f}"


def test_a_short_real_run_writes_weights_that_predict(shared_data: Path, tmp_path: Path):
    root = shared_data / "alphamatting_training_lowres"
    cfg = _tiny_config(
        tmp_path,
        f"""
[run]
steps = 3
log_every = 1
val_every = 3
checkpoint_every = 3
device = "cpu"
tensorboard = false

[model]
name = "hop"
options = {{ width = 0.25, global_hop_rate = 1 }}

[data]
train = "foreground-background"
train_root = "{root / "image"}"
train_options = {{ alpha_dir = "{root / "alpha"}", bg_dir = "{root / "image"}", bg_per_fg = 2, exclude_same_name = true, second_fg = true }}
val = "folder"
val_root = "{root / "image"}"
val_options = {{ trimaps = "{root / "trimap"}", alphas = "{root / "alpha"}" }}
val_limit = 1
batch_size = 2
crop_size = 96

[optim]
name = "adam"
lr = 6.4e-5
betas = [0.5, 0.999]

[schedule]
name = "warmup_cosine"
warmup_steps = 1

[loss]
terms = {{ l1_unknown = 1.0 }}

[amp]
enabled = true
dtype = "fp16"
""",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(cfg, tmp_path / "run", progress=False)
    assert any("amp.enabled is ignored on the CPU" in str(w.message) for w in caught)
    assert result.step == 3 and np.isfinite(result.loss)
    assert result.best_sad is not None and result.best_sad > 0
    loaded = load_model("hop", result.weights)
    assert loaded.model.config.width == 0.25 and loaded.model.config.global_hop_rate == 1
    image = read_image(root / "image" / "GT01.png")[:100, :150]
    trimap = read_trimap(root / "trimap" / "GT01.png")[:100, :150]
    alpha = predict(loaded.model, image, trimap, info=loaded.info)
    assert alpha.shape == (100, 150) and alpha.min() >= 0.0 and alpha.max() <= 1.0
