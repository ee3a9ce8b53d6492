"""The evaluation protocol's masking step."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from matting_metrics._inputs import as_alpha, as_trimap, trimap_regions
from matting_metrics.errors import MetricInputError

__all__ = ["mask_with_trimap"]


def mask_with_trimap(pred: ArrayLike, trimap: ArrayLike) -> np.ndarray:
    """Set the prediction to the trimap's known values: 0 on background, max on foreground.

    The DIM code does not mask, yet Grad (global min-max normalisation, 9×9 filter) and
    Conn (components over the whole image) look at pixels outside the unknown region; the
    standard protocol therefore masks the prediction before scoring. SAD and MSE (``"dim"``
    convention) are unaffected.

    Args:
        pred: (H, W) or (H, W, 1) predicted alpha, uint8 in 0..255 or float in [0, 1].
        trimap: same (H, W); uint8 {0, 128, 255} or float {0, 0.5, 1}.

    Returns:
        A new (H, W) array of ``pred``'s dtype: 0 where the trimap is background, 255
        (uint8) or 1.0 (float) where it is foreground, ``pred`` elsewhere.

    Raises:
        MetricInputError: invalid ``pred`` or ``trimap``, or different shapes.
    """
    p = as_alpha(pred, "prediction")
    t = as_trimap(trimap)
    if t.shape != p.shape:
        raise MetricInputError(f"trimap has shape {t.shape} but prediction has shape {p.shape}")
    background, foreground = trimap_regions(t)
    out = p.copy()
    out[background] = 0
    out[foreground] = 255 if p.dtype == np.uint8 else 1.0
    return out
