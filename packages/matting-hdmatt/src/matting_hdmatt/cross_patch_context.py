"""The Cross-Patch Contextual module (CPC) of HDMatt: context patch sampling and TGNL.

Yu et al., "High-Resolution Deep Image Matting", AAAI 2021, Sec. "Cross-Patch Context Module",
Fig. 3.  Pure functions on tensors (Kornia style) plus the module holding the three 1x1
embeddings θ, ϕ and δ.

* :func:`trimap_regions`: the trimap downsampled to the feature grid, one region per cell.
* :func:`sampling_scores`: Eq. 1, ``h(q_U, c_i) = Σ_{s,s'} q_{U,s} · c_{i,s'}``, computed as the
  dot product of the two sums (``(Σ_s q_{U,s}) · (Σ_{s'} c_{i,s'})``, the same number by
  bilinearity) in O(HW) instead of O((HW)²); Eq. 2's softmax over the N candidates gives the
  similarity score ``d``.
* :func:`trimap_guided_non_local`: Eq. 3, for each region R in (U, F, B) of the context
  trimaps, ``f_R = q̃_U + Σ_{i,s'} softmax_{i,s'}(q_{U,s} · c_{i,R,s'}) c̃_{i,R,s'}`` with the
  softmax taken jointly over all K patches and only the R positions; an empty region
  contributes nothing (no NaN).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "REGIONS",
    "CPCResult",
    "CrossPatchContext",
    "sampling_scores",
    "select_context",
    "trimap_guided_non_local",
    "trimap_regions",
]

#: The order of the three regions in every region tensor and in the CPC output.
REGIONS = ("unknown", "foreground", "background")


def trimap_regions(trimap: Tensor, stride: int) -> Tensor:
    """The "downsampled trimap": which region each ``stride`` x ``stride`` cell belongs to.

    A cell is unknown when any of its pixels is unknown (a thin unknown band, e.g. a 5 px
    dilation, never vanishes at stride 8), otherwise foreground when it holds at least as
    many foreground as background pixels, otherwise background.  Every cell gets exactly one
    region.

    :param trimap: (B, 3, H, W) one-hot [bg, unknown, fg]; H, W multiples of ``stride``.
    :param stride: the feature grid's stride (8 for HDMatt's encoder).
    :returns: (B, 3, H/stride, W/stride) bool, channels :data:`REGIONS` (U, F, B).
    """
    if trimap.dim() != 4 or trimap.shape[1] != 3:
        raise ValueError(f"trimap must be (B, 3, H, W) one-hot, got {tuple(trimap.shape)}")
    unknown = F.max_pool2d(trimap[:, 1:2].float(), stride) > 0.5
    counts = F.avg_pool2d(trimap[:, [0, 2]].float(), stride)
    foreground = ~unknown & (counts[:, 1:2] >= counts[:, 0:1])
    background = ~unknown & ~foreground
    return torch.cat([unknown, foreground, background], dim=1)


def sampling_scores(query_key: Tensor, query_unknown: Tensor, context_key: Tensor) -> Tensor:
    """Eq. 1: ``h_i = Σ_{s,s'} q_{U,s} · c_{i,s'}`` for every candidate ``i``.

    Computed as ``(Σ_s q_{U,s}) · (Σ_{s'} c_{i,s'})``: O(C·HW) per candidate.

    :param query_key: (B, C, h, w) the query's key map ``q``.
    :param query_unknown: (B, 1, h, w) bool or {0, 1}, the query's unknown cells.
    :param context_key: (B, N, C, h', w') the candidates' key maps ``c_i``.
    :returns: (B, N) float32 correlations h; Eq. 2's score is ``h.softmax(-1)``.
    """
    q_sum = (query_key.float() * query_unknown.float()).sum(dim=(2, 3))
    c_sum = context_key.float().sum(dim=(3, 4))
    return torch.einsum("bc,bnc->bn", q_sum, c_sum)


def select_context(scores: Tensor, k: int, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The top-``k`` candidates by Eq. 2's score ``d = softmax(h)`` over the valid ones.

    :param scores: (B, N) correlations h (:func:`sampling_scores`).
    :param k: how many to keep (``min(k, N)`` are returned).
    :param valid: optional (B, N) bool; invalid candidates (the query itself) get score 0.
    :returns: ``(indices, d)``: (B, min(k, N)) int64 indices of the chosen candidates, best
        first, and (B, N) float32 scores d.  An invalid candidate is chosen only when fewer
        than k are valid; the caller masks it out (:class:`CrossPatchContext` empties its
        regions).
    """
    h = scores.float()
    if valid is not None:
        h = h.masked_fill(~valid, float("-inf"))
    # all candidates invalid: softmax of -inf everywhere would be NaN
    d = torch.softmax(h, dim=-1).nan_to_num(0.0)
    chosen = torch.topk(h, min(k, h.shape[-1]), dim=-1).indices
    return chosen, d


