"""The installed plugin: the plugin contract (matting_core.testing) on both models, and what is
particular to GCA's registration."""

from __future__ import annotations

from typing import ClassVar

import matting_core
from matting_core import create_model, get_model_info
from matting_core.testing import ModelContract
from matting_gca.model import GCAConfig, GCAMatting, GCASmallConfig, remap_official_keys


class TestContract(ModelContract):
    plugin = "gca"
    models = ("gca", "gca-small")
    # a quarter of the channels keeps the CPU checks fast; the contract does not depend on it
    options: ClassVar = {"gca": {"width": 0.25}, "gca-small": {"width": 0.25}}

    def test_both_names_come_from_the_plugin(self):
        assert matting_core.list_models("gca*") == ["gca", "gca-small"]

    def test_create_model_gca(self):
        model = create_model("gca")
        assert isinstance(model, GCAMatting)
        assert model.config == GCAConfig()
        info = get_model_info("gca")
        assert info.needs_trimap and info.input_channels == 6
        assert info.pad_multiple == 32 and info.pad_mode == "reflect"
        assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
        assert info.remap_official is remap_official_keys
        assert "Guided Contextual Attention" in info.paper

    def test_create_model_gca_small_and_overrides(self):
        small = create_model("gca-small")
        assert isinstance(small, GCAMatting) and isinstance(small.config, GCASmallConfig)
        assert small.config.width == 0.5
        model = create_model("gca", attention_chunk=None, width=0.25)
        assert model.config.attention_chunk is None and model.config.width == 0.25
        assert model.encoder.gca.chunk is None
