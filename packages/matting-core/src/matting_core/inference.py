"""Inference for any registered model: whole image, or crop-and-stitch.

``predict`` runs the steps every matting network shares at test time: validate,
normalise, one-hot the trimap, pad by reflection to the model's multiple (optionally
dilating the trimap's unknown region, as the official GCA/HOP demos' ``--dilate_unknown``),
forward under ``torch.inference_mode`` (once, or averaged over the 8 rotations and flips of
:func:`forward_tta`), crop back, restore the trimap's known pixels and clip.  A model whose
``ModelInfo.inference`` is :class:`~matting_core.strategy.CropAndStitch` (or any model given
such a ``strategy``) runs the same steps on overlapping patches (:mod:`matting_core.tiling`).
Every forward's result is checked against the model contract (:func:`check_model_output`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from matting_core.errors import InputError, PluginError, ShapeError
from matting_core.precision import (
    precision_context,
    prepare_input,
    prepare_model,
    resolve_precision,
)
from matting_core.registry import ModelInfo
from matting_core.strategy import CropAndStitch, InferenceStrategy, WholeImage

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
    def for_size(
        cls, height: int, width: int, multiple: int, margin: int = 0, min_size: int = 0
    ) -> Padding:
        """Pad ``margin`` on every side, then bottom/right up to a multiple of ``multiple``.

        A padded side still below ``min_size`` is padded further on the bottom/right, up to
        ``min_size`` rounded up to ``multiple``.  For example ``for_size(20, 50, 32, 0, 64)``
        pads the bottom by 44 (20 -> 64) and the right by 14 (50 -> 64).
        """

        def split(size: int) -> tuple[int, int]:
            target = multiple * math.ceil((size + 2 * margin) / multiple)
            if target < min_size:
                target = multiple * math.ceil(min_size / multiple)
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


#: How far outside [0, 1] a model's alpha may stray before it breaks the contract: half-precision
#: rounding of a sigmoid / tanh output, not a network that forgot its output activation.
ALPHA_TOLERANCE = 1e-3


def describe_model(model: nn.Module, name: str | None = None) -> str:
    """``model 'gca' (plugin 'gca')`` for a registered name, else the class and its module."""
    if name is None:
        cls = type(model)
        return f"model {cls.__name__} (module {cls.__module__})"
    from matting_core.plugins import model_registry

    try:
        provider = model_registry().provider(name)
    except LookupError:
        provider = None
    return f"model {name!r}" + (f" (plugin {provider!r})" if provider else "")


def check_model_output(
    output: object, *, batch: int, size: tuple[int, int], model: str, values: bool = True
) -> torch.Tensor:
    """The alpha of one forward, checked against the model contract.

    The contract (docs/hooks.md): ``forward`` returns a dict whose ``"alpha"`` is a
    (B, 1, H, W) floating tensor of the input's batch and size, finite, in [0, 1] (up to
    :data:`ALPHA_TOLERANCE`).

    Args:
        output: what ``forward`` returned.
        batch, size: the input's B and (H, W).
        model: who returned it, for the message (:func:`describe_model`).
        values: check the values too (finite, in [0, 1]); training skips it, which would
            wait for the device at every step.

    Returns:
        The ``"alpha"`` tensor.

    Raises:
        PluginError: one sentence naming the model, its plugin and the broken rule.
    """
    expected = f"(B, 1, H, W) = {(batch, 1, *size)}"

    def broken(problem: str) -> PluginError:
        return PluginError(
            f"{model} broke the model contract: {problem}; forward must return a dict with "
            f"'alpha' {expected}, float in [0, 1] (see 'The model contract' in docs/hooks.md)"
        )

    if not isinstance(output, Mapping):
        raise broken(f"forward returned a {type(output).__name__}, not a dict")
    if "alpha" not in output:
        keys = ", ".join(repr(k) for k in list(output)[:8]) or "none"
        raise broken(f"its output has no 'alpha' (keys: {keys})")
    alpha = output["alpha"]
    if not isinstance(alpha, torch.Tensor) or not alpha.is_floating_point():
        kind = f"{alpha.dtype} tensor" if isinstance(alpha, torch.Tensor) else type(alpha).__name__
        raise broken(f"'alpha' is a {kind}, not a floating-point tensor")
    if tuple(alpha.shape) != (batch, 1, *size):
        raise broken(f"'alpha' has shape {tuple(alpha.shape)}")
    if values and alpha.numel():
        low, high = (float(v) for v in torch.aminmax(alpha.detach().float()))
        if not (math.isfinite(low) and math.isfinite(high)):
            raise broken("'alpha' holds NaN or infinite values")
        if low < -ALPHA_TOLERANCE or high > 1 + ALPHA_TOLERANCE:
            raise broken(f"'alpha' spans [{low:.4g}, {high:.4g}], outside [0, 1]")
    return alpha


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` as an array, checked: (H, W, 3), uint8 / uint16, or float finite in [0, 1].

    Checks a float image in bands of rows, so a large photo costs no full-size temporary.

    Raises:
        ShapeError / InputError: the shape, dtype or values.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ShapeError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype in (np.uint8, np.uint16):
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"image must be uint8, uint16 or float in [0, 1], got {image.dtype}")
    for start in range(0, image.shape[0], 256):
        band = image[start : start + 256]
        if not np.all(np.isfinite(band)) or band.min() < 0.0 or band.max() > 1.0:
            raise InputError("a float image must hold finite values in [0, 1]")
    return image


def as_float_rgb(image: np.ndarray) -> np.ndarray:
    """A checked (:func:`check_image`) image, or part of one, as float32 RGB in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return image.astype(np.float32, copy=False)


