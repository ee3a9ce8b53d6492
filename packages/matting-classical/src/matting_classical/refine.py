"""The ``closed-form`` refiner: a closed-form solve on the band where a network is unsure.

``matting predict --model gca --refine closed-form`` runs the network, then this.  Of the
trimap's unknown region, the pixels whose predicted alpha is within ``confidence`` of 0 or 1
are taken as the network gives them; the others, grown by ``band`` pixels, are the *unsure
band*, and their alpha is solved by closed-form matting (Levin et al. 2008) with every other
pixel fixed: the trimap's known pixels at 0 / 1, the network's confident ones at its alpha.

Why hard constraints and not the network matte as a soft prior (a data term
``mu * (alpha - alpha_net)^2`` added to the closed-form energy): measured on the four bundled
photos, the prior only pulls closed-form's matte towards the network's errors, monotonically
in ``mu`` (SAD 1.61 / 2.45 at ``mu`` = 1e-4 against 1.51 / 2.26 for closed-form alone, 3.39 /
4.39 at 1e-2; weighted by the network's confidence, 1.58 / 2.33 and 3.16 / 3.84), while the band keeps the network's matte where it is sure (a network
that is right there keeps its result) and lets the colour-line model decide exactly where
the network hesitates: along the edges of hair, fur and leaves, where closed-form is at its
best.  Growing the band by a few pixels matters: a network's "confident" pixels next to an
unsure one are often its blurred edge, and fixing them there drags the solve along
(``band`` 0 barely changes the matte).  The defaults were chosen on the four bundled photos
(GT17-GT20), see the "Refinement" section of matting-gca's model card.

Memory and time are bounded as for the ``closed-form`` model
(:func:`matting_classical.tiling.solve_bounded`): only the band is unknown, so the solve is
smaller than closed-form's over the whole unknown region.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from matting_classical.config import ClosedFormConfig, _require
from matting_classical.methods import closed_form
from matting_classical.tiling import solve_bounded

__all__ = ["ClosedFormRefinerConfig", "closed_form_refiner", "unsure_band"]


@dataclass(frozen=True)
class ClosedFormRefinerConfig(ClosedFormConfig):
    """Options of the ``closed-form`` refiner (``--refine-set NAME=VALUE``); the solve's own
    options are closed-form's (:class:`~matting_classical.config.ClosedFormConfig`).

    :param confidence: the network is sure of a pixel whose alpha is at most ``confidence``
        or at least ``1 - confidence``; in [0, 0.5).
    :param band: pixels the unsure region is grown by (an ellipse of ``2 band + 1``
        pixels) within the trimap's unknown region; 0 solves only the unsure pixels.
    :param progress: progress bar for long solves (off: the refiner runs once per image).
    """

    confidence: float = 0.01
    band: int = 8
    progress: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            0.0 <= self.confidence < 0.5, f"confidence must be in [0, 0.5), got {self.confidence}"
        )
        _require(0 <= self.band <= 255, f"band must be in [0, 255], got {self.band}")


def unsure_band(trimap: np.ndarray, alpha: np.ndarray, confidence: float, band: int) -> np.ndarray:
    """The pixels the refiner solves: (H, W) bool.

    Args:
        trimap: (H, W) uint8, 128 unknown.
        alpha: (H, W) float in [0, 1], the network's matte.
        confidence: sure pixels have ``alpha <= confidence`` or ``alpha >= 1 - confidence``.
        band: grow the unsure pixels by an ellipse of ``2 band + 1`` pixels.

    Returns:
        the unsure pixels of the unknown region, grown by ``band`` and kept inside it.
    """
    unknown = trimap == 128
    unsure = unknown & (alpha > confidence) & (alpha < 1.0 - confidence)
    if band and unsure.any():
        ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        unsure = cv2.dilate(unsure.view(np.uint8), ellipse).view(bool) & unknown
    return unsure


def closed_form_refiner(config: ClosedFormRefinerConfig):
    """The refiner ``plugin.py`` registers: ``refine(image, trimap, alpha) -> alpha``.

    ``image`` (H, W, 3) float RGB in [0, 1], ``trimap`` (H, W) uint8 0 / 128 / 255, ``alpha``
    (H, W) float the network's matte; returns (H, W) float32: ``alpha`` outside the unsure
    band (:func:`unsure_band`), closed-form's solve inside it.
    """

    def refine(image: np.ndarray, trimap: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        alpha = np.asarray(alpha, dtype=np.float32)
        unsure = unsure_band(trimap, alpha, config.confidence, config.band)
        if not unsure.any() or unsure.all():
            # nothing to solve, or nothing to solve it from: the network's matte stands
            return alpha.copy()
        radius_side = 2 * config.radius + 1
        if min(alpha.shape) < radius_side:
            return alpha.copy()
        values = np.where(trimap == 128, alpha, trimap == 255).astype(np.float32)
        return solve_bounded(
            closed_form,
            image,
            ~unsure,
            values,
            config,
            min_side=radius_side,
            name="closed-form refine",
        )

    return refine
