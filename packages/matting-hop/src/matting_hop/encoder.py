"""HOP's two encoders: the opacity encoder and the appearance encoder (Fig. 2(a)).

Li, Xu & Lu, 2020, Sec. 3.3: "We select the first 11 blocks of ResNet-34 ... as our backbone
in the opacity encoder.  As for appearance encoder, we opt for a stack of stride convolutional
layers to extract more low-level information."  The appearance branch "only takes RGB image as
the input".

* :class:`OpacityEncoder` is the ResNet-34 U-Net encoder HOP shares with GCA
  (:class:`matting_nn.ResNetUNetEncoder`): image + one-hot trimap in, the bottleneck
  embedding (1/32) and the five shortcut features out (GCA's encoder without its attention
  block).
* :class:`AppearanceEncoder` is four stride-2 convolutions on the normalised RGB image, each
  ReflectionPad(1) -> SN conv3x3 s2 -> ReLU -> BN, 3 -> 16 -> 32 -> 64 -> 64 channels at 1/2,
  1/4, 1/8 and 1/16: the guidance of the local HOP blocks 3, 2, 1 and of the global block.

The release (``res_localHOP_posEmb_enc.py``) keeps both in one module called ``encoder`` with
the appearance stages named ``guidance_head1`` .. ``4``; :func:`matting_hop.model.remap_official_keys`
maps those names.  Its initialisation runs over both branches after the backbone's own:
xavier-uniform for every convolution and BN (1, 0) -- which undoes the backbone's zeroed
residual BNs and trimap input channels (:func:`init_encoders`).
"""

from __future__ import annotations

from torch import Tensor, nn

from matting_nn import ResNetUNetEncoder, SpectralNorm, scaled_channels

__all__ = ["AppearanceEncoder", "OpacityEncoder", "init_encoders"]

Shortcuts = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]


class OpacityEncoder(ResNetUNetEncoder):
    """The opacity encoder.

    Args:
        layers: BasicBlocks per stage (release: ``(3, 4, 4, 2)``).
        width: channel multiplier.
        bn_eps: eps of every BatchNorm.

    Shape:
        - input: (B, 6, H, W) = cat(normalised RGB, one-hot trimap [bg, unknown, fg]).
        - returns ``(embedding (B, 512 w, H/32, W/32), (fea1 .. fea5))`` with the shortcut
          features at 1, 1/2, 1/4, 1/8 and 1/16 (32, 32, 64, 128, 256 channels times w).
    """

    def forward(self, x: Tensor) -> tuple[Tensor, Shortcuts]:
        x1, out = self.stem(x)
        x2 = self.layer1(out)
        x3 = self.layer2(x2)
        x4 = self.layer3(x3)
        embedding = self.layer_bottleneck(x4)
        shortcuts = tuple(s(f) for s, f in zip(self.shortcut, (x, x1, x2, x3, x4), strict=True))
        return embedding, shortcuts  # type: ignore[return-value]


class AppearanceEncoder(nn.Module):
    """The appearance encoder: four stride-2 convolution blocks on the RGB image.

    Args:
        width: channel multiplier.
        bn_eps: eps of every BatchNorm.

    Shape:
        - image: (B, 3, H, W) normalised RGB.
        - returns ``(f1, f2, f3, f4)``: (B, 16 w, H/2, W/2), (B, 32 w, H/4, W/4),
          (B, 64 w, H/8, W/8), (B, 64 w, H/16, W/16).
    """

    def __init__(self, width: float = 1.0, bn_eps: float = 1e-3) -> None:
        super().__init__()
        channels = [3] + [scaled_channels(n, width) for n in (16, 32, 64, 64)]
        for index in range(4):
            c_in, c_out = channels[index], channels[index + 1]
            block = nn.Sequential(
                nn.ReflectionPad2d(1),
                SpectralNorm(nn.Conv2d(c_in, c_out, 3, stride=2, padding=0, bias=False)),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(c_out, eps=bn_eps),
            )
            self.add_module(f"block{index + 1}", block)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        f1 = self.block1(image)
        f2 = self.block2(f1)
        f3 = self.block3(f2)
        return f1, f2, f3, self.block4(f3)


def init_encoders(*encoders: nn.Module) -> None:
    """The release's encoder initialisation: xavier-uniform convolutions, BN (1, 0)."""
    for encoder in encoders:
        for m in encoder.modules():
            if isinstance(m, SpectralNorm):
                nn.init.xavier_uniform_(m.module.weight_bar)
            elif isinstance(m, nn.Conv2d) and "weight" in m._parameters:
                nn.init.xavier_uniform_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
