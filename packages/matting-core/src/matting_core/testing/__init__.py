"""The test kit of core and the plugins: the plugin contract, the shared test material, and
comparing 8-bit results robustly.

A plugin's suite runs the whole plugin contract on its models with one class
(:class:`~matting_core.testing.contract.ModelContract`, see :mod:`matting_core.testing.contract`)::

    from matting_core.testing import ModelContract

    class TestContract(ModelContract):
        plugin = "gca"
        models = ("gca", "gca-small")

and gets the real photos through the fixtures ``shared_data`` and ``real_photo`` (import them
into its ``conftest.py``).  ``check_model_contract(name, folder)`` runs every check for one
model in one call.  These need pytest; the functions below do not.

The real photos with ground truth (``shared/data``) and the official releases' parity fixtures
(``shared/fixtures/<release>``) live beside the checkout, not in any package.  Every suite
looks for them the same way, here:

1. an explicit environment variable, when the suite has one (``MATTING_HOP_FIXTURES``);
2. beside ``$MATTING_SHARED_DATA`` (the ``shared/data`` folder; ``shared/<relative>`` is its
   sibling), or that variable itself for ``"data"``;
3. ``<a>/../shared/<relative>`` or ``<a>/shared/<relative>`` for the nearest ancestor ``a`` of
   the test file that has it.

matting-data and matting-metrics cannot import core and keep their own lookup.

:func:`assert_levels_match` compares a float result with a release's 8-bit file: the float
within a tolerance, the levels exactly wherever the float is not within that tolerance of a
rounding boundary (thread count and processor change summation order, and so the last bits).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "SHARED_DATA_ENV",
    "ModelContract",
    "Photo",
    "assert_levels_match",
    "build_release_checkpoint",
    "check_model_contract",
    "find_shared",
    "load_photo",
    "real_photo",
    "require_shared",
    "shared_data",
    "write_unknown_band_crops",
]

#: Names served from :mod:`matting_core.testing.contract`, which imports pytest.
_CONTRACT = (
    "ModelContract",
    "Photo",
    "check_model_contract",
    "load_photo",
    "real_photo",
    "shared_data",
    "write_unknown_band_crops",
)


def __getattr__(name: str) -> Any:
    if name in _CONTRACT:
        from matting_core.testing import contract

        return getattr(contract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def assert_levels_match(
    alpha: np.ndarray,
    expected: np.ndarray,
    *,
    atol: float,
    rounding: Literal["floor", "nearest"] = "floor",
) -> int:
    """Assert that float ``alpha`` gives the 8-bit ``expected`` wherever that is stable.

    ``alpha * 255`` is quantised as the release did (``floor``: truncation, ``nearest``: round
    half to even). Where it lies within ``atol * 255`` of a boundary of that quantisation (an
    integer for ``floor``, a half for ``nearest``) a float that is right to ``atol`` may fall
    on either side, so there either level is accepted; everywhere else they must be equal.

    Args:
        alpha: (H, W) float alpha in [0, 1].
        expected: (H, W) uint8 levels.
        atol: the tolerance the float alpha is known to within (checked separately).
        rounding: how the release turned floats into levels.

    Returns:
        The number of pixels that were within the tolerance of a boundary.

    Raises:
        AssertionError: a stable pixel differs, or an unstable one is neither level.
    """
    levels = np.asarray(alpha, dtype=np.float64) * 255
    margin = atol * 255

    def quantise(x: np.ndarray) -> np.ndarray:
        q = np.floor(x) if rounding == "floor" else np.rint(x)
        return np.clip(q, 0, 255).astype(np.int64)

    low, high = quantise(levels - margin), quantise(levels + margin)
    unstable = low != high
    theirs = np.asarray(expected).astype(np.int64)
    assert levels.shape == theirs.shape, (levels.shape, theirs.shape)
    stable_diff = np.flatnonzero(~unstable & (low != theirs))
    assert stable_diff.size == 0, (
        f"{stable_diff.size} pixel(s) away from any rounding boundary differ, e.g. flat index "
        f"{stable_diff[0]}: {levels.flat[stable_diff[0]]:.6f} / 255 gives "
        f"{low.flat[stable_diff[0]]}, expected {theirs.flat[stable_diff[0]]}"
    )
    off = np.flatnonzero(unstable & (theirs != low) & (theirs != high))
    assert off.size == 0, (
        f"{off.size} pixel(s) at a rounding boundary are levels off, e.g. flat index {off[0]}: "
        f"{levels.flat[off[0]]:.6f} / 255 allows {low.flat[off[0]]} or {high.flat[off[0]]}, "
        f"expected {theirs.flat[off[0]]}"
    )
    return int(unstable.sum())
