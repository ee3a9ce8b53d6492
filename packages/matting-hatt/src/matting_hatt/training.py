"""HAttMatting's training recipe: the engine's adversarial loop with the paper's data pipeline.

Sec. 3.3-3.4: L_total = λ1 L_adv + λ2 L_MSE + λ3 L_SSIM with (λ1, λ2, λ3) = (0.05, 1, 0.1) in
the first epoch and (0.05, 1, 0.025) after.  The MSE and SSIM terms are core's ``mse`` and
``ssim`` losses, the change of λ3 after epoch 1 is a ``[loss.schedules.ssim]`` table, λ1 is
``[adversarial] weight`` (configs/hattmatting-d646.toml).  This module adds what is
HAttMatting's own: the discriminator (a PatchGAN conditioned on the image, Eq. 3's
``D(I, A)``; core's default discriminator input is already ``image ‖ alpha``) and the crops.
"""

from __future__ import annotations

from matting_core.errors import ConfigError
from matting_core.training import AdversarialRecipe

__all__ = ["PAPER_CROP", "HAttRecipe", "hatt_crop_sizes"]

#: The paper's crops, 512, 640 and 800, all resized to 512 (Sec. 3.4).
PAPER_CROP = 512


def hatt_crop_sizes(crop_size: int) -> tuple[int, int, int]:
    """The three crop sides for a training size: the paper's 512 / 640 / 800 → 512, scaled
    (1, 1.25, 1.5625) × ``crop_size`` for another size (a CPU run at 320: 320 / 400 / 500)."""
    return (crop_size, round(crop_size * 1.25), round(crop_size * 1.5625))


class HAttRecipe(AdversarialRecipe):
    """Adversarial training with the paper's augmentation and a PatchGAN on ``image ‖ alpha``.

    The training transform is :func:`matting_data.hattmatting_pipeline` at ``data.crop_size``
    512 (random crops of 512, 640 or 800, resized to 512, horizontal flip, composite over the
    background); another ``crop_size`` scales the three crops with it.
    """

    def train_transform(self):
        from matting_data.augmentation import (
            Compose,
            CompositeOnBackground,
            RandomCrop,
            RandomHorizontalFlip,
            Resize,
        )
        from matting_data.pipelines import hattmatting_pipeline

        size = self.cfg.data.crop_size
        if size == PAPER_CROP:
            return hattmatting_pipeline()
        return Compose(
            [
                RandomCrop(size=hatt_crop_sizes(size)),
                Resize(size),
                RandomHorizontalFlip(p=0.5),
                CompositeOnBackground(),
            ]
        )

    def build_discriminator(self):
        from matting_hatt.model import build_discriminator

        if self.adv.discriminator != "patchgan":
            raise ConfigError(
                f"adversarial.discriminator: HAttMatting's discriminator is 'patchgan', "
                f"got {self.adv.discriminator!r}"
            )
        try:
            return build_discriminator(**self.adv.options)
        except TypeError as exc:
            raise ConfigError(f"adversarial.options: {exc}") from exc
