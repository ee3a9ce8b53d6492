"""Atrous spatial pyramid pooling, the DeepLabv3 form (Chen et al., 2017, Sec. 3.3).

Parallel branches over the backbone's last feature map: one 1×1 convolution, one 3×3
convolution per atrous rate and, optionally, image pooling (global average → 1×1 convolution →
broadcast back to the map's size); each branch is conv → norm → ReLU with ``out_channels``
channels, the branches are concatenated and projected by a 1×1 conv → norm → ReLU (→ dropout).

DeepLabv3 uses rates (6, 12, 18) at output stride 16 and doubles them at output stride 8; the
matting papers pick their own: AlphaGAN's Table 4 has (6, 12, 18) with image pooling at output
stride 8, HDMatt and HAttMatting cite DeepLabv3.  Modules and names follow torchvision's
``ASPP`` (``convs.0`` the 1×1 branch, ``convs.1…`` the atrous ones, the image-pooling branch
last; ``project``), so a DeepLabv3 head saved by torchvision (under ``classifier.0.``) loads.
torchvision's head drops out with p = 0.5 after the projection; the paper states no dropout,
so ``dropout`` is 0 here unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_nn.errors import BlockConfigError

__all__ = ["ASPP", "ASPPConv", "ASPPPooling"]


class ASPPConv(nn.Sequential):
    """3×3 convolution with dilation ``rate`` (padding ``rate``, same size) → norm → ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        rate: int,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=rate, dilation=rate, bias=False),
            norm_layer(out_channels),
            nn.ReLU(inplace=True),
        )


class ASPPPooling(nn.Sequential):
    """Image pooling: global average → 1×1 conv → norm → ReLU, broadcast to the input's size.

    With BatchNorm this branch sees one value per channel and image, so a training batch of
    one image has no batch statistics to give it: for such a batch the branch normalises with
    its running statistics, as in evaluation, and leaves them unchanged (its affine weights
    still learn), where torch's BatchNorm would raise. Larger batches train it normally.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            norm_layer(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        pool, conv, norm, relu = self
        if self.training and x.shape[0] == 1 and isinstance(norm, nn.modules.batchnorm._BatchNorm):
            pooled = relu(
                F.batch_norm(
                    conv(pool(x)),
                    norm.running_mean,
                    norm.running_var,
                    norm.weight,
                    norm.bias,
                    training=False,
                    eps=norm.eps,
                )
            )
        else:
            pooled = super().forward(x)
        # bilinear upsampling of a 1×1 map (torchvision's) is a broadcast
        return pooled.expand(-1, -1, *x.shape[-2:])


class ASPP(nn.Module):
    """DeepLabv3's atrous spatial pyramid pooling.

    :param in_channels: channels of the input map (2048 for ResNet-50's layer4, 512 for
        ResNet-34's).
    :param out_channels: channels of every branch and of the output (256 in DeepLabv3 and
        AlphaGAN).
    :param rates: atrous rates of the 3×3 branches, each >= 1 (DeepLabv3 at output stride
        16: (6, 12, 18); at 8: (12, 24, 36)).
    :param image_pooling: add the image-level branch.
    :param dropout: dropout probability after the projection (torchvision: 0.5).
    :param norm_layer: ``norm_layer(channels)``; BatchNorm2d by default.

    Shape:
        (B, in_channels, H, W) → (B, out_channels, H, W).

    Example:
        >>> aspp = ASPP(512, 64, rates=(6, 12, 18)).eval()
        >>> aspp(torch.zeros(2, 512, 5, 7)).shape
        torch.Size([2, 64, 5, 7])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 256,
        rates: Sequence[int] = (6, 12, 18),
        *,
        image_pooling: bool = True,
        dropout: float = 0.0,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        rates = tuple(rates)
        if in_channels < 1 or out_channels < 1:
            raise BlockConfigError(
                f"ASPP: in_channels and out_channels must be >= 1, got {in_channels}, "
                f"{out_channels}"
            )
        if any(not isinstance(r, int) or r < 1 for r in rates):
            raise BlockConfigError(f"ASPP: rates must be integers >= 1, got {rates}")
        if not 0.0 <= dropout < 1.0:
            raise BlockConfigError(f"ASPP: dropout must be in [0, 1), got {dropout}")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.rates = rates
        self.image_pooling = image_pooling
        branches: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                norm_layer(out_channels),
                nn.ReLU(inplace=True),
            )
        ]
        branches += [ASPPConv(in_channels, out_channels, r, norm_layer) for r in rates]
        if image_pooling:
            branches.append(ASPPPooling(in_channels, out_channels, norm_layer))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False),
            norm_layer(out_channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))
