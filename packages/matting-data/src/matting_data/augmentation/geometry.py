"""Geometric transforms: resize, flip, affine, rotation.

All of them move the *aligned* arrays together -- ``fg``, ``alpha``, ``trimap``, ``image`` (those
present) and ``bg`` once it has their size -- with nearest resampling for the trimap and the
transform's ``interpolation`` for the others (floats clipped to [0, 1]). Warps keep the (H, W)
of the input and fill uncovered pixels with 0 (background: alpha 0, trimap 0, black colour).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from matting_data.augmentation._base import (
    Interpolation,
    Sample,
    aligned_keys,
    check_interpolation,
    check_probability,
    map_aligned,
    reference_shape,
    resize_array,
)

__all__ = ["RandomAffine", "RandomHorizontalFlip", "RandomResize", "RandomRotation", "Resize"]


def affine_matrix(
    shape_hw: tuple[int, int],
    *,
    angle: float = 0.0,
    shear: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    flip: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """2x3 forward matrix about the image centre: flip, then scale, then shear, then rotate.

    ``angle`` and ``shear`` in degrees (shear tilts the y axis, x' = x + tan(shear) * y), ``scale``
    = (sx, sy), ``flip`` = (fx, fy) with entries +1 or -1. The centre ((W-1)/2, (H-1)/2) is a
    fixed point, so a pure flip maps pixels exactly onto pixels.
    """
    h, w = shape_hw
    a, s = math.radians(angle), math.radians(shear)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shearing = np.array([[1.0, math.tan(s)], [0.0, 1.0]])
    linear = rotation @ shearing @ np.diag([scale[0] * flip[0], scale[1] * flip[1]])
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    return np.hstack([linear, (centre - linear @ centre)[:, None]])


def _warp(sample: Sample, rng: np.random.Generator, matrix: np.ndarray, interp: Interpolation):
    h, w = reference_shape(sample)

    def op(array: np.ndarray, flag: int) -> np.ndarray:
        out = cv2.warpAffine(
            array, matrix, (w, h), flags=flag, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        return out.reshape(array.shape)

    return map_aligned(sample, rng, op, interp)


@dataclass(frozen=True)
class Resize:
    """Resize the aligned arrays to ``size`` (an int for a square, or (H, W)).

    AlphaGAN and HDMatt resize their crops to 320x320, HAttMatting to 512x512.
    ``interpolation`` may be ``"random"`` (HOP's random interpolation). ``bg_interpolation``
    (default: same as ``interpolation``) applies to ``bg`` when it is aligned.
    Reads/writes: fg, alpha, trimap, image, aligned bg.
    """

    size: int | tuple[int, int]
    interpolation: Interpolation = "linear"
    bg_interpolation: Interpolation | None = None

    def __post_init__(self) -> None:
        check_interpolation(self.interpolation)
        if self.bg_interpolation is not None:
            check_interpolation(self.bg_interpolation)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        hw = (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)
        return map_aligned(
            sample,
            rng,
            lambda a, f: resize_array(a, hw, f),  # type: ignore[arg-type]
            self.interpolation,
            bg_interpolation=self.bg_interpolation,
        )


@dataclass(frozen=True)
class RandomResize:
    """With probability ``p``, resize the aligned arrays to ``target`` x ``target``.

    GCA (paper: "resized to 640x640 images with a probability of 0.25, so the network can
    nearly see the whole foreground"): target=640, p=0.25. The release decided the rule: the
    foreground and alpha are resized to exactly 640x640 *ignoring the aspect ratio*, before the
    affine transform (Yaoyi-Li/GCA-Matting, dataloader/data_generator.py, ``_composite_fg``).
    Reads/writes: fg, alpha (and trimap, image, aligned bg if present). One draw from ``rng``
    (plus one per array when the interpolation is random).
    """

    target: int = 640
    p: float = 0.25
    interpolation: Interpolation = "linear"

    def __post_init__(self) -> None:
        check_probability("p", self.p)
        check_interpolation(self.interpolation)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.p:
            return dict(sample)
        hw = (self.target, self.target)
        return map_aligned(sample, rng, lambda a, f: resize_array(a, hw, f), self.interpolation)


@dataclass(frozen=True)
class RandomHorizontalFlip:
    """With probability ``p``, mirror the aligned arrays left-right.

    AlphaGAN ("randomly flip the cropped images"), HDMatt and HAttMatting ("randomly flipped
    horizontally"): p=0.5. Reads/writes: fg, alpha, trimap, image, aligned bg.
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        check_probability("p", self.p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        out = dict(sample)
        if rng.random() < self.p:
            for key in aligned_keys(sample):
                out[key] = np.ascontiguousarray(sample[key][:, ::-1])
        return out


@dataclass(frozen=True)
class RandomAffine:
    """Random rotation, per-axis scaling, shear and horizontal/vertical flips in one warp.

    GCA (paper: "a random affine transformation ... rotation, scaling, shearing as well as the
    vertical and horizontal flipping"). The release decided the parameters
    (Yaoyi-Li/GCA-Matting, dataloader/data_generator.py, ``RandomAffine(degrees=30,
    scale=[0.8, 1.25], shear=10, flip=0.5)``): angle ~ U(-degrees, degrees); scale_x and
    scale_y drawn independently from U(scale); shear ~ U(-shear, shear) degrees; horizontal and
    vertical flips each with probability ``flip_p``; no translation; output keeps the input
    size. Also from the release: images whose longer side is below ``rotate_min_size`` (1024)
    are not rotated (angle set to 0), and the fill is 0.

    Reads/writes: fg, alpha (and trimap, image, aligned bg if present). Draws 6 numbers from
    ``rng`` (plus one per array when the interpolation is random).
    """

    degrees: float = 30.0
    scale: tuple[float, float] = (0.8, 1.25)
    shear: float = 10.0
    flip_p: float = 0.5
    rotate_min_size: int = 1024
    interpolation: Interpolation = "linear"

    def __post_init__(self) -> None:
        check_probability("flip_p", self.flip_p)
        check_interpolation(self.interpolation)
        if self.degrees < 0 or self.shear < 0:
            raise ValueError("degrees and shear must be >= 0")
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale must satisfy 0 < low <= high, got {self.scale}")

    def sample_params(self, rng: np.random.Generator, shape_hw: tuple[int, int]) -> dict:
        """Draw (angle, shear, scale, flip) for an image of ``shape_hw``."""
        angle = float(rng.uniform(-self.degrees, self.degrees))
        scale = (float(rng.uniform(*self.scale)), float(rng.uniform(*self.scale)))
        shear = float(rng.uniform(-self.shear, self.shear))
        flips = rng.random(2) < self.flip_p
        if max(shape_hw) < self.rotate_min_size:
            angle = 0.0
        flip = (-1 if flips[0] else 1, -1 if flips[1] else 1)
        return {"angle": angle, "shear": shear, "scale": scale, "flip": flip}

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        shape = reference_shape(sample)
        matrix = affine_matrix(shape, **self.sample_params(rng, shape))
        return _warp(sample, rng, matrix, self.interpolation)


@dataclass(frozen=True)
class RandomRotation:
    """Rotate the aligned arrays about the centre by a random angle (degrees), same size.

    Set exactly one of:

    * ``sigma_degrees``: angle ~ N(0, sigma) -- AlphaGAN ("rotate the foreground and alpha by
      n degrees, sampled from a normal distribution with a mean of 0 and standard deviation of
      5"): ``RandomRotation(sigma_degrees=5)``, applied before the trimap is generated;
    * ``max_degrees``: angle ~ U(-max, max) -- HDMatt ("rotated by an angle less than 15
      degrees"): ``RandomRotation(max_degrees=15)``, applied to the resized 320 patch.

    Reads/writes: fg, alpha, trimap, image, aligned bg. Corners uncovered by the rotation
    become 0 (alpha 0, trimap background).
    """

    sigma_degrees: float | None = None
    max_degrees: float | None = None
    interpolation: Interpolation = "linear"

    def __post_init__(self) -> None:
        check_interpolation(self.interpolation)
        if (self.sigma_degrees is None) == (self.max_degrees is None):
            raise ValueError("set exactly one of sigma_degrees and max_degrees")
        if (self.sigma_degrees or 0) < 0 or (self.max_degrees or 0) < 0:
            raise ValueError("sigma_degrees / max_degrees must be >= 0")

    def sample_angle(self, rng: np.random.Generator) -> float:
        if self.sigma_degrees is not None:
            return float(rng.normal(0.0, self.sigma_degrees))
        return float(rng.uniform(-self.max_degrees, self.max_degrees))  # type: ignore[operator]

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        shape = reference_shape(sample)
        matrix = affine_matrix(shape, angle=self.sample_angle(rng))
        return _warp(sample, rng, matrix, self.interpolation)
