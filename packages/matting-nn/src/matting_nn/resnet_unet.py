"""The spectral-normalised ResNet-34 U-Net that GCA Matting and HOP Matting are built on.

Both papers of Li et al. use "the first 11 blocks of ResNet-34" as the encoder of a U-Net with
spectral normalisation and batch normalisation on every convolution, shortcut blocks that
carry encoder features to the decoder, and an upsampling residual decoder (GCA, AAAI 2020,
"Baseline Structure"; HOP, 2020, Sec. 3.3 and Fig. 2).  The details come from the authors'
releases (Yaoyi-Li/GCA-Matting and Yaoyi-Li/HOP-Matting, ``networks/encoders/resnet_enc.py``,
``networks/decoders/resnet_dec.py``), which share this code; we follow them so that their
checkpoints load with unchanged names:

* encoder stem: SN conv3x3 s2 (6 -> 32), BN, ReLU; SN conv3x3 (32 -> 32), BN, ReLU (``x1``,
  1/2); SN conv3x3 s2 (32 -> 64), BN, ReLU (1/4);
* encoder BasicBlocks ``[3, 4, 4, 2]`` at 64, 128, 256, 512 channels (``layer1``, ``layer2``,
  ``layer3``, ``layer_bottleneck``); a strided block's shortcut is AvgPool2d(2) -> SN conv1x1
  -> BN (ResNet-D);
* five shortcut blocks (SN conv3x3, ReLU, BN, SN conv3x3, ReLU, BN -- ReLU *before* BN) at
  6 -> 32, 32, 64, 128 and 256 channels, from the input to 1/16;
* decoder BasicBlocks ``[2, 3, 3, 2]`` going 512 -> 256 -> 128 -> 64 -> 32, each stage's first
  block upsampling by 2: conv1 = SN ConvTranspose2d(k4, s2, p1) (in -> in) when upsampling,
  else SN conv3x3; BN; LeakyReLU(0.2); SN conv3x3 (in -> planes); BN; + identity or
  [nearest x2 -> SN conv1x1 -> BN]; LeakyReLU(0.2);
* decoder output: SN ConvTranspose2d(32 -> 32, k4 s2 p1), BN, LeakyReLU(0.2), ``+ fea1``,
  Conv2d(32 -> 1, 3x3, bias), ``alpha = (tanh(x) + 1) / 2``.

The attention blocks each paper inserts live in its plugin; :class:`ResNetUNetEncoder` and
:class:`ResNetUNetDecoder` build the shared modules and the plugins write the forward pass.
``width`` scales every channel count; ``bn_eps`` is the eps of every BatchNorm (the HOP
release makes it a config value: 1e-3 by default, "large BN eps for FP16 training").
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from matting_nn.spectral_norm import SpectralNorm

__all__ = [
    "DecoderBlock",
    "EncoderBlock",
    "ResNetUNetDecoder",
    "ResNetUNetEncoder",
    "scaled_channels",
    "shortcut_block",
    "sn_conv1x1",
    "sn_conv3x3",
    "sn_deconv4x4",
]

#: BatchNorm eps of the GCA release (PyTorch's default).
DEFAULT_BN_EPS = 1e-5


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1 (``width=1`` gives the releases' numbers)."""
    return max(1, round(channels * width))


def sn_conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> SpectralNorm:
    """Spectral-normalised 3x3 convolution, zero padding 1, no bias."""
    return SpectralNorm(nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False))


def sn_conv1x1(in_planes: int, out_planes: int) -> SpectralNorm:
    """Spectral-normalised 1x1 convolution, no bias."""
    return SpectralNorm(nn.Conv2d(in_planes, out_planes, 1, bias=False))


def sn_deconv4x4(in_planes: int, out_planes: int) -> SpectralNorm:
    """Spectral-normalised ConvTranspose2d(k4, s2, p1), no bias: doubles H and W."""
    return SpectralNorm(
        nn.ConvTranspose2d(in_planes, out_planes, 4, stride=2, padding=1, bias=False)
    )


