"""The sinusoidal tables behind HOP's two direction-invariant positional encodings.

Li, Xu & Lu, "Hierarchical Opacity Propagation for Image Matting", 2020, Sec. 3.2.  Both
encodings depend only on the distance along a row or a column between query and key, never
on the direction ("natural image matting ... should be rotation-invariant"):

* *scale-insensitive positional encoding* (global HOP block, Eq. 4): ``e_d = W_PE r_d`` for a
  distance ``d <= s`` and ``e_s`` beyond the radius ``s = 7``, so that test images larger than
  the training crops meet no embedding they were not trained with;
* *local relative positional encoding* (local HOP block): the same construction over the
  fixed window, ``d = 0 .. window // 2``.

``r_d`` is the Transformer sinusoid (Vaswani et al. 2017).  The paper does not say which
position a distance is encoded at; the release (``networks/ops.py``, ``gen_pos_emb``) decides:
the table has rows ``0 .. R`` and row ``d`` is the sinusoid at position ``R - d``, sin block
then cos block, with ``R = s`` for the global block and ``R = window // 2 + 1`` for the local
one (so position 0 is never used there).  We follow it so the released ``W_PE`` weights mean
what they were trained to mean.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["clipped_distances", "sinusoid_table", "window_distances"]


def sinusoid_table(radius: int, dim: int) -> Tensor:
    """The sinusoids ``r_d`` for distances ``d = 0 .. radius``.

    Args:
        radius: R, the largest distance (the table has R + 1 rows).
        dim: D, the embedding width (even).

    Returns:
        (R + 1, D) float32; row d = ``concat(sin(p w_0 .. w_{D/2-1}), cos(p w_0 ..))`` at
        position ``p = R - d`` with ``w_k = 10000^(-2k / D)``.

    Example:
        >>> sinusoid_table(2, 4)[2]  # distance 2 = position 0
        tensor([0., 0., 1., 1.])
    """
    if dim < 2 or dim % 2:
        raise ValueError(f"the sinusoid width must be even and >= 2, got {dim}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    inverse_frequency = 1 / (10000 ** (torch.arange(0.0, dim, 2.0) / dim))
    positions = torch.arange(float(radius), -1.0, -1.0)
    angles = torch.outer(positions, inverse_frequency)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def clipped_distances(size: int, radius: int, device: torch.device | None = None) -> Tensor:
    """(size, size) int64 ``min(|i - j|, radius)``: the scale-insensitive encoding's row index
    for query ``i`` and key ``j`` along one axis (Eq. 4)."""
    index = torch.arange(size, device=device)
    return (index[:, None] - index[None, :]).abs().clamp(max=radius)


def window_distances(window: int) -> Tensor:
    """(window,) int64 ``|i - window // 2|``: the local encoding's row for window offset i."""
    return (torch.arange(window) - window // 2).abs()
