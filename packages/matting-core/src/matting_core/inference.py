"""Whole-image inference for any registered model.

``predict`` runs the steps every matting network shares at test time: validate,
normalise, one-hot the trimap, pad by reflection to the model's multiple, forward
under ``torch.inference_mode``, crop back, restore the trimap's known pixels and clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from matting_core.errors import InputError, ShapeError
from matting_core.registry import ModelInfo

#: Used when ``predict`` is given no ModelInfo: ImageNet statistics, multiple of 32.
DEFAULT_INFO_FIELDS = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}


@dataclass(frozen=True)
class Padding:
    """Reflect padding (top, bottom, left, right) that brings (H, W) to the padded size."""

    top: int
    bottom: int
    left: int
    right: int

    @classmethod
    def for_size(cls, height: int, width: int, multiple: int, margin: int = 0) -> Padding:
        """Pad ``margin`` on every side, then bottom/right up to a multiple of ``multiple``."""

        def split(size: int) -> tuple[int, int]:
            target = multiple * math.ceil((size + 2 * margin) / multiple)
            return margin, target - size - margin

        top, bottom = split(height)
        left, right = split(width)
        return cls(top, bottom, left, right)

    def apply(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """Pad a (B, C, H, W) tensor."""
        if mode == "reflect" and (
            max(self.top, self.bottom) >= x.shape[-2] or max(self.left, self.right) >= x.shape[-1]
        ):
            # Reflection needs the pad to be smaller than the side; fall back to replicate
            # on tiny inputs rather than fail.
            mode = "replicate"
        return nn.functional.pad(x, (self.left, self.right, self.top, self.bottom), mode=mode)

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`apply` on a (B, C, H', W') tensor."""
        h, w = x.shape[-2:]
        return x[..., self.top : h - self.bottom, self.left : w - self.right]


def check_model_inputs(
    image: torch.Tensor,
    trimap: torch.Tensor | None,
    *,
    model: str,
    needs_trimap: bool = True,
    multiple: int = 1,
) -> None:
    """Validate what a network's ``forward(image, trimap)`` receives (the model contract).

    Args:
        image: (B, 3, H, W) normalised RGB.
        trimap: (B, 3, H, W) one-hot [bg, unknown, fg], or None for trimap-free models.
        model: the model's name, for messages.
        needs_trimap: raise when ``trimap`` is None.
        multiple: H and W must be multiples of this (the network's total stride).

    Raises:
        InputError: a missing trimap. ShapeError: any shape that breaks the contract.
    """
    if trimap is None and needs_trimap:
        raise InputError(f"{model} needs a trimap")
    if image.ndim != 4 or image.shape[1] != 3:
        raise ShapeError(f"{model}: image must be (B, 3, H, W), got {tuple(image.shape)}")
    if trimap is not None and trimap.shape != image.shape:
        raise ShapeError(
            f"{model}: trimap must be (B, 3, H, W) one-hot like the image {tuple(image.shape)}, "
            f"got {tuple(trimap.shape)}"
        )
    height, width = image.shape[2:]
    if height % multiple or width % multiple:
        raise ShapeError(
            f"{model}: image size {height}x{width} must be a multiple of {multiple}; pad the "
            "input (matting_core.predict does)"
        )


def _as_float_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ShapeError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"image must be uint8, uint16 or float in [0, 1], got {image.dtype}")
    if not np.all(np.isfinite(image)) or image.min() < 0.0 or image.max() > 1.0:
        raise InputError("a float image must hold finite values in [0, 1]")
    return image.astype(np.float32, copy=False)


def _as_trimap(
    trimap: np.ndarray, shape: tuple[int, int], thresholds: tuple[int, int] | None
) -> np.ndarray:
    from matting_data import normalize_trimap

    trimap = np.asarray(trimap)
    if trimap.ndim == 3 and trimap.shape[2] == 1:
        trimap = trimap[..., 0]
    if trimap.ndim != 2:
        raise ShapeError(f"trimap must be (H, W), got shape {trimap.shape}")
    if trimap.shape != shape:
        raise ShapeError(
            f"trimap is {trimap.shape[1]}x{trimap.shape[0]} but image is {shape[1]}x{shape[0]}"
        )
    return normalize_trimap(trimap, source="trimap", thresholds=thresholds)


def trimap_one_hot(trimap: np.ndarray) -> torch.Tensor:
    """(H, W) uint8 {0, 128, 255} -> (1, 3, H, W) float32 one-hot [bg, unknown, fg]."""
    t = torch.from_numpy(np.ascontiguousarray(trimap))
    return torch.stack([t == 0, t == 128, t == 255]).unsqueeze(0).float()


