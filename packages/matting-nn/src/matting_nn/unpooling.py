"""Max-unpooling decoder blocks: upsample with the encoder's max-pool indices.

Deep Image Matting (Xu et al. 2017) upsamples its decoder by unpooling with the indices of the
encoder's max-pools, which keeps the positions of the strongest responses and with them sharp
boundaries; IndexNet (Lu et al. 2019) measured unpooling to beat bilinear and transposed
upsampling for matting.  AlphaGAN (Table 4: "2×2 unpool, stride 2", "the maximum indices are
saved and used in the unpooling layer") and HDMatt ("we use unpooling operation for feature
map upsampling in decoder") unpool a ResNet's stem max-pool
(:attr:`matting_nn.ResNetFeatures.pool_indices`).

* :class:`MaxUnpool`: the inverse of a max-pool, each value put back where the maximum came
  from, zeros elsewhere.
* :class:`UnpoolingBlock`: unpool, then concatenate an encoder skip (optionally reduced by a
  1×1 conv → norm → ReLU, AlphaGAN's "skip from conv1_x, 1×1, 32"), then 3×3 conv → norm →
  ReLU layers.
* :func:`conv_norm_relu`: the conv → norm → ReLU unit the papers' decoders are made of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_nn.errors import BlockConfigError

__all__ = ["MaxUnpool", "UnpoolingBlock", "conv_norm_relu"]


def conv_norm_relu(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    *,
    dilation: int = 1,
    norm_layer: Callable[[int], nn.Module] | None = None,
) -> nn.Sequential:
    """Conv (no bias, "same" padding for odd kernels) → norm → ReLU; modules ``0``, ``1``,
    ``2``.

    :param norm_layer: ``norm_layer(channels)``; BatchNorm2d by default.
    """
    if in_channels < 1 or out_channels < 1:
        raise BlockConfigError(
            f"conv_norm_relu: channels must be >= 1, got {in_channels} → {out_channels}"
        )
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise BlockConfigError(f"conv_norm_relu: kernel_size must be odd, got {kernel_size}")
    norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False
        ),
        norm_layer(out_channels),
        nn.ReLU(inplace=True),
    )


class MaxUnpool(nn.Module):
    """Undo a max-pool with its indices (``F.max_unpool2d``), checking that they fit.

    :param kernel_size, stride, padding: those of the max-pool being undone (a ResNet stem's:
        3, 2, 1).  They only set the default output size; the positions come from the indices.

    Shape:
        ``x`` (B, C, h, w) and ``indices`` (B, C, h, w) int64 from ``max_pool2d(...,
        return_indices=True)`` on a (B, C, H, W) map → (B, C, H, W) with
        ``output_size = (H, W)``.  Give ``output_size`` whenever H or W is odd: from the
        pooled size alone it is ambiguous.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 2, padding: int = 1) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(
        self, x: Tensor, indices: Tensor, output_size: Sequence[int] | None = None
    ) -> Tensor:
        if x.shape != indices.shape:
            raise BlockConfigError(
                f"MaxUnpool: the map {tuple(x.shape)} and the pool indices "
                f"{tuple(indices.shape)} must have the same shape (reduce the channels to the "
                "pooled map's before unpooling)"
            )
        size = None if output_size is None else tuple(output_size)[-2:]
        return F.max_unpool2d(
            x, indices, self.kernel_size, self.stride, self.padding, output_size=size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class UnpoolingBlock(nn.Module):
    """Max-unpool with the encoder's indices, concatenate a skip, then 3×3 conv → norm → ReLU.

    :param in_channels: channels of the map to unpool (equal to the pooled map's: 64 for a
        ResNet stem).
    :param out_channels: one 3×3 conv → norm → ReLU per entry, e.g. ``(64,)`` or
        ``(64, 32)``; an int is one layer.
    :param skip_channels: channels of the skip concatenated after unpooling (0: none).
    :param skip_reduced: reduce the skip to this many channels by a 1×1 conv → norm → ReLU
        first (``skip_reduction``); None concatenates it as it is.
    :param kernel_size, stride, padding: of the max-pool being undone.
    :param norm_layer: ``norm_layer(channels)``; BatchNorm2d by default.

    Modules: ``unpool``, ``skip_reduction`` (if any), ``convs.0``, ``convs.1``, …

    Shape:
        ``x`` (B, in_channels, h, w), ``indices`` (B, in_channels, h, w), ``skip``
        (B, skip_channels, H, W) → (B, out_channels[-1], H, W).  Without a skip, (H, W) is
        ``output_size``.

    Example:
        >>> block = UnpoolingBlock(64, (64, 32), skip_channels=64, skip_reduced=32).eval()
        >>> stem = torch.randn(1, 64, 33, 40)
        >>> pooled, idx = torch.nn.functional.max_pool2d(stem, 3, 2, 1, return_indices=True)
        >>> block(pooled, idx, skip=stem).shape
        torch.Size([1, 32, 33, 40])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | Sequence[int],
        *,
        skip_channels: int = 0,
        skip_reduced: int | None = None,
        kernel_size: int = 3,
        stride: int = 2,
        padding: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        widths = (out_channels,) if isinstance(out_channels, int) else tuple(out_channels)
        if not widths:
            raise BlockConfigError("UnpoolingBlock: out_channels must name at least one layer")
        if skip_channels < 0:
            raise BlockConfigError(
                f"UnpoolingBlock: skip_channels must be >= 0, got {skip_channels}"
            )
        if skip_reduced is not None and not skip_channels:
            raise BlockConfigError("UnpoolingBlock: skip_reduced needs skip_channels")
        self.in_channels = in_channels
        self.skip_channels = skip_channels
        self.unpool = MaxUnpool(kernel_size, stride, padding)
        self.skip_reduction = (
            None
            if skip_reduced is None
            else conv_norm_relu(skip_channels, skip_reduced, 1, norm_layer=norm_layer)
        )
        channels = in_channels + (skip_channels if skip_reduced is None else skip_reduced)
        layers = []
        for width in widths:
            layers.append(conv_norm_relu(channels, width, 3, norm_layer=norm_layer))
            channels = width
        self.convs = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(
        self,
        x: Tensor,
        indices: Tensor,
        skip: Tensor | None = None,
        output_size: Sequence[int] | None = None,
    ) -> Tensor:
        if (skip is None) != (self.skip_channels == 0):
            want = f"a skip of {self.skip_channels} channels" if self.skip_channels else "no skip"
            raise BlockConfigError(f"UnpoolingBlock: built for {want}")
        if skip is not None and output_size is None:
            output_size = skip.shape[-2:]
        x = self.unpool(x, indices, output_size)
        if skip is not None:
            if skip.shape[-2:] != x.shape[-2:] or skip.shape[1] != self.skip_channels:
                raise BlockConfigError(
                    f"UnpoolingBlock: skip {tuple(skip.shape)} does not fit the unpooled map "
                    f"{tuple(x.shape)} ({self.skip_channels} channels expected)"
                )
            if self.skip_reduction is not None:
                skip = self.skip_reduction(skip)
            x = torch.cat([x, skip], dim=1)
        return self.convs(x)
