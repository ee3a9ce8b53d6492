"""HDMatt's training recipe: a query crop with context crops of the same composited image.

The paper's "Dataset" and "Network Structure and Losses" paragraphs:

* two-foreground composition and a randomly dilated trimap (following Tang et al. 2019), the
  foreground composited over a background;
* the query: a square patch centred on an unknown pixel with side in {320, 480, 640},
  resized to 320, flipped horizontally and rotated by an angle below 15°;
* the context pool (Fig. 2: the red boxes on the same training image): N more patches of the
  same composited image, at random places, with the same sides, resized to 320 (the paper
  gives neither N nor where they lie; :data:`TRAIN_CANDIDATES` by default, the model's
  ``train_candidates`` option);
* the loss ``0.5 L_α + 0.5 L_c`` (DIM's, ε = 1e-12 inside the root: the config's
  ``alpha_prediction`` and ``composition`` terms), weighted per pixel by the same linear
  blending mask the test-time stitching uses (:func:`matting_core.tiling.linear_blend_weights`
  over the crop, every side counted, scaled to mean 1): ``batch["loss_weight"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from matting_core.tiling import linear_blend_weights
from matting_core.training import SupervisedRecipe

__all__ = ["TRAIN_CANDIDATES", "HDMattRecipe", "HDMattTrainTransform", "blend_loss_weight"]

#: N, context candidates per training crop when the model's config does not say otherwise
#: (the notes' "N small (e.g. 4–8)"; each one costs an encoder pass).
TRAIN_CANDIDATES = 4

#: The paper's crop sides relative to the training size (320, 480, 640 for 320).
_SIDE_FACTORS = (1.0, 1.5, 2.0)


def blend_loss_weight(size: int) -> np.ndarray:
    """(size, size) float32 linear blending weights of a crop, scaled to mean 1."""
    weights = linear_blend_weights(size, size)
    return (weights / weights.mean()).astype(np.float32)


class HDMattTrainTransform:
    """``transform(sample, rng)``: the query crop (image, alpha, trimap, fg, bg, loss_weight)
    plus ``context_image`` (N, s, s, 3) float32 and ``context_trimap_onehot`` (N, s, s, 3)
    float32 [bg, unknown, fg] from the same composited image.

    :param size: side of the training patches (the paper: 320).
    :param candidates: N, context patches per query.
    """

    def __init__(self, size: int = 320, candidates: int = TRAIN_CANDIDATES) -> None:
        from matting_data.augmentation import (
            CombineForegrounds,
            Compose,
            CompositeOnBackground,
            CropCenteredOnUnknown,
            GenerateTrimap,
            RandomCrop,
            RandomHorizontalFlip,
            RandomRotation,
            Resize,
        )

        sides = tuple(round(size * f) for f in _SIDE_FACTORS)
        self.size, self.candidates = size, candidates
        # matting_data.hdmatt_pipeline's steps and numbers, with the composite made on the whole
        # image first so that the context crops come from the same picture
        self.prepare = Compose(
            [
                CombineForegrounds(p=0.5),
                GenerateTrimap(kernel_range=(5, 29), mode="dilate"),
                CompositeOnBackground(),
            ]
        )
        self.query = Compose(
            [
                CropCenteredOnUnknown(size=sides),
                Resize(size),
                RandomHorizontalFlip(p=0.5),
                RandomRotation(max_degrees=15.0),
            ]
        )
        self.context = Compose([RandomCrop(size=sides), Resize(size)])
        self.weight = blend_loss_weight(size)

    def __call__(self, sample: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        whole = self.prepare(sample, rng)
        out = self.query(whole, rng)
        picture = {"image": whole["image"], "trimap": whole["trimap"]}
        crops = [self.context(picture, rng) for _ in range(self.candidates)]
        out["context_image"] = np.stack([c["image"] for c in crops]).astype(np.float32)
        trimaps = np.stack([c["trimap"] for c in crops])
        out["context_trimap_onehot"] = np.stack(
            [trimaps == 0, trimaps == 128, trimaps == 255], axis=-1
        ).astype(np.float32)
        out["loss_weight"] = self.weight
        return out


class HDMattRecipe(SupervisedRecipe):
    """Supervised training of HDMatt with context crops (see the module docstring)."""

    def build_networks(self) -> dict[str, nn.Module]:
        nets = super().build_networks()
        self.model_config = nets["generator"].config
        return nets

    def train_transform(self):
        return HDMattTrainTransform(
            self.cfg.data.crop_size,
            getattr(self.model_config, "train_candidates", TRAIN_CANDIDATES),
        )

    def required_keys(self) -> dict[str, str]:
        keys = super().required_keys()
        keys.setdefault("trimap_onehot", "HDMatt takes a trimap")
        for key in ("context_image", "context_trimap_onehot", "loss_weight"):
            keys[key] = "HDMatt's context patches and blended loss (HDMattTrainTransform)"
        return keys

    def forward(self, generator: nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        image = self.normalise(batch["image"])
        if "context_image" not in batch:  # a transform without context: no CPC context
            return dict(generator(image, batch["trimap_onehot"]))
        # (B, N, s, s, 3) channel-last arrays of the transform -> (B, N, 3, s, s)
        context = batch["context_image"].permute(0, 1, 4, 2, 3)
        context = self.normalise(context.flatten(0, 1)).unflatten(0, context.shape[:2])
        context_trimap = batch["context_trimap_onehot"].permute(0, 1, 4, 2, 3)
        return dict(generator(image, batch["trimap_onehot"], context, context_trimap))
