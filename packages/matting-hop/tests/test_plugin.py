"""The installed plugin: found through the ``matting`` entry point, buildable by name."""

from __future__ import annotations

import importlib.metadata

import pytest

import matting_core
from matting_core import create_model, get_model_info, list_models
from matting_core.models import parse_overrides
from matting_hop.model import HOPAllDataConfig, HOPConfig, HOPMatting, remap_official_keys
from matting_hop.training import HOPRecipe


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch):
    monkeypatch.delenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    matting_core.plugins.reset_plugins()
    yield
    matting_core.plugins.reset_plugins()


def test_entry_point_is_declared():
    eps = importlib.metadata.entry_points(group="matting")
    assert any(ep.name == "hop" and ep.value == "matting_hop.plugin" for ep in eps)


def test_list_models_finds_hop():
    assert list_models("hop*") == ["hop", "hop-all-data"]
    assert matting_core.plugins.model_registry().provider("hop") == "hop"


def test_infos():
    for name, config_class in (("hop", HOPConfig), ("hop-all-data", HOPAllDataConfig)):
        info = get_model_info(name)
        assert info.config_class is config_class
        assert info.needs_trimap and info.input_channels == 6
        assert info.pad_multiple == 32 and info.pad_mode == "reflect"
        assert info.pad_margin == 0 and info.min_size == 64  # tester.py's padding
        assert info.remap_official is remap_official_keys
        assert isinstance(info.training_recipe(), HOPRecipe)
        assert "Hierarchical Opacity Propagation" in info.paper


def test_create_model_and_cli_overrides():
    model = create_model("hop", global_hop_rate=1, width=0.25)
    assert isinstance(model, HOPMatting) and model.decoder.global_hop.rate == 1
    overrides = parse_overrides(HOPConfig, ["global_hop_rate=1", "attention_chunk=none"])
    assert overrides == {"global_hop_rate": 1, "attention_chunk": None}
    with pytest.raises(matting_core.ConfigError, match="global_hop_rate"):
        parse_overrides(HOPConfig, ["global_hop_rate=4"])
    with pytest.raises(matting_core.UnknownModelError, match="hop"):
        create_model("hopp")