def trimap_guided_non_local(
    query_key: Tensor,
    query_value: Tensor,
    query_unknown: Tensor,
    context_key: Tensor,
    context_value: Tensor,
    context_regions: Tensor,
    *,
    scale: float = 1.0,
    chunk: int | None = 1024,
) -> Tensor:
    """Eq. 3 for R = U, F, B: ``f_R`` concatenated along the channels.

    ``f_{R,s} = q̃_{U,s} + Σ_{i,s'∈R} e^{q_{U,s}·c_{i,s'}} c̃_{i,s'} / Σ_{î,ŝ'∈R} e^{q_{U,s}·c_{î,ŝ'}}``
    where ``q_U``, ``q̃_U`` are the query key and value zeroed outside the query's unknown
    cells, and the sums run over the cells of region R of all K context patches jointly.  An
    empty R (no context cell of that region) adds nothing: ``f_R = q̃_U``.  At a known query
    cell ``q_{U,s} = 0``, so the softmax is the plain mean of R's values (Eq. 3 taken as it
    stands).

    :param query_key: (B, Ck, h, w) ``q``.
    :param query_value: (B, Cv, h, w) ``q̃``.
    :param query_unknown: (B, 1, h, w) bool or {0, 1}.
    :param context_key: (B, K, Ck, h', w') ``c_i``.
    :param context_value: (B, K, Cv, h', w') ``c̃_i``.
    :param context_regions: (B, K, 3, h', w') bool, regions :data:`REGIONS`.
    :param scale: multiplies the dot products (1 in the paper).
    :param chunk: query cells per block (bounds the (B, chunk, K·h'·w') logits); None: all.
    :returns: (B, 3·Cv, h, w) float32 ``[f_U, f_F, f_B]``.
    """
    b, _, h, w = query_key.shape
    cv = query_value.shape[1]
    unknown = query_unknown.float()
    value_u = (query_value.float() * unknown).flatten(2)  # (B, Cv, L)
    k = context_key.shape[1]
    if k == 0:
        return value_u.view(b, cv, h, w).repeat(1, 3, 1, 1)
    key_u = (query_key.float() * unknown).flatten(2).transpose(1, 2)  # (B, L, Ck)
    ck = context_key.float().permute(0, 1, 3, 4, 2).reshape(b, -1, context_key.shape[2])
    cval = context_value.float().permute(0, 1, 3, 4, 2).reshape(b, -1, cv)  # (B, M, Cv)
    regions = context_regions.permute(0, 2, 1, 3, 4).reshape(b, 3, -1)  # (B, 3, M)
    length = key_u.shape[1]
    step = length if chunk is None else max(1, int(chunk))
    outputs = [torch.empty(b, length, cv, device=value_u.device) for _ in range(3)]
    for start in range(0, length, step):
        logits = torch.bmm(key_u[:, start : start + step], ck.transpose(1, 2)) * scale
        for r in range(3):
            inside = regions[:, r].unsqueeze(1)  # (B, 1, M)
            masked = logits.masked_fill(~inside, float("-inf"))
            top = masked.amax(dim=-1, keepdim=True)
            top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
            weights = torch.exp(masked - top)  # exactly 0 outside R
            total = weights.sum(dim=-1, keepdim=True)
            weights = weights / torch.where(total > 0, total, torch.ones_like(total))
            outputs[r][:, start : start + step] = torch.bmm(weights, cval)
    fused = [value_u + out.transpose(1, 2) for out in outputs]
    return torch.cat(fused, dim=1).view(b, 3 * cv, h, w)


