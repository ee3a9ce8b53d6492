"""Two processes under torchrun (gloo, CPU) train like one process with the same global batch."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import training_support as support

from matting_core.errors import ConfigError
from matting_core.training import config_from_dict, train
from matting_core.training.distributed import ResumableSampler, per_rank_batch_size
from matting_core.training.logger import read_metrics

SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import training_support
training_support.ensure_plugin()
from matting_core.training import config_from_dict, train
train(config_from_dict(json.loads(sys.argv[1])), sys.argv[2], progress=False)
"""


@pytest.fixture(autouse=True)
def plugin():
    support.ensure_plugin()
    with support.single_thread():
        yield


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(tmp_path, cfg, run_dir):
    script = tmp_path / "ddp_training.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc-per-node=2",
        "--master-addr=127.0.0.1",
        f"--master-port={_free_port()}",
        str(script),
        json.dumps(cfg),
        str(run_dir),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


def test_two_processes_train_a_gan_like_one(tmp_path):
    """The discriminator's two forward passes (real, then fake) per backward under
    DistributedDataParallel, and the frozen discriminator in the generator step."""
    cfg = support.base_config(
        run={"steps": 3, "checkpoint_every": 0},
        model={"name": support.GAN_MODEL, "options": {"width": 8, "norm": "group"}},
        data={"batch_size": 4},
        loss={"terms": {"mse": 1.0}},
        adversarial={"options": {"base_channels": 4}, "d_steps": 2, "weight": 0.1},
    )
    single = train(config_from_dict(cfg), tmp_path / "single", progress=False)
    _torchrun(tmp_path, cfg, tmp_path / "ddp")
    one, two = (read_metrics(d, "train") for d in (single.run_dir, tmp_path / "ddp"))
    for key in ("loss", "loss/adversarial", "d_loss", "d_real", "d_fake"):
        assert [r[key] for r in two] == pytest.approx([r[key] for r in one], rel=1e-4), key
    ours = torch.load(tmp_path / "ddp" / "checkpoints" / "step-00000003.pt", weights_only=True)
    theirs = torch.load(single.checkpoint, weights_only=True)
    for name in ("generator", "discriminator"):
        for key, value in theirs["networks"][name].items():
            torch.testing.assert_close(ours["networks"][name][key], value, rtol=1e-4, atol=1e-5)


def test_two_processes_match_one(tmp_path):
    cfg = support.base_config(
        run={"steps": 4, "checkpoint_every": 2},
        # GroupNorm: BatchNorm statistics would differ per process (SyncBatchNorm is CUDA-only)
        model={"options": {"width": 8, "norm": "group"}},
        data={"batch_size": 4},
        # a mean over equally sized samples: the mean of the two ranks' means is the global mean
        loss={"terms": {"mse": 1.0, "alpha_prediction": 0.5}},
    )
    single = train(config_from_dict(cfg), tmp_path / "single", progress=False)

    ddp_dir = tmp_path / "ddp"
    _torchrun(tmp_path, cfg, ddp_dir)

    one = read_metrics(single.run_dir, "train")
    two = read_metrics(ddp_dir, "train")
    assert [r["step"] for r in two] == [1, 2, 3, 4]
    for key in ("loss", "loss/mse", "loss/alpha_prediction"):
        assert [r[key] for r in two] == pytest.approx([r[key] for r in one], rel=1e-5), key
    expected = support.weights_of(single.weights)
    got = support.weights_of(ddp_dir / "checkpoints" / "final.safetensors")
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6)
    # one writer: a single set of checkpoints, one metrics line per step
    assert sorted(p.name for p in (ddp_dir / "checkpoints").glob("step-*.pt")) == [
        "step-00000002.pt",
        "step-00000004.pt",
    ]
    state = torch.load(ddp_dir / "checkpoints" / "step-00000004.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng"]) == 2


def test_shards_cover_the_global_batch():
    data = list(range(8))
    one = list(ResumableSampler(data, num_replicas=1, rank=0, seed=3))
    ranks = [list(ResumableSampler(data, num_replicas=2, rank=r, seed=3)) for r in (0, 1)]
    # per-rank batch 2 of 2 ranks = the 1-process batch of 4, step by step
    for step in range(2):
        merged = ranks[0][2 * step : 2 * step + 2] + ranks[1][2 * step : 2 * step + 2]
        assert sorted(merged) == sorted(one[4 * step : 4 * step + 4])


def test_sampler_resumes_mid_epoch():
    sampler = ResumableSampler(list(range(10)), num_replicas=1, rank=0, seed=0)
    sampler.set_epoch(3)
    full = list(sampler)
    sampler.set_start(4)
    assert list(sampler) == full[4:] and len(sampler) == 6
    sampler.set_epoch(4)
    assert len(sampler) == 10 and list(sampler) != full


def test_global_batch_split():
    assert per_rank_batch_size(40, 4, 1) == 10
    assert per_rank_batch_size(40, 4, 2) == 5
    with pytest.raises(ConfigError, match=re.escape("data.batch_size")):
        per_rank_batch_size(10, 4, 1)
