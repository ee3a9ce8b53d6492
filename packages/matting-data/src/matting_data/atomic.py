"""Atomic file writes: readers never see a half-written file.

The recipe (copy it freely): write the bytes to a temporary file *in the target's directory*
(same file system, so the rename is atomic), flush and ``fsync`` it, give it the permissions a
normal ``open(path, "wb")`` would have, ``os.replace`` it onto the target, then ``fsync`` the
directory. On any failure the temporary file is removed and the target is left untouched (absent,
or with its previous content). This is the toolkit's one atomic writer: matting-core writes its
checkpoints, sidecars, configs and logs with it too.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from matting_data.errors import DataError

__all__ = ["atomic_write_bytes", "atomic_write_many"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent directories.

    Args:
        path: destination file. Its parent directories are created if needed.
        data: the complete file content.

    Returns:
        ``Path(path)``.

    Raises:
        DataError: ``path`` is an existing directory.
        OSError: the write, fsync or rename failed (the temporary file has been removed); the
            error names ``path`` (or the folder that could not be made), not the temporary file.
    """
    return atomic_write_many([(path, data)])[0]


def atomic_write_many(
    files: Sequence[tuple[str | os.PathLike[str], bytes | bytearray | memoryview]],
) -> list[Path]:
    """Write several files, each atomically, in the given order (a checkpoint's weights,
    then the sidecar that names their digest).

    Every file is staged (written and fsync'd to a temporary file beside its target) before the
    first one is moved into place, so a failure while writing leaves no target changed; only
    the moves themselves, in order, can interleave with a crash.

    Returns:
        The paths, in order.

    Raises:
        DataError / OSError: as :func:`atomic_write_bytes`, for the first file that fails.
    """
    staged: list[tuple[str, Path]] = []
    target = Path()
    try:
        for path, data in files:
            target = Path(path)
            staged.append((_stage(target, data), target))
        for temp, target in staged:
            os.replace(temp, target)
    except BaseException as exc:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        if isinstance(exc, OSError):
            raise _naming(exc, target) from exc
        raise
    for directory in {target.parent for _, target in staged}:
        _fsync_directory(directory)
    return [target for _, target in staged]


def _stage(path: Path, data: bytes | bytearray | memoryview) -> str:
    """Write ``data`` to a fsync'd temporary file beside ``path``; return its name."""
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a directory.")
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    mode = _target_mode(path)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return tmp_name


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error (same type and errno) naming the target instead of the temporary file."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), os.fspath(path))


def _target_mode(path: Path) -> int:
    """Permissions for the new file: the old file's, else 0o666 minus the process umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        pass
    umask = _read_umask()
    return 0o666 & ~umask if umask is not None else 0o644


def _read_umask() -> int | None:
    # Linux exposes the umask without changing it (os.umask() would be a racy set-and-restore).
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _fsync_directory(directory: Path) -> None:
    """Persist the rename (POSIX); a no-op where directories cannot be opened (Windows)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
