"""The GCA block on a real photo with the bundled weights: the attention softmax that writes
exact zeros instead of subnormal floats gives the plain softmax's output.

The plain softmax is what the release computes; on this photo it makes subnormal weights
(checked, so the comparison means something), which x86 cores multiply slowly.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from matting_core import load_model
from matting_core.inference import prepare_inputs
from matting_data import read_image, read_trimap
from matting_data.bundled import samples_dir
from matting_gca import guided_contextual_attention

TINY = torch.finfo(torch.float32).tiny
GCA_MODULE = sys.modules[guided_contextual_attention.__module__]


def subnormals(x: torch.Tensor) -> int:
    x = x.detach().float()
    return int(((x != 0) & (x.abs() < TINY)).sum())


@pytest.fixture(scope="module")
def block_inputs():
    """What the bundled model's GCA block receives on a 256 x 320 crop of GT18 around its
    unknown region, as (guidance after guidance_conv, alpha feature, unknown map)."""
    loaded = load_model("gca")
    root = samples_dir()
    image = read_image(root / "image" / "GT18.png")[192:448, 240:560]
    trimap = read_trimap(root / "trimap" / "GT18.png")[192:448, 240:560]
    assert (trimap == 128).mean() > 0.05
    image_t, trimap_t, _ = prepare_inputs(image, trimap, loaded.info)
    block = loaded.model.decoder.gca
    captured = {}

    def grab(module, args):
        captured["args"] = tuple(a.clone() for a in args)

    handle = block.register_forward_pre_hook(grab)
    with torch.inference_mode():
        loaded.model(image_t, trimap_t)
    handle.remove()
    image_feature, alpha_feature, unknown = captured["args"]
    with torch.inference_mode():
        guidance = block.guidance_conv(image_feature)
    return guidance, alpha_feature, unknown


@pytest.mark.parametrize("chunk", [None, 64])
def test_real_photo_attention_equals_the_plain_softmax_without_subnormals(
    block_inputs, chunk, monkeypatch
):
    guidance, alpha, unknown = block_inputs
    seen = {"plain": 0, "ours": 0, "calls": 0}
    ours_softmax = GCA_MODULE.attention_softmax

    with torch.inference_mode():
        ours = guided_contextual_attention(guidance, alpha, unknown, chunk=chunk)

    def plain_softmax(logits, dim, overwrite=False):
        weights = F.softmax(logits.float(), dim=dim)
        seen["plain"] += subnormals(weights)
        seen["ours"] += subnormals(ours_softmax(logits.clone(), dim=dim))
        seen["calls"] += 1
        return weights

    # the reference: every softmax of the block computed the plain way
    monkeypatch.setattr(GCA_MODULE, "attention_softmax", plain_softmax)
    import matting_nn.contextual_attention as shared

    monkeypatch.setattr(shared, "attention_softmax", plain_softmax)
    with torch.inference_mode():
        plain = guided_contextual_attention(guidance, alpha, unknown, chunk=chunk)
    assert seen["calls"] > 0
    assert seen["plain"] > 1000, "the real photo should make subnormal weights in the plain way"
    assert seen["ours"] == 0
    assert subnormals(ours.propagated) == 0
    torch.testing.assert_close(ours.propagated, plain.propagated, rtol=1e-5, atol=1e-6)
    assert np.mean((ours.offsets == plain.offsets).numpy()) > 0.999
