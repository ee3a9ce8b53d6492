"""Atomic writes leave either the complete new file or the old state, never a temp file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

import matting_data as md


def test_success_leaves_only_target(tmp_path: Path) -> None:
    out = md.atomic_write_bytes(tmp_path / "a" / "b" / "f.bin", b"hello")
    assert out == tmp_path / "a" / "b" / "f.bin"
    assert out.read_bytes() == b"hello"
    assert os.listdir(out.parent) == ["f.bin"]
    md.atomic_write_bytes(out, b"second")
    assert out.read_bytes() == b"second"
    assert os.listdir(out.parent) == ["f.bin"]


def test_permissions_like_a_normal_file(tmp_path: Path) -> None:
    normal = tmp_path / "normal.bin"
    normal.write_bytes(b"x")
    atomic = md.atomic_write_bytes(tmp_path / "atomic.bin", b"x")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(normal.stat().st_mode)
    os.chmod(atomic, 0o600)
    md.atomic_write_bytes(atomic, b"y")  # an existing file keeps its mode
    assert stat.S_IMODE(atomic.stat().st_mode) == 0o600


def test_write_alpha_leaves_no_temp_files(tmp_path: Path) -> None:
    md.write_alpha(tmp_path / "a.png", np.linspace(0, 1, 50).reshape(5, 10))
    md.write_image(tmp_path / "i.jpg", np.zeros((5, 10, 3)))
    assert sorted(os.listdir(tmp_path)) == ["a.png", "i.jpg"]


def test_replace_failure_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = md.write_alpha(tmp_path / "a.png", np.zeros((4, 4)))
    old = target.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("simulated failure")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        md.write_alpha(target, np.ones((4, 4)))
    with pytest.raises(OSError, match="simulated"):
        md.write_alpha(tmp_path / "new.png", np.ones((4, 4)))
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == ["a.png"]


def test_write_failure_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        md.atomic_write_bytes(tmp_path / "f.bin", b"data")
    assert os.listdir(tmp_path) == []


def test_encoding_failure_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "img.png"
    target.write_bytes(b"old")
    with pytest.raises(md.UnsupportedImageError, match="int32"):
        md.write_image(target, np.zeros((4, 4, 3), np.int32))
    with pytest.raises(md.UnsupportedImageError, match="could not be encoded"):
        md.write_image(tmp_path / "huge.webp", np.zeros((20000, 1, 3), np.uint8))
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["img.png"]


def test_directory_target_refused(tmp_path: Path) -> None:
    with pytest.raises(md.DataError, match="is a directory"):
        md.atomic_write_bytes(tmp_path, b"x")


def test_many_files_are_all_staged_before_any_is_replaced(tmp_path, monkeypatch):
    from matting_data import atomic

    first, second = tmp_path / "weights.bin", tmp_path / "sidecar.json"
    md.atomic_write_many([(first, b"w1"), (second, b"s1")])
    real_stage = atomic._stage

    def stage(target, data):
        if target.suffix == ".json":
            raise OSError("no space for the sidecar")
        return real_stage(target, data)

    monkeypatch.setattr(atomic, "_stage", stage)
    with pytest.raises(OSError, match="no space"):
        md.atomic_write_many([(first, b"w2"), (second, b"s2")])
    assert (first.read_bytes(), second.read_bytes()) == (b"w1", b"s1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sidecar.json", "weights.bin"]
