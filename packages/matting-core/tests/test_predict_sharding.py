"""``matting predict --images`` under torchrun: two CPU processes (gloo) share a folder of real
photos, every file once, and write what one process writes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import matting_data as md
from matting_core.cli import main
from matting_core.errors import InputError
from matting_core.sharding import Shard, shard_from_environment


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _argv(root: Path, *extra: str) -> list[str]:
    samples = md.samples_dir()
    return [
        "predict", "--model", "trimap-baseline", "--images", str(samples / "image"),
        "--trimaps", str(samples / "trimap"), "--out", str(root / "alpha"), "--cutout",
        str(root / "cutout"), "--composite", str(root / "composite"), "--background", "white",
        "--foreground-method", "blur_fusion", "--no-progress", *extra,
    ]  # fmt: skip


def _torchrun(argv: list[str]) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc-per-node=2",
        "--master-addr=127.0.0.1", f"--master-port={_free_port()}", "-m", "matting_core.cli",
        *argv,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MATTING_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_two_processes_write_what_one_writes(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(_argv(one)) == 0
    capsys.readouterr()
    done = _torchrun(_argv(two))
    assert done.returncode == 0, done.stdout + done.stderr
    expected = _files(one)
    assert len(expected) == 3 * len(md.list_samples())
    assert _files(two) == expected  # the union of the two shares, byte for byte
    # one summary, from rank 0, counting each file once: 2 + 2 images
    summaries = [line for line in done.stdout.splitlines() if "alpha matte(s) written" in line]
    assert summaries == [f"4 alpha matte(s) written to {two / 'alpha'} by 2 processes"]

    # --resume: every image is finished, nothing is written again
    stamps = {p: p.stat().st_mtime_ns for p in (two / "alpha").iterdir()}
    (two / "cutout" / "GT19.png").unlink()  # ... except the one whose cutout is missing
    again = _torchrun(_argv(two, "--resume"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 output(s) already exist, skipped (--resume)" in again.stderr
    assert "1 alpha matte(s) written" in again.stdout
    assert _files(two) == expected
    changed = [p.name for p, stamp in stamps.items() if p.stat().st_mtime_ns != stamp]
    assert changed == ["GT19.png"]


def test_a_failing_process_is_reported_and_the_others_finish(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    samples = md.samples_dir()
    for name in md.list_samples():
        (images / f"{name}.png").write_bytes((samples / "image" / f"{name}.png").read_bytes())
    (images / "GT18.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # rank 1's first image
    argv = [
        "predict", "--model", "trimap-baseline", "--images", str(images), "--trimaps",
        str(samples / "trimap"), "--out", str(tmp_path / "alpha"), "--no-progress",
    ]  # fmt: skip
    done = _torchrun(argv)
    assert done.returncode != 0  # torchrun reports the failed process (with its own traceback)
    # the failing process's own sentence and rank 0's note, in either order (two processes)
    ours = sorted(line for line in done.stderr.splitlines() if line.startswith("matting predict"))
    assert len(ours) == 2, done.stderr
    assert ours[0].startswith("matting predict: error: image") and "GT18.png" in ours[0]
    assert ours[1].startswith("matting predict: process 1 stopped: image")
    assert not any("matting_core" in line and 'File "' in line for line in done.stderr.splitlines())
    assert "2 alpha matte(s) written" in done.stdout and "by 2 processes" in done.stdout
    # rank 0's share (GT17, GT19) is complete
    assert sorted(p.name for p in (tmp_path / "alpha").iterdir()) == ["GT17.png", "GT19.png"]


@pytest.mark.parametrize("world_size", [1, 2, 3, 5])
def test_shares_cover_every_item_once(world_size):
    items = list(range(11))
    shares = [Shard(rank, world_size).take(items) for rank in range(world_size)]
    assert sorted(i for share in shares for i in share) == items
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_device_of_each_process():
    assert Shard(1, 2, local_rank=1).device("cuda") == "cuda:1"
    assert Shard(1, 2, local_rank=1).device("cuda:0") == "cuda:0"
    assert Shard().device("cuda") == "cuda" and Shard(0, 2).device(None) is None


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WORLD_SIZE": "two"}, "not an integer"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2"),
        ({"WORLD_SIZE": "2", "RANK": "1"}, "MASTER_ADDR and MASTER_PORT"),
        ({"WORLD_SIZE": "0"}, "at least 1"),
    ],
)
def test_environment_checks(monkeypatch, env, message):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=message):
        shard_from_environment()


def test_no_environment_is_one_process(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert shard_from_environment() == Shard(0, 1, 0)
