"""The GCA encoder: a ResNet-34-style stem with shortcut branches, image-feature block and GCA.

Li & Lu, AAAI 2020, Figure 2 and "Baseline Structure".  The paper fixes the idea (stacked
residual blocks, spectral norm + BN on every convolution, shortcut blocks of two layers, the
original input forwarded through its own shortcut, an image-feature block of three stride-2
convolutions on the RGB image alone, a GCA block at 1/8); the official release
(``networks/encoders/resnet_enc.py``, ``res_gca_enc.py``; config ``gca-dist.toml``,
encoder ``resnet_gca_encoder_29``) decides the details, which we follow so its checkpoints
load with unchanged names:

* stem: SN conv3x3 s2 (6 -> 32), BN, ReLU; SN conv3x3 (32 -> 32), BN, ReLU (``x1``, 1/2);
  SN conv3x3 s2 (32 -> 64), BN, ReLU (1/4);
* BasicBlocks ``[3, 4, 4, 2]`` at 64, 128, 256, 512 channels; a strided block's shortcut is
  AvgPool2d(2) -> SN conv1x1 -> BN (ResNet-D);
* the encoder GCA block sits after ``layer2`` (1/8, 128 channels);
* shortcut blocks (SN conv3x3, ReLU, BN, SN conv3x3, ReLU, BN -- ReLU *before* BN) on the
  input (6 -> 32), ``x1`` (32), ``layer1`` (64), the GCA output (128) and ``layer3`` (256);
* image-feature block ``guidance_head``: 3 x [ReflectionPad(1), SN conv3x3 s2, ReLU, BN],
  3 -> 16 -> 32 -> 128 channels (1/8);
* the unknown map for the GCA blocks: the one-hot trimap's unknown channel (input channel 4)
  downsampled with legacy 'nearest' by 8.

``width`` scales every channel count (``gca-small`` uses 0.5); ``width=1`` is the release.
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn

from matting_gca.guided_contextual_attention import GuidedContextualAttention
from matting_gca.spectral_norm import SpectralNorm

__all__ = ["EncoderBlock", "EncoderFeatures", "GCAEncoder", "scaled_channels"]


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1 (``width=1`` gives the release's numbers)."""
    return max(1, round(channels * width))


def sn_conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> SpectralNorm:
    return SpectralNorm(nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False))


def sn_conv1x1(in_planes: int, out_planes: int) -> SpectralNorm:
    return SpectralNorm(nn.Conv2d(in_planes, out_planes, 1, bias=False))


class EncoderBlock(nn.Module):
    """Residual BasicBlock: SN conv3x3(stride), BN, ReLU, SN conv3x3, BN, + shortcut, ReLU.

    Shape: (B, inplanes, H, W) -> (B, planes, H / stride, W / stride).
    """

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = sn_conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.activation = nn.ReLU(inplace=True)
        self.conv2 = sn_conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.activation(out + identity)


class EncoderFeatures(NamedTuple):
    """Everything the decoder needs from the encoder.

    - ``shortcuts``: (fea1 .. fea5) at 1, 1/2, 1/4, 1/8, 1/16 of the input size.
    - ``image_feature``: (B, 128 w, H/8, W/8), the image-feature block's output.
    - ``unknown``: (B, 1, H/8, W/8), the unknown region.
    - ``offset``, ``scale``: the encoder GCA block's offsets and [unknown, known] weights.
    """

    shortcuts: tuple[Tensor, Tensor, Tensor, Tensor, Tensor]
    image_feature: Tensor
    unknown: Tensor
    offset: Tensor
    scale: Tensor


