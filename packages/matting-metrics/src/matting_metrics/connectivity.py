"""Connectivity error (Conn).

Definition (DIM ``compute_connectivity_error.m``, restated in METRICS.md): for thresholds
t_i = 0.1·i, i = 1..10, let Ω_i be the largest 4-connected component of
(p ≥ t_i) ∧ (g ≥ t_i) over the whole image. A pixel's level is l = t_{i−1} for the first i
with the pixel ∉ Ω_i (1 if there is none); with d = α/255 − l and
φ(α) = 1 − d·[d ≥ 0.15], Conn = Σ_U |φ(p) − φ(g)| / 1000.

Implementation. Since (p ≥ t) ∧ (g ≥ t) ⇔ min(p, g) ≥ t, one uint8 map k = "number of
thresholds that min(p, g) reaches" (0..10) describes all ten masks: mask_i = {k ≥ i}. A
pixel's level is then "number of leading thresholds it survives" / 10, and only the pixels
of U are ever asked for it; :mod:`matting_metrics._levels` computes that exactly without
labelling the whole image ten times.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from matting_metrics._inputs import MatteInputs, check_convention, prepare
from matting_metrics._levels import survival_counts

__all__ = ["connectivity_error"]

#: mmagic's thresholds, ``np.arange(0, 1 + 0.1, 0.1)``: its 0.3, 0.6 and 0.7 are one ulp
#: above the decimal value, so e.g. α = 153 (153/255 == 0.6) fails its 0.6.
_MMAGIC_THRESHOLDS = np.arange(0, 1 + 0.1, 0.1)


def _unit(alpha: np.ndarray) -> NDArray[np.float64]:
    """Alpha values as float64 on [0, 1]: uint8 k ↦ k/255, floats unchanged."""
    if alpha.dtype == np.uint8:
        return alpha / 255.0
    return alpha.astype(np.float64)


def _passes_lut(convention: str) -> NDArray[np.uint8]:
    """For each uint8 value k: how many of the thresholds t_1..t_10 it reaches."""
    k = np.arange(256)
    if convention == "mmagic":
        counts = np.searchsorted(_MMAGIC_THRESHOLDS[1:], k / 255.0, side="right")
    else:
        counts = (10 * k) // 255  # number of i ≥ 1 with 10·k ≥ 255·i, in integers
    return counts.astype(np.uint8)


def _passes(alpha: np.ndarray, convention: str) -> NDArray[np.uint8]:
    """(H, W) uint8: how many of the thresholds t_1..t_10 each alpha value reaches.

    DIM: uint8 k reaches t_i iff 10·k ≥ 255·i (integers); float x iff 10·x ≥ i, so the
    count is floor(10·x) (x in [0, 1]), which agrees with the uint8 rule for x = k/255 in
    float64 or float32. mmagic: α/255 (or x) ≥ its ``np.arange`` threshold, as mmagic
    compares.
    """
    if alpha.dtype == np.uint8:
        return cv2.LUT(np.ascontiguousarray(alpha), _passes_lut(convention))
    x = alpha.astype(np.float64)
    ten_x = 10.0 * x
    if convention != "mmagic":
        return ten_x.astype(np.uint8)  # truncation = floor for x ≥ 0
    # mmagic's thresholds are within an ulp of i/10: start at floor(10·x), fix by one step.
    k = np.minimum(ten_x.astype(np.intp), 10)
    reached = np.concatenate(([-np.inf], _MMAGIC_THRESHOLDS[1:]))  # [k]: t_k (k ≥ 1)
    following = np.concatenate((_MMAGIC_THRESHOLDS[1:], [np.inf]))  # [k]: t_(k+1)
    k -= x < reached[k]
    k += x >= following[k]
    return k.astype(np.uint8)


def _threshold_passes(inputs: MatteInputs, convention: str) -> NDArray[np.uint8]:
    """(H, W) uint8: the number of thresholds that both p and g reach, i.e. min(p, g) reaches."""
    pred, gt = inputs.pred, inputs.gt
    if pred.dtype == np.uint8 and gt.dtype == np.uint8:
        lowest = cv2.min(np.ascontiguousarray(pred), np.ascontiguousarray(gt))
        return _passes(lowest, convention)
    return np.minimum(_passes(pred, convention), _passes(gt, convention))


def _phi_dim(alpha: np.ndarray, counts: NDArray[np.uint8]) -> NDArray[np.float64]:
    """φ(α) = 1 − d·[d ≥ 0.15], d = α/255 − l, l = counts/10, with an exact test.

    ``alpha`` is uint8 or float (gathered values). d ≥ 0.15 ⇔ 20·k ≥ 510·j + 765 for uint8
    k (never an equality, so the float test gives the same), ⇔ 20·x ≥ 2·j + 3 for float x.
    """
    j = counts.astype(np.float64)
    d = _unit(alpha) - j / 10.0
    if alpha.dtype == np.uint8:
        keep = 20.0 * alpha >= 510.0 * j + 765.0
    else:
        keep = 20.0 * alpha.astype(np.float64) >= 2.0 * j + 3.0
    return np.where(keep, 1.0 - d, 1.0)


def _phi_mmagic(alpha: np.ndarray, counts: NDArray[np.uint8]) -> NDArray[np.float64]:
    """mmagic's φ: l from its ``np.arange`` thresholds, float test ``d >= 0.15``."""
    d = _unit(alpha) - _MMAGIC_THRESHOLDS[counts]
    return 1.0 - d * (d >= 0.15)


