"""The global HOP block: opacity propagated over the whole bottleneck feature map.

Li, Xu & Lu, "Hierarchical Opacity Propagation for Image Matting", 2020, Eq. 2 and 4, Fig. 3(c).
The relation between positions comes from the *appearance* features ``f^A``, the information
propagated is the *opacity* features ``f^O``:

    q = W_QK f^A,  k = W_QK f^A + W_T t,
    a(p, l) = softmax_l( scale * <q_p, k_l / |k_l|> + <q_p, e_|p_y - l_y| + e_|p_x - l_x|> ),
    g_p = W_out( sum_l a(p, l) f^O_l ) + f^O_p,

with the scale-insensitive positional encoding ``e_d = W_PE r_min(d, s)`` (radius ``s = 7``) and
the trimap embedding ``W_T t`` (Sec. 3.2).  The block sits at 1/16 of the input; it matches on
a grid downsampled by ``rate`` (2 in the paper's Composition-1k evaluation, 1 in the release's
demo for real photos).

Where the paper is vague the release (``networks/ops.py``, ``GuidedCxtAttenEmbedding``) decides,
and we follow it so its checkpoints give its output:

* it is GCA's contextual attention underneath: 3x3 patches (reflect padding) of ``q`` are
  compared with 3x3 patches of ``k``; only the *key* patch is normalised (with
  ``max(|k|, 1e-4)``), not the query patch the paper's cosine normalises;
* the trimap embedding goes into the keys only (the paper's "(e + e + W_T t_(x, y))" is at the
  key position), and the trimap is the one-hot trimap at the matching grid (legacy nearest);
* the positional term uses the raw query ``q_p`` (one position, not a patch) and is not
  multiplied by the learnable ``scale``; rows of the sinusoid table are as in
  :mod:`matting_hop.positional_encoding`;
* a source position gets ``-1e4`` against itself when its reflect-padded 3x3 window of the
  unknown map touches the unknown region;
* values: at rate 2, 4x4 opacity patches with stride 2 pasted by a transposed convolution
  (GCA's); at rate 1, 2x2 patches of the opacity map padded by one reflected row and column
  before, mixed by a convolution of the top/left reflect-padded attention map; both divide
  by 4;
* without the trimap embedding (the paper's ablation) the release falls back to GCA's
  unknown/known softmax weights.

Small inputs.  The release builds the positional score with a Transformer-XL-style shift that
only works when the matching grid is at least 14 x 14 (224 px at rate 1, 448 px at rate 2);
smaller inputs crash there.  We index the clipped distance ``min(|d|, s)`` directly, which is
what that shift computes for grids of 14 and more (equal to float precision on the parity
fixtures) and what Eq. 4 defines for any grid, so small inputs get the formula's value
rather than an error.

Memory.  The release builds the whole ``L x L`` score tensor (``L = h w`` grid positions) and
several positional-score tensors of that size: at rate 1 this grows with the square of the
image area (about 1 GiB per tensor at 2048 x 2048).  Here the queries are processed in bands
of whole rows (:func:`~matting_nn.contextual_attention.attend_in_bands`) and the
positional score of a band is gathered from an ``(R + 1) x L`` table, so peak memory is
``O(L * chunk)``, linear in the area; ``chunk=None`` runs the release's full computation as the
reference.  The result is the same either way.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_hop.positional_encoding import clipped_distances, sinusoid_table
from matting_nn import SpectralNorm
from matting_nn.contextual_attention import (
    SELF_SIMILARITY,
    area_scales,
    attend_in_bands,
    attention_offsets,
    attention_softmax,
    downsample_nearest,
    normalize_patches,
    paste_transposed,
    paste_transposed_full,
    patches_3x3,
    source_unknown_mask,
    value_patches,
)

__all__ = ["GlobalHOPBlock", "global_hop_attention"]

#: The rates the release's value propagation is defined for.
RATES = (1, 2)


class _Sample(NamedTuple):
    """One sample's attention inputs, as :func:`global_hop_attention` prepares them."""

    queries: Tensor  # (D*9, L) 3x3 query patches, not normalised (release)
    keys: Tensor  # (D*9, L) normalised 3x3 key patches
    values: Tensor  # (C*(2 rate)^2, L) value patches
    weights: Tensor | None  # (L,) GCA's per-source softmax weights, or None
    penalty: Tensor  # (L,) -1e4 for unknown sources, else 0
    by_distance: Tensor | None  # (R + 1, L) positional score per distance row, or None


