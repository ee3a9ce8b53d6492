"""Shared fixtures: the official-release parity fixture, a checkpoint built from it, real data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from matting_core.testing import build_release_checkpoint, real_photo, require_shared, shared_data

# The loop references in hop_reference.py are imported by name from this folder.
sys.path.insert(0, str(Path(__file__).parent))

__all__ = ["real_photo", "shared_data"]  # the test kit's fixtures, served to every test here


@pytest.fixture(scope="session")
def hop_fixtures() -> Path:
    """``shared/fixtures/hop-official``: keys.json, make_ckpt.py, the two parity cases."""
    return require_shared(
        "fixtures/hop-official",
        env="MATTING_HOP_FIXTURES",
        must_contain="keys.json",
        start=__file__,
    )


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
    return build_release_checkpoint(hop_fixtures, out)
