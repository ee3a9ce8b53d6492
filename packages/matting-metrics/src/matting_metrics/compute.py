"""All four metrics at once."""

from __future__ import annotations

from numpy.typing import ArrayLike

from matting_metrics._inputs import check_convention, prepare
from matting_metrics.connectivity import connectivity_error_from
from matting_metrics.gradient import gradient_error_from
from matting_metrics.mse import mse_from
from matting_metrics.sad import sad_from

__all__ = ["compute_all"]


def compute_all(
    pred: ArrayLike, gt: ArrayLike, trimap: ArrayLike, *, convention: str = "dim"
) -> dict[str, float]:
    """SAD, MSE, Grad and Conn of one image, validating the inputs once.

    Args:
        pred, gt, trimap: as for :func:`~matting_metrics.sad`. The prediction is used as
            given; apply :func:`~matting_metrics.mask_with_trimap` first for the standard
            protocol.
        convention: ``"dim"`` (default) or ``"mmagic"``, passed to every metric.

    Returns:
        ``{"sad": SAD/1000, "mse": MSE, "grad": Grad/1000, "conn": Conn/1000}``, Python
        floats; all 0.0 when the unknown region is empty (``"dim"``).

    Raises:
        MetricInputError: invalid inputs or unknown ``convention``.
    """
    check_convention(convention)
    inputs = prepare(pred, gt, trimap)
    return {
        "sad": sad_from(inputs, convention),
        "mse": mse_from(inputs, convention),
        "grad": gradient_error_from(inputs, convention),
        "conn": connectivity_error_from(inputs, convention),
    }
