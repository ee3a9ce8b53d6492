"""The command line under a clumsy user and a hostile file system.

Every case exits 2 with one sentence on stderr, leaves the inputs byte for byte as they were
and writes nothing partial; the checks run before any work.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matting_core.cli import main

CASES = ("GT01", "GT02")


def _one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "error: " in lines[0], err
    return lines[0]


def _fingerprint(*folders: Path) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def work(shared_data: Path, tmp_path: Path) -> Path:
    """tmp_path with image/, trimap/ and alpha/ holding two real cases."""
    root = shared_data / "alphamatting_training_lowres"
    for kind in ("image", "trimap", "alpha"):
        (tmp_path / kind).mkdir()
        for case in CASES:
            shutil.copy(root / kind / f"{case}.png", tmp_path / kind)
    (tmp_path / "notes.txt").write_text("not a folder\n")
    return tmp_path


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


# ------------------------------------------------------------------ outputs never replace inputs


def _predict_folder(out: str) -> list[str]:
    return ["predict", "--model", "trimap-baseline", "--images", "{w}/image", "--trimaps",
            "{w}/trimap", "--out", out, "--no-progress"]  # fmt: skip


def _predict_one(out: str) -> list[str]:
    return ["predict", "--model", "trimap-baseline", "{w}/image/GT01.png",
            "{w}/trimap/GT01.png", "-o", out]  # fmt: skip


def _foreground(**paths: str) -> list[str]:
    argv = ["foreground", "--images", "{w}/image", "--alphas", "{w}/alpha", "--no-progress"]
    for flag, value in paths.items():
        argv += [f"--{flag}", value]
    return argv


@pytest.mark.parametrize(
    "argv",
    [
        _predict_folder("{w}/image"),
        _predict_folder("{w}/trimap"),
        _predict_folder("{w}/image-link"),  # a symbolic link to image/
        _predict_one("{w}/image/GT01.png"),
        _predict_one("{w}/trimap/GT01.png"),
        _predict_one("{w}/image-file-link.png"),  # a symbolic link to image/GT01.png
        _predict_one("{w}/hard-link.png"),  # a hard link to image/GT01.png
        _foreground(out="{w}/image"),
        _foreground(out="{w}/alpha"),
        _foreground(background="{w}/image/GT02.png", composites="{w}/image"),
    ],
    ids=lambda argv: " ".join(a.replace("{w}/", "") for a in argv[:1] + argv[-3:]),
)
def test_an_output_that_would_replace_an_input_is_refused(work, capsys, argv):
    (work / "image-link").symlink_to(work / "image")
    (work / "image-file-link.png").symlink_to(work / "image" / "GT01.png")
    os.link(work / "image" / "GT01.png", work / "hard-link.png")
    before = _fingerprint(work)
    code, err = _run([a.format(w=work) for a in argv], capsys)
    assert code == 2
    line = _one_sentence(err)
    assert "would replace the input" in line
    assert _fingerprint(work) == before


def test_compose_into_an_input_folder_is_refused(work, capsys):
    before = _fingerprint(work)
    argv = ["compose", "--fg", f"{work}/image", "--alpha", f"{work}/alpha", "--bg",
            f"{work}/image", "--out", str(work), "--bg-per-fg", "1", "--no-progress"]  # fmt: skip
    code, err = _run(argv, capsys)
    assert code == 2 and "would replace the input" in _one_sentence(err)
    assert _fingerprint(work) == before


def test_evaluate_csv_onto_an_input_is_refused(work, capsys):
    before = _fingerprint(work)
    argv = ["evaluate", "--baseline", "--gt", f"{work}/alpha", "--trimap", f"{work}/trimap",
            "--csv", f"{work}/alpha/GT01.png", "--no-progress"]  # fmt: skip
    code, err = _run(argv, capsys)
    assert code == 2 and "would replace the input" in _one_sentence(err)
    assert _fingerprint(work) == before


# ------------------------------------------------------------------ file-system errors


def test_a_symlink_loop_as_input_is_one_sentence(work, capsys):
    (work / "loop-a.png").symlink_to(work / "loop-b.png")
    (work / "loop-b.png").symlink_to(work / "loop-a.png")
    code, err = _run(
        [
            "predict",
            "--model",
            "trimap-baseline",
            str(work / "loop-a.png"),
            str(work / "trimap" / "GT01.png"),
            "-o",
            str(work / "out.png"),
        ],
        capsys,
    )
    assert code == 2
    line = _one_sentence(err)
    assert "loop-a.png" in line and os.strerror(errno.ELOOP) in line
    assert not (work / "out.png").exists()


def test_an_unreadable_input_is_one_sentence(work, capsys, monkeypatch):
    victim = work / "image" / "GT01.png"
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:  # chmod 000 does not stop root, so fail as the OS would
        if self == victim:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    code, err = _run([a.format(w=work) for a in _predict_one(str(work / "out.png"))], capsys)
    assert code == 2
    assert _one_sentence(err).endswith(f"{victim}: {os.strerror(errno.EACCES)}")


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (_predict_one("{w}/image/GT01.png/x.png"), "is a file, not a folder"),
        (_predict_folder("{w}/image/GT01.png/out"), "is a file, not a folder"),
        (_foreground(out="{w}/notes.txt"), "is a file, not a folder"),
        (
            [
                "evaluate",
                "--baseline",
                "--gt",
                "{w}/alpha",
                "--trimap",
                "{w}/trimap",
                "--csv",
                "{w}",
                "--no-progress",
            ],
            "is a folder, not a file",
        ),
    ],
)
def test_outputs_under_a_file_or_onto_a_folder_fail_before_the_work(work, capsys, argv, phrase):
    before = _fingerprint(work)
    code, err = _run([a.format(w=work) for a in argv], capsys)
    assert code == 2
    assert phrase in _one_sentence(err)
    assert _fingerprint(work) == before


def test_evaluate_creates_the_csv_folder(work, capsys):
    csv_path = work / "new" / "deeper" / "scores.csv"
    code, err = _run(
        [
            "evaluate",
            "--baseline",
            "--gt",
            str(work / "alpha"),
            "--trimap",
            str(work / "trimap"),
            "--csv",
            str(csv_path),
            "--no-progress",
            "--workers",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    assert len(csv_path.read_text().splitlines()) == 1 + len(CASES)


def test_a_read_only_output_folder_fails_before_the_work(work, capsys, monkeypatch):
    import tempfile

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.path.join(dir, ".probe"))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    code, err = _run([a.format(w=work) for a in _predict_folder(str(work / "ro"))], capsys)
    assert code == 2
    line = _one_sentence(err)
    assert f"{work / 'ro'}: {os.strerror(errno.EROFS)}" in line
    assert not list((work / "ro").iterdir())


def test_a_full_disk_is_one_sentence_naming_the_file(work, capsys, monkeypatch):
    import matting_data.atomic as atomic

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def fileno(self):
            return self.handle.fileno()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    out = work / "out"
    code, err = _run([a.format(w=work) for a in _predict_folder(str(out))], capsys)
    assert code == 2
    assert _one_sentence(err).endswith(f"{out / 'GT01.png'}: {os.strerror(errno.ENOSPC)}")
    assert list(out.iterdir()) == []  # no partial file, no temporary left


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        (["--device", "banana"], "unknown device 'banana'"),
        (["--dilate-unknown", "100000"], "--dilate-unknown: must be >= 1 and <= 255"),
    ],
)
def test_bad_predict_arguments_are_one_sentence(work, capsys, extra, phrase):
    argv = [a.format(w=work) for a in _predict_one(str(work / "out.png"))]
    with pytest.raises(SystemExit) as info:
        main([*argv[:3], *extra, *argv[3:]])
    assert info.value.code == 2
    assert phrase in _one_sentence(capsys.readouterr().err)
    assert not (work / "out.png").exists()


def test_cuda_without_cuda_is_one_sentence(work, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = [a.format(w=work) for a in _predict_one(str(work / "out.png"))]
    with pytest.raises(SystemExit) as info:
        main([*argv[:3], "--device", "cuda", *argv[3:]])
    assert info.value.code == 2
    assert "CUDA is not available" in _one_sentence(capsys.readouterr().err)


def test_a_bad_pixel_limit_variable_is_one_sentence(work, capsys, monkeypatch):
    monkeypatch.setenv("MATTING_MAX_PIXELS", "abc")
    code, err = _run([a.format(w=work) for a in _predict_one(str(work / "out.png"))], capsys)
    assert code == 2
    assert "MATTING_MAX_PIXELS='abc' is not a positive integer" in _one_sentence(err)


def test_compose_trimap_kernel_is_bounded_before_any_work(work, capsys):
    argv = ["compose", "--fg", f"{work}/image", "--alpha", f"{work}/alpha", "--bg",
            f"{work}/image", "--out", f"{work}/c1k", "--trimap-kernel", "100000"]  # fmt: skip
    code, err = _run(argv, capsys)
    assert code == 2
    assert "--trimap-kernel must be from 1 to 255" in _one_sentence(err)
    assert not (work / "c1k").exists()


def test_a_closed_output_pipe_is_one_sentence():
    """``matting list | head -c1``: the reader goes away before the listing is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "matting_core.cli", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 2, result.stderr
    assert "output pipe was closed" in _one_sentence(result.stderr)
