"""Full training state on disk, for ``matting train --resume``.

A checkpoint is everything needed to continue a run as if it had never stopped: the
networks, optimisers, schedulers, the GradScaler, the step, every rank's RNG states (python,
numpy, torch CPU and CUDA) and the data position (epoch, and micro-batches already consumed
in it).  It is a plain container of tensors, numbers and strings written with ``torch.save``
and read with ``torch.load(weights_only=True)``, so loading one never runs pickled code.

Layout of ``RUN_DIR/checkpoints/``::

    step-00001000.pt     full state after step 1000     (the last ``run.keep_last`` are kept)
    step-00001000.json   sidecar: step, size and sha256 of the .pt file
    latest.json          pointer to the newest step checkpoint
    best.safetensors     generator weights with the best validation SAD (+ .json sidecar)
    final.safetensors    generator weights at the end of training (+ .json sidecar)

Every file is written atomically (temporary file, fsync, ``os.replace``), so a run killed at
any moment leaves the previous files intact.  :func:`load_latest_state` checks the sha256 and
falls back to the previous checkpoint, with a warning, when the newest is truncated, corrupt
or has lost its sidecar.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from matting_core.errors import CheckpointError, MattingWarning

__all__ = [
    "CHECKPOINT_DIR",
    "STATE_FORMAT",
    "CheckpointFallbackWarning",
    "capture_rng_state",
    "checkpoint_path",
    "list_checkpoints",
    "load_latest_state",
    "load_state_file",
    "restore_rng_state",
    "save_state",
]

#: Folder of checkpoints inside a run directory.
CHECKPOINT_DIR = "checkpoints"
#: Version of the state layout; bumped when keys change meaning.
STATE_FORMAT = 1

_STEP_FILE = re.compile(r"step-(\d+)\.pt")


class CheckpointFallbackWarning(MattingWarning):
    """The newest checkpoint could not be used; an older one was loaded instead."""


# --------------------------------------------------------------------------------------------
# RNG states as weights_only-safe containers
# --------------------------------------------------------------------------------------------


def capture_rng_state() -> dict[str, Any]:
    """This process's python, numpy, torch and CUDA RNG states as tensors and numbers."""
    version, mt_state, gauss_next = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {
            "version": int(version),
            "state": torch.tensor(mt_state, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Set this process's RNGs from :func:`capture_rng_state`'s result."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["name"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            torch.cuda.set_rng_state(cuda[0])


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def checkpoint_path(run_dir: Path, step: int) -> Path:
    """``RUN_DIR/checkpoints/step-NNNNNNNN.pt``."""
    return Path(run_dir) / CHECKPOINT_DIR / f"step-{step:08d}.pt"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every step checkpoint in the run, newest first."""
    directory = Path(run_dir) / CHECKPOINT_DIR
    found = []
    if directory.is_dir():
        for path in directory.iterdir():
            match = _STEP_FILE.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def save_state(run_dir: Path, step: int, state: Mapping[str, Any], *, keep_last: int) -> Path:
    """Write ``state`` as the checkpoint of ``step``, point ``latest.json`` at it and delete
    all but the newest ``keep_last`` step checkpoints.

    The .pt file and its sidecar are staged together, then ``latest.json`` is replaced:
    a kill at any point leaves either the old or the new latest, each complete.
    """
    path = checkpoint_path(run_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent)
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    sidecar = {
        "file": path.name,
        "step": step,
        "bytes": len(data),
        "sha256": digest,
        "format": STATE_FORMAT,
        "time": time.time(),
    }
    sidecar_bytes = (json.dumps(sidecar, indent=2) + "\n").encode("utf-8")
    from matting_data.atomic import atomic_write_bytes, atomic_write_many

    atomic_write_many([(path, data), (_sidecar(path), sidecar_bytes)])
    atomic_write_bytes(path.parent / "latest.json", sidecar_bytes)
    for _, old in list_checkpoints(run_dir)[keep_last:]:
        old.unlink(missing_ok=True)
        _sidecar(old).unlink(missing_ok=True)
    return path


def _remove_stale_temporaries(directory: Path) -> None:
    """Delete temporaries a killed writer left behind (``.NAME.XXXX.tmp``)."""
    for temp in directory.glob(".*.tmp"):
        temp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def load_state_file(path: Path) -> dict[str, Any]:
    """Read one checkpoint after verifying it against its sidecar's sha256.

    A checkpoint without a readable sidecar is refused rather than loaded unchecked: it is
    what a writer killed between the two renames leaves, and its integrity cannot be known.

    :raises CheckpointError: missing, without (or with a damaged) sidecar, truncated,
        corrupt, of another format, or unsafe (a pickle that needs more than tensors and
        plain containers).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    sidecar_path = _sidecar(path)
    try:
        expected = json.loads(sidecar_path.read_text(encoding="utf-8"))["sha256"]
        if not isinstance(expected, str):
            raise TypeError(expected)
    except FileNotFoundError:
        raise CheckpointError(
            f"{path} has no sidecar {sidecar_path.name}, so its sha256 cannot be checked"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise CheckpointError(
            f"{path}'s sidecar {sidecar_path.name} is damaged, so its sha256 cannot be checked"
        ) from None
    if hashlib.sha256(data).hexdigest() != expected:
        raise CheckpointError(
            f"{path} does not match the sha256 in {sidecar_path.name} "
            f"({len(data)} bytes; truncated or corrupt)"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or unsafe pickle
        raise CheckpointError(f"cannot load {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is not a matting training state (format {STATE_FORMAT})")
    return state


def load_latest_state(run_dir: Path) -> tuple[dict[str, Any], Path] | None:
    """The newest usable training state of a run, or None when it has no checkpoint.

    Tries ``latest.json``'s target, then every step checkpoint from newest to oldest.  Each
    one that fails (truncated, sha256 mismatch, unreadable) costs a
    :class:`CheckpointFallbackWarning` naming it and the reason.

    :raises CheckpointError: checkpoints exist but none of them can be loaded.
    """
    run_dir = Path(run_dir)
    candidates = [path for _, path in list_checkpoints(run_dir)]
    pointer = run_dir / CHECKPOINT_DIR / "latest.json"
    try:
        named = run_dir / CHECKPOINT_DIR / json.loads(pointer.read_text(encoding="utf-8"))["file"]
        candidates = [named, *(p for p in candidates if p != named)]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no pointer (or a damaged one): the step files alone decide
    if not candidates:
        return None
    failures: list[str] = []
    for path in candidates:
        try:
            state = load_state_file(path)
        except CheckpointError as exc:
            failures.append(str(exc))
            continue
        if failures:
            warnings.warn(
                f"resuming from {path.name}: newer checkpoint(s) could not be used: "
                + "; ".join(failures),
                CheckpointFallbackWarning,
                stacklevel=2,
            )
        return state, path
    raise CheckpointError(
        f"no usable checkpoint in {run_dir / CHECKPOINT_DIR}: " + "; ".join(failures)
    )
