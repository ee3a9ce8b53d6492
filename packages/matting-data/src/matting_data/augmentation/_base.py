"""Shared machinery of the augmentation transforms: samples, interpolation, aligned keys.

A *sample* is a ``dict`` of numpy arrays:

* ``fg``     (H, W, 3) float32 RGB in [0, 1] -- the foreground layer
* ``alpha``  (H, W) float32 in [0, 1]
* ``trimap`` (H, W) uint8 in {0, 128, 255}, once generated
* ``image``  (H, W, 3) float32 RGB in [0, 1], once composited
* ``bg``     (H', W', 3) float32 RGB in [0, 1] -- any size until it is brought to the
  foreground's size (by a crop transform or by the compositing step)

Any other key passes through every transform untouched. Every transform is a frozen dataclass
whose ``__call__(sample, rng)`` returns a new dict and never writes into the input arrays; all
randomness comes from the :class:`numpy.random.Generator` passed in, so the same seed gives the
same output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

__all__ = [
    "INTERPOLATIONS",
    "RANDOM_INTERPOLATIONS",
    "Compose",
    "Interpolation",
    "Sample",
    "Transform",
    "aligned_keys",
    "check_interpolation",
    "resolve_interpolation",
]

Sample = dict[str, Any]

#: Resampling kernels by name (OpenCV flags).
INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}

#: Kernels drawn by ``interpolation="random"`` (HOP matting's random interpolation). The HOP
#: paper (Sec. 4.1) only says "randomly select an interpolation algorithm with equal
#: probability for any resize operation"; the kernel list is the one of the authors' release
#: (Yaoyi-Li/GCA-Matting, dataloader/data_generator.py, ``interp_list`` used when
#: ``random_interp`` is on). ``"area"`` is available by passing an explicit tuple of names; note
#: that OpenCV's warps (rotation/affine) run it as bilinear.
RANDOM_INTERPOLATIONS: tuple[str, ...] = ("nearest", "linear", "cubic", "lanczos")

#: A kernel name, ``"random"`` (uniform over :data:`RANDOM_INTERPOLATIONS`), or a tuple of
#: names to draw from uniformly -- a fresh draw for every array resampled.
Interpolation = str | tuple[str, ...]

#: Keys that are spatially aligned with ``alpha`` (``bg`` joins them once it has the same size).
_ALIGNED_FLOAT_KEYS = ("fg", "alpha", "image")


class Transform(Protocol):
    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample: ...


def check_interpolation(spec: Interpolation) -> None:
    """Raise ``ValueError`` if ``spec`` is not a valid :data:`Interpolation`."""
    names = (spec,) if isinstance(spec, str) else tuple(spec)
    if not names:
        raise ValueError("interpolation: empty tuple of kernels")
    for name in names:
        if name not in INTERPOLATIONS and not (isinstance(spec, str) and name == "random"):
            choices = ", ".join([*INTERPOLATIONS, "random"])
            raise ValueError(f"interpolation: unknown kernel {name!r} (choose from {choices})")


def resolve_interpolation(spec: Interpolation, rng: np.random.Generator) -> int:
    """The OpenCV flag for ``spec``; draws one from ``rng`` when ``spec`` is random or a tuple."""
    if isinstance(spec, str) and spec != "random":
        return INTERPOLATIONS[spec]
    names = RANDOM_INTERPOLATIONS if spec == "random" else tuple(spec)
    return INTERPOLATIONS[names[int(rng.integers(len(names)))]]


def reference_shape(sample: Sample) -> tuple[int, int]:
    """(H, W) of the sample's aligned arrays (taken from ``alpha``, else ``fg``, else ``image``)."""
    for key in ("alpha", "fg", "image", "trimap"):
        if key in sample:
            return tuple(sample[key].shape[:2])  # type: ignore[return-value]
    raise KeyError("sample has none of 'alpha', 'fg', 'image', 'trimap'")


