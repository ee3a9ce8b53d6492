"""HAttMatting's training: the configs hold the paper's numbers, the hybrid loss (SSIM against a
direct computation, λ_SSIM 0.1 then 0.025 after the first epoch, through the engine), the
crops, and a tiny real batch that the network overfits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from matting_core import create_loss, get_model_info
from matting_core.errors import ConfigError
from matting_core.training import load_config, recipe_for, train
from matting_data import RandomCrop, Resize, read_alpha, read_image, samples_dir
from matting_hatt import HAttMatting, HAttSmallConfig
from matting_hatt.training import HAttRecipe, hatt_crop_sizes

REPO = Path(__file__).resolve().parents[3]


def _config_path(name: str) -> Path:
    path = REPO / "configs" / name
    if not path.is_file():
        pytest.fail(f"{path} not found: run the tests from a checkout of the repository")
    return path


def test_d646_config_is_the_papers_recipe():
    cfg = load_config(_config_path("hattmatting-d646.toml"), [])
    assert cfg.model.name == "hattmatting"
    assert cfg.run.epochs == 20 and cfg.data.batch_size == 4 and cfg.data.crop_size == 512
    assert cfg.optim.name == "sgd" and cfg.optim.lr == 0.007
    assert cfg.optim.momentum == 0.9 and cfg.optim.weight_decay == 5e-4
    assert cfg.schedule.name == "poly" and cfg.schedule.power == 0.9
    assert cfg.loss.terms == {"mse": 1.0, "ssim": 0.1}
    assert cfg.adversarial is not None and cfg.adversarial.weight == 0.05
    # λ3: 0.1 during the first epoch, 0.025 for the 19 after
    assert [cfg.loss.weight("ssim", 0, e) for e in (0, 1, 19)] == [0.1, 0.025, 0.025]
    assert cfg.data.train == "distinctions-646-train"
    assert cfg.data.train_options["bg_per_fg"] == 80  # the official lists: 596 x 80


def test_the_paper_crops_at_512_are_matting_datas_hattmatting_pipeline():
    cfg = load_config(_config_path("hattmatting-d646.toml"), [])
    recipe = recipe_for(cfg)
    assert isinstance(recipe, HAttRecipe)
    recipe.cfg = cfg
    steps = recipe.train_transform().transforms
    crop = next(t for t in steps if isinstance(t, RandomCrop))
    assert tuple(crop.size) == (512, 640, 800)
    assert any(isinstance(t, Resize) and t.size == 512 for t in steps)


def test_other_crop_sizes_scale_the_papers_three_crops():
    assert hatt_crop_sizes(512) == (512, 640, 800)
    assert hatt_crop_sizes(128) == (128, 160, 200)
    cfg = load_config(_config_path("hattmatting-small-alphamatting.toml"), [])
    recipe = recipe_for(cfg)
    recipe.cfg = cfg
    sample = {
        "fg": np.random.default_rng(0).random((300, 420, 3), dtype=np.float32),
        "alpha": np.random.default_rng(1).random((300, 420), dtype=np.float32),
        "bg": np.random.default_rng(2).random((500, 500, 3), dtype=np.float32),
    }
    out = recipe.train_transform()(sample, np.random.default_rng(0))
    assert out["image"].shape == (128, 128, 3) and out["alpha"].shape == (128, 128)
    assert "trimap" not in out  # trimap-free: no trimap is made


def _direct_ssim(p: np.ndarray, g: np.ndarray, size: int = 11, sigma: float = 1.5) -> float:
    """SSIM of Wang et al. 2004 written out: at every valid window position, Gaussian-weighted
    means, variances and covariance, then the formula; the mean over positions."""
    coords = np.arange(size) - size // 2
    g1 = np.exp(-(coords**2) / (2 * sigma**2))
    w = np.outer(g1, g1)
    w /= w.sum()
    c1, c2 = 0.01**2, 0.03**2
    values = []
    for i in range(p.shape[0] - size + 1):
        for j in range(p.shape[1] - size + 1):
            a, b = p[i : i + size, j : j + size], g[i : i + size, j : j + size]
            mu_a, mu_b = (w * a).sum(), (w * b).sum()
            var_a = (w * (a - mu_a) ** 2).sum()
            var_b = (w * (b - mu_b) ** 2).sum()
            cov = (w * (a - mu_a) * (b - mu_b)).sum()
            values.append(
                (2 * mu_a * mu_b + c1)
                * (2 * cov + c2)
                / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
            )
    return float(np.mean(values))


def _sample(name: str = "GT17", size: tuple[int, int] = (128, 96)):
    """A bundled real photo and its true alpha, downscaled to ``size`` (width, height)."""
    folder = samples_dir()
    image = read_image(folder / "image" / f"{name}.png")
    alpha = read_alpha(folder / "alpha" / f"{name}.png")
    return (
        cv2.resize(image, size, interpolation=cv2.INTER_AREA),
        cv2.resize(alpha, size, interpolation=cv2.INTER_AREA),
    )


def test_ssim_loss_matches_a_direct_computation():
    gt = _sample(size=(56, 40))[1].astype(np.float64)
    rng = np.random.default_rng(0)
    pred = np.clip(gt + rng.normal(0, 0.1, gt.shape), 0, 1)
    assert gt.std() > 0.05  # a patch across the object's edge, not a flat one
    loss = create_loss("ssim")
    value = loss(
        {"alpha": torch.from_numpy(pred)[None, None].float()},
        {"alpha": torch.from_numpy(gt)[None, None].float()},
    )
    expected = 1.0 - _direct_ssim(pred, gt)
    assert float(value) == pytest.approx(expected, abs=1e-4)
    same = loss(
        {"alpha": torch.from_numpy(gt)[None, None].float()},
        {"alpha": torch.from_numpy(gt)[None, None].float()},
    )
    assert float(same) == pytest.approx(0.0, abs=1e-5)


def _tiny_data(shared_data: Path, tmp_path: Path) -> Path:
    """Two real foregrounds (GT01, GT02 downscaled) and two real backgrounds."""
    src = shared_data / "alphamatting_training_lowres"
    root = tmp_path / "data"
    for sub in ("fg", "alpha", "bg"):
        (root / sub).mkdir(parents=True)
    for name in ("GT01", "GT02"):
        image = cv2.imread(str(src / "image" / f"{name}.png"))
        alpha = cv2.imread(str(src / "alpha" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(root / "fg" / f"{name}.png"), cv2.resize(image, (160, 100)))
        cv2.imwrite(str(root / "alpha" / f"{name}.png"), cv2.resize(alpha, (160, 100)))
    for name in ("GT05", "GT06"):
        shutil.copy(src / "image" / f"{name}.png", root / "bg" / f"{name}.png")
    return root


def _tiny_config(root: Path, tmp_path: Path, steps: int, extra: str = "") -> Path:
    config = tmp_path / "tiny.toml"
    config.write_text(
        f"""
