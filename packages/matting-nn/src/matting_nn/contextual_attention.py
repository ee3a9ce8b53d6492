"""Patch-based contextual attention with memory linear in the number of positions.

Contextual attention (Yu et al., CVPR 2018) matches every query position against the 3x3
patches of a feature map and pastes value patches with the resulting softmax weights.  GCA
Matting's guided contextual attention (Li & Lu, AAAI 2020) and HOP Matting's global HOP block
(Li, Xu & Lu, 2020) are both built on it, with the conventions of the authors' releases:

* key patches are 3x3, stride 1, reflect padding 1, divided by ``max(||patch||, 1e-4)``;
* a source patch counts as "unknown" when the mean of its reflect-padded 3x3 window of the
  unknown map is > 0, and only unknown sources get the self-similarity punishment ``-1e4``;
* value patches are ``(2 rate) x (2 rate)`` windows taken with stride ``rate`` (reflect padding
  ``(2 rate - rate + 1) // 2`` before, ``(2 rate - rate) // 2`` after); at rate >= 2 they are
  pasted by a transposed convolution with stride ``rate`` and the overlaps divided by 4.

The releases build the whole ``L x L`` score matrix at once (``L`` positions), which is
quadratic in the image area.  :func:`attend_in_bands` computes it a band of whole query rows
at a time: each band's scores ``(n, L)`` are soft-maxed over the sources (exact, since the
softmax is per query), mixed with the value patches and handed on, so peak memory is
``O(L * chunk)``.  With autograd on, each band is recomputed in the backward pass (activation
checkpointing), so training stays linear too.  :func:`paste_transposed` folds the bands into
the output exactly as the transposed convolution would; :func:`paste_transposed_full` is the
release's one-shot version, the reference.

Subnormal floats.  With trained weights on real photos the scores are strongly peaked: a
plain softmax leaves a third of the weights below ``1e-20`` and some below ``1.2e-38``
(subnormal floats), which many x86 cores multiply up to ~100x slower (GCA on real photos
was measured 8x slower than on random inputs on an Intel CPU, 89% of it in the attention's
matrix product).  :func:`attention_softmax` gives every
weight whose logit lies more than :data:`ATTENTION_CUTOFF` below its row's maximum an exact
zero, so no weight is subnormal; the weights it drops sum to less than ``L e^-30`` of the
kept ones (below float32 resolution for any ``L`` up to 2^20), so the output is the plain
softmax's to float32 precision.  It also runs in float32 under autocast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

__all__ = [
    "ATTENTION_CUTOFF",
    "NORM_EPS",
    "SELF_SIMILARITY",
    "AttentionBand",
    "area_scales",
    "attend_in_bands",
    "attention_offsets",
    "attention_softmax",
    "downsample_nearest",
    "normalize_patches",
    "paste_transposed",
    "paste_transposed_full",
    "patches_3x3",
    "source_unknown_mask",
    "value_patches",
]

#: The punishment of a patch's similarity with itself (GCA's lambda, Eq. 3).
SELF_SIMILARITY = -1e4
#: Lower bound of a patch's norm (the releases' ``escape_NaN``).
NORM_EPS = 1e-4
#: The clamp of GCA's Eq. 6.
SCALE_MIN, SCALE_MAX = 0.1, 10.0
#: Logits further than this below their row's maximum get an attention weight of exactly 0
#: (:func:`attention_softmax`): ``e^-30 = 9.4e-14``, so the smallest kept weight is at least
#: ``9.4e-14 / L``, a normal float for any ``L`` below 2^80.
ATTENTION_CUTOFF = 30.0


def attention_softmax(logits: Tensor, dim: int, *, overwrite: bool = False) -> Tensor:
    """Softmax of attention logits along ``dim``, in float32, with no subnormal weight.

    Logits more than :data:`ATTENTION_CUTOFF` below the maximum of their slice get an exact
    zero instead of a weight under ``e^-30`` (of which a plain softmax of peaked scores makes
    many subnormal floats, slow on x86 in every later product).  Relative to the plain
    softmax the kept weights grow by less than ``n e^-30`` (``n`` = the size of ``dim``): the
    same to float32 precision.  Under ``torch.autocast`` the logits are promoted to float32
    first, so reduced precision never reaches the exponentials.

    Args:
        logits: any shape, floating.
        dim: the dimension the weights sum to 1 over.
        overwrite: the caller no longer needs ``logits``: float32 logits that are not a view
            (nor a leaf that needs a gradient) are shifted in place, one block of memory
            fewer at the peak.

    Returns:
        float32 weights of ``logits``' shape, each 0 or >= ``e^-30 / n``; differentiable.

    Example:
        >>> w = attention_softmax(torch.tensor([[0.0, -1.0, -50.0]]), dim=1)
        >>> w[0, 2].item(), round(w[0, 0].item() + w[0, 1].item(), 6)
        (0.0, 1.0)
    """
    with torch.autocast(logits.device.type, enabled=False):
        peak = logits.detach().amax(dim=dim, keepdim=True).float()
        in_place = (
            overwrite
            and logits.dtype == torch.float32
            and not logits._is_view()
            and not (logits.requires_grad and logits.is_leaf)
        )
        # The softmax is shift-invariant; the shift carries no gradient.
        shifted = logits.sub_(peak) if in_place else logits.float() - peak
        shifted = shifted.masked_fill_(shifted < -ATTENTION_CUTOFF, float("-inf"))
        return F.softmax(shifted, dim=dim)


def downsample_nearest(x: Tensor, rate: int) -> Tensor:
    """(B, C, H, W) -> (B, C, H/rate, W/rate) with legacy ``nearest`` (pixel (rate i, rate j)),
    as the releases do ('nearest-exact' picks other pixels).  Identity at rate 1."""
    return x if rate == 1 else F.interpolate(x, scale_factor=1 / rate, mode="nearest")


def patches_3x3(x: Tensor) -> Tensor:
    """(B, C, h, w) -> (B, C*9, h*w): the reflect-padded 3x3 patch around every position,
    channel-major ``(c, dy, dx)`` as ``F.unfold`` orders them."""
    return F.unfold(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3)


def normalize_patches(patches: Tensor) -> Tensor:
    """(B, K, L) patches divided by ``max(||patch||_2, 1e-4)`` over their K values."""
    norms = patches.square().sum(dim=1, keepdim=True).sqrt()
    return patches / torch.clamp(norms, min=NORM_EPS)


def value_patches(x: Tensor, rate: int) -> Tensor:
    """(B, C, H, W) -> (B, C*(2 rate)^2, L): ``(2 rate)``-square windows with stride ``rate``
    (reflect padding, the releases' ``extract_patches``), ``L = (H/rate) (W/rate)``."""
    kernel = 2 * rate
    before, after = (kernel - rate + 1) // 2, (kernel - rate) // 2
    return F.unfold(F.pad(x, (before, after, before, after), mode="reflect"), kernel, stride=rate)


def source_unknown_mask(unknown: Tensor) -> Tensor:
    """Which source patches lie in the unknown region.

    Args:
        unknown: (B, 1, h, w) float, the unknown map at the matching resolution.

    Returns:
        (B, h*w) bool: the mean of each position's reflect-padded 3x3 window is > 0.
    """
    window_mean = F.avg_pool2d(F.pad(unknown, (1, 1, 1, 1), mode="reflect"), 3, stride=1)
    return window_mean.flatten(1) > 0


def area_scales(unknown: Tensor) -> Tensor:
    """GCA's softmax weights (Eq. 5-6) from a downsampled unknown map.

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


def attention_offsets(index: Tensor, h: int, w: int) -> Tensor:
    """Flat argmax index (h*w,) -> (2, h, w) int64 ``(row - h//2, col - w//2)``: the releases'
    visualisation of where each query looked, for display only."""
    index = index.view(h, w)
    return torch.stack([index // w - h // 2, index % w - w // 2])


class AttentionBand(NamedTuple):
    """One band of query rows from :func:`attend_in_bands`.

    - ``row``, ``rows``: the band covers query rows ``row .. row + rows`` of the grid.
    - ``mixed``: (V, rows * w), the value patches mixed with each query's softmax weights.
    - ``best``: (rows * w,) int64, each query's most attended source.
    """

    row: int
    rows: int
    mixed: Tensor
    best: Tensor


def attend_in_bands(
    scores: Callable[[int, int], Tensor],
    values: Tensor,
    grid: tuple[int, int],
    chunk: int,
) -> Iterator[AttentionBand]:
    """Softmax attention over all sources, a band of whole query rows at a time.

    Args:
        scores: ``scores(q0, q1)`` -> (q1 - q0, L) float, the logits of queries ``q0 .. q1``
            (flat, row-major) against every source.  It is called again in the backward pass
            when autograd is on, so it must be a pure function of its arguments.  Its result
            is overwritten unless it is a view: return a new tensor or a view.
        values: (V, L), one value column per source.
        grid: (h, w) of the query grid, ``h * w`` queries.
        chunk: queries per band, rounded down to whole rows (at least one row).

    Yields:
        :class:`AttentionBand` for the bands top to bottom.  Peak memory is that of one band's
        ``(n, L)`` scores, not the whole ``(L, L)`` matrix.
    """
    h, w = grid
    rows_per_band = max(1, chunk // w)
    use_checkpoint = torch.is_grad_enabled()

    def band(q0: int, q1: int) -> tuple[Tensor, Tensor]:
        # float32 weights without subnormals (see the module docstring); the product runs in
        # the values' precision (autocast's when it is on).
        attention = attention_softmax(scores(q0, q1), dim=1, overwrite=True)
        return values @ attention.to(values.dtype).t(), attention.argmax(dim=1)

    for row in range(0, h, rows_per_band):
        rows = min(rows_per_band, h - row)
        q0, q1 = row * w, (row + rows) * w
        if use_checkpoint:
            mixed, best = checkpoint(band, q0, q1, use_reentrant=False)
        else:
            mixed, best = band(q0, q1)
        yield AttentionBand(row, rows, mixed, best)


def paste_transposed(
    bands: Iterable[AttentionBand], channels: int, grid: tuple[int, int], rate: int
) -> tuple[Tensor, Tensor]:
    """Fold the mixed ``(2 rate)``-square value patches of each band into the output.

    Equal to ``conv_transpose2d(attention, value_kernels, stride=rate, padding=rate // 2) / 4``
    (:func:`paste_transposed_full`) without the whole attention tensor.

    Args:
        bands: from :func:`attend_in_bands` with values from :func:`value_patches` (rate >= 2).
        channels: C of the value feature map.
        grid: (h, w) of the query grid.
        rate: the patch stride (even, >= 2).

    Returns:
        ``(out (1, C, h rate, w rate), best (h*w,) int64)``.
    """
    h, w = grid
    kernel = 2 * rate
    pad = rate // 2
    # Un-cropped transposed-convolution output; row/col i here is i - pad in the result.
    full_w = (w - 1) * rate + kernel
    out: Tensor | None = None
    best = []
    for band in bands:
        if out is None:
            out = band.mixed.new_zeros(1, channels, (h - 1) * rate + kernel, full_w)
        folded = F.fold(
            band.mixed.unsqueeze(0),
            output_size=((band.rows - 1) * rate + kernel, full_w),
            kernel_size=kernel,
            stride=rate,
        )
        top = band.row * rate
        out[:, :, top : top + folded.shape[2]] += folded
        best.append(band.best)
    assert out is not None, "no bands"
    out = out[:, :, pad : pad + h * rate, pad : pad + w * rate]
    return out / 4.0, torch.cat(best)


def paste_transposed_full(
    attention: Tensor, values: Tensor, channels: int, grid: tuple[int, int], rate: int
) -> Tensor:
    """The release's paste: ``conv_transpose2d(attention, kernels, stride=rate, padding=1) / 4``.

    Args:
        attention: (L, L) softmax weights, [source, query].
        values: (C*(2 rate)^2, L) value patches.
        channels: C.
        grid: (h, w) query grid.
        rate: the patch stride (even, >= 2).

    Returns:
        (1, C, h rate, w rate).
    """
    h, w = grid
    length = h * w
    kernels = values.t().reshape(length, channels, 2 * rate, 2 * rate)
    out = F.conv_transpose2d(
        attention.view(1, length, h, w), kernels, stride=rate, padding=rate // 2
    )
    return out / 4.0
