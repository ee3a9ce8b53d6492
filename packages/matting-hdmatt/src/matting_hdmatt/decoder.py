"""HDMatt's decoder: from the CPC output at 1/8 back to the input size, with unpooling.

The paper: "Pooling outputs from encoder blocks are skip-connected to the corresponding
decoder layers.  Following (Xu et al. 2017), we use unpooling operation for feature map
upsampling in decoder".  It gives no layer table; this decoder is AlphaGAN's Table 4 (the
published ResNet + ASPP + unpooling matting decoder, Lutz et al. 2018) on HDMatt's ResNet-34:
bilinear x2 to 1/4 with the layer1 skip, max-unpooling with the stem max-pool's indices to 1/2
with the stem skip, a transposed convolution to full size, then the input image
concatenated before the last convolutions and a sigmoid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_nn import UnpoolingBlock, conv_norm_relu

__all__ = ["HDMattDecoder"]

#: channels of a ResNet stem (what the max-pool indices index; the map unpooled must have it).
STEM_CHANNELS = 64


class HDMattDecoder(nn.Module):
    """The decoder; every width is AlphaGAN's times ``width`` (at least 8 channels).

    :param in_channels: channels of the CPC output (3 value maps).
    :param width: channel multiplier (1.0: AlphaGAN's Table 4 widths).

    Shape:
        ``x`` (B, in_channels, H/8, W/8), ``stem`` (B, 64, H/2, W/2), ``pool_indices``
        (B, 64, H/4, W/4), ``layer1`` (B, 64, H/4, W/4), ``image`` (B, 3, H, W) →
        (B, 1, H, W) alpha in [0, 1].
    """

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()

        def c(n: int) -> int:
            return max(8, round(n * width))

        self.bottleneck = conv_norm_relu(in_channels, c(256), 3)
        self.skip_layer1 = conv_norm_relu(64, c(48), 1)
        self.up_quarter = nn.Sequential(
            conv_norm_relu(c(256) + c(48), c(256)),
            conv_norm_relu(c(256), c(128)),
            conv_norm_relu(c(128), STEM_CHANNELS),
        )
        self.unpool = UnpoolingBlock(
            STEM_CHANNELS, (c(64),), skip_channels=STEM_CHANNELS, skip_reduced=c(32)
        )
        self.up_full = nn.Sequential(
            nn.ConvTranspose2d(c(64), c(64), 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(c(64)),
            nn.ReLU(inplace=True),
        )
        self.refine = nn.Sequential(conv_norm_relu(c(64) + 3, c(32)), conv_norm_relu(c(32), c(32)))
        self.alpha = nn.Conv2d(c(32), 1, 3, padding=1)

    def forward(
        self, x: Tensor, stem: Tensor, pool_indices: Tensor, layer1: Tensor, image: Tensor
    ) -> Tensor:
        x = self.bottleneck(x)
        x = F.interpolate(x, size=layer1.shape[-2:], mode="bilinear", align_corners=False)
        x = self.up_quarter(torch.cat([x, self.skip_layer1(layer1)], dim=1))
        x = self.unpool(x, pool_indices, skip=stem)
        x = self.up_full(x)
        x = self.refine(torch.cat([x, image], dim=1))
        return torch.sigmoid(self.alpha(x))
