"""The attention softmax: the plain softmax's values to float32 precision, without subnormals.

Peaked logits (what trained weights give on real photos) make a plain softmax write subnormal
floats, which x86 cores multiply slowly; :func:`attention_softmax` writes exact zeros there.
Each test first checks that the plain reference does produce subnormals, so it can fail.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from matting_nn.contextual_attention import (
    ATTENTION_CUTOFF,
    attend_in_bands,
    attention_softmax,
    paste_transposed,
    paste_transposed_full,
)

TINY = torch.finfo(torch.float32).tiny


def subnormal_count(x: torch.Tensor) -> int:
    """How many entries are non-zero floats below the smallest normal (float32 and bfloat16
    share the exponent range)."""
    x = x.detach().float()
    return int(((x != 0) & (x.abs() < TINY)).sum())


def peaked_logits(rows: int, cols: int, seed: int = 0, spread: float = 40.0) -> torch.Tensor:
    """Scores like a trained network's on a photo: most sources 50-100 below the best."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=gen) * spread


def test_equals_the_plain_softmax_without_subnormals():
    logits = peaked_logits(64, 300)
    plain = F.softmax(logits, dim=1)
    assert subnormal_count(plain) > 100  # the reference does make them
    weights = attention_softmax(logits, dim=1)
    assert weights.dtype == torch.float32
    assert subnormal_count(weights) == 0
    torch.testing.assert_close(weights, plain, rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(64))
    # every logit further than the cutoff below its row's maximum gets an exact zero, the
    # others keep a normal weight
    below = logits < logits.amax(dim=1, keepdim=True) - ATTENTION_CUTOFF
    assert torch.all(weights[below] == 0)
    assert torch.all(weights[~below] >= TINY)


def test_hand_computed_values_and_the_self_similarity_penalty():
    logits = torch.tensor([[0.0, -1.0, -29.0, -31.0, -1e4], [2.0, 2.0, 2.0, 2.0, 2.0]])
    weights = attention_softmax(logits, dim=1)
    e = torch.exp(torch.tensor([0.0, -1.0, -29.0], dtype=torch.float64))
    expected = torch.cat([e / e.sum(), torch.zeros(2, dtype=torch.float64)]).float()
    torch.testing.assert_close(weights[0], expected, rtol=1e-6, atol=0)
    torch.testing.assert_close(weights[1], torch.full((5,), 0.2))
    # along dim 0 it is the same function transposed
    torch.testing.assert_close(attention_softmax(logits.t(), dim=0), weights.t())


def test_runs_in_float32_under_autocast_and_from_bfloat16_logits():
    logits = peaked_logits(8, 50)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert attention_softmax(logits, dim=1).dtype == torch.float32
        weights = attention_softmax(logits.bfloat16(), dim=1)
    assert weights.dtype == torch.float32
    assert subnormal_count(weights) == 0
    plain = F.softmax(logits.bfloat16().float(), dim=1)
    torch.testing.assert_close(weights, plain, rtol=1e-6, atol=1e-12)


def test_overwrites_only_what_it_is_allowed_to():
    logits = peaked_logits(4, 20)
    kept = logits.clone()
    attention_softmax(logits, dim=1)
    assert torch.equal(logits, kept)  # not asked to overwrite
    attention_softmax(logits[1:3], dim=1, overwrite=True)
    assert torch.equal(logits, kept)  # a view of the caller's tensor is never overwritten
    leaf = kept.clone().requires_grad_()
    attention_softmax(leaf, dim=1, overwrite=True)
    assert torch.equal(leaf.detach(), kept)
    fresh = kept.clone()
    torch.testing.assert_close(
        attention_softmax(fresh, dim=1, overwrite=True), attention_softmax(kept, dim=1)
    )


def test_gradients_equal_the_plain_softmax_ones():
    logits = peaked_logits(6, 40, spread=3.0)
    upstream = torch.randn(6, 40, generator=torch.Generator().manual_seed(1))
    ours = logits.clone().requires_grad_()
    plain = logits.clone().requires_grad_()
    (attention_softmax(ours * 1.0, dim=1, overwrite=True) * upstream).sum().backward()
    (F.softmax(plain, dim=1) * upstream).sum().backward()
    torch.testing.assert_close(ours.grad, plain.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("chunk", [6, 1000])
def test_banded_attention_equals_the_plain_way_without_subnormals(chunk):
    """The whole contextual-attention paste: bands with the new softmax against the release's
    one-shot paste with a plain softmax, on peaked scores and sparse (ReLU-like) values."""
    h, w, channels, rate = 5, 6, 3, 2
    length = h * w
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(length, length, generator=gen) * 60
    values = torch.relu(torch.randn(channels * (2 * rate) ** 2, length, generator=gen))
    plain = F.softmax(logits, dim=1)
    assert subnormal_count(plain) > 0
    reference = paste_transposed_full(plain.t().contiguous(), values, channels, (h, w), rate)
    bands = list(attend_in_bands(lambda q0, q1: logits[q0:q1].clone(), values, (h, w), chunk))
    for band in bands:
        assert subnormal_count(band.mixed) == 0
    out, best = paste_transposed(bands, channels, (h, w), rate)
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-6)
    assert subnormal_count(out) == 0
    assert torch.equal(best, plain.argmax(dim=1))
