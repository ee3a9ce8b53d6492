"""Shared fixtures: the official-release parity fixture, a checkpoint built from it, real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# The loop references in hop_reference.py are imported by name from this folder.
sys.path.insert(0, str(Path(__file__).parent))

FIXTURES_ENV = "MATTING_HOP_FIXTURES"
SHARED_DATA_ENV = "MATTING_SHARED_DATA"
_RELATIVE = Path("fixtures") / "hop-official"


def _beside_checkout(relative: Path) -> Path | None:
    for ancestor in Path(__file__).resolve().parents:
        # <ancestor>/../shared/... (checkout beside shared/) or <ancestor>/shared/...
        for candidate in (ancestor.parent / "shared" / relative, ancestor / "shared" / relative):
            if candidate.is_dir():
                return candidate
    return None


def _find_fixtures() -> Path | None:
    env = os.environ.get(FIXTURES_ENV)
    if env:
        return Path(env)
    data = os.environ.get(SHARED_DATA_ENV)
    if data and (Path(data).parent / _RELATIVE).is_dir():
        return Path(data).parent / _RELATIVE
    return _beside_checkout(_RELATIVE)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real data (``shared/data``, holding ``alphamatting_training_lowres/``)."""
    env = os.environ.get(SHARED_DATA_ENV)
    path = Path(env) if env else _beside_checkout(Path("data"))
    if path is None or not (path / "alphamatting_training_lowres").is_dir():
        pytest.fail(f"real test data not found: set {SHARED_DATA_ENV} to shared/data")
    return path


@pytest.fixture(scope="session")
def hop_fixtures() -> Path:
    """``shared/fixtures/hop-official``: keys.json, make_ckpt.py, the two parity cases."""
    path = _find_fixtures()
    if path is None or not (path / "keys.json").is_file():
        pytest.fail(
            f"HOP parity fixtures not found (looked at ${FIXTURES_ENV}, beside "
            f"${SHARED_DATA_ENV}, and for 'shared/fixtures/hop-official' beside an ancestor of "
            f"{Path(__file__).parent}); set {FIXTURES_ENV} to that folder."
        )
    return path


@pytest.fixture(scope="session")
def official_manifest(hop_fixtures: Path) -> dict:
    return json.loads((hop_fixtures / "keys.json").read_text())


@pytest.fixture(scope="session")
def expected(hop_fixtures: Path) -> dict[str, dict[str, np.ndarray]]:
    """expected_shared.npz as ``{case: {name: array}}`` (``meta`` holds the digest)."""
    cases: dict[str, dict[str, np.ndarray]] = {}
    with np.load(hop_fixtures / "expected_shared.npz") as data:
        for key in data.files:
            case, name = key.split("/", 1)
            cases.setdefault(case, {})[name] = data[key]
    return cases


@pytest.fixture(scope="session")
def official_checkpoint(hop_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~100 MB checkpoint in the official layout, built once per session in a temp dir."""
    out = tmp_path_factory.mktemp("hop-official") / "HOP-9x9-RI-all-data.pth"
    subprocess.run(
        [
            sys.executable,
            str(hop_fixtures / "make_ckpt.py"),
            str(hop_fixtures / "keys.json"),
            str(out),
        ],
        check=True,
    )
    return out
