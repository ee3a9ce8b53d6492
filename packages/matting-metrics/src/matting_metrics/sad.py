"""Sum of Absolute Differences (SAD)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from matting_metrics._inputs import MatteInputs, check_convention, prepare, to_255

__all__ = ["sad"]


def sad(pred: ArrayLike, gt: ArrayLike, trimap: ArrayLike, *, convention: str = "dim") -> float:
    """Sum of absolute differences over the unknown region, in thousands.

    ``SAD = Σ_U |p − g| / 255 / 1000`` with p, g on the 0..255 scale (DIM
    ``compute_sad_loss.m``, divided by 1000 as in DIM's ``evaluate.m``).

    Args:
        pred: (H, W) or (H, W, 1) predicted alpha, uint8 in 0..255 or float in [0, 1].
            Floats are not quantised to 8 bits; pass uint8 to reproduce DIM on 8-bit PNGs.
        gt: ground-truth alpha, same shape, same accepted dtypes (may differ from ``pred``'s).
        trimap: same shape; uint8 {0, 128, 255} or float {0, 0.5, 1}; U = 128 (or 0.5).
        convention: ``"dim"`` (default): sum over U. ``"mmagic"``: sum over the whole
            image, as mmagic/mmeval's ``SAD`` does; it equals ``"dim"`` when the prediction
            was masked with :func:`~matting_metrics.mask_with_trimap` and the ground truth is
            exactly 0/255 on the known regions.

    Returns:
        SAD / 1000 as a Python float (≥ 0). 0.0 if U is empty (``"dim"``).

    Raises:
        MetricInputError: invalid inputs or unknown ``convention``.
    """
    check_convention(convention)
    return sad_from(prepare(pred, gt, trimap), convention)


def sad_from(inputs: MatteInputs, convention: str) -> float:
    """:func:`sad` on already validated inputs (used by :func:`compute_all`)."""
    if convention == "mmagic":
        diff = np.abs(to_255(inputs.pred) - to_255(inputs.gt))
    else:
        if inputs.unknown_index.size == 0:
            return 0.0
        diff = np.abs(inputs.pred_u() - inputs.gt_u())
    return float(diff.sum() / 255.0 / 1000.0)
