"""Validation during training: ``matting predict`` + ``matting evaluate``, in memory.

Each validation image goes through :func:`matting_core.inference.predict`, the function
``matting predict`` calls, with the model's ``ModelInfo`` (padding, normalisation, its inference
strategy: whole image or crop-and-stitch with its own patch forward) and the same defaults
(known pixels restored); the alpha is quantised to the 8-bit levels ``matting predict``
writes (:func:`~matting_core.evaluation.alpha_to_uint8`) and scored with
:func:`~matting_core.evaluation.score_alpha` as ``matting evaluate`` scores the written file.
So a validation score is the score those two commands give for the same weights and images.
Images with a trimap are scored over its unknown region (the DIM protocol); images without
one over the whole image (HAttMatting's protocol for trimap-free models).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from matting_core.errors import InputError

if TYPE_CHECKING:
    from matting_core.registry import ModelInfo

__all__ = ["trimap_to_uint8", "validate"]


def trimap_to_uint8(trimap: Tensor) -> np.ndarray:
    """(1, H, W) or (H, W) float trimap {0, 0.5, 1} → (H, W) uint8 {0, 128, 255}."""
    levels = np.array([0, 128, 255], dtype=np.uint8)
    index = torch.round(trimap.squeeze().float() * 2).clamp(0, 2).to(torch.int64)
    return levels[index.cpu().numpy()]


def validate(
    generator: nn.Module,
    info: ModelInfo,
    items: Iterable[Mapping[str, Any]],
    device: torch.device,
    *,
    autocast: AbstractContextManager[Any] | None = None,
    on_prediction: Callable[[int, Mapping[str, Tensor], np.ndarray, dict[str, float]], None]
    | None = None,
    name: str | None = None,
) -> dict[str, float]:
    """Mean SAD, MSE, Grad and Conn of ``generator`` over ``items``, as ``matting predict`` +
    ``matting evaluate`` give them.

    :param generator: the (unwrapped) generator; put in eval mode for the duration.
    :param info: the model's info (normalisation, padding, ``needs_trimap``, ``inference``).
    :param items: batches as a DataLoader gives them: ``image`` (B, 3, H, W) RGB in [0, 1],
        ``alpha`` (B, 1, H, W) and, optionally, ``trimap`` (B, 1, H, W) {0, 0.5, 1}.
    :param device: where to run.
    :param autocast: the training's autocast context (for AMP), or None.
    :param on_prediction: called for every image with its index, its batch of one (unpadded,
        as the loader gives it), the predicted alpha ((H, W) float32 numpy in [0, 1]) and its
        scores; the validation previews collect their images this way.
    :param name: the model's registered name, for error messages.
    :returns: ``{"sad", "mse", "grad", "conn", "images"}`` (means; SAD, Grad, Conn in
        thousands as :func:`~matting_core.evaluation.score_alpha` gives them).
    :raises InputError: an item without ``trimap`` for a model that needs one.
    """
    from matting_core.evaluation import (
        METRIC_NAMES,
        alpha_to_uint8,
        as_uint8_if_exact,
        score_alpha,
    )
    from matting_core.inference import predict

    was_training = generator.training
    totals = dict.fromkeys(METRIC_NAMES, 0.0)
    count = 0
    try:
        for item in items:
            for b in range(item["image"].shape[0]):
                image = item["image"][b].permute(1, 2, 0).float().cpu().numpy()
                gt = as_uint8_if_exact(item["alpha"][b, 0].float().cpu().numpy())
                trimap = trimap_to_uint8(item["trimap"][b]) if "trimap" in item else None
                if trimap is None and info.needs_trimap:
                    who = f"model {name!r}" if name else "the model"
                    raise InputError(
                        f"validation: {who} needs a trimap, but the validation data has none"
                    )
                with autocast if autocast is not None else nullcontext():
                    alpha = predict(generator, image, trimap, info=info, device=device, name=name)
                scores = score_alpha(alpha_to_uint8(alpha), gt, trimap)
                for metric in METRIC_NAMES:
                    totals[metric] += float(scores[metric])
                if on_prediction is not None:
                    one = {k: v[b : b + 1] for k, v in item.items() if isinstance(v, Tensor)}
                    on_prediction(count, one, alpha, scores)
                count += 1
    finally:
        generator.train(was_training)
    means = {metric: (total / count if count else math.nan) for metric, total in totals.items()}
    return {**means, "images": float(count)}
