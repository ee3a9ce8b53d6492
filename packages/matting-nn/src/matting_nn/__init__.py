"""The network building blocks the matting toolkit's paper plugins share; torch only.

A piece two plugins need lives here once, one module per kind of block:

- :mod:`~matting_nn.resnet`: ResNet-34/50, ResNeXt-50 32×4d and ResNeXt-101 32×8d with
  torchvision's module names, dilation (output stride 8/16/32), wider stems, and the features
  and max-pool indices a decoder needs (AlphaGAN, HDMatt, HAttMatting).
- :mod:`~matting_nn.pretrained`: :func:`load_pretrained` of torchvision-format ImageNet
  weights with a report of every key, and the ``pretrained_backbone`` model option.
- :mod:`~matting_nn.aspp`: DeepLabv3's atrous spatial pyramid pooling.
- :mod:`~matting_nn.unpooling`: max-unpooling decoder blocks.
- :mod:`~matting_nn.patchgan`: pix2pix's PatchGAN discriminator (AlphaGAN, HAttMatting).
- :mod:`~matting_nn.spectral_norm`: the GCA/HOP releases' spectral normalisation.
- :mod:`~matting_nn.resnet_unet`: their spectral-normalised ResNet-34 U-Net.
- :mod:`~matting_nn.contextual_attention`: patch-based contextual attention with memory linear
  in the number of positions (GCA's blocks, HOP's global block).
- :mod:`~matting_nn.errors`: :class:`MattingNNError` and its subclasses.
"""

from matting_nn.aspp import ASPP, ASPPConv, ASPPPooling
from matting_nn.errors import BlockConfigError, MattingNNError, PretrainedWeightsError
from matting_nn.patchgan import PatchGANDiscriminator, patchgan_receptive_field
from matting_nn.pretrained import (
    PretrainedBackbone,
    PretrainedReport,
    file_sha256,
    load_backbone_option,
    load_pretrained,
    read_weights,
)
from matting_nn.resnet import (
    BACKBONES,
    BasicBlock,
    Bottleneck,
    ResNet,
    ResNetFeatures,
    create_backbone,
    dilation_for_output_stride,
    resnet34,
    resnet50,
    resnext50_32x4d,
    resnext101_32x8d,
)
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
from matting_nn.unpooling import MaxUnpool, UnpoolingBlock, conv_norm_relu

__version__ = "0.1.0"

__all__ = [
    "ASPP",
    "BACKBONES",
    "ASPPConv",
    "ASPPPooling",
    "BasicBlock",
    "BlockConfigError",
    "Bottleneck",
    "DecoderBlock",
    "EncoderBlock",
    "MattingNNError",
    "MaxUnpool",
    "PatchGANDiscriminator",
    "PretrainedBackbone",
    "PretrainedReport",
    "PretrainedWeightsError",
    "ResNet",
    "ResNetFeatures",
    "ResNetUNetDecoder",
    "ResNetUNetEncoder",
    "SpectralNorm",
    "UnpoolingBlock",
    "conv_norm_relu",
    "create_backbone",
    "dilation_for_output_stride",
    "file_sha256",
    "l2_normalize",
    "load_backbone_option",
    "load_pretrained",
    "patchgan_receptive_field",
    "read_weights",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "scaled_channels",
    "settle_spectral_norms",
    "shortcut_block",
    "sn_conv1x1",
    "sn_conv3x3",
    "sn_deconv4x4",
    "spectral_sigma",
]
