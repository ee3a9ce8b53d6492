"""HOP's training recipe: the engine's supervised loop with HOP's data augmentation.

Sec. 3.3: "Our network is only trained with the alpha matte reconstruction loss" -- the L1
over the unknown region of Eq. 5 (the config's ``[loss] terms = { l1_unknown = 1.0 }``); "We
follow the basic data augmentation proposed in [GCA]" plus the random interpolation of
Sec. 4.1 (:func:`matting_data.hop_pipeline`).
"""

from __future__ import annotations

from matting_core.training import SupervisedRecipe


class HOPRecipe(SupervisedRecipe):
    """Supervised training with :func:`matting_data.hop_pipeline` at ``data.crop_size``."""

    def train_transform(self):
        from matting_data import hop_pipeline

        return hop_pipeline(crop_size=self.cfg.data.crop_size)
