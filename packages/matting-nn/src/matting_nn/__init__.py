"""Building blocks shared by several paper plugins (a piece two plugins need lives here once).

- :mod:`~matting_nn.spectral_norm`: the GCA/HOP releases' spectral normalisation.
- :mod:`~matting_nn.resnet_unet`: their spectral-normalised ResNet-34 U-Net.
- :mod:`~matting_nn.contextual_attention`: patch-based contextual attention with
  memory linear in the number of positions (GCA's blocks, HOP's global block).
"""

from matting_nn.resnet_unet import (
    DecoderBlock,
    EncoderBlock,
    ResNetUNetDecoder,
    ResNetUNetEncoder,
    scaled_channels,
    shortcut_block,
    sn_conv1x1,
    sn_conv3x3,
    sn_deconv4x4,
)
from matting_nn.spectral_norm import (
    SpectralNorm,
    l2_normalize,
    settle_spectral_norms,
    spectral_sigma,
)

__all__ = [
    "DecoderBlock",
    "EncoderBlock",
    "ResNetUNetDecoder",
    "ResNetUNetEncoder",
    "SpectralNorm",
    "l2_normalize",
    "scaled_channels",
    "settle_spectral_norms",
    "shortcut_block",
    "sn_conv1x1",
    "sn_conv3x3",
    "sn_deconv4x4",
    "spectral_sigma",
]
