"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Each file is written to a temporary file in the same directory, flushed and fsync'd, then
moved over the target with :func:`os.replace`.  If anything fails, the temporary file is
removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_many"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    return atomic_write_many([(path, data)])[0]


def atomic_write_many(files: Sequence[tuple[str | os.PathLike[str], bytes]]) -> list[Path]:
    """Write several files, each atomically, in the given order.

    Every file is staged (written and fsync'd to a temporary file) before the first one is
    moved into place, so a failure while writing leaves no target changed.  The moves
    themselves happen in order; only they can interleave with a crash.
    """
    staged: list[tuple[Path, Path]] = []
    target = Path()
    try:
        for path, data in files:
            target = Path(path)
            staged.append((_stage(target, data), target))
        for temp, target in staged:
            os.replace(temp, target)
    except BaseException as exc:
        for temp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        if isinstance(exc, OSError):
            raise _naming_target(exc, target) from exc
        raise
    for directory in {target.parent for _, target in staged}:
        _fsync_directory(directory)
    return [target for _, target in staged]


def _naming_target(exc: OSError, target: Path) -> OSError:
    """The same error (same type and errno) naming ``target`` instead of a temporary file."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), os.fspath(target))


def _stage(target: Path, data: bytes) -> Path:
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never clobber; mode 0o666 so the umask decides, as for an ordinary open().
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return temp


def _fsync_directory(directory: Path) -> None:
    """Make the renames durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