def normalise_rgb(rgb: np.ndarray, info: ModelInfo | None) -> torch.Tensor:
    """(H, W, 3) float32 RGB in [0, 1] -> (1, 3, H, W) float32 normalised with ``info.mean/std``
    (ImageNet statistics when ``info`` is None)."""
    mean = np.asarray(info.mean if info else DEFAULT_INFO_FIELDS["mean"], np.float32)
    std = np.asarray(info.std if info else DEFAULT_INFO_FIELDS["std"], np.float32)
    normalised = (rgb - mean) / std
    return torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1))).unsqueeze(0)


def as_trimap(
    trimap: np.ndarray, shape: tuple[int, int], thresholds: tuple[int, int] | None = None
) -> np.ndarray:
    """A trimap checked against the image's (H, W) shape, as (H, W) uint8 {0, 128, 255}
    (:func:`matting_data.normalize_trimap`; ``thresholds`` as ``predict``'s)."""
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
    """(H, W) uint8 {0, 128, 255} -> (1, 3, H, W) float32 one-hot [bg, unknown, fg]: the
    encoding training batches get (:func:`matting_data.torch_dataset.trimap_tensors`)."""
    from matting_data.torch_dataset import trimap_tensors

    return trimap_tensors(np.ascontiguousarray(trimap))[1].unsqueeze(0)


def prepare_inputs(
    image: np.ndarray,
    trimap: np.ndarray | None,
    info: ModelInfo | None,
    trimap_thresholds: tuple[int, int] | None = None,
    *,
    name: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, np.ndarray | None]:
    """Validate and convert to network tensors (unpadded).

    Args:
        image: (H, W, 3) RGB, uint8 / uint16 or float in [0, 1].
        trimap: (H, W) uint8 {0, 128, 255} (other encodings as :func:`matting_data.normalize_trimap`
            accepts them), or None for trimap-free models.
        info: the model's ModelInfo (normalisation), or None for ImageNet statistics.
        trimap_thresholds: read any gray level as the official releases do (``< low``
            background, ``>= high`` foreground) instead of requiring {0, 128, 255}.
        name: the model's registered name, for messages.

    Returns:
        image (1, 3, H, W) normalised float32, trimap one-hot (1, 3, H, W) or None, and the
        validated (H, W) uint8 trimap or None.
    """
    rgb = as_float_rgb(check_image(image))
    image_t = normalise_rgb(rgb, info)
    if trimap is None:
        check_trimap_given(info, name)
        return image_t, None, None
    tri = as_trimap(trimap, rgb.shape[:2], trimap_thresholds)
    return image_t, trimap_one_hot(tri), tri


