"""Run directories are not shared or silently replaced, and bad training settings are refused
with one sentence before any step (or, for a diverging loss, as a typed error)."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest
import training_support as support

from matting_core.errors import CheckpointError, ConfigError, TrainingDivergedError
from matting_core.training import config_from_dict, dump_config, train
from matting_core.training.engine import LOCK_FILE


@pytest.fixture(autouse=True)
def plugin():
    support.ensure_plugin()
    with support.single_thread():
        yield


def config(**sections):
    return config_from_dict(support.base_config(**sections))


def test_a_run_directory_in_use_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    # Another matting train holds the lock (flock conflicts between open files, even in one
    # process): this one must not interleave its checkpoints and metrics with it.
    holder = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    os.write(holder, b"4242\n")
    try:
        with pytest.raises(ConfigError, match=r"in use by another matting train \(process 4242\)"):
            train(config(), run_dir, progress=False)
    finally:
        os.close(holder)
    assert not (run_dir / "metrics.jsonl").exists()
    # released (the holder ended): a run goes ahead, and releases the lock when it ends
    train(config(), run_dir, progress=False)
    probe = os.open(run_dir / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)


@pytest.mark.parametrize("leftover", ["final", "metrics"])
def test_a_finished_run_is_not_replaced_without_overwrite(tmp_path, leftover):
    run_dir = tmp_path / "run"
    first = train(config(), run_dir, progress=False)
    shutil.rmtree(run_dir / "checkpoints" / "step-00000002.pt", ignore_errors=True)
    for path in (run_dir / "checkpoints").glob("step-*"):
        path.unlink()  # only the run's results are left
    (run_dir / "checkpoints" / "latest.json").unlink()
    if leftover == "metrics":
        for path in (run_dir / "checkpoints").iterdir():
            path.unlink()
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match=r"already holds a run .*--overwrite"):
        train(config(), run_dir, progress=False)
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before

    again = train(config(run={"steps": 2}), run_dir, overwrite=True, progress=False)
    assert again.step == 2 and first.step == 4
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2  # the earlier run's four lines are gone, not appended to
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("step-*.pt")) == [
        "step-00000002.pt"
    ]


def test_resume_and_overwrite_exclude_each_other(tmp_path):
    with pytest.raises(ConfigError, match="exclude each other"):
        train(config(), tmp_path / "run", resume=True, overwrite=True, progress=False)


def test_resuming_with_another_optimiser_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    train(config(run={"steps": 2}), run_dir, progress=False)
    changed = config(run={"steps": 4}, optim={"name": "sgd", "lr": 1e-3})
    with pytest.raises(CheckpointError, match=r"adam optimiser .* optim\.name is now 'sgd'"):
        train(changed, run_dir, resume=True, progress=False)


def test_a_diverging_loss_is_a_typed_error(tmp_path):
    with pytest.raises(TrainingDivergedError, match=r"lower optim\.lr") as info:
        train(config(optim={"lr": 1e30}), tmp_path / "run", progress=False)
    assert isinstance(info.value, FloatingPointError)


@pytest.mark.parametrize(
    ("section", "values", "phrase"),
    [
        ("optim", {"weight_decay": float("inf")}, "optim.weight_decay: must be a finite number"),
        ("optim", {"lr": float("nan")}, "optim.lr: must be a finite number"),
        ("loss", {"terms": {"l1_unknown": -1.0}}, "loss.terms.l1_unknown: must be >= 0"),
    ],
)
def test_bad_numbers_in_a_config_are_refused_on_loading(section, values, phrase):
    with pytest.raises(ConfigError, match=phrase):
        config(**{section: values})


def _write_config(tmp_path: Path, cfg) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(dump_config(cfg), encoding="utf-8")
    return path


def _one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        (["--set", "optim.weight_decay=inf"], "optim.weight_decay: must be a finite number"),
        (["--set", "optim.lr=1e30"], "the loss is nan"),
        (["--set", "loss.terms.l1_unknown=-1"], "must be >= 0"),
    ],
)
def test_cli_train_bad_settings_are_one_sentence(tmp_path, capsys, monkeypatch, extra, phrase):
    main = support.cli_main(monkeypatch)
    path = _write_config(tmp_path, config())
    code = main(["train", str(path), "--run-dir", str(tmp_path / "run"), "--no-progress", *extra])
    assert code == 2
    assert phrase in _one_sentence(capsys.readouterr().err)


def test_cli_train_into_a_file_is_one_sentence(tmp_path, capsys, monkeypatch):
    main = support.cli_main(monkeypatch)
    path = _write_config(tmp_path, config())
    code = main(["train", str(path), "--run-dir", str(path), "--no-progress"])
    assert code == 2
    assert "cannot be made" in _one_sentence(capsys.readouterr().err)
    assert path.read_text().startswith("# resolved training config")


def test_cli_train_overwrite_and_resume_flags(tmp_path, capsys, monkeypatch):
    main = support.cli_main(monkeypatch)
    path = _write_config(tmp_path, config(run={"steps": 2}))
    run_dir = str(tmp_path / "run")
    assert main(["train", str(path), "--run-dir", run_dir, "--no-progress"]) == 0
    assert main(["train", str(path), "--run-dir", run_dir, "--no-progress"]) == 2
    assert "--overwrite" in _one_sentence(capsys.readouterr().err)
    assert main(["train", str(path), "--run-dir", run_dir, "--no-progress", "--overwrite"]) == 0


def test_a_dataset_option_the_layout_rejects_is_a_config_error(tmp_path, shared_data):
    from matting_core import create_dataset

    root = tmp_path / "data"
    for kind, source in (("fg", "image"), ("alpha", "alpha"), ("bg", "image")):
        (root / kind).mkdir(parents=True)
        shutil.copy(shared_data / "alphamatting_training_lowres" / source / "GT01.png", root / kind)
    with pytest.raises(ConfigError, match=r"dataset 'foreground-background': bg_per_fg must be"):
        create_dataset(
            "foreground-background",
            root / "fg",
            alpha_dir=root / "alpha",
            bg_dir=root / "bg",
            bg_per_fg=0,
        )
