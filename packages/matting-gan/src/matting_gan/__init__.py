"""matting-gan: AlphaGAN (Lutz, Amplianitis & Smolić, BMVC 2018) for the matting toolkit.

    >>> from matting_core import create_model
    >>> model = create_model("alphagan")            # doctest: +SKIP

The generator of the paper's Table 4 (:class:`AlphaGAN`), its config (:class:`AlphaGANConfig`)
and the adversarial training recipe (:class:`AlphaGANRecipe`: Sec. 3.1's augmentation, a 70x70
PatchGAN judging composites built from the same foreground and background as the real ones).
"""

from matting_gan.model import (
    AlphaGAN,
    AlphaGANConfig,
    AlphaGANDecoder,
    AlphaGANEncoder,
    AlphaGANSmallConfig,
    ScaledResNet,
    trimap_channel,
)
from matting_gan.training import AlphaGANRecipe, alphagan_transform, composite_for_discriminator

__version__ = "0.1.0"

__all__ = [
    "AlphaGAN",
    "AlphaGANConfig",
    "AlphaGANDecoder",
    "AlphaGANEncoder",
    "AlphaGANRecipe",
    "AlphaGANSmallConfig",
    "ScaledResNet",
    "__version__",
    "alphagan_transform",
    "composite_for_discriminator",
    "trimap_channel",
]
