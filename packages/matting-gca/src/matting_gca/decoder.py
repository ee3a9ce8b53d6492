"""The GCA decoder: upsampling residual blocks fused with the encoder's shortcuts.

Li & Lu, AAAI 2020, Figure 2: the decoder adds the encoder features *before* each upsampling
block, carries the second GCA block (symmetric to the encoder's, at 1/8), and the forwarded
original input reaches the last convolution through its shortcut.  Details from the
official release (``networks/decoders/resnet_dec.py``, ``res_shortcut_dec.py``,
``res_gca_dec.py``; decoder ``res_gca_decoder_22``):

* BasicBlocks ``[2, 3, 3, 2]`` going 512 -> 256 -> 128 -> 64 -> 32 channels, each stage's
  first block upsamples by 2.  Block: conv1 = SN ConvTranspose2d(k4, s2, p1) (in -> in) when
  upsampling, else SN conv3x3; BN; LeakyReLU(0.2); SN conv3x3 (in -> planes); BN; + identity
  or [nearest x2 -> SN conv1x1 -> BN]; LeakyReLU(0.2).
* ``layer1 + fea5``, ``layer2 + fea4``, GCA, ``layer3 + fea3``, ``layer4 + fea2``, then
  SN ConvTranspose2d(32 -> 32, k4 s2 p1), BN, LeakyReLU(0.2), ``+ fea1``, Conv2d(32 -> 1, 3x3,
  bias), and ``alpha = (tanh(x) + 1) / 2``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from matting_gca.encoder import EncoderFeatures, scaled_channels, sn_conv1x1, sn_conv3x3
from matting_gca.guided_contextual_attention import GuidedContextualAttention
from matting_gca.spectral_norm import SpectralNorm

__all__ = ["DecoderBlock", "GCADecoder"]


def sn_deconv4x4(in_planes: int, out_planes: int) -> SpectralNorm:
    return SpectralNorm(
        nn.ConvTranspose2d(in_planes, out_planes, 4, stride=2, padding=1, bias=False)
    )


class DecoderBlock(nn.Module):
    """Decoder BasicBlock.

    Shape: (B, inplanes, H, W) -> (B, planes, H * stride, W * stride).
    """

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, upsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = (
            sn_deconv4x4(inplanes, inplanes) if stride > 1 else sn_conv3x3(inplanes, inplanes)
        )
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.activation = nn.LeakyReLU(0.2, inplace=True)
        self.conv2 = sn_conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.upsample = upsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.upsample is None else self.upsample(x)
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.activation(out + identity)


class GCADecoder(nn.Module):
    """The decoder of GCA Matting (the release's ``ResGuidedCxtAtten_Dec``).

    Args:
        layers: blocks per stage (release: ``(2, 3, 3, 2)``).
        width: channel multiplier (must match the encoder's).
        rate: matching rate of the GCA block.
        attention_chunk: queries per chunk in the GCA block (None: full matrix).

    Shape:
        - embedding: (B, 512 w, H/32, W/32)
        - features: the encoder's :class:`~matting_gca.encoder.EncoderFeatures`
        - returns ``(alpha (B, 1, H, W) in [0, 1], offset (B, 2, H/16, W/16), scale (B, 2))``.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] = (2, 3, 3, 2),
        width: float = 1.0,
        rate: int = 2,
        attention_chunk: int | None = 1024,
    ) -> None:
        super().__init__()

        def ch(n: int) -> int:
            return scaled_channels(n, width)

        mid = ch(32)
        self.conv1 = sn_deconv4x4(mid, ch(32))
        self.bn1 = nn.BatchNorm2d(ch(32))
        self.leaky_relu = nn.LeakyReLU(0.2, inplace=True)
        self.conv2 = nn.Conv2d(ch(32), 1, 3, padding=1)
        self.inplanes = ch(512)
        self.layer1 = self._make_layer(ch(256), layers[0])
        self.layer2 = self._make_layer(ch(128), layers[1])
        self.layer3 = self._make_layer(ch(64), layers[2])
        self.layer4 = self._make_layer(mid, layers[3])
        self._init_weights()
        self.gca = GuidedContextualAttention(ch(128), ch(128), rate=rate, chunk=attention_chunk)

    def _make_layer(self, planes: int, blocks: int) -> nn.Sequential:
        upsample = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            sn_conv1x1(self.inplanes, planes),
            nn.BatchNorm2d(planes),
        )
        blocks_ = [DecoderBlock(self.inplanes, planes, 2, upsample)]
        self.inplanes = planes
        blocks_ += [DecoderBlock(planes, planes) for _ in range(1, blocks)]
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

    def forward(
        self, embedding: Tensor, features: EncoderFeatures
    ) -> tuple[Tensor, Tensor, Tensor]:
        fea1, fea2, fea3, fea4, fea5 = features.shortcuts
        x = self.layer1(embedding) + fea5
        x = self.layer2(x) + fea4
        x, offset, scale = self.gca(features.image_feature, x, features.unknown)
        x = self.layer3(x) + fea3
        x = self.layer4(x) + fea2
        x = self.leaky_relu(self.bn1(self.conv1(x))) + fea1
        x = self.conv2(x)
        alpha = (torch.tanh(x) + 1.0) / 2.0
        return alpha, offset, scale
