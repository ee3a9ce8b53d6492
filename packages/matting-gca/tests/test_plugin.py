"""The installed plugin: found through the ``matting`` entry point, buildable by name."""

from __future__ import annotations

import importlib.metadata

import pytest

import matting_core
from matting_core import create_model, get_model_info, list_models
from matting_gca.model import GCAConfig, GCAMatting, GCASmallConfig, remap_official_keys


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch):
    monkeypatch.delenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    matting_core.plugins.reset_plugins()
    yield
    matting_core.plugins.reset_plugins()


def test_entry_point_is_declared():
    eps = importlib.metadata.entry_points(group="matting")
    assert any(ep.name == "gca" and ep.value == "matting_gca.plugin" for ep in eps)


def test_list_models_finds_gca():
    assert list_models("gca*") == ["gca", "gca-small"]
    assert matting_core.plugins.model_registry().provider("gca") == "gca"


def test_create_model_gca():
    model = create_model("gca")
    assert isinstance(model, GCAMatting)
    assert model.config == GCAConfig()
    info = get_model_info("gca")
    assert info.needs_trimap and info.input_channels == 6
    assert info.pad_multiple == 32 and info.pad_mode == "reflect"
    assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
    assert info.remap_official is remap_official_keys
    assert "Guided Contextual Attention" in info.paper


def test_create_model_gca_small_and_overrides():
    small = create_model("gca-small")
    assert isinstance(small, GCAMatting) and isinstance(small.config, GCASmallConfig)
    assert small.config.width == 0.5
    model = create_model("gca", attention_chunk=None, width=0.25)
    assert model.config.attention_chunk is None and model.config.width == 0.25
    assert model.encoder.gca.chunk is None
