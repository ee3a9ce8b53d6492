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

The patch extraction, masks, scales and the banded softmax/paste are the contextual-attention
machinery GCA shares with HOP Matting's global block (:mod:`matting_nn.contextual_attention`).

Memory.  A ``(H/8, W/8)`` feature map gives ``L = (H/16) (W/16)`` patches at ``rate=2``, and the
release builds the full ``L x L`` score matrix -- quadratic in the image area (16 GiB per
copy at 4096x4096).  Here the queries are processed in bands of whole rows (``chunk`` queries
at a time, at least one row; :func:`~matting_nn.contextual_attention.attend_in_bands`),
so peak memory is ``O(L * chunk)``, linear in the area for a fixed chunk, also in training.
``chunk=None`` runs the full matrix, the release's way, as a reference.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_core.errors import ShapeError
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

__all__ = ["GCAResult", "GuidedContextualAttention", "guided_contextual_attention"]


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


def _one_sample(
    small: Tensor,
    unknown_small: Tensor,
    scales: Tensor,
    alpha: Tensor,
    rate: int,
    chunk: int | None,
) -> tuple[Tensor, Tensor]:
    """Propagate one sample: small (1, Cg, h, w), unknown_small (1, 1, h, w), scales (2,),
    alpha (1, C, H, W) -> (propagated (1, C, H, W), offsets (2, h, w))."""
    h, w = small.shape[2:]
    channels = alpha.shape[1]
    patches = patches_3x3(small)[0]  # (Cg*9, L): queries, as they are
    keys = normalize_patches(patches[None])[0]  # the release normalises the keys only
    values = value_patches(alpha, rate)[0]  # (C*(2 rate)^2, L)
    source_unknown = source_unknown_mask(unknown_small)[0]  # (L,)
    # Eq. 5: unknown sources weighted by the unknown scale, known ones by the known scale.
    weights = torch.where(source_unknown, scales[0], scales[1])
    # The self-similarity punishment, only where the source is unknown.
    self_penalty = SELF_SIMILARITY * source_unknown.to(alpha.dtype)
    if chunk is None:
        length = h * w
        scores = F.conv2d(
            F.pad(small, (1, 1, 1, 1), mode="reflect"), keys.t().reshape(length, -1, 3, 3)
        )
        scores = scores.view(length, length) * weights.view(length, 1)
        scores.diagonal().add_(self_penalty)
        attention = attention_softmax(scores, dim=0, overwrite=True).to(values.dtype)
        out = paste_transposed_full(attention, values, channels, (h, w), rate)
        return out, attention_offsets(attention.argmax(dim=0), h, w)

    def scores(q0: int, q1: int) -> Tensor:
        # (n, L): one row per query, so the softmax and argmax run over contiguous memory.
        logits = patches[:, q0:q1].t() @ keys
        logits.mul_(weights.view(1, -1))  # in place: one (n, L) block fewer at the peak
        rows = torch.arange(q1 - q0, device=logits.device)
        return logits.index_put_((rows, rows + q0), self_penalty[q0:q1], accumulate=True)

    bands = attend_in_bands(scores, values, (h, w), chunk)
    out, best = paste_transposed(bands, channels, (h, w), rate)
    return out, attention_offsets(best, h, w)


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
    batch = alpha.shape[0]
    small = downsample_nearest(guidance, rate)
    h, w = small.shape[2:]
    if unknown is None:  # release: all unknown, softmax scale 1 (the model never does this)
        unknown_small = alpha.new_ones(batch, 1, h, w)
        scales = alpha.new_ones(batch, 2)
    else:
        unknown_small = downsample_nearest(unknown, rate)
        scales = area_scales(unknown_small).to(alpha)
    outputs, offsets = [], []
    for b in range(batch):
        out, offset = _one_sample(
            small[b : b + 1], unknown_small[b : b + 1], scales[b], alpha[b : b + 1], rate, chunk
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