def aligned_keys(sample: Sample) -> list[str]:
    """Keys moved together by spatial transforms: fg, alpha, image, trimap (those present), and
    bg when it already has their (H, W)."""
    shape = reference_shape(sample)
    keys = [k for k in (*_ALIGNED_FLOAT_KEYS, "trimap") if k in sample]
    if "bg" in sample and tuple(sample["bg"].shape[:2]) == shape:
        keys.append("bg")
    return keys


#: Kernels with negative lobes, whose output can leave the input's [0, 1] range.
_OVERSHOOTING = frozenset({cv2.INTER_CUBIC, cv2.INTER_LANCZOS4})


def clip01(array: np.ndarray) -> np.ndarray:
    """Clip a freshly computed float array to [0, 1] in place."""
    return np.clip(array, 0.0, 1.0, out=array)


def clip_after(array: np.ndarray, flag: int) -> np.ndarray:
    """``array`` resampled with ``flag``, clipped to [0, 1] if the kernel can overshoot."""
    return clip01(array) if flag in _OVERSHOOTING else array


def map_aligned(
    sample: Sample,
    rng: np.random.Generator,
    op: Callable[[np.ndarray, int], np.ndarray],
    interpolation: Interpolation,
    *,
    bg_interpolation: Interpolation | None = None,
    keys: Iterable[str] | None = None,
) -> Sample:
    """Apply the resampling ``op(array, cv2_flag)`` to every aligned key of a copy of ``sample``.

    The trimap always uses nearest; float arrays are clipped to [0, 1] after kernels that can
    overshoot (cubic, lanczos). With a random
    ``interpolation`` every array draws its own kernel (HOP: "the foreground, background and
    alpha matte images can be resized with different algorithm"), in a fixed key order.
    """
    out = dict(sample)
    for key in aligned_keys(sample) if keys is None else keys:
        if key == "trimap":
            out[key] = op(sample[key], cv2.INTER_NEAREST)
            continue
        spec = bg_interpolation if key == "bg" and bg_interpolation is not None else interpolation
        flag = resolve_interpolation(spec, rng)
        out[key] = clip_after(op(sample[key], flag), flag)
    return out


def resize_array(array: np.ndarray, size_hw: tuple[int, int], flag: int) -> np.ndarray:
    """``cv2.resize`` to (H, W), keeping a trailing channel axis of size 1 if there was one."""
    h, w = size_hw
    if array.shape[:2] == (h, w):
        return array.copy()
    out = cv2.resize(array, (w, h), interpolation=flag)
    return out.reshape((h, w, *array.shape[2:]))


def check_probability(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {p}")


def check_sizes(sizes: int | Sequence[int], size_range: tuple[int, int] | None) -> None:
    choices = (sizes,) if isinstance(sizes, int) else tuple(sizes)
    if not choices or any(int(s) < 1 for s in choices):
        raise ValueError(f"size must be a positive int or a non-empty tuple of them, got {sizes}")
    if size_range is not None:
        lo, hi = size_range
        if not 1 <= lo <= hi:
            raise ValueError(f"size_range must satisfy 1 <= low <= high, got {size_range}")


def draw_size(
    sizes: int | Sequence[int], size_range: tuple[int, int] | None, rng: np.random.Generator
) -> int:
    """A crop side: uniform integer in ``size_range`` (inclusive) if given, else one of ``sizes``."""
    if size_range is not None:
        return int(rng.integers(size_range[0], size_range[1] + 1))
    if isinstance(sizes, int):
        return sizes
    return int(sizes[int(rng.integers(len(sizes)))])


@dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order, all drawing from the same generator.

    ``Compose([...])(sample, np.random.default_rng(seed))`` is reproducible for a fixed seed.
    """

    transforms: tuple[Transform, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        out = dict(sample)
        for transform in self.transforms:
            out = transform(out, rng)
        return out

    def __len__(self) -> int:
        return len(self.transforms)
