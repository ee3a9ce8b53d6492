"""Mean Squared Error (MSE)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from matting_metrics._inputs import MatteInputs, check_convention, prepare, to_255

__all__ = ["mse"]


def mse(pred: ArrayLike, gt: ArrayLike, trimap: ArrayLike, *, convention: str = "dim") -> float:
    """Mean squared error over the unknown region, on the [0, 1] alpha scale.

    ``MSE = Σ_U ((p − g) / 255)² / |U|`` with p, g on the 0..255 scale (DIM
    ``compute_mse_loss.m``). Not divided by 1000; many recent papers print MSE × 10³.

    Args:
        pred: (H, W) or (H, W, 1) predicted alpha, uint8 in 0..255 or float in [0, 1].
            Floats are not quantised to 8 bits; pass uint8 to reproduce DIM on 8-bit PNGs.
        gt: ground-truth alpha, same shape, same accepted dtypes (may differ from ``pred``'s).
        trimap: same shape; uint8 {0, 128, 255} or float {0, 0.5, 1}; U = 128 (or 0.5).
        convention: ``"dim"`` (default): squared errors summed over U. ``"mmagic"``: summed
            over the whole image, still divided by |U|, as mmagic/mmeval's ``MattingMSE``
            does; equal to ``"dim"`` on a masked prediction (see :func:`sad`).

    Returns:
        MSE as a Python float in [0, 1] (``"dim"``). 0.0 if U is empty, where the MATLAB
        code gives NaN (0.0 keeps dataset means finite; mmagic does the same).

    Raises:
        MetricInputError: invalid inputs or unknown ``convention``.
    """
    check_convention(convention)
    return mse_from(prepare(pred, gt, trimap), convention)


def mse_from(inputs: MatteInputs, convention: str) -> float:
    """:func:`mse` on already validated inputs (used by :func:`compute_all`)."""
    n_unknown = inputs.unknown_index.size
    if n_unknown == 0:
        return 0.0
    if convention == "mmagic":
        diff = (to_255(inputs.pred) - to_255(inputs.gt)) / 255.0
    else:
        diff = (inputs.pred_u() - inputs.gt_u()) / 255.0
    return float(np.sum(diff * diff) / n_unknown)
