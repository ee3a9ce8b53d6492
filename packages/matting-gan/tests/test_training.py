"""AlphaGAN's recipe on real crops: the paper's data, what D judges, the engine's G/D alternation,
and short adversarial runs that learn."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from matting_core import load_model, predict
from matting_core.errors import ConfigError
from matting_core.training import load_config, recipe_for, train
from matting_core.training.config import config_to_dict
from matting_core.training.state import checkpoint_path, load_state_file
from matting_data import read_image, read_trimap
from matting_data.augmentation import (
    CompositeOnBackground,
    CropCenteredOnUnknown,
    GenerateTrimap,
    RandomHorizontalFlip,
    RandomRotation,
    Resize,
)
from matting_gan import AlphaGANRecipe, trimap_channel
from matting_nn import PatchGANDiscriminator

REPO = Path(__file__).resolve().parents[3]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _config_path(name: str) -> Path:
    path = REPO / "configs" / name
    if not path.is_file():
        pytest.fail(f"{path} not found: run the tests from a checkout of the repository")
    return path


def _tiny_config(folder: Path, shared: Path, **changes: str) -> Path:
    """A small adversarial run on the alphamatting.com photos (photo as foreground, the other
    photos as backgrounds), 64x64 crops, a width-0.125 generator."""
    root = shared / "alphamatting_training_lowres"
    values = {
        "steps": "4",
        "checkpoint_every": "0",
        "val": 'val = "folder"',
        "weight": "0.05",
        "d_every": "1",
        "warmup_steps": "0",
    } | changes
    text = f"""
[run]
steps = {values["steps"]}
log_every = 1
val_every = 0
checkpoint_every = {values["checkpoint_every"]}
keep_last = 5
device = "cpu"
tensorboard = false
previews = 0

[model]
name = "alphagan-small"
options = {{ width = 0.125 }}

[data]
train = "foreground-background"
train_root = "{root / "image"}"
train_options = {{ alpha_dir = "{root / "alpha"}", bg_dir = "{root / "image"}", bg_per_fg = 2, exclude_same_name = true }}
{values["val"]}
val_root = "{root / "image"}"
val_options = {{ trimaps = "{root / "trimap"}", alphas = "{root / "alpha"}" }}
val_limit = 1
batch_size = 2
crop_size = 64

[optim]
name = "adam"
lr = 1e-3
betas = [0.5, 0.999]

[loss]
terms = {{ alpha_prediction = 1.0, composition = 1.0 }}
options = {{ alpha_prediction = {{ region = "unknown" }}, composition = {{ region = "unknown" }} }}

