"""The guided contextual attention (GCA) block, with memory linear in the image area.

Li & Lu, "Natural Image Matting via Guided Contextual Attention", AAAI 2020, section
"Guided Contextual Attention" and Figure 3.  Low-level image features guide where alpha
features are borrowed from:

1. 3x3 patches of the (adapted, downsampled) image feature are the keys; every position is a
   query.  The similarity is the inner product with the key patch divided by its L2 norm
   (Eq. 3).  The release normalises only the key patch, with ``max(||k||, 1e-4)``; the query
   patch is left as it is, which changes nothing in the softmax ranking per query but does
   change the values, so we do the same.
2. A patch's own position gets the punishment ``lambda = -1e4`` (Eq. 3) -- the release adds
   it only where the source patch lies in the unknown region.
3. Scaled softmax over the source patches (Eq. 4-6): sources in the unknown region are
   weighted by ``clamp(sqrt(|U| / |K|), 0.1, 10)`` and known ones by
   ``clamp(sqrt(|K| / |U|), 0.1, 10)``.  ``|U|`` is the mean of the downsampled unknown map;
   a source patch counts as unknown when the mean of its reflect-padded 3x3 window of that
   map is > 0 (release).
4. Propagation: ``(2 rate) x (2 rate)`` alpha-feature patches taken with stride ``rate``
   (reflect padding) are pasted by a transposed convolution with the attention scores, and
   overlaps are averaged (the release divides by 4, the overlap count).

The two 1x1 adaptation convolutions (guidance before patch extraction; ``W`` = conv + BN
after propagation) and the residual sum live in :class:`GuidedContextualAttention`.

Memory.  A ``(H/8, W/8)`` feature map gives ``L = (H/16) (W/16)`` patches at ``rate=2``, and the
release builds the full ``L x L`` score matrix -- quadratic in the image area (16 GiB per
copy at 4096x4096).  Here the queries are processed in chunks of whole rows
(``chunk`` queries at a time, at least one row): each chunk's scores ``(L, chunk)`` are
computed, soft-maxed over the sources (exact: the softmax is per query), multiplied with the
value patches and folded into the output.  Peak memory is ``O(L * chunk)``, linear in the
area for a fixed chunk.  With autograd on, each chunk is recomputed in the backward pass
(activation checkpointing), so training stays linear too.  ``chunk=None`` runs the full
matrix, the release's way, as a reference.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from matting_core.errors import ShapeError

__all__ = [
    "GCAResult",
    "GuidedContextualAttention",
    "area_scales",
    "guided_contextual_attention",
    "source_unknown_mask",
]

#: The punishment ``lambda`` of Eq. 3 for a patch's similarity with itself.
SELF_SIMILARITY = -1e4
#: Lower bound of a key patch's norm (the release's ``escape_NaN``).
NORM_EPS = 1e-4
#: The clamp of Eq. 6.
SCALE_MIN, SCALE_MAX = 0.1, 10.0


class GCAResult(NamedTuple):
    """What :func:`guided_contextual_attention` returns.

    - ``propagated``: (B, C, H, W) the propagated alpha features, before the ``W`` conv.
    - ``offsets``: (B, 2, H/rate, W/rate) int64, the (row, col) of each query's most attended
      source patch minus (H/rate // 2, W/rate // 2) -- the release's "absolute position"
      visualisation, for display only.
    - ``scales``: (B, 2) float, the softmax weights [unknown, known] of Eq. 5.
    """

    propagated: Tensor
    offsets: Tensor
    scales: Tensor


def area_scales(unknown: Tensor) -> Tensor:
    """The weights of Eq. 5-6 from a downsampled unknown map.

    Args:
        unknown: (B, 1, h, w) float, 1 in the unknown region, 0 in the known one.

    Returns:
        (B, 2) float: ``[clamp(sqrt(|U|/|K|)), clamp(sqrt(|K|/|U|))]`` with ``|U|`` the mean of
        the map and ``|K| = 1 - |U|``, clamped to [0.1, 10] (a map that is all unknown or all
        known gives 10 and 0.1).
    """
    unknown_mean = unknown.mean(dim=(2, 3))
    known_mean = 1 - unknown_mean
    unknown_scale = torch.clamp(torch.sqrt(unknown_mean / known_mean), SCALE_MIN, SCALE_MAX)
    known_scale = torch.clamp(torch.sqrt(known_mean / unknown_mean), SCALE_MIN, SCALE_MAX)
    return torch.cat([unknown_scale, known_scale], dim=1)


def source_unknown_mask(unknown: Tensor) -> Tensor:
    """Which source patches lie in the unknown region.

    Args:
        unknown: (B, 1, h, w) float downsampled unknown map.

    Returns:
        (B, h*w) bool: the mean of each position's reflect-padded 3x3 window is > 0 (release).
    """
    window_mean = F.avg_pool2d(F.pad(unknown, (1, 1, 1, 1), mode="reflect"), 3, stride=1)
    return window_mean.flatten(1) > 0


def _check_inputs(guidance: Tensor, alpha: Tensor, unknown: Tensor | None, rate: int) -> None:
    if guidance.ndim != 4 or alpha.ndim != 4:
        raise ShapeError(
            f"guidance and alpha features must be (B, C, H, W), got {tuple(guidance.shape)} "
            f"and {tuple(alpha.shape)}"
        )
    if guidance.shape[0] != alpha.shape[0] or guidance.shape[2:] != alpha.shape[2:]:
        raise ShapeError(
            f"guidance {tuple(guidance.shape)} and alpha features {tuple(alpha.shape)} must "
            "share batch size, height and width"
        )
    if unknown is not None and (
        unknown.ndim != 4
        or unknown.shape[1] != 1
        or unknown.shape[0] != alpha.shape[0]
        or unknown.shape[2:] != alpha.shape[2:]
    ):
        raise ShapeError(
            f"unknown must be (B, 1, H, W) like the features {tuple(alpha.shape)}, "
            f"got {tuple(unknown.shape)}"
        )
    if rate < 2 or rate % 2:
        raise ValueError(f"rate must be an even number >= 2, got {rate}")
    height, width = alpha.shape[2:]
    if height % rate or width % rate or height < 2 * rate or width < 2 * rate:
        raise ShapeError(
            f"feature size {height}x{width} must be a multiple of rate={rate} and at least "
            f"{2 * rate}x{2 * rate}"
        )


def _prepare(guidance: Tensor, alpha: Tensor, unknown: Tensor | None, rate: int):
    """Per-batch keys, queries, values, scales and masks (shared by both paths)."""
    batch, channels = alpha.shape[:2]
    # Legacy 'nearest' (pixel (rate*i, rate*j)), as the release; 'nearest-exact' differs.
    small = F.interpolate(guidance, scale_factor=1 / rate, mode="nearest")
    h, w = small.shape[2:]
    # Key/query patches: 3x3, stride 1, reflect padding 1 -> (B, Cg*9, L).
    patches = F.unfold(F.pad(small, (1, 1, 1, 1), mode="reflect"), 3)
    norms = patches.square().sum(dim=1, keepdim=True).sqrt()
    keys = patches / torch.clamp(norms, min=NORM_EPS)
    # Value patches: (2 rate)x(2 rate), stride rate, reflect padding -> (B, C*(2 rate)^2, L).
    kernel = 2 * rate
    left, right = (kernel - rate + 1) // 2, (kernel - rate) // 2
    values = F.unfold(F.pad(alpha, (left, right, left, right), mode="reflect"), kernel, stride=rate)
    if unknown is None:  # release: all unknown, softmax scale 1 (the model never does this)
        unknown_small = alpha.new_ones(batch, 1, h, w)
        scales = alpha.new_ones(batch, 2)
    else:
        unknown_small = F.interpolate(unknown, scale_factor=1 / rate, mode="nearest")
        scales = area_scales(unknown_small).to(alpha)
    source_unknown = source_unknown_mask(unknown_small)
    # Per-source softmax weight: unknown_scale for unknown sources, known_scale otherwise.
    weights = torch.where(source_unknown, scales[:, 0:1], scales[:, 1:2])
    # The self-similarity punishment, only where the source is unknown.
    self_penalty = SELF_SIMILARITY * source_unknown.to(alpha.dtype)
    return small, patches, keys, values, scales, weights, self_penalty, (h, w), channels


def _offsets(index: Tensor, h: int, w: int) -> Tensor:
    """Flat argmax index (h*w,) -> (2, h, w) (row - h//2, col - w//2), as the release shows."""
    index = index.view(h, w)
    return torch.stack([index // w - h // 2, index % w - w // 2])


def _full(
    small: Tensor,
    keys: Tensor,
    values: Tensor,
    weights: Tensor,
    self_penalty: Tensor,
    hw: tuple[int, int],
    channels: int,
    rate: int,
) -> tuple[Tensor, Tensor]:
    """One sample, the release's way: the whole (L, L) score matrix at once."""
    h, w = hw
    length = h * w
    kernels = keys.t().reshape(length, -1, 3, 3)
    scores = F.conv2d(F.pad(small, (1, 1, 1, 1), mode="reflect"), kernels)  # (1, L, h, w)
    scores = scores.view(length, length) * weights.view(length, 1)
    scores.diagonal().add_(self_penalty)
    attention = F.softmax(scores, dim=0)
    index = attention.argmax(dim=0)
    value_kernels = values.t().reshape(length, channels, 2 * rate, 2 * rate)
    out = F.conv_transpose2d(
        attention.view(1, length, h, w), value_kernels, stride=rate, padding=rate // 2
    )
    return out / 4.0, _offsets(index, h, w)


def _chunk_columns(
    keys: Tensor,
    queries: Tensor,
    values: Tensor,
    weights: Tensor,
    self_penalty: Tensor,
    start: Tensor,
) -> tuple[Tensor, Tensor]:
    """Scores, softmax and value mixing for the queries ``start .. start + n``.

    keys (K, L), queries (K, n), values (V, L), weights (L,), self_penalty (n,) ->
    columns (V, n) for ``fold`` and the argmax (n,).
    """
    n = queries.shape[1]
    # (n, L): one row per query, so the softmax and argmax run over contiguous memory.
    scores = queries.t() @ keys
    scores.mul_(weights.view(1, -1))  # in place: one (n, L) block fewer at the peak
    rows = torch.arange(n, device=scores.device)
    scores.index_put_((rows, rows + start), self_penalty, accumulate=True)
    attention = F.softmax(scores, dim=1)
    return values @ attention.t(), attention.argmax(dim=1)


def _chunked(
    patches: Tensor,
    keys: Tensor,
    values: Tensor,
    weights: Tensor,
    self_penalty: Tensor,
    hw: tuple[int, int],
    channels: int,
    rate: int,
    chunk: int,
) -> tuple[Tensor, Tensor]:
    """One sample, a band of query rows at a time; same result as :func:`_full`."""
    h, w = hw
    kernel = 2 * rate
    pad = rate // 2
    rows_per_chunk = max(1, chunk // w)
    # Un-cropped transposed-convolution output; row/col i here is i - pad in the result.
    full_h, full_w = (h - 1) * rate + kernel, (w - 1) * rate + kernel
    out = values.new_zeros(1, channels, full_h, full_w)
    index = torch.empty(h * w, dtype=torch.long, device=values.device)
    use_checkpoint = torch.is_grad_enabled() and any(
        t.requires_grad for t in (patches, keys, values, weights)
    )
    for row in range(0, h, rows_per_chunk):
        n_rows = min(rows_per_chunk, h - row)
        q0, q1 = row * w, (row + n_rows) * w
        args = (keys, patches[:, q0:q1], values, weights, self_penalty[q0:q1], torch.tensor(q0))
        if use_checkpoint:
            columns, best = checkpoint(_chunk_columns, *args, use_reentrant=False)
        else:
            columns, best = _chunk_columns(*args)
        band = F.fold(
            columns.unsqueeze(0),
            output_size=((n_rows - 1) * rate + kernel, full_w),
            kernel_size=kernel,
            stride=rate,
        )
        top = row * rate
        out[:, :, top : top + band.shape[2]] += band
        index[q0:q1] = best
    out = out[:, :, pad : pad + h * rate, pad : pad + w * rate]
    return out / 4.0, _offsets(index, h, w)


def guided_contextual_attention(
    guidance: Tensor,
    alpha: Tensor,
    unknown: Tensor | None,
    *,
    rate: int = 2,
    chunk: int | None = 1024,
) -> GCAResult:
    """Propagate alpha features along the affinities of the guidance features.

    The parameter-free core of the GCA block (steps 1-4 of the module docstring); the caller
    applies the adaptation convolutions and the residual sum.

    Args:
        guidance: (B, Cg, H, W) float, the adapted image feature (after ``guidance_conv``).
        alpha: (B, C, H, W) float, the alpha feature to propagate.
        unknown: (B, 1, H, W) float in {0, 1}, the trimap's unknown region at this
            resolution; None treats everything as unknown with scale 1 (release behaviour).
        rate: even downsampling rate of the matching (the release uses 2).
        chunk: queries per chunk (rounded down to whole rows, at least one row); None builds
            the full (L, L) matrix as the release does.

    Returns:
        :class:`GCAResult` ``(propagated (B, C, H, W), offsets (B, 2, H/rate, W/rate),
        scales (B, 2))``.

    Example:
        >>> g, a = torch.randn(1, 8, 16, 16), torch.randn(1, 4, 16, 16)
        >>> u = torch.zeros(1, 1, 16, 16); u[..., 4:12, 4:12] = 1
        >>> out = guided_contextual_attention(g, a, u)
        >>> out.propagated.shape, out.offsets.shape, out.scales.shape
        (torch.Size([1, 4, 16, 16]), torch.Size([1, 2, 8, 8]), torch.Size([1, 2]))
    """
    _check_inputs(guidance, alpha, unknown, rate)
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be >= 1 or None, got {chunk}")
    small, patches, keys, values, scales, weights, self_penalty, hw, channels = _prepare(
        guidance, alpha, unknown, rate
    )
    outputs, offsets = [], []
    for b in range(alpha.shape[0]):
        if chunk is None:
            out, offset = _full(
                small[b : b + 1],
                keys[b],
                values[b],
                weights[b],
                self_penalty[b],
                hw,
                channels,
                rate,
            )
        else:
            out, offset = _chunked(
                patches[b],
                keys[b],
                values[b],
                weights[b],
                self_penalty[b],
                hw,
                channels,
                rate,
                chunk,
            )
        outputs.append(out)
        offsets.append(offset)
    return GCAResult(torch.cat(outputs), torch.stack(offsets), scales)


class GuidedContextualAttention(nn.Module):
    """The GCA block: adaptation convs around :func:`guided_contextual_attention`, residual sum.

    Names follow the release (``guidance_conv``, ``W``) so its checkpoints load unchanged.

    Args:
        out_channels: C, channels of the alpha feature (128 in the paper).
        guidance_channels: Cg, channels of the image feature (128); the 1x1 ``guidance_conv``
            halves them before patch extraction.
        rate: even matching downsampling rate (2).
        chunk: queries per chunk, None for the full matrix (see the function).

    Shape:
        - image_feature: (B, Cg, H, W)
        - alpha_feature: (B, C, H, W)
        - unknown: (B, 1, H, W) in {0, 1}, or None
        - returns ``(out (B, C, H, W), offsets (B, 2, H/rate, W/rate) int64, scales (B, 2))``
          with ``out = W(propagated) + alpha_feature``.
    """

    def __init__(
        self, out_channels: int, guidance_channels: int, rate: int = 2, chunk: int | None = 1024
    ) -> None:
        super().__init__()
        self.rate = rate
        self.chunk = chunk
        self.guidance_conv = nn.Conv2d(guidance_channels, guidance_channels // 2, kernel_size=1)
        self.W = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        # Release initialisation: xavier convs, zero bias, a small BN gain (1e-3) so the block
        # starts close to the identity.
        nn.init.xavier_uniform_(self.guidance_conv.weight)
        nn.init.zeros_(self.guidance_conv.bias)
        nn.init.xavier_uniform_(self.W[0].weight)
        nn.init.constant_(self.W[1].weight, 1e-3)
        nn.init.zeros_(self.W[1].bias)

    def forward(
        self, image_feature: Tensor, alpha_feature: Tensor, unknown: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        guidance = self.guidance_conv(image_feature)
        result = guided_contextual_attention(
            guidance, alpha_feature, unknown, rate=self.rate, chunk=self.chunk
        )
        return self.W(result.propagated) + alpha_feature, result.offsets, result.scales

    def extra_repr(self) -> str:
        return f"rate={self.rate}, chunk={self.chunk}"
