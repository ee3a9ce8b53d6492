"""HOP's decoder: the ResNet-34 U-Net decoder with one global and three local HOP blocks.

Li, Xu & Lu, 2020, Fig. 2: "In our implementation, we have a 5-level decoder and 3 local HOP
blocks."  The global HOP block sits on the bottleneck features (1/16, after the first
upsampling stage), each local HOP block after one of the next three stages (1/8, 1/4, 1/2);
the appearance features of the matching resolution guide each block.  The order within a
level (shortcut sum, then HOP block) is the release's (``res_localHOP_posEmb_dec.py``):

    x = layer1(embedding) + fea5;  x = global HOP(f^A_4, x, trimap at 1/16)
    x = layer2(x) + fea4;          x = local HOP 1(f^A_3, x)
    x = layer3(x) + fea3;          x = local HOP 2(f^A_2, x)
    x = layer4(x) + fea2;          x = local HOP 3(f^A_1, x)
    alpha = output head(x, fea1)

The stages and the output head are shared with GCA (:class:`matting_nn.ResNetUNetDecoder`).
"""

from __future__ import annotations

from torch import Tensor

from matting_hop.global_hop import GlobalHOPBlock
from matting_hop.local_hop import LocalHOPBlock
from matting_nn import ResNetUNetDecoder

__all__ = ["HOPDecoder"]


class HOPDecoder(ResNetUNetDecoder):
    """The HOP decoder (the release's ``ResLocalHOP_PosEmb_Dec``).

    Args:
        layers: blocks per stage (release: ``(2, 3, 3, 2)``).
        width: channel multiplier (must match the encoders').
        bn_eps: eps of every BatchNorm.
        global_rate: the global HOP block's matching rate (1 or 2).
        local_window: the local HOP blocks' window side.
        pe_radius: the global block's scale-insensitive positional-encoding radius.
        positional_encoding: PosE in every HOP block.
        trimap_embedding: TriE in the global block.
        attention_chunk: queries per band in the global block (None: full tensors).

    Shape:
        - embedding: (B, 512 w, H/32, W/32)
        - shortcuts: fea1 .. fea5 of the opacity encoder
        - appearance: f^A_1 .. f^A_4 of the appearance encoder
        - trimap: (B, 3, H/16, W/16) one-hot
        - returns ``(alpha (B, 1, H, W) in [0, 1], offsets (B, 2, H/16/rate, W/16/rate),
          propagations)``: the global block's offsets and the local blocks' propagation maps
          (B, 2, H/8 | H/4 | H/2, ...), see :class:`~matting_hop.local_hop.LocalHOPBlock`.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] = (2, 3, 3, 2),
        width: float = 1.0,
        bn_eps: float = 1e-3,
        *,
        global_rate: int = 2,
        local_window: int = 9,
        pe_radius: int = 7,
        positional_encoding: bool = True,
        trimap_embedding: bool = True,
        attention_chunk: int | None = 1024,
    ) -> None:
        super().__init__(layers, width, bn_eps)
        ch = self.channels
        self.global_hop = GlobalHOPBlock(
            ch(256),
            ch(64),
            rate=global_rate,
            radius=pe_radius,
            positional_encoding=positional_encoding,
            trimap_embedding=trimap_embedding,
            chunk=attention_chunk,
            bn_eps=bn_eps,
        )
        local = {
            "window": local_window,
            "positional_encoding": positional_encoding,
            "bn_eps": bn_eps,
        }
        self.local_hop1 = LocalHOPBlock(ch(128), ch(64), **local)
        self.local_hop2 = LocalHOPBlock(ch(64), ch(32), **local)
        self.local_hop3 = LocalHOPBlock(ch(32), ch(16), **local)

    def forward(
        self,
        embedding: Tensor,
        shortcuts: tuple[Tensor, Tensor, Tensor, Tensor, Tensor],
        appearance: tuple[Tensor, Tensor, Tensor, Tensor],
        trimap: Tensor,
    ) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor, Tensor]]:
        fea1, fea2, fea3, fea4, fea5 = shortcuts
        f1, f2, f3, f4 = appearance
        x = self.layer1(embedding) + fea5
        x, offsets = self.global_hop(f4, x, trimap)
        x, propagation1 = self.local_hop1(f3, self.layer2(x) + fea4)
        x, propagation2 = self.local_hop2(f2, self.layer3(x) + fea3)
        x, propagation3 = self.local_hop3(f1, self.layer4(x) + fea2)
        return self.output(x, fea1), offsets, (propagation1, propagation2, propagation3)
