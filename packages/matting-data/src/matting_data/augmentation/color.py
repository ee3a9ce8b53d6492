"""Colour augmentation of the foreground layer."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from matting_data.augmentation._base import Sample, clip01

__all__ = ["RandomHSVJitter"]


def _jitter_reflect(channel: np.ndarray, shift: float) -> None:
    """Add ``shift`` to ``channel`` in place, folding back into [0, 1] by reflection at 0 and
    at 1 (``|x|``, then ``min(x, 2 - x)``; |shift| <= 1 keeps x in [0, 2] before the fold)."""
    channel += np.float32(shift)
    np.abs(channel, out=channel)
    np.minimum(channel, np.float32(2.0) - channel, out=channel)


@dataclass(frozen=True)
class RandomHSVJitter:
    """Jitter the foreground's hue, saturation and value (GCA: "converted to HSV space, and
    different jitters are imposed to the hue, saturation and value").

    The release decided the ranges (Yaoyi-Li/GCA-Matting, dataloader/data_generator.py,
    ``RandomJitter``):

    * hue: an integer shift in degrees drawn from [-max_hue_degrees, max_hue_degrees) (40),
      wrapped modulo 360;
    * saturation and value: each shifted by a uniform draw in ``[-b, b]`` with
      ``b = sv_fraction * (sv_ceiling - m)`` (0.1 and 1.1), where ``m`` is the channel's mean
      over pixels with alpha > 0 -- dull/dark foregrounds get larger jitter; results are folded
      back into [0, 1] by reflection;
    * nothing happens when alpha is 0 everywhere.

    Reads fg, alpha; writes fg. Always draws three numbers from ``rng``.
    """

    max_hue_degrees: int = 40
    sv_ceiling: float = 1.1
    sv_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.max_hue_degrees < 0 or self.sv_fraction < 0:
            raise ValueError("max_hue_degrees and sv_fraction must be >= 0")
        if self.sv_fraction * self.sv_ceiling > 1.0:
            raise ValueError("sv_fraction * sv_ceiling must be <= 1 (a shift of at most 1)")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        hue_shift = (
            int(rng.integers(-self.max_hue_degrees, self.max_hue_degrees))
            if self.max_hue_degrees
            else 0
        )
        draws = rng.random(2)
        out = dict(sample)
        inside = sample["alpha"] > 0
        if not inside.any():
            return out
        hsv = cv2.cvtColor(np.ascontiguousarray(sample["fg"], np.float32), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = np.remainder(hsv[..., 0] + hue_shift, 360.0)
        for channel, draw in zip((1, 2), draws, strict=True):
            bound = self.sv_fraction * (self.sv_ceiling - float(hsv[..., channel][inside].mean()))
            _jitter_reflect(hsv[..., channel], (2.0 * draw - 1.0) * bound)
        out["fg"] = clip01(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
        return out
