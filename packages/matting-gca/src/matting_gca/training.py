"""GCA's training recipe: the engine's supervised loop with GCA's data augmentation.

The paper trains with an L1 loss over the unknown region of the trimap (the config's
``[loss] terms = { l1_unknown = 1.0 }``); the data pipeline is the paper's "Data
Augmentation" paragraph, with the numbers the paper leaves out taken from the release
(:func:`matting_data.gca_pipeline`).
"""

from __future__ import annotations

from matting_core.training import SupervisedRecipe


class GCARecipe(SupervisedRecipe):
    """Supervised training with :func:`matting_data.gca_pipeline` at ``data.crop_size``."""

    def train_transform(self):
        from matting_data import gca_pipeline

        return gca_pipeline(crop_size=self.cfg.data.crop_size)
