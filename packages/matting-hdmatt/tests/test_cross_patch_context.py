"""The CPC against slow, obvious implementations of the paper's equations."""

from __future__ import annotations

import math

import pytest
import torch

from matting_hdmatt import (
    CrossPatchContext,
    sampling_scores,
    select_context,
    trimap_guided_non_local,
    trimap_regions,
)


def _direct_tgnl(qk, qv, qu, ck, cv, regions, scale):
    """Eq. 3 position by position, region by region, with Python loops."""
    b_, _, h, w = qk.shape
    k_, cvn = ck.shape[1], qv.shape[1]
    out = torch.zeros(b_, 3 * cvn, h, w, dtype=torch.float64)
    for b in range(b_):
        for r in range(3):
            for y in range(h):
                for x in range(w):
                    u = float(qu[b, 0, y, x])
                    q = qk[b, :, y, x].double() * u
                    num, den = torch.zeros(cvn, dtype=torch.float64), 0.0
                    for i in range(k_):
                        for yy in range(ck.shape[3]):
                            for xx in range(ck.shape[4]):
                                if regions[b, i, r, yy, xx]:
                                    e = math.exp(scale * float(q @ ck[b, i, :, yy, xx].double()))
                                    num += e * cv[b, i, :, yy, xx].double()
                                    den += e
                    attended = num / den if den > 0 else num
                    out[b, r * cvn : (r + 1) * cvn, y, x] = qv[b, :, y, x].double() * u + attended
    return out


@pytest.mark.parametrize("chunk", [None, 5])
def test_tgnl_equals_the_direct_sum_with_region_masks_and_an_empty_region(chunk):
    g = torch.Generator().manual_seed(0)
    b, ck_, cv_, h, w, k, hh, ww = 2, 4, 3, 3, 4, 3, 2, 3
    qk, qv = torch.randn(b, ck_, h, w, generator=g), torch.randn(b, cv_, h, w, generator=g)
    qu = torch.rand(b, 1, h, w, generator=g) > 0.4
    ck, cv = (
        torch.randn(b, k, ck_, hh, ww, generator=g),
        torch.randn(b, k, cv_, hh, ww, generator=g),
    )
    labels = torch.randint(0, 3, (b, k, hh, ww), generator=g)
    labels[1][labels[1] == 2] = 0  # the second item's context has no background at all
    regions = torch.stack([labels == 0, labels == 1, labels == 2], dim=2)
    assert regions[0, :, 2].any() and not regions[1, :, 2].any()
    out = trimap_guided_non_local(qk, qv, qu, ck, cv, regions, scale=0.7, chunk=chunk)
    expected = _direct_tgnl(qk, qv, qu, ck, cv, regions, 0.7)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)
    # the empty region adds nothing: f_B = q~_U for the second item
    torch.testing.assert_close(out[1, 2 * cv_ :], qv[1] * qu[1], atol=1e-6, rtol=0)


def test_tgnl_regions_are_separate_and_known_query_cells_get_the_region_mean():
    # one unknown query cell, one known; context of two cells: one F (value 1), one B (value 5)
    qk = torch.tensor([[[[3.0, 0.5]]]])  # (1, 1, 1, 2)
    qv = torch.tensor([[[[10.0, 20.0]]]])
    qu = torch.tensor([[[[True, False]]]])
    ck = torch.tensor([[[[[1.0, 2.0]]]]])  # (1, 1, 1, 1, 2)
    cv = torch.tensor([[[[[1.0, 5.0]]]]])
    regions = torch.zeros(1, 1, 3, 1, 2, dtype=torch.bool)
    regions[0, 0, 1, 0, 0] = True  # F
    regions[0, 0, 2, 0, 1] = True  # B
    out = trimap_guided_non_local(qk, qv, qu, ck, cv, regions)
    # f_U: no unknown context cell -> q~_U only; f_F / f_B: the single cell's value
    assert out[0, :, 0, 0].tolist() == [10.0, 11.0, 15.0]
    assert out[0, :, 0, 1].tolist() == [0.0, 1.0, 5.0]


