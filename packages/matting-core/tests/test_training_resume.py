"""Resume: a run killed with SIGKILL and resumed ends with the weights of an uninterrupted
run; a corrupt newest checkpoint falls back to the previous one with a warning."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import training_support as support

from matting_core.errors import CheckpointError, MattingWarning
from matting_core.training import (
    CheckpointFallbackWarning,
    config_from_dict,
    load_latest_state,
    train,
)
from matting_core.training.logger import read_metrics
from matting_core.training.state import list_checkpoints

SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import training_support
training_support.ensure_plugin()
from matting_core.training import config_from_dict, train
cfg = config_from_dict(json.loads(sys.argv[1]))
train(cfg, sys.argv[2], resume=sys.argv[3] == "resume", progress=False)
"""


@pytest.fixture(autouse=True)
def plugin():
    support.ensure_plugin()
    with support.single_thread():
        yield


def _start(script: Path, cfg: dict, run_dir: Path, mode: str) -> subprocess.Popen:
    # one thread per process: the three runs compute identically and do not fight for cores
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(cfg), str(run_dir), mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen, timeout: float = 120) -> None:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    script = tmp_path / "run_training.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    steps = 12
    cfg = support.base_config(
        run={"steps": steps, "checkpoint_every": 2, "keep_last": 2},
        # a slow dataset gives the test time to kill the run between checkpoints
        data={"train_options": {"height": 48, "width": 48, "length": 6, "delay": 0.04}},
    )
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference = _start(script, cfg, reference_dir, "fresh")
    victim = _start(script, cfg, killed_dir, "fresh")
    deadline = time.monotonic() + 120
    while not any(step >= 4 for step, _ in list_checkpoints(killed_dir)):
        assert victim.poll() is None, victim.communicate()[0]
        assert time.monotonic() < deadline, "no second checkpoint within 120 s"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    killed_at = max(step for step, _ in list_checkpoints(killed_dir))
    assert killed_at < steps, "the run finished before it could be killed"
    assert not (killed_dir / "checkpoints" / "final.safetensors").exists()

    resumed = _start(script, cfg, killed_dir, "resume")
    _finish(resumed)
    _finish(reference)

    final = support.weights_of(killed_dir / "checkpoints" / "final.safetensors")
    expected = support.weights_of(reference_dir / "checkpoints" / "final.safetensors")
    assert final.keys() == expected.keys()
    for key in expected:
        assert torch.equal(final[key], expected[key]), key
    # the logs read as one run: every step once, with the reference's losses
    rows = read_metrics(killed_dir, "train")
    assert [r["step"] for r in rows] == list(range(1, steps + 1))
    assert [r["loss"] for r in rows] == [r["loss"] for r in read_metrics(reference_dir, "train")]
    # keep_last = 2
    assert [step for step, _ in list_checkpoints(killed_dir)] == [steps, steps - 2]


def test_corrupt_latest_checkpoint_falls_back(tmp_path):
    cfg = support.base_config(run={"steps": 6, "checkpoint_every": 2, "keep_last": 3})
    run_dir = tmp_path / "run"
    train(config_from_dict(cfg), run_dir, progress=False)
    latest = run_dir / "checkpoints" / "step-00000006.pt"
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])  # truncated, as by a full disk

    cfg["run"]["steps"] = 8
    with pytest.warns(MattingWarning) as record:
        result = train(config_from_dict(cfg), run_dir, resume=True, progress=False)
    assert result.resumed_from == 4
    messages = [(w.category, str(w.message)) for w in record]
    assert any(
        category is CheckpointFallbackWarning
        and re.search(r"resuming from step-00000004.pt.*step-00000006.pt.*sha256", text)
        for category, text in messages
    ), messages
    assert any("changed config (run.steps)" in text for _, text in messages), messages

    reference = train(config_from_dict(cfg), tmp_path / "reference", progress=False)
    final, expected = support.weights_of(result.weights), support.weights_of(reference.weights)
    for key in expected:
        assert torch.equal(final[key], expected[key]), key


def test_state_loading_without_sidecar_and_when_nothing_is_usable(tmp_path):
    cfg = support.base_config(run={"steps": 4, "checkpoint_every": 2})
    run_dir = tmp_path / "run"
    train(config_from_dict(cfg), run_dir, progress=False)
    ckpt = run_dir / "checkpoints"
    state, path = load_latest_state(run_dir)
    assert path.name == "step-00000004.pt" and state["step"] == 4
    # Without its sidecar even an intact checkpoint cannot be verified: it is refused (it is
    # what a writer killed between its two renames leaves) and the previous one is used.
    (ckpt / "step-00000004.json").unlink()
    with pytest.warns(CheckpointFallbackWarning, match=r"step-00000004\.pt has no sidecar"):
        state, path = load_latest_state(run_dir)
    assert state["step"] == 2
    (ckpt / "step-00000002.json").write_text("{ damaged")
    with pytest.raises(CheckpointError, match=r"sidecar step-00000002\.json is damaged"):
        load_latest_state(run_dir)
    (ckpt / "step-00000002.json").unlink()
    (ckpt / "step-00000002.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        train(config_from_dict(cfg), run_dir, resume=True, progress=False)
    assert load_latest_state(tmp_path / "empty") is None


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    cfg = config_from_dict(support.base_config(run={"steps": 2}))
    with pytest.warns(MattingWarning, match="no checkpoint yet"):
        result = train(cfg, tmp_path / "run", resume=True, progress=False)
    assert result.resumed_from is None and result.step == 2


def test_rng_state_round_trip():
    import random

    import numpy as np

    from matting_core.training.state import capture_rng_state, restore_rng_state

    state = capture_rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_script_is_valid_python():
    compile(textwrap.dedent(SCRIPT).format(tests="x"), "script", "exec")
