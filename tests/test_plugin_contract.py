"""The plugin contract (matting_core.testing) over every installed model, whatever plugin
provides it: registration, ModelInfo, forward on a real photo, save/load round trip and
``matting predict`` through the command line, each with the model's default config."""

from __future__ import annotations

import pytest

from matting_core import list_models
from matting_core.plugins import model_registry
from matting_core.testing import check_model_contract


@pytest.mark.parametrize("name", list_models())
def test_every_installed_model_keeps_the_plugin_contract(name, tmp_path):
    check_model_contract(name, tmp_path, plugin=model_registry().provider(name))


def test_training_md_lists_the_options_of_every_model_of_this_repository():
    from pathlib import Path

    from matting_core.training.reference import (
        model_options_reference,
        read_block,
        repository_models,
    )

    doc = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text("utf-8")
    assert read_block(doc, "model options") == model_options_reference(repository_models()), (
        "docs/training.md is stale: python -m matting_core.training.reference "
        "--write docs/training.md"
    )
