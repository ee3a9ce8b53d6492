"""Bounded memory and time on large photos: a coarse-to-fine, tiled solve.

The matting Laplacians cost hundreds of bytes per pixel (closed-form about 0.4 KiB, KNN
several KiB), so a 12-megapixel photo solved whole needs tens of GiB.  An image with more
than ``max_pixels`` pixels is solved in two passes, neither of which ever sees more than
``max_pixels`` pixels:

1. **coarse**: image and trimap are downscaled (area averaging) to at most ``max_pixels``;
   a coarse pixel is known only where every full-resolution pixel under it is known with
   the same value.  The coarse solve carries information across the whole image (a large
   unknown region spanning many tiles) and is upsampled bilinearly to a full-resolution
   *guide*.
2. **fine**: the image is cut into a grid of tiles of at most ``tile_size`` pixels a side
   (``isqrt(max_pixels) - 2 tile_margin``); each tile that holds an unknown pixel is solved
   at full resolution together with ``tile_margin`` pixels of context on each side, the
   context's outer one-pixel ring (where it is not the image border) held at the guide as
   known values, the guide as the first iterate.  Only the tile itself is kept.

Tiles without an unknown pixel are copied from the trimap, so time grows with the unknown
area, not the photo.  Where an image fits ``max_pixels`` it is solved whole and the result is
the method's exact solution.
"""

from __future__ import annotations

import itertools
import math
import sys

import cv2
import numpy as np
from tqdm import tqdm

from matting_classical.config import SolverConfig
from matting_classical.conjugate_gradient import PROGRESS_DELAY
from matting_classical.methods import Solve

__all__ = ["coarse_problem", "solve_bounded", "tile_grid"]


def solve_bounded(
    solve: Solve,
    image: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    config: SolverConfig,
    *,
    min_side: int = 1,
    name: str = "",
) -> np.ndarray:
    """Solve one image with ``solve``, never giving it more than ``config.max_pixels`` pixels.

    Args:
        solve: one of :mod:`matting_classical.methods`' functions.
        image: (H, W, 3) float RGB in [0, 1] (float32 is fine; each piece is converted to
            float64 on its own).
        known: (H, W) bool, the trimap's known pixels.
        values: (H, W) float alpha of the known pixels: 1 on foreground, 0 elsewhere.
        config: the method's config (limits, tolerance, its own parameters).
        min_side: the smallest height or width the method can solve (its window side); tiles
            are widened to it where the image allows.
        name: the method's name, for progress bars and warnings.

    Returns:
        (H, W) float32 alpha in [0, 1].
    """
    height, width = known.shape
    if height * width <= config.max_pixels:
        alpha = solve(_float64(image), known, values, config, desc=name, progress=config.progress)
        return alpha.astype(np.float32)

    coarse_image, coarse_known, coarse_values = coarse_problem(
        image, known, values, config.max_pixels
    )
    if coarse_known.any() and min(coarse_known.shape) >= min_side:
        coarse_alpha = solve(
            _float64(coarse_image),
            coarse_known,
            coarse_values,
            config,
            desc=f"{name} (coarse)",
            progress=config.progress,
        ).astype(np.float32)
    else:  # the known regions (or a side) vanished at the coarse scale: no global information
        coarse_alpha = np.full(coarse_known.shape, 0.5, np.float32)
    guide = cv2.resize(coarse_alpha, (width, height), interpolation=cv2.INTER_LINEAR)
    np.copyto(guide, values, where=known)

    # 1 on known foreground, 0 elsewhere; the tiles with unknown pixels overwrite theirs
    alpha = values.astype(np.float32)
    tiles = [
        tile for tile in tile_grid(height, width, config.tile_size) if _has_unknown(known, tile)
    ]
    for top, bottom, left, right in tqdm(
        tiles,
        desc=f"{name} tiles",
        unit="tile",
        delay=PROGRESS_DELAY,
        disable=not config.progress,
        leave=False,
        file=sys.stderr,
    ):
        y0, y1 = _widen(top, bottom, config.tile_margin, min_side, height)
        x0, x1 = _widen(left, right, config.tile_margin, min_side, width)
        tile_known = known[y0:y1, x0:x1].copy()
        ring = np.zeros_like(tile_known)
        if y0 > 0:
            ring[0, :] = True
        if y1 < height:
            ring[-1, :] = True
        if x0 > 0:
            ring[:, 0] = True
        if x1 < width:
            ring[:, -1] = True
        tile_known |= ring
        tile_guide = guide[y0:y1, x0:x1].astype(np.float64)
        solved = solve(
            _float64(image[y0:y1, x0:x1]),
            tile_known,
            tile_guide,
            config,
            x0=tile_guide,
            desc=f"{name} tile",
            progress=False,
            frame=(height, width),
        )
        alpha[top:bottom, left:right] = solved[top - y0 : bottom - y0, left - x0 : right - x0]
    return alpha


def coarse_problem(
    image: np.ndarray, known: np.ndarray, values: np.ndarray, max_pixels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The problem downscaled to at most ``max_pixels`` pixels (aspect ratio kept).

    The image is area-averaged; so is the trimap (as 0 / 0.5 / 1), and a coarse pixel is
    known only where the average is exactly 0 or 1, i.e. where all the pixels under it agree.

    Returns:
        coarse image (h, w, 3) float32, known (h, w) bool, values (h, w) float64.
    """
    height, width = known.shape
    scale = math.sqrt(max_pixels / (height * width))
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    coarse_image = cv2.resize(
        np.ascontiguousarray(image, np.float32), size, interpolation=cv2.INTER_AREA
    )
    trimap = np.where(known, values, 0.5).astype(np.float32)
    coarse_trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_AREA)
    is_background = np.abs(coarse_trimap) < 1e-4
    is_foreground = np.abs(coarse_trimap - 1.0) < 1e-4
    return coarse_image, is_background | is_foreground, is_foreground.astype(np.float64)


def tile_grid(height: int, width: int, tile_size: int) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of an even grid of tiles at most ``tile_size`` a side that
    covers the image exactly, row by row."""

    def cuts(size: int) -> list[int]:
        count = math.ceil(size / tile_size)
        return [round(i * size / count) for i in range(count + 1)]

    rows, cols = cuts(height), cuts(width)
    return [
        (top, bottom, left, right)
        for top, bottom in itertools.pairwise(rows)
        for left, right in itertools.pairwise(cols)
    ]


def _has_unknown(known: np.ndarray, tile: tuple[int, int, int, int]) -> bool:
    top, bottom, left, right = tile
    return not known[top:bottom, left:right].all()


def _widen(start: int, stop: int, margin: int, min_side: int, size: int) -> tuple[int, int]:
    """[start, stop) grown by ``margin`` on both sides, and to ``min_side``, within [0, size)."""
    start, stop = max(0, start - margin), min(size, stop + margin)
    missing = min_side - (stop - start)
    if missing > 0:
        start = max(0, start - (missing + 1) // 2)
        stop = min(size, max(stop + missing // 2, start + min_side))
        start = max(0, min(start, stop - min_side))
    return start, stop


def _float64(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image, dtype=np.float64)