def global_hop_attention(
    query: Tensor,
    key: Tensor,
    opacity: Tensor,
    unknown: Tensor,
    *,
    scale: Tensor | float = 1.0,
    embedding: Tensor | None = None,
    source_weights: Tensor | None = None,
    rate: int = 2,
    chunk: int | None = 1024,
) -> tuple[Tensor, Tensor]:
    """The parameter-free core of the global HOP block (propagation before ``W_out``).

    Args:
        query: (B, D, h, w) ``W_QK f^A`` on the matching grid.
        key: (B, D, h, w) the keys before patch normalisation (``query + W_T t``, or ``query``
            without the trimap embedding).
        opacity: (B, C, h rate, w rate) the opacity features ``f^O``.
        unknown: (B, 1, h, w) float in {0, 1}: the trimap's unknown channel on the grid.
        scale: the learnable softmax scale (a 1-element tensor or a float).
        embedding: (R + 1, D) ``W_PE r_d`` by distance row, or None for no positional score.
        source_weights: (B, 2) GCA's [unknown, known] softmax weights, or None (both 1).
        rate: 1 or 2, the grid's downsampling relative to ``opacity``.
        chunk: queries per band (rounded down to whole rows); None builds the full
            ``(L, L)`` tensors as the release does.

    Returns:
        ``(propagated (B, C, h rate, w rate), best (B, h*w) int64)`` -- ``best`` is each
        query's most attended source.
    """
    if rate not in RATES:
        raise ValueError(f"rate must be one of {RATES}, got {rate}")
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be >= 1 or None, got {chunk}")
    batch, _, h, w = query.shape
    channels = opacity.shape[1]
    source_unknown = source_unknown_mask(unknown)  # (B, L)
    outputs, bests = [], []
    for b in range(batch):
        weights = None
        if source_weights is not None:
            weights = torch.where(source_unknown[b], source_weights[b, 0], source_weights[b, 1])
        sample = _Sample(
            queries=patches_3x3(query[b : b + 1])[0],
            keys=normalize_patches(patches_3x3(key[b : b + 1]))[0],
            values=value_patches(opacity[b : b + 1], rate)[0],
            weights=weights,
            penalty=SELF_SIMILARITY * source_unknown[b].to(query.dtype),
            by_distance=None if embedding is None else embedding @ query[b].reshape(-1, h * w),
        )
        if chunk is None:
            out, best = _full(sample, scale, (h, w), channels, rate)
        else:
            out, best = _banded(sample, scale, (h, w), channels, rate, chunk)
        outputs.append(out)
        bests.append(best)
    return torch.cat(outputs), torch.stack(bests)