[run]
steps = {steps}
log_every = 1
checkpoint_every = 0
device = "cpu"
tensorboard = false
previews = 0

[model]
name = "hattmatting-small"
options = {{ channels = 8, reduction = 2 }}

[data]
train = "foreground-background"
train_root = "{(root / "fg").as_posix()}"
train_options = {{ alpha_dir = "{(root / "alpha").as_posix()}", bg_dir = "{(root / "bg").as_posix()}", bg_per_fg = 1, second_fg = false }}
batch_size = 2
crop_size = 64

[optim]
name = "adam"
lr = 1e-3

[loss]
terms = {{ mse = 1.0, ssim = 0.1 }}

[loss.schedules.ssim]
unit = "epoch"
milestones = [1]
values = [0.1, 0.025]

[adversarial]
weight = 0.05
options = {{ base_channels = 8 }}
{extra}
"""
    )
    return config


def test_lambda_ssim_switches_after_the_first_epoch(shared_data: Path, tmp_path: Path):
    # two samples, batch 2: one step per epoch, so step 0 is epoch 0 and steps 1, 2 epoch 1+
    root = _tiny_data(shared_data, tmp_path)
    config = _tiny_config(root, tmp_path, steps=3)
    run_dir = tmp_path / "run"
    train(load_config(config, []), run_dir=run_dir, progress=False)
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [m for m in lines if "loss/ssim" in m]
    assert len(steps) == 3
    weights = []
    for m in steps:
        # loss = 1 · MSE + λ_SSIM · SSIM + 0.05 · adversarial: solve for λ_SSIM
        rest = m["loss"] - m["loss/mse"] - 0.05 * m.get("loss/adversarial", 0.0)
        weights.append(rest / m["loss/ssim"])
        assert "d_loss" in m or "d_real" in m  # the discriminator trained as well
    assert weights[0] == pytest.approx(0.1, rel=1e-3)
    assert weights[1] == pytest.approx(0.025, rel=1e-3)
    assert weights[2] == pytest.approx(0.025, rel=1e-3)


def test_an_unknown_discriminator_is_one_config_error(shared_data: Path, tmp_path: Path):
    root = _tiny_data(shared_data, tmp_path)
    config = _tiny_config(root, tmp_path, steps=1)
    text = config.read_text().replace("[adversarial]\n", '[adversarial]\ndiscriminator = "unet"\n')
    config.write_text(text)
    with pytest.raises(ConfigError, match="patchgan"):
        train(load_config(config, []), run_dir=tmp_path / "bad", progress=False)


def test_a_tiny_real_batch_overfits():
    """Two 32x32 windows of a real photo (downscaled) and their true alpha: MSE + SSIM drive
    the trimap-free network to the matte."""
    torch.manual_seed(0)
    image, alpha = _sample(size=(64, 48))
    info = get_model_info("hattmatting-small")
    mean, std = np.array(info.mean, np.float32), np.array(info.std, np.float32)
    x = torch.from_numpy((image - mean) / std).permute(2, 0, 1)
    a = torch.from_numpy(alpha)[None]
    images = torch.stack([x[:, 8:40, 0:32], x[:, 8:40, 32:64]])
    alphas = torch.stack([a[:, 8:40, 0:32], a[:, 8:40, 32:64]])
    assert alphas.std() > 0.2  # both windows cross the object's edge: not a constant matte
    model = HAttMatting(HAttSmallConfig(channels=16, reduction=4)).train()
    mse, ssim = create_loss("mse"), create_loss("ssim")
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    batch = {"alpha": alphas}
    first = None
    for _ in range(80):
        out = model(images)
        err = mse(out, batch)
        loss = err + 0.1 * ssim(out, batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        first = err.item() if first is None else first
    assert err.item() < 0.1 * first
    assert err.item() < 0.01
