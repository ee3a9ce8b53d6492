"""The GCA encoder: the shared ResNet-34 U-Net encoder with an image-feature block and GCA.

Li & Lu, AAAI 2020, Figure 2 and "Baseline Structure".  The paper fixes the idea (stacked
residual blocks, spectral norm + BN on every convolution, shortcut blocks of two layers, the
original input forwarded through its own shortcut, an image-feature block of three stride-2
convolutions on the RGB image alone, a GCA block at 1/8); the official release
(``networks/encoders/resnet_enc.py``, ``res_gca_enc.py``; config ``gca-dist.toml``,
encoder ``resnet_gca_encoder_29``) decides the details, which we follow so its checkpoints
load with unchanged names.  The stem, stages and shortcut blocks are the backbone GCA shares
with HOP Matting (:class:`matting_nn.ResNetUNetEncoder`); GCA adds:

* the encoder GCA block after ``layer2`` (1/8, 128 channels), whose output (not ``layer2``'s)
  feeds the fourth shortcut block;
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
from matting_nn import ResNetUNetEncoder, SpectralNorm

__all__ = ["EncoderFeatures", "GCAEncoder"]


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


class GCAEncoder(ResNetUNetEncoder):
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
        super().__init__(layers, width)
        ch = self.channels
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

    def forward(self, x: Tensor) -> tuple[Tensor, EncoderFeatures]:
        x1, out = self.stem(x)

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
