"""Banded contextual attention: patch helpers and bands equal to the full transposed paste."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from matting_nn.contextual_attention import (
    attend_in_bands,
    attention_offsets,
    normalize_patches,
    paste_transposed,
    paste_transposed_full,
    patches_3x3,
    value_patches,
)


def test_patch_helpers_on_hand_computed_values():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    patches = patches_3x3(x)
    assert patches.shape == (1, 9, 12)
    # position (0, 0): reflect padding mirrors row 1 / column 1 around the border
    assert patches[0, :, 0].tolist() == [5, 4, 5, 1, 0, 1, 5, 4, 5]
    unit = normalize_patches(patches)
    torch.testing.assert_close(unit.norm(dim=1), torch.ones(1, 12))
    assert torch.equal(normalize_patches(torch.zeros(1, 9, 2)), torch.zeros(1, 9, 2))
    # rate 2: 4x4 windows with stride 2 after a reflect border of 1
    values = value_patches(torch.arange(16.0).view(1, 1, 4, 4), 2)
    assert values.shape == (1, 16, 4)
    assert values[0, :, 0].view(4, 4)[0].tolist() == [5, 4, 5, 6]
    # rate 1: 2x2 windows with one reflected row/column before
    values = value_patches(torch.arange(16.0).view(1, 1, 4, 4), 1)
    assert values.shape == (1, 4, 16)
    assert values[0, :, 0].tolist() == [5, 4, 1, 0]


def test_offsets_are_relative_to_the_map_centre():
    index = torch.tensor([0, 5, 11])
    assert attention_offsets(index, 1, 3).shape == (2, 1, 3)
    assert attention_offsets(torch.tensor([0, 11]), 2, 1).tolist() == [[[-1], [10]], [[0], [0]]]


def _attention_case(seed=0, channels=3, h=5, w=6, rate=2):
    gen = torch.Generator().manual_seed(seed)
    length = h * w
    logits = torch.randn(length, length, generator=gen) * 3  # [query, source]
    values = torch.randn(channels * (2 * rate) ** 2, length, generator=gen)
    return logits, values


@pytest.mark.parametrize("chunk", [1, 6, 7, 13, 1000])
def test_bands_equal_the_full_transposed_paste(chunk):
    h, w, channels, rate = 5, 6, 3, 2
    logits, values = _attention_case(h=h, w=w, channels=channels)
    full = paste_transposed_full(
        F.softmax(logits, dim=1).t().contiguous(), values, channels, (h, w), rate
    )
    bands = attend_in_bands(lambda q0, q1: logits[q0:q1], values, (h, w), chunk)
    out, best = paste_transposed(bands, channels, (h, w), rate)
    assert out.shape == full.shape == (1, channels, h * rate, w * rate)
    torch.testing.assert_close(out, full, atol=1e-5, rtol=0)
    assert torch.equal(best, logits.argmax(dim=1))


def test_band_gradients_equal_the_full_ones():
    h, w, channels, rate = 4, 4, 2, 2
    logits, values = _attention_case(h=h, w=w, channels=channels)
    grads = []
    for chunk in (None, 4):
        lg, vl = logits.clone().requires_grad_(), values.clone().requires_grad_()
        if chunk is None:
            out = paste_transposed_full(F.softmax(lg, dim=1).t(), vl, channels, (h, w), rate)
        else:
            bands = attend_in_bands(lambda q0, q1, lg=lg: lg[q0:q1] * 1.0, vl, (h, w), chunk)
            out, _ = paste_transposed(bands, channels, (h, w), rate)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append((lg.grad, vl.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-5, rtol=0)
