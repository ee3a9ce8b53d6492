"""Cutouts and composites for people: an RGBA cutout of a matted photo, a new background.

* :func:`cutout_rgba`: the RGBA image a person wants from a matte. Its colour channels are the
  *estimated foreground* (:func:`~matting_data.estimate_foreground`), not the photo's pixels:
  at a semi-transparent edge the photo holds ``alpha * F + (1 - alpha) * B``, so its pixels
  carry the old background's colour, which shows as a halo once the cutout is laid over
  anything else. The alpha channel is the matte (straight, not premultiplied, as PNG stores it).
* :func:`fit_background`: a new background photo scaled (up or down, keeping its aspect) until
  it covers the photo, then cropped around its centre. (The Deep Image Matting rule,
  :func:`~matting_data.resize_background_to_cover`, only scales up and crops the top-left
  corner; it is kept for building Composition-1k, where its exact pixels matter.)
* :func:`parse_colour` and :func:`solid_background`: a flat background given as a colour
  (``#RRGGBB``, ``R,G,B``, a name).
* :func:`background_leak`: how much of the old background is left in a cutout's colours,
  where the true foreground and background are known (a halo, measured).
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from matting_data.errors import UnsupportedImageError
from matting_data.foreground_estimation import ForegroundMethod, estimate_foreground

__all__ = [
    "COLOUR_NAMES",
    "background_leak",
    "cutout_rgba",
    "fit_background",
    "parse_colour",
    "solid_background",
]

#: Colour names :func:`parse_colour` knows, with their CSS values (0..255).
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "red": (255, 0, 0),
    "lime": (0, 255, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
}

_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def cutout_rgba(
    image: np.ndarray, alpha: np.ndarray, *, method: ForegroundMethod = "multilevel"
) -> np.ndarray:
    """The RGBA cutout of a photo: estimated foreground colours, the matte as alpha.

    Args:
        image: (H, W, 3) RGB, float in [0, 1] or uint8.
        alpha: (H, W) or (H, W, 1) matte, float in [0, 1] or uint8.
        method: the foreground estimator (:func:`~matting_data.estimate_foreground`).

    Returns:
        (H, W, 4) float32 RGBA in [0, 1], straight (not premultiplied) alpha; write it with
        :func:`~matting_data.write_image` to a ``.png``.

    Raises:
        SizeMismatchError, UnsupportedImageError: bad or mismatched inputs.
    """
    foreground = estimate_foreground(image, alpha, method=method)
    alpha = np.asarray(alpha)
    if alpha.ndim == 3:
        alpha = alpha[:, :, 0]
    matte = alpha.astype(np.float32) / (255.0 if alpha.dtype == np.uint8 else 1.0)
    return np.dstack([foreground, matte]).astype(np.float32, copy=False)


def fit_background(background: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale ``background`` to cover ``height x width`` (aspect kept), crop around its centre.

    Shrinking uses area averaging, enlarging bicubic interpolation (OpenCV).

    Args:
        background: (h, w, 3) RGB, float in [0, 1] or uint8.
        height, width: the photo's size, >= 1.

    Returns:
        (height, width, 3) with ``background``'s dtype (float results clipped to [0, 1]).
    """
    background = np.asarray(background)
    if background.ndim != 3 or background.shape[2] != 3 or background.size == 0:
        raise UnsupportedImageError(
            f"background has shape {background.shape}, but a non-empty (H, W, 3) array is expected."
        )
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    bh, bw = background.shape[:2]
    scale = max(height / bh, width / bw)
    size = (max(width, round(bw * scale)), max(height, round(bh * scale)))
    if size != (bw, bh):
        flag = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
        source = background if background.dtype == np.uint8 else background.astype(np.float32)
        background = cv2.resize(source, size, interpolation=flag)
        if background.dtype != np.uint8:
            background = np.clip(background, 0.0, 1.0)
    top = (background.shape[0] - height) // 2
    left = (background.shape[1] - width) // 2
    return np.ascontiguousarray(background[top : top + height, left : left + width])


def parse_colour(text: str) -> tuple[float, float, float]:
    """An RGB colour in [0, 1] from ``#RRGGBB``, ``#RGB``, ``R,G,B`` (0..255) or a name.

    Names: :data:`COLOUR_NAMES` (CSS values). Case and surrounding spaces do not matter.

    Raises:
        ValueError: anything else (one sentence naming the forms).
    """
    cleaned = text.strip().lower()
    if cleaned in COLOUR_NAMES:
        return _unit(COLOUR_NAMES[cleaned])
    match = _HEX.fullmatch(cleaned)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return _unit(tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4)))
    parts = [p.strip() for p in cleaned.split(",")]
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        values = tuple(int(p) for p in parts)
        if all(v <= 255 for v in values):
            return _unit(values)
    raise ValueError(
        f"{text!r} is not a colour: use #RRGGBB, R,G,B with values 0-255, or one of "
        f"{', '.join(sorted(set(COLOUR_NAMES)))}."
    )


def solid_background(colour: tuple[float, float, float], height: int, width: int) -> np.ndarray:
    """(height, width, 3) float32 filled with ``colour`` (RGB in [0, 1])."""
    return np.broadcast_to(np.asarray(colour, np.float32), (height, width, 3)).copy()


def _unit(values: tuple[int, ...]) -> tuple[float, float, float]:
    red, green, blue = (v / 255.0 for v in values)
    return red, green, blue


def background_leak(
    colours: np.ndarray, foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray
) -> float:
    """How much of the old background is left in a cutout's colours (its halo), in [0, 1].

    Each colour is written ``F + lam (B - F)``, ``lam`` by least squares along the line from
    the true foreground ``F`` to the true background ``B``: 0 is a clean foreground, and a
    naive cutout (the photo's own pixels, ``alpha F + (1 - alpha) B``) has ``lam = 1 - alpha``.
    The result is the mean ``lam`` weighted by alpha over the transition
    (0.05 < alpha < 0.95) where F and B differ enough to tell (``|B - F|^2 > 0.1``).

    Args:
        colours: (H, W, 3) the cutout's colours, float in [0, 1].
        foreground, background: (H, W, 3) the true F and B, float in [0, 1].
        alpha: (H, W) the true alpha, float in [0, 1].

    Raises:
        ValueError: no pixel of the transition where F and B differ.
    """
    diff = np.asarray(background, np.float64) - np.asarray(foreground, np.float64)
    norm2 = (diff * diff).sum(axis=-1)
    alpha = np.asarray(alpha, np.float64)
    where = (alpha > 0.05) & (alpha < 0.95) & (norm2 > 0.1)
    if not where.any():
        raise ValueError("no transition pixel where the foreground and background differ.")
    lam = ((np.asarray(colours, np.float64) - foreground) * diff).sum(axis=-1)
    lam = lam[where] / norm2[where]
    weight = alpha[where]
    return float((lam * weight).sum() / weight.sum())
