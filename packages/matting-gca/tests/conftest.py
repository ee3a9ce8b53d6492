"""Shared fixtures: the official-release parity fixture and a checkpoint built from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matting_core.testing import build_release_checkpoint, real_photo, require_shared, shared_data

__all__ = ["real_photo", "shared_data"]  # the test kit's fixtures, served to every test here


@pytest.fixture(scope="session")
def gca_fixtures() -> Path:
    """``shared/fixtures/gca-official``: keys.json, make_ckpt.py, the 128x160 parity case."""
    return require_shared(
        "fixtures/gca-official",
        env="MATTING_GCA_FIXTURES",
        must_contain="keys.json",
        start=__file__,
    )


@pytest.fixture(scope="session")
def official_manifest(gca_fixtures: Path) -> dict:
    return json.loads((gca_fixtures / "keys.json").read_text())


@pytest.fixture(scope="session")
def official_checkpoint(gca_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~100 MB checkpoint in the official layout, built once per session in a temp dir."""
    return build_release_checkpoint(
        gca_fixtures, tmp_path_factory.mktemp("gca-official") / "gca.pth"
    )
