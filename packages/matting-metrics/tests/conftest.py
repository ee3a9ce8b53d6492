"""Shared fixtures of the matting-metrics tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Environment variable that points at the shared data folder (the one holding
#: ``alphamatting_training_lowres/``), for checkouts that are not next to ``shared/``.
SHARED_DATA_ENV = "MATTING_SHARED_DATA"


def _locate_shared_data() -> Path | None:
    """``$MATTING_SHARED_DATA``, else ``<ancestor>/../shared/data`` for the nearest ancestor."""
    from_env = os.environ.get(SHARED_DATA_ENV)
    if from_env:
        return Path(from_env)
    for ancestor in Path(__file__).resolve().parents:
        candidate = ancestor.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real data folder; fails (does not skip) when it cannot be found."""
    path = _locate_shared_data()
    if path is None or not (path / "alphamatting_training_lowres").is_dir():
        pytest.fail(
            "real test data not found: looked at $"
            f"{SHARED_DATA_ENV} and for '<ancestor>/../shared/data' above {Path(__file__).parent}; "
            f"set {SHARED_DATA_ENV} to the folder that holds alphamatting_training_lowres/"
        )
    return path