def prepare_inputs(
    image: np.ndarray,
    trimap: np.ndarray | None,
    info: ModelInfo | None,
    trimap_thresholds: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, np.ndarray | None]:
    """Validate and convert to network tensors (unpadded).

    Args:
        image: (H, W, 3) RGB, uint8 / uint16 or float in [0, 1].
        trimap: (H, W) uint8 {0, 128, 255} (other encodings as :func:`matting_data.normalize_trimap`
            accepts them), or None for trimap-free models.
        info: the model's ModelInfo (normalisation), or None for ImageNet statistics.
        trimap_thresholds: read any gray level as the official releases do (``< low``
            background, ``>= high`` foreground) instead of requiring {0, 128, 255}.

    Returns:
        image (1, 3, H, W) normalised float32, trimap one-hot (1, 3, H, W) or None, and the
        validated (H, W) uint8 trimap or None.
    """
    rgb = _as_float_image(image)
    mean = np.asarray(info.mean if info else DEFAULT_INFO_FIELDS["mean"], np.float32)
    std = np.asarray(info.std if info else DEFAULT_INFO_FIELDS["std"], np.float32)
    normalised = (rgb - mean) / std
    image_t = torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1))).unsqueeze(0)
    if trimap is None:
        if info is not None and info.needs_trimap:
            raise InputError("this model needs a trimap")
        return image_t, None, None
    tri = _as_trimap(trimap, rgb.shape[:2], trimap_thresholds)
    return image_t, trimap_one_hot(tri), tri


@torch.inference_mode()
def predict(
    model: nn.Module,
    image: np.ndarray,
    trimap: np.ndarray | None = None,
    *,
    info: ModelInfo | None = None,
    device: str | torch.device | None = None,
    pad_margin: int | None = None,
    keep_known: bool = True,
    trimap_thresholds: tuple[int, int] | None = None,
) -> np.ndarray:
    """Predict the alpha matte of one image.

    Args:
        model: a matting network, ``forward(image, trimap) -> {"alpha": (B, 1, H, W)}``;
            it is switched to eval mode.
        image: (H, W, 3) RGB, uint8 / uint16 or float32 in [0, 1].
        trimap: (H, W) uint8 {0, 128, 255}, or None for trimap-free models.
        info: the model's :class:`ModelInfo` (normalisation, padding); None uses ImageNet
            statistics, a multiple of 32 and reflection.
        device: where to run; default: where the model's parameters are (CPU if none).
        pad_margin: override ``info.pad_margin`` (reflect padding added on every side).
        keep_known: set the trimap's known pixels to 0 / 1 in the result.
        trimap_thresholds: ``(low, high)`` to read a trimap with arbitrary gray levels the
            way the official releases do (the GCA demo uses (85, 170)); default: the trimap
            must hold 0 / 128 / 255 (or another encoding matting-data recognises).

    Returns:
        (H, W) float32 alpha in [0, 1].

    Raises:
        ShapeError / InputError: bad image or trimap (matting_data.TrimapValueError for
            trimap values that cannot be interpreted).
    """
    image_t, trimap_t, tri = prepare_inputs(image, trimap, info, trimap_thresholds)
    multiple = info.pad_multiple if info else 32
    mode = info.pad_mode if info else "reflect"
    margin = pad_margin if pad_margin is not None else (info.pad_margin if info else 0)
    padding = Padding.for_size(image_t.shape[-2], image_t.shape[-1], multiple, margin)

    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    model.eval()
    image_t = padding.apply(image_t, mode).to(device)
    if trimap_t is not None:
        trimap_t = padding.apply(trimap_t, mode).to(device)
    output = model(image_t, trimap_t)
    alpha_t = output["alpha"] if isinstance(output, dict) else output
    if alpha_t.shape[-2:] != image_t.shape[-2:]:
        raise ShapeError(
            f"the model returned alpha of size {tuple(alpha_t.shape[-2:])} for an input of "
            f"{tuple(image_t.shape[-2:])}"
        )
    alpha = padding.crop(alpha_t)[0, 0].float().cpu().numpy()
    if keep_known and tri is not None:
        alpha = alpha.copy()
        alpha[tri == 0] = 0.0
        alpha[tri == 255] = 1.0
    return np.clip(alpha, 0.0, 1.0).astype(np.float32, copy=False)