def connectivity_error(
    pred: ArrayLike, gt: ArrayLike, trimap: ArrayLike, *, convention: str = "dim"
) -> float:
    """Connectivity error over the unknown region, in thousands.

    See the module docstring for the definition. Components are taken over the whole
    image, so pixels outside U matter: mask the prediction first
    (:func:`~matting_metrics.mask_with_trimap`).

    Args:
        pred: (H, W) or (H, W, 1) predicted alpha, uint8 in 0..255 or float in [0, 1].
            Thresholds are compared exactly: uint8 k ≥ t_i ⇔ 10·k ≥ 255·i, float x ≥ t_i ⇔
            10·x ≥ i (so x = k/255 gives the same result as k).
        gt: ground-truth alpha, same shape, same accepted dtypes (may differ from ``pred``'s).
        trimap: same shape; uint8 {0, 128, 255} or float {0, 0.5, 1}; U = 128 (or 0.5).
        convention: ``"dim"`` (default): exact thresholds (α = 153 reaches 0.6), ties
            between equally large components broken by first pixel in column-major order,
            exact d ≥ 0.15 test. ``"mmagic"``: mmagic's ``np.arange(0, 1.1, 0.1)`` thresholds
            compared with α/255 and used as levels, row-major tie-break (OpenCV label
            order), float ``d >= 0.15``.

    Returns:
        Conn / 1000 as a Python float (≥ 0). 0.0 if U is empty.

    Raises:
        MetricInputError: invalid inputs or unknown ``convention``.
    """
    check_convention(convention)
    return connectivity_error_from(prepare(pred, gt, trimap), convention)


def connectivity_error_from(inputs: MatteInputs, convention: str) -> float:
    """:func:`connectivity_error` on already validated inputs (used by :func:`compute_all`)."""
    if inputs.unknown_index.size == 0:
        return 0.0
    passes = _threshold_passes(inputs, convention)
    counts = survival_counts(passes, inputs.unknown_index, column_major=convention == "dim")
    phi = _phi_mmagic if convention == "mmagic" else _phi_dim
    index = inputs.unknown_index
    diff = np.abs(phi(inputs.pred.ravel()[index], counts) - phi(inputs.gt.ravel()[index], counts))
    return float(diff.sum() / 1000.0)
