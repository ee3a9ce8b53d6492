"""The training engine on a small real network and one real sample (GT01)."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import re

import numpy as np
import pytest
import tomllib
import torch
import training_support as support

from matting_core.errors import ConfigError, MattingWarning, PluginError
from matting_core.training import AdversarialRecipe, config_from_dict, load_config, train
from matting_core.training.config import ScheduleConfig, config_to_dict
from matting_core.training.logger import read_metrics
from matting_core.training.optim import build_scheduler, lr_factor


@pytest.fixture(autouse=True)
def plugin():
    support.ensure_plugin()
    with support.single_thread():
        yield


def config(**sections):
    return config_from_dict(support.base_config(**sections))


# --------------------------------------------------------------------------------------------
# Overfitting one real sample, and what the run leaves on disk
# --------------------------------------------------------------------------------------------

OVERFIT_STEPS = 60


@pytest.fixture(scope="module")
def overfit_run(tmp_path_factory):
    support.ensure_plugin()
    root = str(support.gt01_root())
    cfg = config(
        run={
            "steps": OVERFIT_STEPS,
            "log_every": 1,
            "val_every": 30,
            "checkpoint_every": 20,
            "tensorboard": True,
        },
        model={"options": {"width": 12}},
        data={
            "train_options": {"height": 48, "width": 48, "length": 4},
            "crop_size": 48,
            "batch_size": 2,
            # 45 × 70 is not a multiple of pad_multiple = 4: validation pads and crops back
            "val": support.DATASET,
            "val_root": root,
            "val_options": {"height": 45, "width": 70, "length": 1},
        },
        optim={"lr": 3e-3},
        schedule={"name": "warmup_cosine", "warmup_steps": 5, "min_lr": 1e-4},
    )
    run_dir = tmp_path_factory.mktemp("overfit")
    with support.single_thread():
        result = train(cfg, run_dir, progress=False)
    return cfg, run_dir, result


def test_loss_falls_tenfold(overfit_run):
    _, run_dir, result = overfit_run
    losses = [r["loss"] for r in read_metrics(run_dir, "train")]
    assert len(losses) == OVERFIT_STEPS
    first, last = losses[0], sum(losses[-5:]) / 5
    assert last < first / 10, f"loss {first:.4f} -> {last:.4f}"
    assert result.loss == pytest.approx(losses[-1])


def test_metrics_jsonl(overfit_run):
    _, run_dir, _ = overfit_run
    train_rows = read_metrics(run_dir, "train")
    assert [r["step"] for r in train_rows] == list(range(1, OVERFIT_STEPS + 1))
    row = train_rows[10]
    assert {"loss", "loss/l1_unknown", "lr", "epoch", "steps_per_s", "samples_per_s"} <= set(row)
    # warmup: lr grows linearly to 3e-3 over 5 steps, then decays by cosine
    lrs = [r["lr"] for r in train_rows]
    assert lrs[0] == pytest.approx(3e-3 * 2 / 5)  # logged after the scheduler stepped
    assert max(lrs) == pytest.approx(3e-3)
    assert lrs[-1] < lrs[30] < 3e-3
    val_rows = read_metrics(run_dir, "val")
    assert [r["step"] for r in val_rows] == [30, OVERFIT_STEPS]
    assert {"sad", "mse", "grad", "conn"} <= set(val_rows[0])
    assert all(math.isfinite(r["sad"]) for r in val_rows)


def test_resolved_config_written(overfit_run):
    cfg, run_dir, _ = overfit_run
    assert load_config(run_dir / "config.toml") == cfg
    assert tomllib.loads((run_dir / "config.toml").read_text())["optim"]["lr"] == 3e-3


def test_checkpoints_and_weights(overfit_run):
    _, run_dir, result = overfit_run
    ckpt = run_dir / "checkpoints"
    latest = json.loads((ckpt / "latest.json").read_text())
    assert latest["file"] == "step-00000060.pt" and latest["step"] == OVERFIT_STEPS
    assert sorted(p.name for p in ckpt.glob("step-*.pt")) == [
        "step-00000020.pt",
        "step-00000040.pt",
        "step-00000060.pt",
    ]
    assert result.checkpoint == ckpt / "step-00000060.pt"
    for name in ("best", "final"):
        assert (ckpt / f"{name}.safetensors").is_file() and (ckpt / f"{name}.json").is_file()
    assert result.best_step in (30, OVERFIT_STEPS)
    assert result.best_sad == min(r["sad"] for r in read_metrics(run_dir, "val"))
    # the final weights load into a fresh model
    from matting_core import create_model, load_weights

    model = create_model(support.MODEL, width=12)
    load_weights(model, result.weights)
    state = torch.load(result.checkpoint, weights_only=True)
    assert state["step"] == OVERFIT_STEPS
    assert set(state) >= {"networks", "optimizers", "schedulers", "scalers", "rng", "position"}


def test_tensorboard_events(overfit_run):
    pytest.importorskip("tensorboardX")
    _, run_dir, _ = overfit_run
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_validation_previews(overfit_run):
    """Every validation draws its images: image | trimap | prediction | ground truth | error,
    in the run directory and in TensorBoard."""
    from matting_data import read_image

    _, run_dir, _ = overfit_run
    sheets = sorted((run_dir / "previews").glob("step-*.png"))
    assert [p.name for p in sheets] == ["step-00000030.png", "step-00000060.png"]
    # one validation image of 45 x 70 drawn 160 px tall: tiles 249 px wide, 4 px apart
    tile_width, top = round(70 * 160 / 45), 24 + 24 + 4

    def tile(sheet: np.ndarray, column: int) -> np.ndarray:
        left = 4 + column * (tile_width + 4)
        return sheet[top : top + 160, left : left + tile_width]

    first, last = (read_image(path) for path in sheets)
    assert first.shape == last.shape == (24 + 24 + 168, 4 + 5 * (tile_width + 4), 3)
    assert np.array_equal(tile(first, 3), tile(last, 3))  # the same ground truth
    assert tile(first, 0).std() > 0.05  # the photo
    # the error map is drawn over the unknown region only: gray wherever the trimap is known
    trimap = tile(last, 1)[:, :, 0]
    known = (trimap == 0) | (trimap == 1)
    # the model has changed (validation restores the known pixels, so only the unknown moves)
    changed = np.abs(tile(first, 2) - tile(last, 2))[~known]
    assert changed.mean() > 0.01
    assert known.mean() > 0.3
    assert np.allclose(tile(last, 4)[known], 48 / 255)
    if importlib.util.find_spec("tensorboardX") is not None:
        events = b"".join(p.read_bytes() for p in (run_dir / "tensorboard").glob("events.*"))
        assert b"val/previews" in events


def test_previews_can_be_turned_off(tmp_path):
    support.ensure_plugin()
    root = str(support.gt01_root())
    cfg = config(
        run={"steps": 2, "val_every": 1, "previews": 0},
        data={"val": support.DATASET, "val_root": root, "val_options": {"height": 32, "width": 32}},
    )
    with support.single_thread():
        train(cfg, tmp_path / "run", progress=False)
    assert read_metrics(tmp_path / "run", "val") and not (tmp_path / "run" / "previews").exists()


def test_same_run_dir_without_resume_is_refused(overfit_run):
    cfg, run_dir, _ = overfit_run
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg, run_dir, progress=False)


# --------------------------------------------------------------------------------------------
# Accumulation, GANs, AMP on the CPU, the CLI
# --------------------------------------------------------------------------------------------


def test_accumulation_equals_the_larger_batch(tmp_path):
    common = {
        "run": {"steps": 3, "checkpoint_every": 0},
        "model": {"options": {"width": 8, "norm": "group"}},  # GroupNorm: no batch statistics
        "loss": {"terms": {"mse": 1.0}},  # a mean over equally sized samples: splits exactly
    }
    one = train(config(**common, data={"batch_size": 4}), tmp_path / "one", progress=False)
    two = train(
        config(**common, data={"batch_size": 4}, optim={"lr": 1e-3, "accumulate": 2}),
        tmp_path / "two",
        progress=False,
    )
    loss_one = [r["loss"] for r in read_metrics(one.run_dir, "train")]
    loss_two = [r["loss"] for r in read_metrics(two.run_dir, "train")]
    assert loss_two == pytest.approx(loss_one, rel=1e-5)
    w1, w2 = support.weights_of(one.weights), support.weights_of(two.weights)
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-5, atol=1e-6)


def test_data_workers_do_not_change_the_data(tmp_path):
    # per-item seeding: the same crops and flips with 0 or 2 loader processes
    common = {"run": {"steps": 3, "checkpoint_every": 0}, "loss": {"terms": {"plain-l1": 1.0}}}
    inline = train(config(**common), tmp_path / "inline", progress=False)
    workers = train(config(**common, data={"num_workers": 2}), tmp_path / "workers", progress=False)
    losses = [r["loss"] for r in read_metrics(inline.run_dir, "train")]
    assert [r["loss"] for r in read_metrics(workers.run_dir, "train")] == losses


def test_adversarial_training_runs(tmp_path):
    cfg = config(
        run={"steps": 3, "checkpoint_every": 0},
        model={"name": support.GAN_MODEL},
        loss={"terms": {"mse": 1.0, "ssim": 0.1}},
        adversarial={"options": {"base_channels": 4}, "d_steps": 2, "weight": 0.05},
    )
    result = train(cfg, tmp_path / "gan", progress=False)
    rows = read_metrics(result.run_dir, "train")
    assert {"loss/adversarial", "loss/mse", "loss/ssim", "d_loss", "lr/discriminator"} <= set(
        rows[-1]
    )
    assert all(math.isfinite(r["d_loss"]) for r in rows)
    state = torch.load(result.checkpoint, weights_only=True)
    assert set(state["networks"]) == {"generator", "discriminator"}
    assert state["optimizers"]["discriminator"]["state"]  # the discriminator was stepped


def test_adversarial_needs_the_plugins_adversarial_recipe(tmp_path):
    # core builds no discriminator: [adversarial] for a model without an adversarial recipe
    # is refused before anything runs
    cfg = config(adversarial={"weight": 0.05})
    with pytest.raises(ConfigError, match=r"adversarial: model 'train-tiny' trains no discrim"):
        train(cfg, tmp_path / "plain", progress=False)
    assert not (tmp_path / "plain").exists()
    # an adversarial recipe that does not say what its discriminator is
    cfg = config(model={"name": support.GAN_MODEL}, adversarial={"weight": 0.05})
    with pytest.raises(PluginError, match="AdversarialRecipe builds no discriminator"):
        train(cfg, tmp_path / "bare", progress=False, recipe=AdversarialRecipe())


def test_amp_is_forced_off_on_cpu(tmp_path):
    cfg = config(run={"steps": 1}, amp={"enabled": True, "dtype": "fp16"})
    with pytest.warns(MattingWarning, match="amp.enabled is ignored on the CPU"):
        train(cfg, tmp_path / "amp", progress=False)


def test_unknown_loss_fails_before_training(tmp_path):
    cfg = config(loss={"terms": {"l1_unknwn": 1.0}})
    with pytest.raises(ConfigError, match=re.escape("loss.terms.l1_unknwn: unknown loss")):
        train(cfg, tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad").exists()


def test_batch_must_split(tmp_path):
    cfg = config(data={"batch_size": 3}, optim={"lr": 1e-3, "accumulate": 2})
    with pytest.raises(
        ConfigError, match=re.escape("data.batch_size: the global batch 3 must be divisible")
    ):
        train(cfg, tmp_path / "bad", progress=False)


def test_cli_train(tmp_path, capsys, monkeypatch):
    main = support.cli_main(monkeypatch)
    path = tmp_path / "exp.toml"
    from matting_core.training import dump_config

    path.write_text(dump_config(config()), encoding="utf-8")
    run_dir = tmp_path / "run"
    code = main(
        ["train", str(path), "--run-dir", str(run_dir), "--set", "run.steps=2", "--no-progress"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "trained 2 steps" in out and "final.safetensors" in out
    assert load_config(run_dir / "config.toml").run.steps == 2
    code = main(
        ["train", str(path), "--run-dir", str(tmp_path / "r2"), "--set", "loss.terms.nope=1"]
    )
    assert code == 2
    assert "loss.terms.nope: unknown loss 'nope'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------


def test_lr_factor_shapes():
    cos = {
        s: lr_factor(s, name="warmup_cosine", total_steps=110, warmup_steps=10)
        for s in (0, 4, 9, 10, 60, 110)
    }
    assert (
        cos[0] == pytest.approx(0.1)
        and cos[4] == pytest.approx(0.5)
        and cos[9] == pytest.approx(1.0)
    )
    assert (
        cos[10] == pytest.approx(1.0)
        and cos[60] == pytest.approx(0.5)
        and cos[110] == pytest.approx(0.0)
    )
    # HAttMatting's poly, power 0.9, to a floor of 10 %
    assert lr_factor(50, name="poly", total_steps=100, power=0.9, min_ratio=0.1) == pytest.approx(
        0.1 + 0.9 * 0.5**0.9
    )
    assert lr_factor(7, name="constant", total_steps=100) == 1.0


def test_scheduler_state_round_trips_weights_only():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = build_scheduler(
        optimizer, ScheduleConfig(name="poly", warmup_steps=2, min_lr=0.01), 10
    )
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    other_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    other = build_scheduler(other_opt, ScheduleConfig(name="poly", warmup_steps=2, min_lr=0.01), 10)
    other.load_state_dict(state)
    assert other.last_epoch == 4
    assert other.get_last_lr() == pytest.approx(scheduler.get_last_lr())


def test_config_dict_has_no_none():
    data = config_to_dict(config())
    assert "adversarial" not in data and "val" not in data["data"]
