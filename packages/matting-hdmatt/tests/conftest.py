"""Shared fixtures: the test kit's real photos, and a tiny HDMatt for fast CPU checks."""

from __future__ import annotations

import pytest
import torch

from matting_core.testing import real_photo, shared_data
from matting_hdmatt import HDMatt, HDMattConfig

__all__ = ["real_photo", "shared_data"]  # the test kit's fixtures, served to every test here

#: The smallest network with every part of the real one (the contract does not depend on width).
TINY = {
    "backbone_layers": (1, 1, 1, 1),
    "aspp_channels": 16,
    "key_channels": 8,
    "value_channels": 8,
    "decoder_width": 0.125,
}


@pytest.fixture
def tiny_model() -> HDMatt:
    torch.manual_seed(0)
    return HDMatt(HDMattConfig(**TINY)).eval()
