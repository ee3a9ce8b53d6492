"""Discriminators shared by the adversarial matting papers.

AlphaGAN uses the 70×70 PatchGAN of pix2pix (Isola et al. 2017) on a 4-channel input (a
composite and the trimap); HAttMatting's discriminator judges (image, alpha) pairs.  Both are
covered by :class:`PatchGANDiscriminator` with ``in_channels=4``; it lives in core because two
plugins need it.
"""

from __future__ import annotations

from torch import Tensor, nn

from matting_nn.errors import BlockConfigError

__all__ = ["PatchGANDiscriminator"]


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise BlockConfigError(
        f"adversarial.options.norm: expected batch, instance or none, got {kind!r}"
    )


class PatchGANDiscriminator(nn.Module):
    """pix2pix's PatchGAN: one real/fake logit per overlapping N×N patch.

    With ``layers=3`` each logit sees a 70×70 patch (AlphaGAN's N = 70).  The layers are
    4×4 convolutions: ``layers`` with stride 2 (channels doubling from ``base_channels``, at
    most 8×), one with stride 1, then a 1-channel output; LeakyReLU(0.2), and a norm on all
    but the first.

    :param in_channels: input channels (4: RGB composite or image, plus trimap or alpha).
    :param base_channels: channels of the first layer (64 in pix2pix).
    :param layers: number of stride-2 layers (3 gives 70×70 patches).
    :param norm: ``batch``, ``instance`` or ``none``.

    Shape:
        input (B, in_channels, H, W) → logits (B, 1, H', W') with H' ≈ H / 2^layers − 2.
    """

    def __init__(
        self, in_channels: int = 4, base_channels: int = 64, layers: int = 3, norm: str = "batch"
    ) -> None:
        super().__init__()
        if in_channels < 1 or base_channels < 1 or layers < 1:
            raise BlockConfigError(
                "adversarial.options: in_channels, base_channels and layers must be >= 1"
            )
        blocks: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = base_channels
        for i in range(1, layers + 1):
            out = base_channels * min(2**i, 8)
            stride = 2 if i < layers else 1
            blocks += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=norm == "none"),
                _norm(norm, out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, 1, H', W') for ``x`` (B, in_channels, H, W)."""
        return self.net(x)
