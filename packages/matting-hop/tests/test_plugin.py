"""The installed plugin: the plugin contract (matting_core.testing) on both models, and what is
particular to HOP's registration."""

from __future__ import annotations

from typing import ClassVar

import pytest

import matting_core
from matting_core import create_model, get_model_info, list_models
from matting_core.models import parse_overrides
from matting_core.testing import ModelContract
from matting_hop.model import HOPAllDataConfig, HOPConfig, HOPMatting, remap_official_keys
from matting_hop.training import HOPRecipe


class TestContract(ModelContract):
    plugin = "hop"
    models = ("hop", "hop-all-data")
    # a quarter of the channels keeps the CPU checks fast; the contract does not depend on it
    options: ClassVar = {"hop": {"width": 0.25}, "hop-all-data": {"width": 0.25}}

    def test_both_names_come_from_the_plugin(self):
        assert list_models("hop*") == ["hop", "hop-all-data"]

    def test_infos(self):
        for name, config_class in (("hop", HOPConfig), ("hop-all-data", HOPAllDataConfig)):
            info = get_model_info(name)
            assert info.config_class is config_class
            assert info.needs_trimap and info.input_channels == 6
            assert info.pad_multiple == 32 and info.pad_mode == "reflect"
            assert info.pad_margin == 0 and info.min_size == 64  # tester.py's padding
            assert info.remap_official is remap_official_keys
            assert isinstance(info.training_recipe(), HOPRecipe)
            assert "Hierarchical Opacity Propagation" in info.paper

    def test_create_model_and_cli_overrides(self):
        model = create_model("hop", global_hop_rate=1, width=0.25)
        assert isinstance(model, HOPMatting) and model.decoder.global_hop.rate == 1
        overrides = parse_overrides(HOPConfig, ["global_hop_rate=1", "attention_chunk=none"])
        assert overrides == {"global_hop_rate": 1, "attention_chunk": None}
        with pytest.raises(matting_core.ConfigError, match="global_hop_rate"):
            parse_overrides(HOPConfig, ["global_hop_rate=4"])
        with pytest.raises(matting_core.UnknownModelError, match="hop"):
            create_model("hopp")