class CPCResult(NamedTuple):
    """What :class:`CrossPatchContext` returns.

    :param features: (B, 3·Cv, h, w) ``[f_U, f_F, f_B]``, the decoder's input.
    :param chosen: (B, K) int64 indices of the chosen candidates (K = 0 without context).
    :param scores: (B, N) Eq. 2's similarity scores d of every candidate.
    """

    features: Tensor
    chosen: Tensor
    scores: Tensor


class CrossPatchContext(nn.Module):
    """CPC (Fig. 3): θ and ϕ embed the query's and the candidates' encoder features into
    keys, δ embeds both into values; context patch sampling keeps the top ``k``; TGNL
    propagates their values to the query's unknown cells.

    :param in_channels: channels of the encoder output (ASPP).
    :param key_channels: channels of the keys q, c_i (θ, ϕ).
    :param value_channels: channels of the values q̃, c̃_i (δ).
    :param k: context patches kept per query (the paper's K = 3).
    :param scaled: divide the dot products of TGNL by sqrt(key_channels).
    :param chunk: query cells per block in TGNL.
    """

    def __init__(
        self,
        in_channels: int,
        key_channels: int,
        value_channels: int,
        k: int = 3,
        *,
        scaled: bool = True,
        chunk: int | None = 1024,
    ) -> None:
        super().__init__()
        self.theta = nn.Conv2d(in_channels, key_channels, 1)
        self.phi = nn.Conv2d(in_channels, key_channels, 1)
        self.delta = nn.Conv2d(in_channels, value_channels, 1)
        self.k = k
        self.scale = 1.0 / math.sqrt(key_channels) if scaled else 1.0
        self.chunk = chunk
        self.value_channels = value_channels

    def embed_query(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """(key q, value q̃) of query encoder features (B, C, h, w)."""
        return self.theta(features), self.delta(features)

    def embed_context(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """(key c_i, value c̃_i) of candidate encoder features (..., C, h, w)."""
        return self.phi(features), self.delta(features)

    def forward(
        self,
        query_key: Tensor,
        query_value: Tensor,
        query_unknown: Tensor,
        context_key: Tensor,
        context_value: Tensor,
        context_regions: Tensor,
        valid: Tensor | None = None,
    ) -> CPCResult:
        """Sample the top-k of N candidates, then TGNL over them.

        :param query_key, query_value: (B, Ck, h, w), (B, Cv, h, w).
        :param query_unknown: (B, 1, h, w) bool.
        :param context_key, context_value: (B, N, Ck, h', w'), (B, N, Cv, h', w'); N may be 0.
        :param context_regions: (B, N, 3, h', w') bool.
        :param valid: optional (B, N) bool, False for candidates to leave out.
        """
        b, n = context_key.shape[:2]
        if n == 0 or self.k == 0:
            empty_regions = context_regions[:, :0]
            features = trimap_guided_non_local(
                query_key,
                query_value,
                query_unknown,
                context_key[:, :0],
                context_value[:, :0],
                empty_regions,
                scale=self.scale,
                chunk=self.chunk,
            )
            return CPCResult(
                features,
                torch.zeros(b, 0, dtype=torch.long, device=query_key.device),
                torch.zeros(b, n, device=query_key.device),
            )
        scores = sampling_scores(query_key, query_unknown, context_key)
        chosen, d = select_context(scores, self.k, valid)
        rows = torch.arange(b, device=chosen.device)[:, None]
        regions = context_regions[rows, chosen]
        if valid is not None:  # a chosen candidate that is not valid contributes no cell
            regions = regions & valid[rows, chosen][..., None, None, None]
        features = trimap_guided_non_local(
            query_key,
            query_value,
            query_unknown,
            context_key[rows, chosen],
            context_value[rows, chosen],
            regions,
            scale=self.scale,
            chunk=self.chunk,
        )
        return CPCResult(features, chosen, d)
