"""AlphaGAN's training recipe: core's adversarial loop with the paper's data and discriminator.

Sec. 3.3: ``L_AlphaGAN(G, D) = L_alpha(G) + L_comp(G) + L_GAN(G, D)`` with DIM's
alpha-prediction and compositional losses (the config's ``[loss] terms = { alpha_prediction =
1.0, composition = 1.0 }`` over the unknown region) and the standard GAN loss (Eq. 2,
``[adversarial] gan_loss = "gan_bce"``, weight λ; λ = 0 is Table 1's "no GAN loss" row).

What is AlphaGAN's own here:

- the data (:func:`alphagan_transform`): Sec. 3.1's augmentation;
- the discriminator (:meth:`AlphaGANRecipe.build_discriminator`): pix2pix's PatchGAN with
  70x70 patches (``n_layers = 3``) on 4 channels;
- what it judges (:func:`composite_for_discriminator`): "the RGB values of a newly composited
  image, using the ground-truth foreground, a random background and the predicted alpha",
  plus the trimap.  The real and the fake input are composited in the same step from the
  *same* foreground and background tensors, so the only thing that differs between them is
  the alpha (a port fed D the stored composite as "real" and a re-composite of separately
  resized images as "fake", which D tells apart by resampling artefacts alone).

Everything else (alternating updates, D frozen during G's step, detached fakes for D's step,
separate real/fake passes, warm-up, λ = 0) is core's :class:`AdversarialRecipe`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from matting_core.errors import ConfigError
from matting_core.training import AdversarialRecipe
from matting_core.training.recipe import Batch
from matting_gan.model import trimap_channel

__all__ = [
    "PAPER_CROP_SIZE",
    "AlphaGANRecipe",
    "alphagan_transform",
    "composite_for_discriminator",
]

#: Sec. 3.1: crops of 320x320 to 720x720 "resize[d] to 320x320".
PAPER_CROP_SIZE = 320
PAPER_CROP_RANGE = (320, 720)


def alphagan_transform(crop_size: int = PAPER_CROP_SIZE):
    """Sec. 3.1's augmentation, with the network input ``crop_size`` x ``crop_size``.

    At 320 this is :func:`matting_data.alphagan_pipeline` exactly: rotation ~ N(0, 5°), trimap
    by dilating the transition band with a kernel of 2–20 px, a square crop of side uniform
    in 320..720 centred on an unknown pixel (background cut from the same window, aspect
    ratio kept), resized to 320, horizontal flip (p = 0.5), composition.  At another size
    (the CPU configs) the crop range scales with it, ``crop_size .. 2.25 · crop_size``, so a
    crop covers the same share of the photo relative to the network input.
    """
    from matting_data import alphagan_pipeline
    from matting_data.augmentation import (
        Compose,
        CompositeOnBackground,
        CropCenteredOnUnknown,
        GenerateTrimap,
        RandomHorizontalFlip,
        RandomRotation,
        Resize,
    )

    if crop_size == PAPER_CROP_SIZE:
        return alphagan_pipeline()
    if crop_size < 32:
        raise ConfigError(f"data.crop_size must be >= 32 for AlphaGAN, got {crop_size}")
    largest = round(crop_size * PAPER_CROP_RANGE[1] / PAPER_CROP_RANGE[0])
    return Compose(
        [
            RandomRotation(sigma_degrees=5.0),
            GenerateTrimap(kernel_range=(2, 20), mode="dilate"),
            CropCenteredOnUnknown(size_range=(crop_size, largest)),
            Resize(crop_size),
            RandomHorizontalFlip(p=0.5),
            CompositeOnBackground(),
        ]
    )


def composite_for_discriminator(batch: Batch, alpha: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """D's input for ``alpha``: ``alpha · F + (1 − alpha) · B`` from the batch's foreground and
    background, normalised like the generator's image, ‖ the trimap channel (0 / 0.5 / 1).

    Called with the ground truth for D's real input and with the prediction for the fake one:
    the same ``fg`` and ``bg`` tensors go into both, so pixels where the two alphas agree are
    bit-identical in the two inputs.

    :param batch: with ``fg``, ``bg`` (B, 3, H, W) in [0, 1] and ``trimap_onehot``.
    :param alpha: (B, 1, H, W) in [0, 1].
    :param mean, std: (1, 3, 1, 1) the generator's normalisation.
    :returns: (B, 4, H, W).
    """
    fg, bg = batch["fg"], batch["bg"]
    alpha = alpha.to(fg.dtype)
    composite = alpha * fg + (1 - alpha) * bg
    composite = (composite - mean.to(fg.dtype)) / std.to(fg.dtype)
    return torch.cat([composite, trimap_channel(batch["trimap_onehot"])], dim=1)


class AlphaGANRecipe(AdversarialRecipe):
    """Core's adversarial recipe with AlphaGAN's data, discriminator and discriminator input."""

    def required_keys(self) -> dict[str, str]:
        keys = super().required_keys()
        keys.setdefault("fg", "AlphaGAN's discriminator judges composites of the true foreground")
        keys.setdefault("bg", "AlphaGAN's discriminator judges composites over a background")
        keys.setdefault("trimap_onehot", "AlphaGAN's discriminator sees the trimap")
        return keys

    def train_transform(self):
        return alphagan_transform(self.cfg.data.crop_size)

    def build_discriminator(self) -> nn.Module:
        """pix2pix's PatchGAN (Sec. 3.2.2, N = 70: ``n_layers = 3``) on composite ‖ trimap."""
        from matting_nn import BlockConfigError, PatchGANDiscriminator

        if self.adv.discriminator != "patchgan":
            raise ConfigError(
                f"adversarial.discriminator: AlphaGAN's is 'patchgan', got "
                f"{self.adv.discriminator!r}"
            )
        options = dict(self.adv.options)
        if options.pop("in_channels", 4) != 4:
            raise ConfigError(
                "adversarial.options.in_channels: AlphaGAN's discriminator sees 4 channels "
                "(composite RGB + trimap)"
            )
        try:
            return PatchGANDiscriminator(4, **options)
        except (BlockConfigError, TypeError) as exc:
            raise ConfigError(f"adversarial.options: {exc}") from None

    def discriminator_input(self, batch: Batch, alpha: Tensor) -> Tensor:
        return composite_for_discriminator(batch, alpha, self._mean, self._std)
