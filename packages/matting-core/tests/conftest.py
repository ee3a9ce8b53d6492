"""Shared fixtures for matting-core's tests."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

import pytest

from matting_core.testing import require_shared

# The training tests share a helper module beside them (a tiny network and a GT01 layout);
# with importlib import mode the tests folder is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real data folder (holding ``alphamatting_training_lowres/``)."""
    return require_shared("data", must_contain="alphamatting_training_lowres", start=__file__)


#: The example plugin's distribution (tests/example_plugin), reached only through its entry point.
EXAMPLE_DIST = "matting-example-plugin"


@pytest.fixture
def example_plugin():
    """Skip (or fail under nox) unless the example plugin distribution is installed."""
    try:
        importlib.metadata.distribution(EXAMPLE_DIST)
    except importlib.metadata.PackageNotFoundError:
        message = "install packages/matting-core/tests/example_plugin"
        if os.environ.get("MATTING_REQUIRE_EXAMPLE_PLUGIN", "") == "1":
            pytest.fail(f"{EXAMPLE_DIST} is not installed: {message}")
        pytest.skip(message)