def test_no_context_gives_the_masked_query_value_three_times():
    qk, qv = torch.randn(1, 2, 2, 2), torch.randn(1, 3, 2, 2)
    qu = torch.tensor([[[[True, False], [False, True]]]])
    out = trimap_guided_non_local(
        qk,
        qv,
        qu,
        torch.zeros(1, 0, 2, 2, 2),
        torch.zeros(1, 0, 3, 2, 2),
        torch.zeros(1, 0, 3, 2, 2, dtype=torch.bool),
    )
    torch.testing.assert_close(out, (qv * qu).repeat(1, 3, 1, 1))


def test_sampling_score_is_the_sum_over_all_pairs():
    g = torch.Generator().manual_seed(1)
    qk, ck = torch.randn(2, 5, 3, 4, generator=g), torch.randn(2, 4, 5, 2, 3, generator=g)
    qu = torch.rand(2, 1, 3, 4, generator=g) > 0.5
    scores = sampling_scores(qk, qu, ck)
    for b in range(2):
        for i in range(4):
            pairs = sum(
                float((qk[b, :, y, x] * qu[b, 0, y, x]) @ ck[b, i, :, yy, xx])
                for y in range(3)
                for x in range(4)
                for yy in range(2)
                for xx in range(3)
            )
            assert scores[b, i].item() == pytest.approx(pairs, rel=1e-4, abs=1e-4)


def test_selection_keeps_the_top_k_by_softmax_score_and_skips_invalid_candidates():
    h = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    chosen, d = select_context(h, 2)
    assert chosen.tolist() == [[1, 3]]
    torch.testing.assert_close(d, torch.softmax(h, -1))
    chosen, d = select_context(h, 2, valid=torch.tensor([[True, False, True, True]]))
    assert chosen.tolist() == [[3, 2]] and d[0, 1] == 0 and d.sum().item() == pytest.approx(1)


def test_trimap_regions_keep_thin_unknown_bands_and_split_known_cells_by_majority():
    trimap = torch.zeros(1, 3, 8, 16)
    trimap[:, 0] = 1  # background
    trimap[:, :, :, 8:] = 0
    trimap[:, 2, :, 8:] = 1  # right cell foreground
    trimap[:, :, 3, 2] = torch.tensor([0.0, 1.0, 0.0])  # one unknown pixel in the left cell
    regions = trimap_regions(trimap, 8)
    assert regions.shape == (1, 3, 1, 2)
    assert regions[0, :, 0, 0].tolist() == [True, False, False]
    assert regions[0, :, 0, 1].tolist() == [False, True, False]


def test_cpc_output_does_not_depend_on_the_order_of_the_candidates():
    torch.manual_seed(0)
    cpc = CrossPatchContext(6, 4, 3, k=2).eval()
    q = torch.randn(1, 6, 3, 3)
    key, value = cpc.embed_query(q)
    ctx = torch.randn(1, 4, 6, 3, 3)
    ckey, cvalue = cpc.embed_context(ctx.flatten(0, 1))
    ckey, cvalue = ckey.unflatten(0, (1, 4)), cvalue.unflatten(0, (1, 4))
    regions = torch.rand(1, 4, 3, 3, 3) > 0.5
    unknown = torch.ones(1, 1, 3, 3, dtype=torch.bool)
    first = cpc(key, value, unknown, ckey, cvalue, regions)
    order = torch.tensor([2, 0, 3, 1])
    second = cpc(key, value, unknown, ckey[:, order], cvalue[:, order], regions[:, order])
    torch.testing.assert_close(first.features, second.features, atol=1e-5, rtol=1e-5)
    assert sorted(order[second.chosen[0]].tolist()) == sorted(first.chosen[0].tolist())