class EncoderBlock(nn.Module):
    """Residual BasicBlock: SN conv3x3(stride), BN, ReLU, SN conv3x3, BN, + shortcut, ReLU.

    Shape: (B, inplanes, H, W) -> (B, planes, H / stride, W / stride).
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        bn_eps: float = DEFAULT_BN_EPS,
    ) -> None:
        super().__init__()
        self.conv1 = sn_conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes, eps=bn_eps)
        self.activation = nn.ReLU(inplace=True)
        self.conv2 = sn_conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=bn_eps)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.activation(out + identity)


class DecoderBlock(nn.Module):
    """Decoder BasicBlock (see the module docstring).

    Shape: (B, inplanes, H, W) -> (B, planes, H * stride, W * stride).
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        upsample: nn.Module | None = None,
        bn_eps: float = DEFAULT_BN_EPS,
    ) -> None:
        super().__init__()
        self.conv1 = (
            sn_deconv4x4(inplanes, inplanes) if stride > 1 else sn_conv3x3(inplanes, inplanes)
        )
        self.bn1 = nn.BatchNorm2d(inplanes, eps=bn_eps)
        self.activation = nn.LeakyReLU(0.2, inplace=True)
        self.conv2 = sn_conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=bn_eps)
        self.upsample = upsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.upsample is None else self.upsample(x)
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.activation(out + identity)


def shortcut_block(inplanes: int, planes: int, bn_eps: float = DEFAULT_BN_EPS) -> nn.Sequential:
    """SN conv3x3, ReLU, BN, SN conv3x3, ReLU, BN (the releases put ReLU before BN here).

    Shape: (B, inplanes, H, W) -> (B, planes, H, W).
    """
    return nn.Sequential(
        sn_conv3x3(inplanes, planes),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(planes, eps=bn_eps),
        sn_conv3x3(planes, planes),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(planes, eps=bn_eps),
    )


class ResNetUNetEncoder(nn.Module):
    """The shared encoder modules: stem, four residual stages and five shortcut blocks.

    Subclasses add their attention / appearance branches after calling ``__init__`` (module
    creation order fixes the random initialisation, so it is part of the contract) and write
    ``forward`` from :meth:`stem`, the stages and the shortcuts.

    Args:
        layers: BasicBlocks per stage (releases: ``(3, 4, 4, 2)``).
        width: channel multiplier.
        bn_eps: eps of every BatchNorm.
        in_channels: network input channels (6 = RGB + one-hot trimap).

    Attributes:
        conv1, conv2, conv3, bn1, bn2, bn3: the stem.
        layer1, layer2, layer3, layer_bottleneck: stages at 1/4, 1/8, 1/16 and 1/32.
        shortcut: ``ModuleList`` of the five shortcut blocks (input, x1, 1/4, 1/8, 1/16).
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] = (3, 4, 4, 2),
        width: float = 1.0,
        bn_eps: float = DEFAULT_BN_EPS,
        in_channels: int = 6,
    ) -> None:
        super().__init__()
        self.width = width
        self.bn_eps = bn_eps
        ch = self.channels
        mid = ch(32)
        self.conv1 = SpectralNorm(nn.Conv2d(in_channels, mid, 3, stride=2, padding=1, bias=False))
        self.conv2 = SpectralNorm(nn.Conv2d(mid, mid, 3, stride=1, padding=1, bias=False))
        self.conv3 = SpectralNorm(nn.Conv2d(mid, ch(64), 3, stride=2, padding=1, bias=False))
        self.bn1 = nn.BatchNorm2d(mid, eps=bn_eps)
        self.bn2 = nn.BatchNorm2d(mid, eps=bn_eps)
        self.bn3 = nn.BatchNorm2d(ch(64), eps=bn_eps)
        self.activation = nn.ReLU(inplace=True)
        self.inplanes = ch(64)
        self.layer1 = self._make_layer(ch(64), layers[0], stride=1)
        self.layer2 = self._make_layer(ch(128), layers[1], stride=2)
        self.layer3 = self._make_layer(ch(256), layers[2], stride=2)
        self.layer_bottleneck = self._make_layer(ch(512), layers[3], stride=2)
        self._init_backbone()

        shortcut_in = (in_channels, mid, ch(64), ch(128), ch(256))
        shortcut_out = (ch(32), mid, ch(64), ch(128), ch(256))
        self.shortcut = nn.ModuleList(
            shortcut_block(i, o, bn_eps) for i, o in zip(shortcut_in, shortcut_out, strict=True)
        )

    def channels(self, n: int) -> int:
        """The release's channel count ``n`` scaled by this encoder's width."""
        return scaled_channels(n, self.width)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample: nn.Module | None = None
        if stride != 1:
            downsample = nn.Sequential(
                nn.AvgPool2d(2, stride),
                sn_conv1x1(self.inplanes, planes),
                nn.BatchNorm2d(planes, eps=self.bn_eps),
            )
        elif self.inplanes != planes:
            downsample = nn.Sequential(
                sn_conv1x1(self.inplanes, planes), nn.BatchNorm2d(planes, eps=self.bn_eps)
            )
        blocks_ = [EncoderBlock(self.inplanes, planes, stride, downsample, self.bn_eps)]
        self.inplanes = planes
        blocks_ += [EncoderBlock(planes, planes, bn_eps=self.bn_eps) for _ in range(1, blocks)]
        return nn.Sequential(*blocks_)

    def _init_backbone(self) -> None:
        # Release initialisation of the stem and residual stages (the shortcut blocks keep
        # PyTorch's default conv init there): xavier-uniform convs, BN (1, 0), the last BN of
        # every residual branch zeroed, and the stem's trimap input channels zeroed.
        for m in self.modules():
            if isinstance(m, SpectralNorm):
                nn.init.xavier_uniform_(m.module.weight_bar)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, EncoderBlock):
                nn.init.zeros_(m.bn2.weight)
        self.conv1.module.weight_bar.data[:, 3:] = 0

    def stem(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(B, in, H, W) -> ``(x1 (B, 32 w, H/2, W/2), out (B, 64 w, H/4, W/4))``."""
        out = self.activation(self.bn1(self.conv1(x)))
        x1 = self.activation(self.bn2(self.conv2(out)))
        out = self.activation(self.bn3(self.conv3(x1)))
        return x1, out