def _banded(
    sample: _Sample,
    scale: Tensor | float,
    grid: tuple[int, int],
    channels: int,
    rate: int,
    chunk: int,
) -> tuple[Tensor, Tensor]:
    """One sample, a band of query rows at a time."""
    h, w = grid
    queries, keys, values, weights, penalty, by_distance = sample
    if by_distance is not None:
        radius = by_distance.shape[0] - 1
        rows_y = clipped_distances(h, radius, queries.device)  # (h, h) [query row, key row]
        cols_x = clipped_distances(w, radius, queries.device)  # (w, w)

    def scores(q0: int, q1: int) -> Tensor:
        n = q1 - q0
        # (n, L): one row per query, so the softmax and argmax run over contiguous memory.
        logits = queries[:, q0:q1].t() @ keys
        if weights is not None:
            logits = logits * weights.view(1, -1)
        logits = logits * scale
        rows = torch.arange(n, device=logits.device)
        logits = logits.index_put(
            (rows, rows + q0), penalty[q0:q1].to(logits.dtype), accumulate=True
        )
        if by_distance is not None:
            flat = torch.arange(q0, q1, device=logits.device)
            table = by_distance[:, q0:q1].t()  # (n, R + 1)
            along_y = table.gather(1, rows_y[flat // w])  # (n, h) by key row
            along_x = table.gather(1, cols_x[flat % w])  # (n, w) by key column
            logits = logits + (along_y[:, :, None] + along_x[:, None, :]).reshape(n, h * w)
        return logits

    bands = attend_in_bands(scores, values, grid, chunk)
    if rate == 1:
        bands = list(bands)
        mixed = torch.cat([band.mixed for band in bands], dim=1)  # (C*4, L): linear in L
        return _paste_rate1(mixed, channels, grid), torch.cat([band.best for band in bands])
    return paste_transposed(bands, channels, grid, rate)


def _full(
    sample: _Sample, scale: Tensor | float, grid: tuple[int, int], channels: int, rate: int
) -> tuple[Tensor, Tensor]:
    """One sample, the release's way: every ``(L, L)`` tensor at once ([source, query])."""
    h, w = grid
    queries, keys, values, weights, penalty, by_distance = sample
    length = h * w
    scores = keys.t() @ queries  # (L sources, L queries)
    if weights is not None:
        scores = scores * weights.view(-1, 1)
    scores = scores * scale
    scores.diagonal().add_(penalty.to(scores.dtype))
    if by_distance is not None:
        radius = by_distance.shape[0] - 1
        table = by_distance.view(-1, h, w)  # (R + 1, query row, query col)
        qy = torch.arange(h, device=scores.device)
        qx = torch.arange(w, device=scores.device)
        dy = clipped_distances(h, radius, scores.device)  # [key row, query row]
        dx = clipped_distances(w, radius, scores.device)  # [key col, query col]
        along_y = table[dy[:, :, None], qy[None, :, None], qx[None, None, :]]  # (h, h, w)
        along_x = table[dx[:, None, :], qy[None, :, None], qx[None, None, :]]  # (w, h, w)
        scores = scores + (along_y[:, None] + along_x[None, :]).reshape(length, length)
    attention = attention_softmax(scores, dim=0, overwrite=True)
    best = attention.argmax(dim=0)
    attention = attention.to(values.dtype)
    if rate == 1:
        return _paste_rate1(values @ attention, channels, grid), best
    return paste_transposed_full(attention, values, channels, grid, rate), best


def _paste_rate1(mixed: Tensor, channels: int, grid: tuple[int, int]) -> Tensor:
    """The release's rate-1 propagation from the mixed 2x2 value patches.

    ``mixed[(c, a, b), p] = sum_l P_l(c, a, b) a(p, l)``.  The release convolves the
    top/left reflect-padded attention map with the patches as a ``[C, L, 2, 2]`` kernel,
    which is ``y(c, p) = 1/4 sum_ab pad(mixed_ab)(c, p_y + a, p_x + b)``: the same sum with
    the pad moved past the (linear) mixing.  (C*4, L) -> (1, C, h, w).
    """
    h, w = grid
    z = mixed.view(channels * 4, h, w)
    z = F.pad(z[None], (1, 0, 1, 0), mode="reflect")[0].view(channels, 2, 2, h + 1, w + 1)
    out = z[:, 0, 0, :h, :w] + z[:, 0, 1, :h, 1:] + z[:, 1, 0, 1:, :w] + z[:, 1, 1, 1:, 1:]
    return out[None] / 4.0


class GlobalHOPBlock(nn.Module):
    """The global HOP block: ``W_QK``, ``W_T``, ``W_PE``, the learnable ``scale`` and ``W_out``
    around :func:`global_hop_attention`, plus the residual sum.

    Args:
        out_channels: C, channels of the opacity features (256 in the paper, at 1/16).
        guidance_channels: channels of the appearance features (64); ``W_QK`` halves them
            (D = 32).
        rate: 1 or 2, the matching grid's downsampling (see the module docstring).
        radius: s of the scale-insensitive positional encoding (7).
        positional_encoding: use the scale-insensitive positional encoding (PosE).
        trimap_embedding: use the trimap embedding (TriE); without it GCA's unknown/known
            softmax weights are used, as in the release.
        chunk: queries per band; None for the release's full tensors.
        bn_eps: eps of ``W_out``'s BatchNorm.

    Shape:
        - appearance: (B, guidance_channels, H, W) ``f^A``
        - opacity: (B, C, H, W) ``f^O``
        - trimap: (B, 3, H, W) one-hot [bg, unknown, fg] at the same resolution
        - returns ``(g (B, C, H, W), offsets (B, 2, H/rate, W/rate) int64)``; the offsets are
          the most attended position minus the grid centre (the release's visualisation).
    """

    def __init__(
        self,
        out_channels: int = 256,
        guidance_channels: int = 64,
        *,
        rate: int = 2,
        radius: int = 7,
        positional_encoding: bool = True,
        trimap_embedding: bool = True,
        chunk: int | None = 1024,
        bn_eps: float = 1e-3,
    ) -> None:
        super().__init__()
        if rate not in RATES:
            raise ValueError(f"rate must be one of {RATES}, got {rate}")
        dim = guidance_channels // 2
        self.rate = rate
        self.chunk = chunk
        self.trimap_embedding = trimap_embedding
        # Module order = the release's state-dict order (scale, guidance conv, positional
        # linear, trimap conv, W).
        self.scale = nn.Parameter(torch.ones(1))
        self.w_qk = nn.Conv2d(guidance_channels, dim, kernel_size=1)
        self.w_pe = nn.Linear(dim, dim) if positional_encoding else None
        self.w_t = nn.Conv2d(3, dim, kernel_size=1) if trimap_embedding else None
        self.w_out = nn.Sequential(
            SpectralNorm(nn.Conv2d(out_channels, out_channels, kernel_size=1, bias=False)),
            nn.BatchNorm2d(out_channels, eps=bn_eps),
        )
        sinusoid = sinusoid_table(radius, dim) if positional_encoding else torch.empty(0)
        self.register_buffer("sinusoid", sinusoid, persistent=False)
        # Release initialisation: xavier W_QK / W_PE with zero biases, W_T all zeros (the
        # embedding starts switched off), W_out's BN gain 0.1 (W_out's conv keeps PyTorch's
        # default), scale 1.
        nn.init.xavier_uniform_(self.w_qk.weight)
        nn.init.zeros_(self.w_qk.bias)
        if self.w_pe is not None:
            nn.init.xavier_uniform_(self.w_pe.weight)
            nn.init.zeros_(self.w_pe.bias)
        if self.w_t is not None:
            nn.init.zeros_(self.w_t.weight)
            nn.init.zeros_(self.w_t.bias)
        nn.init.constant_(self.w_out[1].weight, 0.1)
        nn.init.zeros_(self.w_out[1].bias)

    def forward(self, appearance: Tensor, opacity: Tensor, trimap: Tensor) -> tuple[Tensor, Tensor]:
        query = downsample_nearest(self.w_qk(appearance), self.rate)
        trimap = downsample_nearest(trimap, self.rate)
        unknown = trimap[:, 1:2]
        if self.w_t is not None:
            key, source_weights = query + self.w_t(trimap), None
        else:
            key, source_weights = query, area_scales(unknown).to(query)
        embedding = None if self.w_pe is None else self.w_pe(self.sinusoid.to(query))
        propagated, best = global_hop_attention(
            query,
            key,
            opacity,
            unknown,
            scale=self.scale,
            embedding=embedding,
            source_weights=source_weights,
            rate=self.rate,
            chunk=self.chunk,
        )
        h, w = query.shape[2:]
        offsets = torch.stack([attention_offsets(b, h, w) for b in best])
        return self.w_out(propagated) + opacity, offsets

    def extra_repr(self) -> str:
        return f"rate={self.rate}, chunk={self.chunk}"
