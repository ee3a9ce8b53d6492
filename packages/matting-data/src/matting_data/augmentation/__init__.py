"""Seeded, pure data augmentation for deep image matting training.

A sample is a dict of numpy arrays (``fg`` (H, W, 3) float32 RGB [0, 1], ``alpha`` (H, W)
float32 [0, 1], ``trimap`` (H, W) uint8 {0, 128, 255}, ``bg`` (H', W', 3) float32 [0, 1],
``image`` (H, W, 3) float32 [0, 1] once composited; other keys pass through). Each transform is
a frozen dataclass called as ``transform(sample, rng)`` with a :class:`numpy.random.Generator`;
it returns a new dict and never modifies its input. :class:`Compose` chains transforms with one
generator; :mod:`matting_data.pipelines` assembles the recipes of the papers.
"""

from matting_data.augmentation._base import (
    INTERPOLATIONS,
    RANDOM_INTERPOLATIONS,
    Compose,
    Interpolation,
    Sample,
    Transform,
    aligned_keys,
    resolve_interpolation,
)
from matting_data.augmentation.color import RandomHSVJitter
from matting_data.augmentation.crop import CropCenteredOnUnknown, RandomCrop
from matting_data.augmentation.geometry import (
    RandomAffine,
    RandomHorizontalFlip,
    RandomResize,
    RandomRotation,
    Resize,
    affine_matrix,
)
from matting_data.augmentation.layers import (
    CombineForegrounds,
    CompositeOnBackground,
    GenerateTrimap,
)

__all__ = [
    "INTERPOLATIONS",
    "RANDOM_INTERPOLATIONS",
    "CombineForegrounds",
    "Compose",
    "CompositeOnBackground",
    "CropCenteredOnUnknown",
    "GenerateTrimap",
    "Interpolation",
    "RandomAffine",
    "RandomCrop",
    "RandomHSVJitter",
    "RandomHorizontalFlip",
    "RandomResize",
    "RandomRotation",
    "Resize",
    "Sample",
    "Transform",
    "affine_matrix",
    "aligned_keys",
    "resolve_interpolation",
]
