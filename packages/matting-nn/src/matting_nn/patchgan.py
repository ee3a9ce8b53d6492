"""The PatchGAN discriminator of pix2pix (Isola et al., CVPR 2017).

A fully convolutional discriminator that gives one real/fake logit per overlapping N×N patch
of its input.  AlphaGAN judges (composite, trimap) with N = 70 ("we found that for our network
N = 70 is sufficient"); HAttMatting judges (image, alpha) with a PatchGAN as well.  Both are
pix2pix's ``NLayerDiscriminator`` with 4 input channels, whose layout we follow so that its
checkpoints' keys (``model.0.weight``, …) fit:

* 4×4 convolutions, padding 1: the first (``in_channels`` → ``base_channels``) with stride 2
  and no norm; ``n_layers − 1`` more with stride 2 and then one with stride 1, channels
  doubling up to 8 × ``base_channels``, each followed by the norm; a last 4×4 convolution to 1
  channel; LeakyReLU(0.2) after every convolution but the last.
* ``n_layers = 3`` gives a 70×70 receptive field (:attr:`PatchGANDiscriminator.receptive_field`).
* Norms as pix2pix's options: ``batch`` (BatchNorm, convolutions without bias), ``instance``
  (InstanceNorm without affine parameters, convolutions with bias), ``none``.
* pix2pix's initialisation: convolution weights N(0, 0.02), biases 0, BatchNorm weights
  N(1, 0.02).
"""

from __future__ import annotations

from torch import Tensor, nn

from matting_nn.errors import BlockConfigError

__all__ = ["PatchGANDiscriminator", "patchgan_receptive_field"]

_NORMS = ("batch", "instance", "none")


def patchgan_receptive_field(n_layers: int) -> int:
    """The side of the input patch each logit sees: 16, 34, 70, 142, 286 for 1…5 layers.

    Walking back from one output pixel through the 4×4 convolutions: the last two (stride 1)
    add 3 each, every stride-2 layer maps a side r to 2 r + 2.
    """
    side = 1 + 3 + 3
    for _ in range(n_layers):
        side = 2 * side + 2
    return side


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


class PatchGANDiscriminator(nn.Module):
    """pix2pix's N-layer PatchGAN: one real/fake logit per overlapping N×N input patch.

    :param in_channels: input channels (4 for the matting papers: RGB composite or image,
        plus trimap or alpha).
    :param base_channels: channels of the first convolution (pix2pix's ``ndf``, 64).
    :param n_layers: stride-2 convolutions (3: a 70×70 receptive field).
    :param norm: ``batch``, ``instance`` or ``none``.

    Shape:
        (B, in_channels, H, W) → logits (B, 1, H / 2^n_layers − 2, W / 2^n_layers − 2) for H,
        W multiples of 2^n_layers (256×256 → 30×30 with ``n_layers=3``).

    Example:
        >>> d = PatchGANDiscriminator(4, base_channels=8).eval()
        >>> d(torch.zeros(1, 4, 256, 256)).shape, d.receptive_field
        (torch.Size([1, 1, 30, 30]), 70)
    """

    def __init__(
        self, in_channels: int, base_channels: int = 64, n_layers: int = 3, norm: str = "batch"
    ) -> None:
        super().__init__()
        if in_channels < 1 or base_channels < 1 or n_layers < 1:
            raise BlockConfigError(
                "PatchGANDiscriminator: in_channels, base_channels and n_layers must be >= 1, "
                f"got {in_channels}, {base_channels}, {n_layers}"
            )
        if norm not in _NORMS:
            raise BlockConfigError(
                f"PatchGANDiscriminator: norm must be one of {', '.join(_NORMS)}, got {norm!r}"
            )
        self.n_layers = n_layers
        self.norm = norm
        use_bias = norm != "batch"  # a bias before BatchNorm is cancelled by it
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = base_channels
        for n in range(1, n_layers + 1):
            out = base_channels * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=use_bias),
                _norm(norm, out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        self.reset_parameters()

    @property
    def receptive_field(self) -> int:
        """Side of the square input patch one logit depends on (70 for ``n_layers=3``)."""
        return patchgan_receptive_field(self.n_layers)

    def reset_parameters(self) -> None:
        """pix2pix's ``init_weights(net, 'normal', 0.02)``."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, 1, H', W') for ``x`` (B, in_channels, H, W)."""
        return self.model(x)
