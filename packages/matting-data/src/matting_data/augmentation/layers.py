"""Transforms on the matting layers: two-foreground combination, trimap generation,
compositing onto the background."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matting_data.augmentation._base import (
    Interpolation,
    Sample,
    check_interpolation,
    check_probability,
    clip01,
    clip_after,
    reference_shape,
    resize_array,
    resolve_interpolation,
)

__all__ = ["CombineForegrounds", "CompositeOnBackground", "GenerateTrimap"]


def _composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # Imported here so this module loads even before matting_data.compositing exists.
    from matting_data.compositing import composite

    return np.asarray(composite(fg, bg, alpha), dtype=np.float32)


def _over_float32(top: np.ndarray, below: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * top + (1 - alpha) * below`` in float32, as ``below + alpha * (top - below)``.

    The same formula as :func:`matting_data.compositing.composite`, which validates its inputs
    and works in float64: at Adobe foreground sizes (~2000 px) that is about 6x slower, and
    this runs on the full-resolution layers of half of all training samples.
    """
    out = np.subtract(top, below, dtype=np.float32)
    out *= alpha[..., None]
    out += below
    return out


@dataclass(frozen=True)
class CombineForegrounds:
    """With probability ``p``, merge a second foreground into the first.

    GCA, following Tang et al. 2019 (paper: "randomly select two foreground object images with
    a probability of 0.5 and combine them"); HDMatt does the same ("augmented the ground truth
    alpha matte by compositing two foreground images"). The release decided how
    (Yaoyi-Li/GCA-Matting, dataloader/data_generator.py, ``_composite_fg``): the second
    foreground and alpha are resized to the first one's size (nearest in the release); the new
    alpha is ``1 - (1 - alpha) * (1 - alpha2)`` (two 50% layers give 75%); the new foreground is
    the first composited over the second, ``fg * alpha + fg2 * (1 - alpha)``; and the
    combination is skipped when the merged alpha is 1 everywhere (no transition left).

    Reads fg, alpha, fg2, alpha2; writes fg, alpha; always removes fg2 and alpha2 from the
    sample. Without fg2/alpha2 it does nothing (a dataset that wants to avoid loading a second
    foreground it may not use can draw the coin itself and pass ``p=1``). One draw from ``rng``
    (plus two when the interpolation is random and the combination happens).
    """

    p: float = 0.5
    interpolation: Interpolation = "linear"

    def __post_init__(self) -> None:
        check_probability("p", self.p)
        check_interpolation(self.interpolation)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        out = dict(sample)
        fg2, alpha2 = out.pop("fg2", None), out.pop("alpha2", None)
        if rng.random() >= self.p or fg2 is None or alpha2 is None:
            return out
        fg, alpha = sample["fg"], sample["alpha"]
        hw = reference_shape(sample)
        flag = resolve_interpolation(self.interpolation, rng)
        fg2 = clip_after(resize_array(fg2, hw, flag), flag)
        flag = resolve_interpolation(self.interpolation, rng)
        alpha2 = clip_after(resize_array(alpha2, hw, flag), flag)
        merged = 1.0 - (1.0 - alpha) * (1.0 - alpha2)
        if not np.any(merged < 1.0):
            return out
        out["fg"] = clip01(_over_float32(fg, fg2, alpha))
        out["alpha"] = clip01(merged.astype(np.float32))
        return out


@dataclass(frozen=True)
class GenerateTrimap:
    """Make ``trimap`` from ``alpha`` with :func:`matting_data.trimap_generation.trimap_from_alpha`.

    * GCA: ``kernel_range=(5, 29)``, ``mode="erode_dilate"`` (paper: "a dilation and an erosion
      on alpha images with random number of pixels ranging from 5 to 29"; the release erodes
      the definite foreground and background with independently drawn elliptic kernels, sizes
      1..29 -- pass ``kernel_range=(1, 29)`` for the release's draw).
    * AlphaGAN: ``kernel_range=(2, 20)``, ``mode="dilate"`` ("dilating the ground-truth alpha
      with random kernel sizes from 2 to 20").
    * HDMatt: ``mode="dilate"`` ("randomly dilated"; the range is not given).

    ``kernel_range=None`` takes trimap_generation's default for the mode ((5, 29) and (2, 20)).
    Reads alpha; writes trimap (H, W) uint8 {0, 128, 255}.
    """

    kernel_range: tuple[int, int] | None = (5, 29)
    mode: str = "erode_dilate"

    def __post_init__(self) -> None:
        if self.mode not in ("erode_dilate", "dilate"):
            raise ValueError(f"mode must be 'erode_dilate' or 'dilate', got {self.mode!r}")
        if self.kernel_range is not None:
            lo, hi = self.kernel_range
            if not 1 <= lo <= hi:
                raise ValueError(f"kernel_range must satisfy 1 <= low <= high, got {lo, hi}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        from matting_data.trimap_generation import trimap_from_alpha

        out = dict(sample)
        out["trimap"] = trimap_from_alpha(
            sample["alpha"], rng=rng, kernel_range=self.kernel_range, mode=self.mode
        )
        return out


@dataclass(frozen=True)
class CompositeOnBackground:
    """Composite the foreground onto the background: ``image = fg * alpha + bg * (1 - alpha)``.

    Every method here trains on such composites (Xu et al. 2017: Adobe foregrounds over COCO
    backgrounds). A ``bg`` of another size is first resized to the foreground size -- cubic in
    the release (Yaoyi-Li/GCA-Matting, ``RandomCrop``, following Deep Image Matting); HOP draws
    the kernel at random (``interpolation="random"``).

    Reads fg, alpha, bg; writes image (H, W, 3) float32 in [0, 1] and bg (resized).
    """

    interpolation: Interpolation = "cubic"

    def __post_init__(self) -> None:
        check_interpolation(self.interpolation)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        out = dict(sample)
        hw = reference_shape(sample)
        bg = sample["bg"]
        if bg.shape[:2] != hw:
            flag = resolve_interpolation(self.interpolation, rng)
            bg = clip_after(resize_array(bg, hw, flag), flag)
            out["bg"] = bg
        out["image"] = clip01(_composite(sample["fg"], bg, sample["alpha"]))
        return out
