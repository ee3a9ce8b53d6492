"""Finding the project's shared test material, for the test suites of core and the plugins.

The real photos with ground truth (``shared/data``) and the official releases' parity fixtures
(``shared/fixtures/<release>``) live beside the checkout, not in any package.  Every suite
looks for them the same way, here:

1. an explicit environment variable, when the suite has one (``MATTING_HOP_FIXTURES``);
2. beside ``$MATTING_SHARED_DATA`` (the ``shared/data`` folder; ``shared/<relative>`` is its
   sibling), or that variable itself for ``"data"``;
3. ``<a>/../shared/<relative>`` or ``<a>/shared/<relative>`` for the nearest ancestor ``a`` of
   the test file that has it.

matting-data and matting-metrics cannot import core and keep their own lookup.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["SHARED_DATA_ENV", "build_release_checkpoint", "find_shared", "require_shared"]

#: Points at ``shared/data``.
SHARED_DATA_ENV = "MATTING_SHARED_DATA"


def find_shared(
    relative: str | os.PathLike[str],
    *,
    env: str | None = None,
    start: str | os.PathLike[str] | None = None,
) -> Path | None:
    """The folder ``shared/<relative>``, or None when it is nowhere (see the module docstring).

    Args:
        relative: path below ``shared/``, e.g. ``"data"`` or ``"fixtures/hop-official"``.
        env: an environment variable that, when set, names the folder directly.
        start: where the upward search starts (a test file); default: the working directory.
    """
    relative = Path(relative)
    if env and os.environ.get(env):
        return Path(os.environ[env])
    data = os.environ.get(SHARED_DATA_ENV)
    if data:
        candidate = Path(data) if relative == Path("data") else Path(data).parent / relative
        if candidate.is_dir():
            return candidate
    origin = Path(start).resolve() if start is not None else Path.cwd()
    for ancestor in (origin, *origin.parents):
        for candidate in (ancestor.parent / "shared" / relative, ancestor / "shared" / relative):
            if candidate.is_dir():
                return candidate
    return None


def require_shared(
    relative: str | os.PathLike[str],
    *,
    must_contain: str,
    env: str | None = None,
    start: str | os.PathLike[str] | None = None,
) -> Path:
    """:func:`find_shared`, failing the calling test with one sentence when the folder (or
    ``must_contain`` inside it) is missing."""
    path = find_shared(relative, env=env, start=start)
    if path is None or not (path / must_contain).exists():
        import pytest

        where = f"${env}, " if env else ""
        pytest.fail(
            f"shared/{Path(relative).as_posix()} not found (looked at {where}beside "
            f"${SHARED_DATA_ENV} and beside the checkout); set "
            f"{env or SHARED_DATA_ENV} to the folder holding {must_contain}"
        )
    return path


def build_release_checkpoint(fixtures: Path, out: Path) -> Path:
    """Run a parity fixture's ``make_ckpt.py keys.json OUT``: a deterministic checkpoint in the
    official release's layout (about 100 MB; write it to a temporary folder)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(fixtures / "make_ckpt.py"), str(fixtures / "keys.json"), str(out)],
        check=True,
    )
    return out