def check_trimap_given(info: ModelInfo | None, name: str | None = None) -> None:
    """Refuse a missing trimap for a model whose ``ModelInfo.needs_trimap`` is set.

    :raises InputError: names the model and what to do.
    """
    if info is not None and info.needs_trimap:
        who = f"model {name!r}" if name else "this model"
        raise InputError(
            f"{who} needs a trimap; give one, or use a trimap-free model "
            "('matting list' shows trimap: no)"
        )


def forward_alpha(
    model: nn.Module,
    image: torch.Tensor,
    trimap: torch.Tensor | None,
    *,
    who: str | None = None,
) -> torch.Tensor:
    """One forward: (B, 3, H, W) image and trimap (or None) -> (B, 1, H, W) alpha, checked
    against the model contract (:func:`check_model_output`; ``who`` names the model)."""
    return check_model_output(
        model(image, trimap),
        batch=image.shape[0],
        size=tuple(image.shape[-2:]),
        model=who or describe_model(model),
    )


def forward_tta(
    model: nn.Module,
    image: torch.Tensor,
    trimap: torch.Tensor | None,
    *,
    who: str | None = None,
) -> torch.Tensor:
    """Test-time augmentation of the official HOP demo: the mean of 8 de-augmented forwards.

    For ``rot`` in 0, 1, 2, 3 the network sees the inputs rotated by ``rot`` quarter turns
    (``x.rot90(rot, dims=[2, 3])``), then flipped left-right and rotated
    (``x.flip(3).rot90(rot, dims=[2, 3])``); each alpha is turned back
    (``.rot90(rot, dims=[3, 2])``, then ``.flip(3)`` for the flipped one), and the eight are
    summed in that order and divided by 8.  Odd rotations swap H and W, so a non-square
    input needs both sides to be multiples of the network's stride (padded inputs are).

    Args:
        model: ``forward(image, trimap) -> {"alpha": (B, 1, H, W)}``.
        image: (B, 3, H, W) normalised, padded image.
        trimap: (B, 3, H, W) one-hot [bg, unknown, fg], or None for trimap-free models.
        who: the model's description for contract errors (:func:`describe_model`).

    Returns:
        (B, 1, H, W) mean raw alpha (not cropped, masked or clipped).

    Raises:
        PluginError: a forward broke the model contract (:func:`check_model_output`).
    """

    def augment(x: torch.Tensor | None, rot: int, flip: bool) -> torch.Tensor | None:
        if x is None:
            return None
        return (x.flip(3) if flip else x).rot90(rot, dims=[2, 3])

    total: torch.Tensor | None = None
    for rot in range(4):
        for flip in (False, True):
            alpha = forward_alpha(
                model, augment(image, rot, flip), augment(trimap, rot, flip), who=who
            )
            alpha = alpha.rot90(rot, dims=[3, 2])
            if flip:
                alpha = alpha.flip(3)
            total = (torch.zeros_like(alpha) if total is None else total) + alpha
    assert total is not None
    return total / 8


def dilate_unknown_region(trimap: torch.Tensor, size: int) -> torch.Tensor:
    """Grow the unknown region of a one-hot trimap, as the official demos' ``--dilate_unknown``.

    The unknown channel, as uint8, is dilated (``cv2.dilate``) with a ``size`` x ``size``
    ellipse (``cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))``); background and
    foreground are cleared where the dilated unknown is set, so the one-hot stays exclusive.

    Args:
        trimap: (1, 3, H, W) one-hot [bg, unknown, fg].
        size: the ellipse's width and height in pixels, >= 1.

    Returns:
        (1, 3, H, W) one-hot trimap of the same dtype and device.
    """
    unknown = trimap[0, 1].cpu().numpy().astype(np.uint8)
    dilated = torch.from_numpy(_dilate(unknown, size)).to(trimap.device, trimap.dtype)
    keep = 1 - dilated
    return torch.stack([trimap[0, 0] * keep, dilated, trimap[0, 2] * keep]).unsqueeze(0)