[adversarial]
options = {{ base_channels = 8, n_layers = 3 }}
weight = {values["weight"]}
d_every = {values["d_every"]}
warmup_steps = {values["warmup_steps"]}
"""
    path = folder / "tiny.toml"
    path.write_text(text)
    return path


def _recipe(config: Path) -> AlphaGANRecipe:
    cfg = load_config(config, [])
    recipe = recipe_for(cfg)
    assert isinstance(recipe, AlphaGANRecipe)
    recipe.setup(cfg, recipe_info(cfg), torch.device("cpu"))
    return recipe


def recipe_info(cfg):
    from matting_core import get_model_info

    return get_model_info(cfg.model.name)


def _real_batch(recipe: AlphaGANRecipe, size: int) -> dict[str, torch.Tensor]:
    dataset = recipe.build_dataset("train")
    items = [dataset[i] for i in range(size)]
    return {k: torch.stack([item[k] for item in items]) for k in ("image", "alpha", "fg", "bg")} | {
        k: torch.stack([item[k] for item in items]) for k in ("trimap", "trimap_onehot")
    }


# --------------------------------------------------------------------------------------------
# Configs and data
# --------------------------------------------------------------------------------------------


def test_comp1k_config_is_the_papers_recipe():
    cfg = load_config(_config_path("alphagan-comp1k.toml"), [])
    assert cfg.model.name == "alphagan" and cfg.data.crop_size == 320
    assert cfg.loss.terms == {"alpha_prediction": 1.0, "composition": 1.0}
    assert cfg.loss.options["alpha_prediction"]["region"] == "unknown"
    assert cfg.loss.options["composition"]["region"] == "unknown"
    adv = cfg.adversarial
    assert adv.discriminator == "patchgan" and adv.gan_loss == "gan_bce" and adv.weight == 1.0
    assert adv.options["n_layers"] == 3 and adv.options["base_channels"] == 64
    assert cfg.model.options["pretrained_backbone"]


@pytest.mark.parametrize(
    ("adversarial", "twin"),
    [
        ("alphagan-comp1k.toml", "alphagan-comp1k-no-gan.toml"),
        ("alphagan-small-alphamatting.toml", "alphagan-small-alphamatting-no-gan.toml"),
    ],
)
def test_each_no_gan_twin_differs_only_by_lambda(adversarial: str, twin: str):
    a = load_config(_config_path(adversarial), [])
    b = load_config(_config_path(twin), [])
    assert a.adversarial.weight > 0 and b.adversarial.weight == 0
    b = dataclasses.replace(
        b, adversarial=dataclasses.replace(b.adversarial, weight=a.adversarial.weight)
    )
    assert config_to_dict(a) == config_to_dict(b)


def test_the_papers_augmentation_at_320_and_scaled_at_128():
    recipe = _recipe(_config_path("alphagan-comp1k.toml"))
    steps = recipe.train_transform().transforms
    assert [type(t) for t in steps] == [
        RandomRotation,
        GenerateTrimap,
        CropCenteredOnUnknown,
        Resize,
        RandomHorizontalFlip,
        CompositeOnBackground,
    ]
    assert steps[0].sigma_degrees == 5.0
    assert steps[1].kernel_range == (2, 20) and steps[1].mode == "dilate"
    assert steps[2].size_range == (320, 720) and steps[3].size == 320
    assert steps[4].p == 0.5
    small = _recipe(_config_path("alphagan-small-alphamatting.toml")).train_transform().transforms
    assert small[2].size_range == (128, 288) and small[3].size == 128


def test_discriminator_is_a_70x70_patchgan_on_four_channels(tmp_path: Path, shared_data: Path):
    recipe = _recipe(_tiny_config(tmp_path, shared_data))
    d = recipe.build_discriminator()
    assert isinstance(d, PatchGANDiscriminator)
    assert d.n_layers == 3 and d.receptive_field == 70
    assert d.model[0].in_channels == 4
    recipe.adv = dataclasses.replace(recipe.adv, options={"n_layers": 3, "in_channels": 6})
    with pytest.raises(ConfigError, match="4 channels"):
        recipe.build_discriminator()
    recipe.adv = dataclasses.replace(recipe.adv, options={"colour": 3})
    with pytest.raises(ConfigError, match=r"adversarial\.options"):
        recipe.build_discriminator()


def test_real_and_fake_are_composited_from_the_same_fg_and_bg(tmp_path: Path, shared_data: Path):
    recipe = _recipe(_tiny_config(tmp_path, shared_data))
    batch = _real_batch(recipe, 2)
    gt = batch["alpha"]
    pred = gt.clone()
    pred[..., :32] = torch.rand_like(pred[..., :32])  # wrong on the left half only
    real = recipe.discriminator_input(batch, gt)
    fake = recipe.discriminator_input(batch, pred)
    assert real.shape == fake.shape == (2, 4, 64, 64)
    # where the alphas agree, the two inputs are bit-identical: same foreground, same
    # background, nothing else differs
    assert torch.equal(real[..., 32:], fake[..., 32:])
    assert torch.equal(real[:, 3:], fake[:, 3:])
    assert torch.equal(real[:, 3:], trimap_channel(batch["trimap_onehot"]))
    background = (gt == 0) & (pred == 0)
    normalised_bg = (batch["bg"] - MEAN) / STD
    assert background.any()
    assert torch.equal(
        real[:, :3][background.expand(-1, 3, -1, -1)],
        normalised_bg[background.expand(-1, 3, -1, -1)],
    )
    assert not torch.equal(real[..., :32], fake[..., :32])
    # the real input is the training image itself (composited by the pipeline from the same
    # fg and bg), not a stored composite resampled differently
    torch.testing.assert_close(real[:, :3], (batch["image"] - MEAN) / STD, atol=1e-5, rtol=0)


def _tensors(state: dict) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in state.items()}


def test_a_generator_step_leaves_the_discriminator_unchanged(tmp_path: Path, shared_data: Path):
    # step 0: G and D update; step 1: G updates with the adversarial term (D run in training
    # mode, BatchNorm and all) but D is not due (d_every = 2)
    config = _tiny_config(tmp_path, shared_data, steps="2", checkpoint_every="1", d_every="2")
    result = train(load_config(config, []), tmp_path / "run", progress=False)
    assert result.step == 2
    after_0 = load_state_file(checkpoint_path(tmp_path / "run", 1))["networks"]
    after_1 = load_state_file(checkpoint_path(tmp_path / "run", 2))["networks"]
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_lines = [x for x in lines if x.get("split", "train") == "train" and "loss" in x]
    assert all("loss/adversarial" in x for x in train_lines[:2])  # D took part in both G steps
    d0, d1 = after_0["discriminator"], after_1["discriminator"]
    assert d0.keys() == d1.keys()
    for key in d0:
        assert torch.equal(d0[key], d1[key]), key  # parameters and BatchNorm statistics
    g0, g1 = after_0["generator"], after_1["generator"]
    assert any(not torch.equal(g0[k], g1[k]) for k in g0 if g0[k].is_floating_point())
    # and the weights the run wrote predict a matte on a real photo
    loaded = load_model("alphagan-small", result.weights)
    assert loaded.model.config.width == 0.125
    root = shared_data / "alphamatting_training_lowres"
    image = read_image(root / "image" / "GT01.png")[:96, :128]
    trimap = read_trimap(root / "trimap" / "GT01.png")[:96, :128]
    alpha = predict(loaded.model, image, trimap, info=loaded.info)
    assert alpha.shape == (96, 128) and alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_a_few_dozen_adversarial_steps_on_real_crops_reduce_the_alpha_loss(
    tmp_path: Path, shared_data: Path
):
    torch.manual_seed(0)
    recipe = _recipe(_tiny_config(tmp_path, shared_data))
    nets = recipe.build_networks()
    g, d = nets["generator"].train(), nets["discriminator"].train()
    batch = _real_batch(recipe, 4)
    g_opt = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.999))
    alpha_losses, d_logged = [], []
    for step in range(40):
        recipe.on_step(step, 0)
        # G's step, D frozen (as the engine does)
        for p in d.parameters():
            p.requires_grad_(False)
        outputs = recipe.forward(g, batch)
        terms = recipe.generator_loss(nets, batch, outputs)
        assert set(terms.values) == {"alpha_prediction", "composition", "adversarial"}
        g_opt.zero_grad()
        terms.total().backward()
        g_opt.step()
        alpha_losses.append(float(terms.values["alpha_prediction"].detach()))
        for p in d.parameters():
            p.requires_grad_(True)
        # D's step on the detached prediction
        d_terms = recipe.discriminator_loss(nets, batch, {"alpha": outputs["alpha"].detach()})
        d_opt.zero_grad()
        d_terms.total().backward()
        d_opt.step()
        d_logged.append((float(d_terms.logged["d_real"]), float(d_terms.logged["d_fake"])))
    assert np.isfinite(alpha_losses).all() and np.isfinite(d_logged).all()
    first, last = np.mean(alpha_losses[:3]), np.mean(alpha_losses[-3:])
    assert last < 0.6 * first, (first, last)
