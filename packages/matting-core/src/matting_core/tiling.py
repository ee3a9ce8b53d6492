"""Crop-and-stitch inference: overlapping patches, blended back with linear weights.

**Tiles.**  An (H, W) image is covered by a grid of ``tile`` x ``tile`` tiles (clamped to the
image's sides), spread evenly along each axis so that the first and last tiles touch the image's
borders and neighbours overlap by at least ``overlap`` pixels (:func:`tile_starts`).  A tile is
the part of the image a patch contributes to the result.

**Windows.**  The network sees each tile's *window*: the tile padded exactly as ``predict``
pads a whole image (``ModelInfo.pad_margin`` on every side, then bottom/right up to
``pad_multiple`` and ``min_size``), read from the image where the window lies inside it and
padded with ``ModelInfo.pad_mode`` (reflection) where it crosses the image's border.  So an
image no larger than one tile is one window, identical to the whole-image forward's input, and
inner tiles see real context where a whole image would see padding.

**Blending** (HDMatt, Yu et al. AAAI 2021: "the blending weight of each pixel is proportional
to its distance to the patch boundaries").  A tile's pixel ``(i, j)`` weighs ``1 + d`` where
``d`` is its distance in pixels to the nearest tile side that borders another tile
(:func:`linear_blend_weights`): linear, largest in the middle and still 1 on the tile's border,
so that no pixel is left without weight.  A side on the image's border has no neighbour to
blend with and is left out of ``d``: with it, a pixel near the image's border would weigh
about as much in either of two neighbouring tiles, and the blend would jump where their
overlap begins.  The result is ``Σ weight · alpha / Σ weight`` per pixel.

**Memory.**  Patches are read from the image one mini-batch at a time (``batch_size``
windows, normalised as they are read); the result and the summed weights are two float32
(H, W) numpy arrays, the only full-size buffers beside the image and the trimap.  A tile
without an unknown pixel is not run when the known pixels are restored afterwards: its result
would be overwritten anyway, and no unknown pixel lies in it.

**A model's own patch forward** (:class:`~matting_core.strategy.CropAndStitch`'s
``patch_forward``; HDMatt's cross-patch context).  It is called per mini-batch instead of
``model(image, trimap)``, with the :class:`PatchBatch` of query windows and the
:class:`PatchSource` of the whole image, which reads any other patch lazily (``load``), tells
each patch's trimap (``trimap_tile``, ``unknown_count``) and keeps a per-image ``cache`` (e.g.
encoder features of candidate context patches, computed once and reused by every query).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from matting_core.inference import (
    Padding,
    as_float_rgb,
    check_model_output,
    forward_alpha,
    forward_tta,
    normalise_rgb,
    trimap_one_hot,
)
from matting_core.registry import ModelInfo
from matting_core.strategy import CropAndStitch

__all__ = [
    "PatchBatch",
    "PatchSource",
    "Tile",
    "TileGrid",
    "linear_blend_weights",
    "predict_tiled",
    "tile_starts",
]


# --------------------------------------------------------------------------------------------
# Geometry and weights (pure)
# --------------------------------------------------------------------------------------------


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering ``[0, length)``, evenly spread.

    ``n = ceil((length - tile) / (tile - overlap)) + 1`` tiles (one if ``tile >= length``),
    tile ``i`` starting at ``floor(i * (length - tile) / (n - 1))``: the first at 0, the last
    ending at ``length``, neighbours overlapping by at least ``overlap``.  For example
    ``tile_starts(1000, 512, 128) == [0, 244, 488]``.

    Args:
        length: the image's side, >= 1.
        tile: the tile's side (clamped to ``length``).
        overlap: the least overlap, ``0 <= overlap < tile``.
    """
    tile = min(tile, length)
    if tile == length:
        return [0]
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return [i * (length - tile) // (count - 1) for i in range(count)]


def linear_blend_weights(
    height: int,
    width: int,
    *,
    top: bool = True,
    bottom: bool = True,
    left: bool = True,
    right: bool = True,
) -> np.ndarray:
    """HDMatt's blending weights of one tile: ``1 + d``, ``d`` the distance in pixels to the
    nearest of the chosen sides.

    Pixel ``(i, j)`` is ``i`` rows from the top side, ``height - 1 - i`` from the bottom,
    ``j`` columns from the left and ``width - 1 - j`` from the right; sides set to False are
    not counted (a tile's side on the image's border).  With no side counted every weight is
    1.  A 4 x 5 tile with every side counted::

        1 1 1 1 1
        1 2 2 2 1
        1 2 2 2 1
        1 1 1 1 1

    HDMatt also weighs its training loss with this mask over the training crop.

    Returns:
        (height, width) float32, >= 1 everywhere.
    """
    if not (top or bottom or left or right):
        return np.ones((height, width), np.float32)

    def distances(length: int, first: bool, last: bool) -> np.ndarray:
        # farther than any pixel for a side not counted
        d = np.full(length, max(height, width), np.float32)
        steps = np.arange(length, dtype=np.float32)
        if first:
            d = np.minimum(d, steps)
        if last:
            d = np.minimum(d, steps[::-1])
        return d

    d_row, d_col = distances(height, top, bottom), distances(width, left, right)
    return 1.0 + np.minimum(d_row[:, None], d_col[None, :])


@dataclass(frozen=True)
class Tile:
    """A tile of the image: rows ``top : top + height``, columns ``left : left + width``."""

    top: int
    left: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``image[tile.slices]`` is the tile."""
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


@dataclass(frozen=True)
class TileGrid:
    """The tiles covering an (H, W) image, row by row (:func:`tile_starts` on each axis)."""

    height: int
    width: int
    tiles: tuple[Tile, ...]

    @classmethod
    def cover(cls, height: int, width: int, tile: int, overlap: int) -> TileGrid:
        """The grid of ``tile`` x ``tile`` tiles (clamped to the image) with ``overlap``."""
        th, tw = min(tile, height), min(tile, width)
        tiles = tuple(
            Tile(top, left, th, tw)
            for top in tile_starts(height, tile, overlap)
            for left in tile_starts(width, tile, overlap)
        )
        return cls(height, width, tiles)

    def __len__(self) -> int:
        return len(self.tiles)

    def __iter__(self) -> Iterator[Tile]:
        return iter(self.tiles)

    def __getitem__(self, index: int) -> Tile:
        return self.tiles[index]

    def blended_sides(self, tile: Tile) -> dict[str, bool]:
        """Which sides of ``tile`` border another tile (those not on the image's border)."""
        return {
            "top": tile.top > 0,
            "bottom": tile.top + tile.height < self.height,
            "left": tile.left > 0,
            "right": tile.left + tile.width < self.width,
        }


# --------------------------------------------------------------------------------------------
# Patches: what a forward sees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchBatch:
    """A mini-batch of windows, ready for ``model(image, trimap)``.

    :param indices: the patches' indices in the grid (``source.grid[i]`` is the tile).
    :param tiles: their tiles.
    :param image: (B, 3, h, w) float32 windows, normalised with the model's mean/std, on the
        run's device.
    :param trimap: (B, 3, h, w) one-hot [bg, unknown, fg] windows, or None (no trimap, or a
        trimap-free model).
    :param padding: how each window extends its tile: ``padding.crop(window)`` is the tile.
    """

    indices: tuple[int, ...]
    tiles: tuple[Tile, ...]
    image: torch.Tensor
    trimap: torch.Tensor | None
    padding: Padding


class PatchSource:
    """Every patch of one image, read lazily: the query patches core feeds a model's own patch
    forward come from here, and so may any other (context) patch it asks for.

    Args:
        image: (H, W, 3) uint8 / uint16 / float RGB in [0, 1], already checked.
        trimap: (H, W) uint8 {0, 128, 255}, or None.
        grid: the tiles.
        info: the model's info (normalisation), or None for ImageNet statistics.
        padding: ``(pad_multiple, pad_mode, pad_margin, min_size)`` of each window.
        device: where :meth:`load` puts the windows.
        pass_trimap: whether windows carry the trimap (False for trimap-free models).

    Attributes:
        grid: the :class:`TileGrid`.
        padding: the :class:`~matting_core.inference.Padding` from tile to window (all
            tiles of a grid have one size, so one padding).
        device: the run's device.
        cache: a dict a patch forward may fill for the duration of this image.
    """

    def __init__(
        self,
        image: np.ndarray,
        trimap: np.ndarray | None,
        grid: TileGrid,
        *,
        info: ModelInfo | None,
        padding: tuple[int, str, int, int],
        device: torch.device,
        pass_trimap: bool = True,
    ) -> None:
        self._image = image
        self._trimap = trimap
        self._info = info
        self._pass_trimap = pass_trimap and trimap is not None
        multiple, self._mode, margin, min_size = padding
        self.grid = grid
        first = grid[0]
        self.padding = Padding.for_size(first.height, first.width, multiple, margin, min_size)
        self.device = device
        self.cache: dict[Any, Any] = {}
        self._unknown: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def has_trimap(self) -> bool:
        """Whether the image has a trimap (even when the model does not see it)."""
        return self._trimap is not None

    def trimap_tile(self, index: int) -> np.ndarray | None:
        """The (h, w) uint8 trimap of tile ``index`` (a view), or None without a trimap."""
        return None if self._trimap is None else self._trimap[self.grid[index].slices]

    def unknown_count(self, index: int) -> int:
        """Unknown pixels in tile ``index`` (every pixel without a trimap)."""
        if self._unknown is None:
            self._unknown = np.array(
                [
                    tile.height * tile.width
                    if self._trimap is None
                    else np.count_nonzero(self._trimap[tile.slices] == 128)
                    for tile in self.grid
                ],
                dtype=np.int64,
            )
        return int(self._unknown[index])

    def load(self, indices: Sequence[int]) -> PatchBatch:
        """The windows of patches ``indices``, stacked on the run's device."""
        indices = tuple(int(i) for i in indices)
        tiles = tuple(self.grid[i] for i in indices)
        images, trimaps = [], []
        for tile in tiles:
            rows, cols, outside = self._window(tile)
            rgb = as_float_rgb(self._image[rows, cols])
            images.append(outside.apply(normalise_rgb(rgb, self._info), self._mode))
            if self._pass_trimap:
                assert self._trimap is not None
                one_hot = trimap_one_hot(self._trimap[rows, cols])
                trimaps.append(outside.apply(one_hot, self._mode))
        image = torch.cat(images).to(self.device)
        trimap = torch.cat(trimaps).to(self.device) if trimaps else None
        return PatchBatch(indices, tiles, image, trimap, self.padding)

    def _window(self, tile: Tile) -> tuple[slice, slice, Padding]:
        """The part of ``tile``'s window inside the image, and the padding for the rest."""
        height, width = self.grid.height, self.grid.width
        p = self.padding
        top, bottom = tile.top - p.top, tile.top + tile.height + p.bottom
        left, right = tile.left - p.left, tile.left + tile.width + p.right
        y0, y1, x0, x1 = max(top, 0), min(bottom, height), max(left, 0), min(right, width)
        outside = Padding(y0 - top, bottom - y1, x0 - left, right - x1)
        return slice(y0, y1), slice(x0, x1), outside


# --------------------------------------------------------------------------------------------
# The stitching loop
# --------------------------------------------------------------------------------------------


def predict_tiled(
    model: nn.Module,
    image: np.ndarray,
    trimap: np.ndarray | None,
    strategy: CropAndStitch,
    *,
    info: ModelInfo | None,
    device: torch.device,
    padding: tuple[int, str, int, int],
    skip_known: bool,
    tta: bool,
    who: str,
    progress: bool = False,
) -> np.ndarray:
    """The raw stitched alpha of one image (known pixels not yet restored, not clipped).

    ``predict`` validates the inputs and finishes the result; call that.  Tiles without an
    unknown pixel are not run when ``skip_known`` (their pixels are all restored afterwards);
    their pixels keep weight 0 and alpha 0.

    Args:
        model: in eval mode, under ``torch.inference_mode``.
        image: (H, W, 3) checked RGB; trimap: (H, W) uint8 {0, 128, 255} or None.
        strategy: tile, overlap, batch size and the optional patch forward.
        info: the model's info, or None.
        device: where the forwards run.
        padding: ``(pad_multiple, pad_mode, pad_margin, min_size)`` of each window.
        skip_known: leave out tiles without an unknown pixel.
        tta: :func:`~matting_core.inference.forward_tta` per mini-batch.
        who: the model's description for contract errors.
        progress: a tqdm bar over the patches.

    Returns:
        (H, W) float32 ``Σ weight · alpha / Σ weight``.
    """
    from tqdm import tqdm

    height, width = image.shape[:2]
    grid = TileGrid.cover(height, width, strategy.tile, strategy.overlap)
    pass_trimap = info is None or info.needs_trimap
    source = PatchSource(
        image, trimap, grid, info=info, padding=padding, device=device, pass_trimap=pass_trimap
    )
    todo = [
        i
        for i in range(len(grid))
        if not (skip_known and trimap is not None and source.unknown_count(i) == 0)
    ]
    alpha_sum = np.zeros((height, width), np.float32)
    weight_sum = np.zeros((height, width), np.float32)
    weights: dict[tuple[bool, ...], np.ndarray] = {}
    bar = tqdm(
        total=len(todo),
        unit="patch",
        desc="patches",
        disable=not progress or len(todo) < 2,
        leave=False,
        file=sys.stderr,
    )
    with bar:
        for start in range(0, len(todo), strategy.batch_size):
            batch = source.load(todo[start : start + strategy.batch_size])
            if strategy.patch_forward is not None:
                alpha = check_model_output(
                    strategy.patch_forward(model, batch, source),
                    batch=len(batch.indices),
                    size=tuple(batch.image.shape[-2:]),
                    model=who,
                )
            elif tta:
                alpha = forward_tta(model, batch.image, batch.trimap, who=who)
            else:
                alpha = forward_alpha(model, batch.image, batch.trimap, who=who)
            patches = batch.padding.crop(alpha)[:, 0].float().cpu().numpy()
            for tile, patch in zip(batch.tiles, patches, strict=True):
                sides = grid.blended_sides(tile)
                key = tuple(sides.values())
                if key not in weights:
                    weights[key] = linear_blend_weights(tile.height, tile.width, **sides)
                alpha_sum[tile.slices] += weights[key] * patch
                weight_sum[tile.slices] += weights[key]
            bar.update(len(batch.indices))
    np.divide(alpha_sum, weight_sum, out=alpha_sum, where=weight_sum > 0)
    return alpha_sum