def dilate_unknown_trimap(trimap: np.ndarray, size: int) -> np.ndarray:
    """:func:`dilate_unknown_region` on an (H, W) uint8 {0, 128, 255} trimap (one byte per
    pixel, for crop-and-stitch on large photos): a new trimap whose unknown region is grown."""
    grown = _dilate((trimap == 128).view(np.uint8), size).view(bool)
    return np.where(grown, np.uint8(128), trimap)


def _dilate(mask: np.ndarray, size: int) -> np.ndarray:
    """``cv2.dilate`` of a 0/1 uint8 mask with a ``size`` x ``size`` ellipse."""
    import cv2  # through matting-data; imported here to keep ``import matting_core`` light

    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))


#: The largest ``dilate_unknown`` ellipse: a k x k structuring element costs k² per pixel
#: (255 takes seconds on a 4-megapixel image; the official demos use 11).
MAX_DILATE_UNKNOWN = 255


def _check_dilate_unknown(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_DILATE_UNKNOWN:
        raise InputError(
            f"dilate_unknown must be an integer from 1 to {MAX_DILATE_UNKNOWN} (0 for none), "
            f"got {size!r}"
        )
    return size


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a :class:`torch.device`, checked to exist on this machine; ``"auto"`` is
    CUDA when available, else the CPU.

    :raises InputError: a name torch does not know (``"banana"``), or CUDA / MPS / a device
        index this machine does not have.
    """
    if device == "auto":  # CUDA when this machine has it
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(
            f"unknown device {str(device)!r}; expected auto, cpu, cuda, cuda:N or mps"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {str(device)!r} asked for, but CUDA is not available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise InputError(
                f"device {str(device)!r} asked for, but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {str(device)!r} asked for, but MPS is not available here")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"device {str(device)!r} is not supported; expected cpu, cuda or mps")
    return resolved


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
    tta: bool = False,
    dilate_unknown: int = 0,
    strategy: InferenceStrategy | None = None,
    name: str | None = None,
    progress: bool = False,
    precision: str = "fp32",
    refine: str | Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Predict the alpha matte of one image.

    Args:
        model: a matting network, ``forward(image, trimap) -> {"alpha": (B, 1, H, W)}``;
            it is switched to eval mode.
        image: (H, W, 3) RGB, uint8 / uint16 or float32 in [0, 1].
        trimap: (H, W) uint8 {0, 128, 255}, or None for trimap-free models.  A model whose
            ``info.needs_trimap`` is False never sees it (its ``forward`` gets None); the
            trimap then only sets the known pixels (``keep_known``).
        info: the model's :class:`ModelInfo` (normalisation, padding, ``min_size``,
            ``needs_trimap``, ``inference``); None uses ImageNet statistics, a multiple of 32,
            reflection and the whole image.
        device: where to run; default: where the model's parameters are (CPU if none).
        pad_margin: override ``info.pad_margin`` (reflect padding added on every side).
        keep_known: set the trimap's known pixels to 0 / 1 in the result (those of the
            dilated trimap when ``dilate_unknown`` is set).
        trimap_thresholds: ``(low, high)`` to read a trimap with arbitrary gray levels the
            way the official releases do (the GCA demo uses (85, 170)); default: the trimap
            must hold 0 / 128 / 255 (or another encoding matting-data recognises).
        tta: average the 8 rotations and flips of :func:`forward_tta` (the official HOP
            demo's test-time augmentation; 8 forwards instead of one, per patch when tiled).
        dilate_unknown: grow the trimap's unknown region with an ellipse of this many
            pixels, at most :data:`MAX_DILATE_UNKNOWN` (:func:`dilate_unknown_region`; the
            official GCA/HOP demos' ``--dilate_unknown``, which use 11), after padding (whole
            image) or before cutting patches (crop-and-stitch); 0 leaves the trimap as it is.
        strategy: :class:`~matting_core.strategy.WholeImage` or
            :class:`~matting_core.strategy.CropAndStitch`; default: ``info.inference``.
        name: the model's registered name, named (with its plugin) by errors.
        progress: show a progress bar over the patches of a crop-and-stitch run.
        precision: ``"fp32"`` (float32, the reference), ``"bf16"`` / ``"fp16"`` (autocast
            with channels-last tensors, where the device supports it) or ``"auto"`` (the
            fastest mode of ``info.auto_precisions`` the device supports, else fp32); see
            :mod:`matting_core.precision`.  The model is converted to the mode's memory
            format in place.
        refine: a refiner's name (``"closed-form"``, registered by matting-classical; see
            :mod:`matting_core.refinement`) or a refiner built by
            :func:`~matting_core.refinement.create_refiner`: a second stage that improves the
            model's matte on the trimap's unknown region (every pixel without a trimap) and
            leaves its known pixels as they are.

    Returns:
        (H, W) float32 alpha in [0, 1].

    Raises:
        ShapeError / InputError: bad image or trimap (matting_data.TrimapValueError for
            trimap values that cannot be interpreted); no trimap for a model that needs one;
            a negative ``pad_margin``; ``dilate_unknown`` out of [0, 255], not an integer, or
            given without a trimap; a ``device`` that is unknown or not on this machine;
            ``tta`` with a model's own patch forward; a ``precision`` that is unknown or
            that the device does not support.
        UnknownRefinerError: ``refine`` names no registered refiner.
        PluginError: the model's output broke the model contract (:func:`check_model_output`),
            or the refiner's broke the refiner contract.
    """
    dilate_unknown = _check_dilate_unknown(dilate_unknown)
    if pad_margin is not None and pad_margin < 0:
        raise InputError(f"pad_margin must be >= 0, got {pad_margin}")
    if strategy is None:
        strategy = info.inference if info is not None else WholeImage()
    if not isinstance(strategy, WholeImage | CropAndStitch):
        raise InputError(f"strategy must be WholeImage() or CropAndStitch(...), got {strategy!r}")
    if trimap is None and dilate_unknown:
        raise InputError("dilate_unknown needs a trimap")
    device = _model_device(model) if device is None else check_device(device)
    precision = resolve_precision(
        precision, device, info.auto_precisions if info is not None else ()
    )
    refiner_name = refine if isinstance(refine, str) else None
    if refiner_name is not None:  # an unknown name fails before the forward, not after
        from matting_core.refinement import create_refiner

        refine = create_refiner(refiner_name)
    who = describe_model(model, name)
    model.eval()
    prepare_model(model, precision)
    with precision_context(precision, device):
        return _predict(
            model,
            image,
            trimap,
            info=info,
            device=device,
            pad_margin=pad_margin,
            keep_known=keep_known,
            trimap_thresholds=trimap_thresholds,
            tta=tta,
            dilate_unknown=dilate_unknown,
            strategy=strategy,
            name=name,
            who=who,
            progress=progress,
            precision=precision,
            refine=refine,
            refiner_name=refiner_name,
        )


def _predict(
    model: nn.Module,
    image: np.ndarray,
    trimap: np.ndarray | None,
    *,
    info: ModelInfo | None,
    device: torch.device,
    pad_margin: int | None,
    keep_known: bool,
    trimap_thresholds: tuple[int, int] | None,
    tta: bool,
    dilate_unknown: int,
    strategy: InferenceStrategy,
    name: str | None,
    who: str,
    progress: bool,
    precision: str,
    refine: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None,
    refiner_name: str | None,
) -> np.ndarray:
    """:func:`predict` once its options are checked, under the precision's autocast."""
    if isinstance(strategy, CropAndStitch):
        from matting_core.tiling import predict_tiled

        image = check_image(image)
        tri = None
        if trimap is None:
            check_trimap_given(info, name)
        else:
            tri = as_trimap(trimap, image.shape[:2], trimap_thresholds)
            if dilate_unknown:
                tri = dilate_unknown_trimap(tri, dilate_unknown)
        if tta and strategy.patch_forward is not None:
            raise InputError(
                f"{who} runs its own patch forward, which test-time augmentation (tta) cannot wrap"
            )
        alpha = predict_tiled(
            model,
            image,
            tri,
            strategy,
            info=info,
            device=device,
            padding=padding_options(info, pad_margin),
            skip_known=keep_known,
            tta=tta,
            who=who,
            progress=progress,
        )
        return _refined(
            finish_alpha(alpha, tri if keep_known else None), image, tri, refine, refiner_name
        )

    image_t, trimap_t, tri = prepare_inputs(image, trimap, info, trimap_thresholds, name=name)
    multiple, mode, margin, min_size = padding_options(info, pad_margin)
    padding = Padding.for_size(image_t.shape[-2], image_t.shape[-1], multiple, margin, min_size)
    image_t = prepare_input(padding.apply(image_t, mode).to(device), precision)
    if trimap_t is not None:
        trimap_t = padding.apply(trimap_t, mode)
        if dilate_unknown:
            trimap_t = dilate_unknown_region(trimap_t, dilate_unknown)
            # keep_known restores the known pixels of the dilated trimap, not the given one.
            grown = padding.crop(trimap_t)[0, 1].numpy() == 1
            tri = np.where(grown, np.uint8(128), tri)
        if info is None or info.needs_trimap:
            trimap_t = prepare_input(trimap_t.to(device), precision)
        else:
            trimap_t = None
    if tta:
        alpha_t = forward_tta(model, image_t, trimap_t, who=who)
    else:
        alpha_t = forward_alpha(model, image_t, trimap_t, who=who)
    alpha = np.array(padding.crop(alpha_t)[0, 0].float().cpu().numpy(), dtype=np.float32)
    return _refined(
        finish_alpha(alpha, tri if keep_known else None), image, tri, refine, refiner_name
    )


def _refined(
    alpha: np.ndarray,
    image: np.ndarray,
    trimap: np.ndarray | None,
    refine: Any,
    name: str | None,
) -> np.ndarray:
    """``alpha`` passed through the refiner ``refine`` (unchanged when None)."""
    if refine is None:
        return alpha
    from matting_core.refinement import refine_alpha

    return refine_alpha(refine, image, trimap, alpha, name=name)


def padding_options(
    info: ModelInfo | None, pad_margin: int | None = None
) -> tuple[int, str, int, int]:
    """``(pad_multiple, pad_mode, pad_margin, min_size)`` of ``info`` (``pad_margin``
    overriding its own), or predict's defaults without one: (32, reflect, 0, 0)."""
    multiple = info.pad_multiple if info else 32
    mode = info.pad_mode if info else "reflect"
    margin = pad_margin if pad_margin is not None else (info.pad_margin if info else 0)
    min_size = info.min_size if info else 0
    return multiple, mode, margin, min_size


def finish_alpha(alpha: np.ndarray, trimap: np.ndarray | None) -> np.ndarray:
    """In place: the trimap's known pixels set to 0 / 1 (when given), then clipped to [0, 1].

    Args:
        alpha: (H, W) float32, changed and returned.
        trimap: (H, W) uint8 {0, 128, 255}, or None to restore nothing.
    """
    if trimap is not None:
        alpha[trimap == 0] = 0.0
        alpha[trimap == 255] = 1.0
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def _model_device(model: nn.Module) -> torch.device:
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")