class GCAEncoder(nn.Module):
    """The encoder of GCA Matting (the release's ``ResGuidedCxtAtten``).

    Args:
        layers: BasicBlocks per stage (release: ``(3, 4, 4, 2)``).
        width: channel multiplier.
        rate: matching rate of the GCA block.
        attention_chunk: queries per chunk in the GCA block (None: full matrix).

    Shape:
        - input: (B, 6, H, W) = cat(normalised RGB, one-hot trimap [bg, unknown, fg]), H and W
          multiples of 32.
        - returns ``(embedding (B, 512 w, H/32, W/32), EncoderFeatures)``.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] = (3, 4, 4, 2),
        width: float = 1.0,
        rate: int = 2,
        attention_chunk: int | None = 1024,
    ) -> None:
        super().__init__()

        def ch(n: int) -> int:
            return scaled_channels(n, width)

        in_channels = 6
        mid = ch(32)
        self.conv1 = SpectralNorm(nn.Conv2d(in_channels, mid, 3, stride=2, padding=1, bias=False))
        self.conv2 = SpectralNorm(nn.Conv2d(mid, mid, 3, stride=1, padding=1, bias=False))
        self.conv3 = SpectralNorm(nn.Conv2d(mid, ch(64), 3, stride=2, padding=1, bias=False))
        self.bn1 = nn.BatchNorm2d(mid)
        self.bn2 = nn.BatchNorm2d(mid)
        self.bn3 = nn.BatchNorm2d(ch(64))
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
            self._make_shortcut(i, o) for i, o in zip(shortcut_in, shortcut_out, strict=True)
        )
        head: list[nn.Module] = []
        for i, o in ((3, ch(16)), (ch(16), ch(32)), (ch(32), ch(128))):
            head += [
                nn.ReflectionPad2d(1),
                SpectralNorm(nn.Conv2d(i, o, 3, stride=2, padding=0, bias=False)),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(o),
            ]
        self.guidance_head = nn.Sequential(*head)
        self.gca = GuidedContextualAttention(ch(128), ch(128), rate=rate, chunk=attention_chunk)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample: nn.Module | None = None
        if stride != 1:
            downsample = nn.Sequential(
                nn.AvgPool2d(2, stride), sn_conv1x1(self.inplanes, planes), nn.BatchNorm2d(planes)
            )
        elif self.inplanes != planes:
            downsample = nn.Sequential(sn_conv1x1(self.inplanes, planes), nn.BatchNorm2d(planes))
        blocks_ = [EncoderBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        blocks_ += [EncoderBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*blocks_)

    @staticmethod
    def _make_shortcut(inplanes: int, planes: int) -> nn.Sequential:
        return nn.Sequential(
            sn_conv3x3(inplanes, planes),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(planes),
            sn_conv3x3(planes, planes),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(planes),
        )

    def _init_backbone(self) -> None:
        # Release initialisation of the stem and residual stages (the shortcut blocks and the
        # image-feature block keep PyTorch's default conv init there): xavier-uniform convs,
        # BN (1, 0), the last BN of every residual branch zeroed, and the stem's trimap input
        # channels zeroed.
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

    def forward(self, x: Tensor) -> tuple[Tensor, EncoderFeatures]:
        out = self.activation(self.bn1(self.conv1(x)))
        x1 = self.activation(self.bn2(self.conv2(out)))
        out = self.activation(self.bn3(self.conv3(x1)))

        image_feature = self.guidance_head(x[:, :3])
        # Input channel 4 = the one-hot trimap's "unknown"; legacy nearest takes pixel (8i, 8j).
        unknown = F.interpolate(x[:, 4:5], scale_factor=1 / 8, mode="nearest")

        x2 = self.layer1(out)
        x3 = self.layer2(x2)
        x3, offset, scale = self.gca(image_feature, x3, unknown)
        x4 = self.layer3(x3)
        embedding = self.layer_bottleneck(x4)

        shortcuts = (
            self.shortcut[0](x),
            self.shortcut[1](x1),
            self.shortcut[2](x2),
            self.shortcut[3](x3),
            self.shortcut[4](x4),
        )
        return embedding, EncoderFeatures(shortcuts, image_feature, unknown, offset, scale)
