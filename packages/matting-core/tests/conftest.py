"""Shared fixtures for matting-core's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The training tests share a helper module beside them (a tiny network and a GT01 layout);
# with importlib import mode the tests folder is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))

SHARED_DATA_ENV = "MATTING_SHARED_DATA"


def find_shared_data() -> Path | None:
    """``$MATTING_SHARED_DATA``, else a ``shared/data`` folder beside an ancestor of this file."""
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    for ancestor in Path(__file__).resolve().parents:
        for candidate in (ancestor.parent / "shared" / "data", ancestor / "shared" / "data"):
            if candidate.is_dir():
                return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real data folder (holding ``alphamatting_training_lowres/``)."""
    path = find_shared_data()
    if path is None or not (path / "alphamatting_training_lowres").is_dir():
        pytest.fail(
            f"real test data not found: set {SHARED_DATA_ENV} to the folder holding "
            "alphamatting_training_lowres/, or put shared/data beside the checkout."
        )
    return path
