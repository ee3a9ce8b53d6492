"""The GCA decoder: upsampling residual blocks fused with the encoder's shortcuts.

Li & Lu, AAAI 2020, Figure 2: the decoder adds the encoder features *before* each upsampling
block, carries the second GCA block (symmetric to the encoder's, at 1/8), and the forwarded
original input reaches the last convolution through its shortcut.  Details from the
official release (``networks/decoders/resnet_dec.py``, ``res_shortcut_dec.py``,
``res_gca_dec.py``; decoder ``res_gca_decoder_22``).  The stages and the output head are the
decoder GCA shares with HOP Matting (:class:`matting_nn.ResNetUNetDecoder`); the order
is ``layer1 + fea5``, ``layer2 + fea4``, GCA, ``layer3 + fea3``, ``layer4 + fea2``, output head
with ``+ fea1``.
"""

from __future__ import annotations

from torch import Tensor

from matting_gca.encoder import EncoderFeatures
from matting_gca.guided_contextual_attention import GuidedContextualAttention
from matting_nn import ResNetUNetDecoder

__all__ = ["GCADecoder"]


class GCADecoder(ResNetUNetDecoder):
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
        super().__init__(layers, width)
        ch = self.channels
        self.gca = GuidedContextualAttention(ch(128), ch(128), rate=rate, chunk=attention_chunk)

    def forward(
        self, embedding: Tensor, features: EncoderFeatures
    ) -> tuple[Tensor, Tensor, Tensor]:
        fea1, fea2, fea3, fea4, fea5 = features.shortcuts
        x = self.layer1(embedding) + fea5
        x = self.layer2(x) + fea4
        x, offset, scale = self.gca(features.image_feature, x, features.unknown)
        x = self.layer3(x) + fea3
        x = self.layer4(x) + fea2
        return self.output(x, fea1), offset, scale
