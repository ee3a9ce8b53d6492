"""Trimaps from a trimap-free model: a photo alone becomes an input for any trimap-based model.

The trimap-free model's matte is read as a soft mask and handed to
:func:`matting_data.trimap_from_mask`, the function behind ``matting trimap MASK``: where the
matte is sure (>= ``confidence`` or <= ``1 - confidence``) stays known, an unknown band of
``band`` pixels is laid along its edge.  So a trimap made from a model means what a trimap made
from a rough mask means.  Core names the model only by its registry name (``hattmatting-small``
by default, matting-hatt's bundled CPU model); any registered model with ``needs_trimap=False``
can make trimaps.

Used by ``matting trimap --from-model NAME`` and ``matting predict --auto-trimap``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from matting_core.errors import InputError

if TYPE_CHECKING:
    from matting_core.model_loading import LoadedModel

__all__ = ["DEFAULT_TRIMAP_MODEL", "AutoTrimap", "load_trimap_model", "trimap_from_model"]

#: The trimap-free model used when none is named (matting-hatt's bundled CPU model).
DEFAULT_TRIMAP_MODEL = "hattmatting-small"


@dataclass(frozen=True)
class AutoTrimap:
    """A trimap made from a trimap-free model.

    :param trimap: (H, W) uint8 {0, 128, 255}.
    :param alpha: (H, W) float32 in [0, 1], the model's matte it was made from.
    """

    trimap: np.ndarray
    alpha: np.ndarray


def load_trimap_model(
    name: str = DEFAULT_TRIMAP_MODEL,
    checkpoint: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> LoadedModel:
    """Load a trimap-free model (its bundled weights unless ``checkpoint``) to make trimaps.

    Raises:
        UnknownModelError: no such model (matting-hatt not installed, a typo).
        InputError: the model itself needs a trimap.
        CheckpointError: no weights for it.
    """
    from matting_core.model_loading import load_model
    from matting_core.models import get_model_info

    if get_model_info(name).needs_trimap:
        raise InputError(
            f"model {name!r} needs a trimap itself, so it cannot make one; name a trimap-free "
            "model ('matting list' shows trimap: no), e.g. hattmatting-small"
        )
    return load_model(name, checkpoint, **overrides)


def trimap_from_model(
    image: np.ndarray,
    loaded: LoadedModel,
    *,
    band: float | None = None,
    band_fg: float | None = None,
    band_bg: float | None = None,
    confidence: float | None = None,
    device: str | None = None,
) -> AutoTrimap:
    """The trimap of ``image`` from the trimap-free model ``loaded``'s matte.

    Args:
        image: (H, W, 3) float32 RGB in [0, 1].
        loaded: from :func:`load_trimap_model`.
        band, band_fg, band_bg, confidence: as :func:`matting_data.trimap_from_mask` (defaults
            24 px, half on each side, 0.95).
        device: where the model runs (default: where it is).

    Returns:
        :class:`AutoTrimap`.

    Raises:
        matting_data.TrimapSourceError: the model is sure of no foreground (or of no
            background) in this photo.
    """
    from matting_core.inference import predict
    from matting_data import DEFAULT_BAND, MASK_CONFIDENCE, trimap_from_mask

    alpha = predict(loaded.model, image, None, info=loaded.info, device=device, name=loaded.name)
    trimap = trimap_from_mask(
        alpha,
        DEFAULT_BAND if band is None else band,
        band_fg=band_fg,
        band_bg=band_bg,
        confidence=MASK_CONFIDENCE if confidence is None else confidence,
    )
    return AutoTrimap(trimap, alpha)
