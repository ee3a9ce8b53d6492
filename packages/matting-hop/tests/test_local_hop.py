"""The local HOP block: a loop-by-loop reference, windows, shapes, the block."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hop_reference import local_hop_reference

from matting_hop.local_hop import LocalHOPBlock, local_hop_attention
from matting_hop.model import HOPConfig, HOPMatting


@pytest.mark.parametrize("window", [3, 5, 9])
@pytest.mark.parametrize("with_embedding", [True, False])
def test_matches_the_loop_reference(window, with_embedding):
    gen = torch.Generator().manual_seed(window)
    guidance = torch.randn(1, 4, 7, 10, generator=gen)
    opacity = torch.randn(1, 3, 7, 10, generator=gen)
    embedding = torch.randn(window // 2 + 2, 4, generator=gen) if with_embedding else None
    out = local_hop_attention(guidance, opacity, window=window, scale=2.5, embedding=embedding)
    ref = local_hop_reference(guidance, opacity, window, 2.5, embedding)
    assert out.shape == opacity.shape
    np.testing.assert_allclose(out[0].numpy(), ref, atol=1e-5, rtol=0)


def test_propagation_map_is_the_attention_weighted_offset():
    gen = torch.Generator().manual_seed(7)
    guidance = torch.randn(1, 4, 7, 10, generator=gen)
    opacity = torch.randn(1, 3, 7, 10, generator=gen)
    embedding = torch.randn(4, 4, generator=gen)
    out, moved = local_hop_attention(
        guidance, opacity, window=5, scale=2.5, embedding=embedding, displacement=True
    )
    ref_out, ref_moved = local_hop_reference(guidance, opacity, 5, 2.5, embedding, True)
    np.testing.assert_allclose(out[0].numpy(), ref_out, atol=1e-5, rtol=0)
    assert moved.shape == (1, 2, 7, 10) and not moved.requires_grad
    np.testing.assert_allclose(moved[0].numpy(), ref_moved, atol=1e-5, rtol=0)


def test_propagation_map_points_at_the_similar_neighbour():
    # one query, (5, 5), whose appearance matches only the pixel 1 row down and 2 columns right
    # of it: with a sharp softmax its opacity comes from there, so its map reads (1, 2)
    guidance = torch.zeros(1, 2, 12, 12)
    guidance[:, 0] = 1.0
    for y, x in ((5, 5), (6, 7)):
        guidance[0, :, y, x] = torch.tensor([0.0, 1.0])
    _, moved = local_hop_attention(
        guidance, torch.zeros(1, 1, 12, 12), window=5, scale=50.0, displacement=True
    )
    np.testing.assert_allclose(moved[0, :, 5, 5].numpy(), [1.0, 2.0], atol=1e-6)
    # a uniform neighbourhood has no direction: the mean offset of a full window is zero
    np.testing.assert_allclose(moved[0, :, 2, 2].numpy(), [0.0, 0.0], atol=1e-6)


def test_attention_stays_inside_the_window():
    # an opacity impulse only reaches positions within window // 2 of it
    guidance = torch.ones(1, 2, 20, 20)
    opacity = torch.zeros(1, 1, 20, 20)
    opacity[..., 10, 10] = 1
    out = local_hop_attention(guidance, opacity, window=5)
    reached = (out[0, 0] > 0).nonzero()
    assert reached[:, 0].min() == 8 and reached[:, 0].max() == 12
    assert reached[:, 1].min() == 8 and reached[:, 1].max() == 12
    assert out[0, 0, 10, 10] == 0  # the centre never propagates to itself


def test_window_and_size_checks():
    guidance, opacity = torch.randn(1, 2, 4, 6), torch.randn(1, 1, 4, 6)
    with pytest.raises(ValueError, match="odd"):
        local_hop_attention(guidance, opacity, window=4)
    with pytest.raises(ValueError, match="larger than 4"):
        local_hop_attention(guidance, opacity, window=9)


def test_the_three_blocks_have_the_papers_windows_and_widths():
    decoder = HOPMatting(HOPConfig()).decoder
    blocks = [decoder.local_hop1, decoder.local_hop2, decoder.local_hop3]
    assert [b.window for b in blocks] == [9, 9, 9]
    assert [b.w_qk.weight.shape[:2] for b in blocks] == [(32, 64), (16, 32), (8, 16)]
    assert [b.w_out[0].module.weight_bar.shape[0] for b in blocks] == [128, 64, 32]
    assert [tuple(b.sinusoid.shape) for b in blocks] == [(6, 32), (6, 16), (6, 8)]
    small = HOPMatting(HOPConfig(local_window=5, width=0.25)).decoder.local_hop1
    assert small.window == 5 and small.sinusoid.shape == (4, 8)


@pytest.mark.parametrize(("size", "channels"), [(8, (128, 64)), (16, (64, 32)), (32, (32, 16))])
def test_block_output_shapes_at_each_decoder_level(size, channels):
    block = LocalHOPBlock(*channels, bn_eps=1e-5).eval()
    appearance = torch.randn(2, channels[1], size, size + 4)
    with torch.no_grad():
        out, propagation = block(appearance, torch.randn(2, channels[0], size, size + 4))
    assert out.shape == (2, channels[0], size, size + 4)
    assert propagation.shape == (2, 2, size, size + 4)
    assert propagation.abs().max() <= block.window // 2
    assert block.scale.item() == 1.0 and block.w_out[1].weight[0].item() == pytest.approx(0.1)
    assert list(block.state_dict())[:3] == ["scale", "w_qk.weight", "w_qk.bias"]
    assert list(block.state_dict())[-2:] == ["w_pe.weight", "w_pe.bias"]


def test_bands_of_rows_give_the_same_result_and_gradients(monkeypatch):
    from matting_hop import local_hop

    gen = torch.Generator().manual_seed(1)
    inputs = [
        torch.randn(2, 4, 11, 10, generator=gen),
        torch.randn(2, 3, 11, 10, generator=gen),
        torch.randn(4, 4, generator=gen),
    ]
    results = []
    for budget in (local_hop.BAND_ELEMENTS, 2 * 25 * 10 * 3):  # one band; bands of 3 rows
        monkeypatch.setattr(local_hop, "BAND_ELEMENTS", budget)
        guidance, opacity, embedding = (t.clone().requires_grad_() for t in inputs)
        out = local_hop_attention(guidance, opacity, window=5, scale=2.0, embedding=embedding)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results.append((out.detach(), guidance.grad, opacity.grad, embedding.grad))
    for whole, banded in zip(*results, strict=True):
        torch.testing.assert_close(banded, whole, atol=1e-6, rtol=1e-6)