class ResNetUNetDecoder(nn.Module):
    """The shared decoder modules: four upsampling stages and the full-resolution output.

    Subclasses add their attention blocks after calling ``__init__`` and write ``forward``
    from the stages and :meth:`output`.

    Args:
        layers: blocks per stage (releases: ``(2, 3, 3, 2)``).
        width: channel multiplier (must match the encoder's).
        bn_eps: eps of every BatchNorm.

    Attributes:
        layer1 .. layer4: stages going 512 -> 256 -> 128 -> 64 -> 32 channels, x2 each.
        conv1, bn1, conv2: the output head (see the module docstring).
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] = (2, 3, 3, 2),
        width: float = 1.0,
        bn_eps: float = DEFAULT_BN_EPS,
    ) -> None:
        super().__init__()
        self.width = width
        self.bn_eps = bn_eps
        ch = self.channels
        self.conv1 = sn_deconv4x4(ch(32), ch(32))
        self.bn1 = nn.BatchNorm2d(ch(32), eps=bn_eps)
        self.leaky_relu = nn.LeakyReLU(0.2, inplace=True)
        self.conv2 = nn.Conv2d(ch(32), 1, 3, padding=1)
        self.inplanes = ch(512)
        self.layer1 = self._make_layer(ch(256), layers[0])
        self.layer2 = self._make_layer(ch(128), layers[1])
        self.layer3 = self._make_layer(ch(64), layers[2])
        self.layer4 = self._make_layer(ch(32), layers[3])
        self._init_weights()

    def channels(self, n: int) -> int:
        """The release's channel count ``n`` scaled by this decoder's width."""
        return scaled_channels(n, self.width)

    def _make_layer(self, planes: int, blocks: int) -> nn.Sequential:
        upsample = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            sn_conv1x1(self.inplanes, planes),
            nn.BatchNorm2d(planes, eps=self.bn_eps),
        )
        blocks_ = [DecoderBlock(self.inplanes, planes, 2, upsample, self.bn_eps)]
        self.inplanes = planes
        blocks_ += [DecoderBlock(planes, planes, bn_eps=self.bn_eps) for _ in range(1, blocks)]
        return nn.Sequential(*blocks_)

    def _init_weights(self) -> None:
        # Release initialisation: xavier-uniform for Conv2d weights (SN ones included; the
        # transposed convolutions keep PyTorch's default), BN (1, 0), and the last BN of
        # every residual branch zeroed.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight_bar if hasattr(m, "weight_bar") else m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, DecoderBlock):
                nn.init.zeros_(m.bn2.weight)

    def output(self, x: Tensor, fea1: Tensor) -> Tensor:
        """The head: (B, 32 w, H/2, W/2) features and the full-resolution shortcut ``fea1``
        (B, 32 w, H, W) -> alpha (B, 1, H, W) in [0, 1]."""
        x = self.leaky_relu(self.bn1(self.conv1(x))) + fea1
        return (torch.tanh(self.conv2(x)) + 1.0) / 2.0
