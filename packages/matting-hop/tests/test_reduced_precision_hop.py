"""HOP under ``precision="bf16"`` (autocast + channels-last): global and local HOP blocks run
with float32 attention softmaxes and give the fp32 matte to bfloat16's precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import matting_core.precision as precision_module
from matting_core import create_model, get_model_info, predict
from matting_data import read_image, read_trimap
from matting_data.bundled import samples_dir


@pytest.fixture
def bf16_cpu(monkeypatch):
    monkeypatch.setattr(precision_module, "_cpu_has", lambda name: name == "avx512_bf16")


@pytest.mark.parametrize("rate", [1, 2])
def test_hop_in_bf16_gives_the_fp32_matte(bf16_cpu, rate):
    torch.manual_seed(0)
    model = create_model("hop", global_hop_rate=rate).eval()
    info = get_model_info("hop")
    assert info.auto_precisions == ()  # no weights measured: auto stays fp32
    root = samples_dir()
    image = read_image(root / "image" / "GT19.png")[0:128, 352:480]
    trimap = read_trimap(root / "trimap" / "GT19.png")[0:128, 352:480]
    unknown = trimap == 128
    fp32 = predict(model, image, trimap, info=info)
    bf16 = predict(model, image, trimap, info=info, precision="bf16")
    auto = predict(model, image, trimap, info=info, precision="auto")
    np.testing.assert_array_equal(auto, fp32)
    assert bf16.dtype == np.float32
    diff = np.abs(bf16 - fp32)[unknown]
    assert 0 < diff.mean() < 0.02
