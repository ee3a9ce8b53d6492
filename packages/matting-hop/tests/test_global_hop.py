"""The global HOP block: a loop-by-loop reference, bands vs full tensors, gradients, the block."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hop_reference import global_hop_reference

from matting_hop.global_hop import GlobalHOPBlock, global_hop_attention


def _inputs(rate=1, h=5, w=6, dim=4, channels=3, radius=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(1, dim, h, w, generator=gen)
    key = query + 0.5 * torch.randn(1, dim, h, w, generator=gen)
    opacity = torch.randn(1, channels, h * rate, w * rate, generator=gen)
    unknown = (torch.rand(1, 1, h, w, generator=gen) > 0.6).float()
    embedding = 0.3 * torch.randn(radius + 1, dim, generator=gen)
    return query, key, opacity, unknown, embedding


@pytest.mark.parametrize("rate", [1, 2])
@pytest.mark.parametrize("chunk", [None, 4])
@pytest.mark.parametrize("variant", ["pose+trie", "no-pose", "gca-weights"])
def test_matches_the_loop_reference(rate, chunk, variant):
    query, key, opacity, unknown, embedding = _inputs(rate=rate)
    weights = torch.tensor([[2.0, 0.5]]) if variant == "gca-weights" else None
    embedding = None if variant == "no-pose" else embedding
    scale = 3.5
    out, best = global_hop_attention(
        query,
        key,
        opacity,
        unknown,
        scale=scale,
        embedding=embedding,
        source_weights=weights,
        rate=rate,
        chunk=chunk,
    )
    ref, attention = global_hop_reference(
        query,
        key,
        opacity,
        unknown,
        scale,
        embedding,
        None if weights is None else weights[0],
        rate,
    )
    assert out.shape == (1, 3, 5 * rate, 6 * rate)
    np.testing.assert_allclose(out[0].numpy(), ref, atol=1e-5, rtol=0)
    _assert_best_is_a_maximum(best[0].numpy(), attention)


def _assert_best_is_a_maximum(best: np.ndarray, attention: np.ndarray, rtol: float = 1e-5):
    """Each query's best source is the reference's maximum; where two sources tie to within
    float32 precision (the float64 reference and summation order decide), either may win."""
    top = attention.max(axis=1, keepdims=True)
    near = attention >= top * (1 - rtol)
    assert near[np.arange(len(best)), best].all(), (best, attention.argmax(axis=1))


@pytest.mark.parametrize("rate", [1, 2])
@pytest.mark.parametrize("chunk", [1, 7, 37, 10_000])
def test_bands_equal_the_full_tensors(rate, chunk):
    # a grid of 16 x 20: larger than the radius on both sides, as on real images
    query, key, opacity, unknown, embedding = _inputs(rate=rate, h=16, w=20, dim=8, radius=7)
    args = (query.repeat(2, 1, 1, 1), key.repeat(2, 1, 1, 1), opacity.repeat(2, 1, 1, 1))
    unknown = torch.cat([unknown, 1 - unknown])
    kwargs = {"scale": 3.0, "embedding": embedding, "rate": rate}
    full, full_best = global_hop_attention(*args, unknown, chunk=None, **kwargs)
    banded, banded_best = global_hop_attention(*args, unknown, chunk=chunk, **kwargs)
    torch.testing.assert_close(banded, full, atol=1e-5, rtol=0)
    assert torch.equal(banded_best, full_best)


@pytest.mark.parametrize("rate", [1, 2])
def test_band_gradients_equal_the_full_ones(rate):
    tensors = _inputs(rate=rate, h=8, w=6, dim=4, radius=7)
    scale = torch.tensor([2.0])
    grads = []
    for chunk in (None, 12):
        leaves = [t.clone().requires_grad_() for t in (*tensors, scale)]
        query, key, opacity, unknown, embedding, s = leaves
        out, _ = global_hop_attention(
            query, key, opacity, unknown.detach(), scale=s, embedding=embedding, rate=rate,
            chunk=chunk,
        )  # fmt: skip
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append([t.grad for t in (query, key, opacity, embedding, s)])
    for full, banded in zip(*grads, strict=True):
        torch.testing.assert_close(banded, full, atol=1e-5, rtol=1e-5)


def test_rate_and_chunk_are_checked():
    query, key, opacity, unknown, _ = _inputs()
    with pytest.raises(ValueError, match="rate"):
        global_hop_attention(query, key, opacity, unknown, rate=3)
    with pytest.raises(ValueError, match="chunk"):
        global_hop_attention(query, key, opacity, unknown, rate=1, chunk=0)


@pytest.mark.parametrize("rate", [1, 2])
def test_block_shapes_offsets_and_residual(rate):
    torch.manual_seed(0)
    block = GlobalHOPBlock(16, 8, rate=rate, bn_eps=1e-5).eval()
    appearance = torch.randn(2, 8, 8, 12)
    opacity = torch.randn(2, 16, 8, 12)
    trimap = torch.zeros(2, 3, 8, 12)
    trimap[:, 1, 2:6] = 1
    trimap[:, 0] = 1 - trimap[:, 1]
    with torch.no_grad():
        out, offsets = block(appearance, opacity, trimap)
    h, w = 8 // rate, 12 // rate
    assert out.shape == opacity.shape
    assert offsets.shape == (2, 2, h, w) and offsets.dtype == torch.int64
    assert offsets[:, 0].min() >= -(h // 2) and offsets[:, 0].max() < h - h // 2
    assert offsets[:, 1].min() >= -(w // 2) and offsets[:, 1].max() < w - w // 2
    # g = W_out(propagated) + f^O, with the trimap embedding in the keys only
    query = block.w_qk(appearance)[:, :, ::rate, ::rate]
    grid_trimap = trimap[:, :, ::rate, ::rate]
    with torch.no_grad():
        propagated, _ = global_hop_attention(
            query,
            query + block.w_t(grid_trimap),
            opacity,
            grid_trimap[:, 1:2],
            scale=block.scale,
            embedding=block.w_pe(block.sinusoid),
            rate=rate,
        )
        torch.testing.assert_close(out, block.w_out(propagated) + opacity)


def test_block_parameters_follow_the_release():
    block = GlobalHOPBlock()
    names = [k for k in block.state_dict() if not k.startswith("w_out.1.")]
    assert names[:7] == [
        "scale",
        "w_qk.weight",
        "w_qk.bias",
        "w_pe.weight",
        "w_pe.bias",
        "w_t.weight",
        "w_t.bias",
    ]
    assert block.w_qk.weight.shape == (32, 64, 1, 1) and block.w_pe.weight.shape == (32, 32)
    assert torch.count_nonzero(block.w_t.weight) == 0  # the trimap embedding starts off
    assert block.scale.item() == 1.0
    assert block.sinusoid.shape == (8, 32) and "sinusoid" not in block.state_dict()
    ablated = GlobalHOPBlock(positional_encoding=False, trimap_embedding=False)
    assert not any(k.startswith(("w_pe", "w_t")) for k in ablated.state_dict())
