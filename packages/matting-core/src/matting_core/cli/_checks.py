"""Argument checks shared by the subcommands; each raises a one-sentence ``InputError``.

They run before any work: a command that would fail on its output after an hour of
computing, or replace one of its own inputs, is stopped at the start.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from matting_core.errors import InputError


def require_dir(path: Path, what: str) -> None:
    """Raise unless ``path`` is an existing folder; ``what`` names it ("trimap", ...)."""
    if not path.exists():
        raise InputError(f"the {what} folder {path} does not exist")
    if not path.is_dir():
        raise InputError(f"the {what} path {path} is not a folder")


def prepare_output_dir(path: Path, what: str) -> None:
    """Create the output folder ``path`` (and its parents) and check that files can be made in it.

    :raises InputError: ``path`` (or a folder on the way) is a file, or the folder cannot be
        written (read-only file system, no permission).
    """
    problem = _unwritable(path)
    if problem:
        raise InputError(f"the {what} folder {path} cannot be used: {problem}")


def prepare_output_file(path: Path, what: str) -> None:
    """Check (and create the folder of) an output file before the work that produces it.

    :raises InputError: ``path`` is a folder, or its folder cannot be made or written.
    """
    if path.is_dir():
        raise InputError(f"the {what} {path} is a folder, not a file")
    problem = _unwritable(path.parent)
    if problem:
        raise InputError(f"the {what} {path} cannot be written: {problem}")


def _unwritable(folder: Path) -> str | None:
    """Why files cannot be created in ``folder`` (made if missing), or None when they can."""
    for place in (folder, *folder.parents):
        if place.exists() and not place.is_dir():
            return f"{place} is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = os.fsdecode(exc.filename) if exc.filename is not None else str(folder)
        return f"{where}: {exc.strerror or exc}"
    try:
        # A real probe: os.access() says yes to root on a read-only mount, while creating a
        # file fails exactly as the real writes would.
        with tempfile.TemporaryFile(dir=folder, prefix=".matting-probe-"):
            pass
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    return None


def refuse_overwriting_inputs(
    outputs: Iterable[Path], inputs: Iterable[Path], *, output_dirs: Iterable[Path] = ()
) -> None:
    """Raise if any output would replace one of the command's own inputs.

    An output file is refused when it is an input file under another name (the same path,
    a symbolic link to it, or a hard link); an output folder when it is one of the inputs'
    folders (or a link to one).

    :param outputs: the files the command will write.
    :param inputs: the files and folders the command reads.
    :param output_dirs: the folders the command writes into.
    :raises InputError: naming both paths.
    """
    seen: dict[tuple[int, int], Path] = {}
    for path in inputs:
        identity = _identity(path)
        if identity is not None:
            seen.setdefault(identity, path)
    for kind, paths in (("folder", output_dirs), ("file", outputs)):
        for path in paths:
            identity = _identity(path)
            if identity is not None and identity in seen:
                raise InputError(
                    f"the output {kind} {path} is the input {seen[identity]}; writing there "
                    "would replace the input, so choose another output"
                )


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` leads to, or None when nothing is there."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def precision_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--precision`` (:mod:`matting_core.precision`) to a command that runs a model."""
    from matting_core.precision import PRECISIONS

    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help=(
            "fp32 (default, the reference); bf16 or fp16: autocast with channels-last tensors "
            "where the hardware supports it (bf16: CUDA, or a CPU with AVX512-BF16/AMX; fp16: "
            "CUDA/MPS); auto: the fastest mode the model declares safe (mean SAD on the "
            "bundled photos within 1%% of fp32; 'matting list --json' shows it) that the device runs, "
            "else fp32"
        ),
    )


def bounded_int(minimum: int, maximum: int | None = None):
    """An argparse ``type`` for an integer in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and <= {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"must be >= {minimum}{upper}, got {value}")
        return value

    return parse


def device_argument(text: str) -> str:
    """An argparse ``type`` for ``--device``: a device torch knows and this machine has
    (``auto`` becomes ``cuda`` when CUDA is available, else ``cpu``)."""
    from matting_core.inference import check_device

    try:
        resolved = check_device(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return str(resolved) if text == "auto" else text
