"""Validation during training: whole-image inference and the matting metrics.

Each validation image is run whole (no crops): padded exactly as
:func:`matting_core.inference.predict` pads it (``pad_margin`` on every side, then bottom/right
up to the model's ``pad_multiple`` and at least ``min_size``, with its ``pad_mode``,
reflection by default), passed through the recipe's
:meth:`~matting_core.training.recipe.TrainingRecipe.predict`, cropped back, clipped to [0, 1]
and scored with :func:`matting_core.evaluation.score_alpha` (SAD, MSE, Grad, Conn under the
DIM protocol: the prediction takes the trimap's known values outside the unknown region).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from matting_core.inference import Padding

if TYPE_CHECKING:
    from matting_core.registry import ModelInfo
    from matting_core.training.recipe import TrainingRecipe

__all__ = ["trimap_to_uint8", "validate"]


def trimap_to_uint8(trimap: Tensor) -> np.ndarray:
    """(1, H, W) or (H, W) float trimap {0, 0.5, 1} → (H, W) uint8 {0, 128, 255}."""
    levels = np.array([0, 128, 255], dtype=np.uint8)
    index = torch.round(trimap.squeeze().float() * 2).clamp(0, 2).to(torch.int64)
    return levels[index.cpu().numpy()]


@torch.inference_mode()
def validate(
    generator: nn.Module,
    recipe: TrainingRecipe,
    info: ModelInfo,
    items: Iterable[Mapping[str, Any]],
    device: torch.device,
    *,
    autocast: AbstractContextManager[Any] | None = None,
    on_prediction: Callable[[int, Mapping[str, Tensor], np.ndarray, dict[str, float]], None]
    | None = None,
) -> dict[str, float]:
    """Mean SAD, MSE, Grad and Conn of ``generator`` over ``items``.

    :param generator: the (unwrapped) generator; put in eval mode for the duration.
    :param recipe: supplies :meth:`predict` and the normalisation.
    :param info: the model's info (``pad_multiple``, ``pad_margin``, ``min_size``,
        ``pad_mode``).
    :param items: batches of one image each: ``image`` (1, 3, H, W), ``alpha`` and
        ``trimap`` (1, 1, H, W), ``trimap_onehot`` (1, 3, H, W) — a DataLoader with
        ``batch_size=1``.
    :param device: where to run.
    :param autocast: the training's autocast context (for AMP), or None.
    :param on_prediction: called for every image with its index, its batch (on ``device``,
        unpadded), the predicted alpha ((H, W) float32 numpy, clipped) and its scores; the
        validation previews collect their images this way.
    :returns: ``{"sad", "mse", "grad", "conn", "images"}`` (means; SAD, Grad, Conn in
        thousands as :func:`~matting_core.evaluation.score_alpha` gives them).
    """
    from matting_core.evaluation import METRIC_NAMES, score_alpha

    was_training = generator.training
    generator.eval()
    totals = dict.fromkeys(METRIC_NAMES, 0.0)
    count = 0
    try:
        for item in items:
            batch = {
                k: v.to(device, non_blocking=True) for k, v in item.items() if isinstance(v, Tensor)
            }
            height, width = batch["image"].shape[-2:]
            padding = Padding.for_size(
                height, width, info.pad_multiple, info.pad_margin, info.min_size
            )
            padded = {
                k: padding.apply(v, info.pad_mode) if v.dim() == 4 else v for k, v in batch.items()
            }
            with autocast if autocast is not None else nullcontext():
                alpha = recipe.predict(generator, padded)
            alpha = padding.crop(alpha).float().clamp(0.0, 1.0)
            pred = alpha[0, 0].cpu().numpy()
            gt = batch["alpha"][0, 0].float().cpu().numpy()
            scores = score_alpha(pred, gt, trimap_to_uint8(batch["trimap"][0]))
            for name in METRIC_NAMES:
                totals[name] += float(scores[name])
            if on_prediction is not None:
                on_prediction(count, batch, pred, scores)
            count += 1
    finally:
        generator.train(was_training)
    means = {name: (total / count if count else math.nan) for name, total in totals.items()}
    return {**means, "images": float(count)}
