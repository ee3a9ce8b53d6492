"""The installed plugin: the plugin contract (matting_core.testing) on both models, and what is
particular to HDMatt's registration."""

from __future__ import annotations

from typing import ClassVar

import matting_core
from matting_core import create_model, get_model_info
from matting_core.strategy import CropAndStitch
from matting_core.testing import ModelContract
from matting_hdmatt import HDMatt, HDMattConfig, HDMattSmallConfig, hdmatt_patch_forward

_TINY = {
    "backbone_layers": (1, 1, 1, 1),
    "aspp_channels": 16,
    "key_channels": 8,
    "value_channels": 8,
    "decoder_width": 0.125,
}


class TestContract(ModelContract):
    plugin = "hdmatt"
    models = ("hdmatt", "hdmatt-small")
    # the smallest networks keep the CPU checks fast; the contract does not depend on width
    options: ClassVar = {"hdmatt": _TINY, "hdmatt-small": _TINY}

    def test_both_names_come_from_the_plugin(self):
        assert matting_core.list_models("hdmatt*") == ["hdmatt", "hdmatt-small"]

    def test_the_paper_network_and_its_inference(self):
        config = HDMattConfig()
        assert config.backbone_layers == (3, 4, 6, 3)  # ResNet-34
        assert config.context_patches == 3 and config.candidates == 30  # K and N
        info = get_model_info("hdmatt")
        assert info.needs_trimap and info.input_channels == 6 and info.pad_mode == "reflect"
        assert "High-Resolution Deep Image Matting" in info.paper
        assert isinstance(info.inference, CropAndStitch)
        assert info.inference.patch_forward is hdmatt_patch_forward
        assert (info.inference.tile, info.inference.overlap) == (320, 80)

    def test_create_model_small_and_overrides(self):
        small = create_model("hdmatt-small", candidates=5, context_patches=1)
        assert isinstance(small, HDMatt) and isinstance(small.config, HDMattSmallConfig)
        assert small.config.backbone_layers == (1, 1, 1, 1)
        assert small.cpc.k == 1 and small.config.candidates == 5
        assert get_model_info("hdmatt-small").description != get_model_info("hdmatt").description
