"""Square crops: centred on an unknown trimap pixel (trimap-based methods), or anywhere.

Both crops first bring an unaligned ``bg`` to the foreground's size (so the background is cut
from the same window, as in the GCA release and AlphaGAN), and both enlarge a sample that is
smaller than the crop instead of padding it. The crop side may be fixed, drawn from a tuple of
choices, or drawn uniformly from an inclusive integer range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matting_data.augmentation._base import (
    Interpolation,
    Sample,
    aligned_keys,
    check_interpolation,
    check_sizes,
    draw_size,
    map_aligned,
    reference_shape,
    resize_array,
)
from matting_data.trimap import TRIMAP_UNKNOWN

__all__ = ["CropCenteredOnUnknown", "RandomCrop"]

#: When the sample is smaller than the crop, its shorter side is enlarged to this factor times
#: the crop side (GCA release, ``RandomCrop``: ratio = 1.1 * crop / shorter side).
_UPSCALE_MARGIN = 1.1


def _prepare(
    sample: Sample,
    rng: np.random.Generator,
    size: int,
    interpolation: Interpolation,
    bg_interpolation: Interpolation,
) -> Sample:
    """Resize ``bg`` to the foreground size, then enlarge everything if smaller than ``size``."""
    out = dict(sample)
    h, w = reference_shape(sample)
    if "bg" in out and out["bg"].shape[:2] != (h, w):
        out = map_aligned(
            out,
            rng,
            lambda a, f: resize_array(a, (h, w), f),
            interpolation,
            bg_interpolation=bg_interpolation,
            keys=("bg",),
        )
    if h < size or w < size:
        ratio = _UPSCALE_MARGIN * size / min(h, w)
        hw = (max(size, int(h * ratio)), max(size, int(w * ratio)))
        out = map_aligned(
            out,
            rng,
            lambda a, f: resize_array(a, hw, f),
            interpolation,
            bg_interpolation=bg_interpolation,
        )
    return out


def _cut(sample: Sample, top: int, left: int, size: int) -> Sample:
    out = dict(sample)
    for key in aligned_keys(sample):
        out[key] = sample[key][top : top + size, left : left + size].copy()
    return out


@dataclass(frozen=True)
class CropCenteredOnUnknown:
    """Crop a ``size`` x ``size`` window centred on a random unknown (128) trimap pixel.

    * GCA: ``size=512``. The release decided the details (Yaoyi-Li/GCA-Matting,
      dataloader/data_generator.py, ``RandomCrop``): the background is first resized to the
      foreground size with cubic interpolation and cut from the same window; a sample smaller
      than the crop is enlarged so its shorter side is 1.1 x size (no padding); the centre is
      drawn uniformly among unknown pixels whose window fits inside the image; with fewer than
      ``min_unknown`` (10) such pixels the window is placed uniformly at random; a sample with
      no unknown pixel at all is resized whole to size x size.
    * AlphaGAN: side drawn uniformly from 320..720 (``size_range=(320, 720)``), then
      ``Resize(320)``.
    * HDMatt: side in {320, 480, 640} (``size=(320, 480, 640)``), then ``Resize(320)``.

    Reads trimap; reads/writes fg, alpha, trimap, image (those present) and bg.
    """

    size: int | Sequence[int] = 512
    size_range: tuple[int, int] | None = None
    min_unknown: int = 10
    interpolation: Interpolation = "linear"
    bg_interpolation: Interpolation = "cubic"

    def __post_init__(self) -> None:
        check_sizes(self.size, self.size_range)
        check_interpolation(self.interpolation)
        check_interpolation(self.bg_interpolation)
        if not isinstance(self.size, int):
            object.__setattr__(self, "size", tuple(self.size))

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if "trimap" not in sample:
            raise KeyError("CropCenteredOnUnknown needs sample['trimap'] (run GenerateTrimap)")
        size = draw_size(self.size, self.size_range, rng)
        out = _prepare(sample, rng, size, self.interpolation, self.bg_interpolation)
        h, w = reference_shape(out)
        unknown = out["trimap"] == TRIMAP_UNKNOWN
        half = size // 2
        # Centres whose window [c - half, c - half + size) lies inside the image.
        window = unknown[half : h - size + half + 1, half : w - size + half + 1]
        candidates = np.flatnonzero(window)
        if candidates.size >= self.min_unknown:
            row, col = divmod(int(candidates[rng.integers(candidates.size)]), window.shape[1])
            return _cut(out, row, col, size)  # top-left = centre - half = window index
        if not unknown.any():
            hw = (size, size)
            return map_aligned(
                out,
                rng,
                lambda a, f: resize_array(a, hw, f),
                self.interpolation,
                bg_interpolation=self.bg_interpolation,
            )
        top = int(rng.integers(h - size + 1))
        left = int(rng.integers(w - size + 1))
        return _cut(out, top, left, size)


@dataclass(frozen=True)
class RandomCrop:
    """Crop a ``size`` x ``size`` window at a uniformly random position.

    HAttMatting (trimap-free: "all input images are randomly cropped to 512x512 and 640x640
    and 800x800", then resized to 512): ``RandomCrop(size=(512, 640, 800))``. Like
    :class:`CropCenteredOnUnknown`, it first brings ``bg`` to the foreground size and enlarges
    a sample smaller than the crop. Reads/writes fg, alpha, trimap, image (those present), bg.
    """

    size: int | Sequence[int] = 512
    size_range: tuple[int, int] | None = None
    interpolation: Interpolation = "linear"
    bg_interpolation: Interpolation = "cubic"

    def __post_init__(self) -> None:
        check_sizes(self.size, self.size_range)
        check_interpolation(self.interpolation)
        check_interpolation(self.bg_interpolation)
        if not isinstance(self.size, int):
            object.__setattr__(self, "size", tuple(self.size))

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        size = draw_size(self.size, self.size_range, rng)
        out = _prepare(sample, rng, size, self.interpolation, self.bg_interpolation)
        h, w = reference_shape(out)
        top = int(rng.integers(h - size + 1))
        left = int(rng.integers(w - size + 1))
        return _cut(out, top, left, size)
