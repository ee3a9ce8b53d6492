"""Alpha compositing ``I = alpha * F + (1 - alpha) * B`` and the DIM background fitting.

Shapes and dtypes (all functions are pure; inputs are never modified):

* ``fg``, ``bg``: (H, W, 3) (or (H, W, C), or (H, W)) -- both float (values in [0, 1]) or
  both uint8 (levels 0..255);
* ``alpha``: (H, W) or (H, W, 1), float in [0, 1] or uint8 (alpha = level / 255);
* the result has ``fg``'s shape and dtype.

:func:`resize_background_to_cover` replicates the Deep Image Matting release
(``Composition_code.py`` of Xu et al. 2017, redistributed e.g. in Yaoyi-Li/GCA-Matting; the
same rule is in open-mmlab/mmagic ``tools/dataset_converters/comp1k/preprocess_comp1k_dataset.py``):
``ratio = max(w / bw, h / bh)``; if ``ratio > 1`` the background is resized with Pillow's
``Image.BICUBIC`` to ``(ceil(bw * ratio), ceil(bh * ratio))``; then the top-left ``w x h``
corner is cropped. A background already large enough is only cropped, never downscaled.
Pillow's bicubic is *not* OpenCV's ``INTER_CUBIC`` (Keys kernel with a = -0.5 instead of
-0.75, pixel-centre alignment, 22-bit fixed-point weights, horizontal pass first with the
intermediate rounded and clipped to 8 bits), so it is re-implemented here in numpy to give
the same 8-bit values as Pillow without depending on it.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from matting_data.errors import SizeMismatchError, UnsupportedImageError

__all__ = ["Rounding", "composite", "composite_over", "resize_background_to_cover"]

#: How a uint8 composite is quantised: ``"nearest"`` rounds half to even (``np.rint``);
#: ``"floor"`` truncates like the DIM release (``int(alpha * f + (1 - alpha) * b)`` in Python
#: floats, alpha = level / 255).
Rounding = Literal["nearest", "floor"]


def composite(
    fg: np.ndarray,
    bg: np.ndarray,
    alpha: np.ndarray,
    *,
    rounding: Rounding = "nearest",
) -> np.ndarray:
    """Composite ``fg`` over ``bg`` with ``alpha``: ``alpha * fg + (1 - alpha) * bg``.

    Args:
        fg: (H, W, C) or (H, W) foreground; float in [0, 1] or uint8.
        bg: background with the same shape and the same kind of dtype as ``fg``.
        alpha: (H, W) or (H, W, 1) matte, float in [0, 1] or uint8; broadcast over channels.
        rounding: quantisation of a uint8 result, see :data:`Rounding` (ignored for floats).

    Returns:
        Array with ``fg``'s shape and dtype. Float inputs are computed in float64 and returned
        in ``fg``'s float dtype; uint8 inputs are computed in float64 (alpha = level / 255) and
        rounded (or floored) to uint8. With uint8 alpha, pixels with alpha 255 / 0 are exactly
        ``fg`` / ``bg``.

    Raises:
        SizeMismatchError: ``bg`` or ``alpha`` does not match ``fg``'s size.
        UnsupportedImageError: bad shapes, mixed or unsupported dtypes, non-finite or
            out-of-range float values.
        ValueError: unknown ``rounding``.

    Example:
        >>> f = np.full((1, 2, 3), 200, np.uint8); b = np.zeros((1, 2, 3), np.uint8)
        >>> composite(f, b, np.array([[255, 128]], np.uint8))[..., 0].tolist()
        [[200, 100]]
    """
    if rounding not in ("nearest", "floor"):
        raise ValueError(f"rounding must be 'nearest' or 'floor', got {rounding!r}.")
    fg, bg, alpha = np.asarray(fg), np.asarray(bg), np.asarray(alpha)
    _check_image(fg, "fg")
    _check_image(bg, "bg")
    if fg.shape != bg.shape:
        raise SizeMismatchError(
            f"fg has shape {fg.shape} but bg has shape {bg.shape}; they must be equal."
        )
    if (fg.dtype == np.uint8) != (bg.dtype == np.uint8):
        raise UnsupportedImageError(
            f"fg ({fg.dtype}) and bg ({bg.dtype}) must both be uint8 or both be float."
        )
    weight = _alpha_weights(alpha, fg.shape)
    f64, b64 = fg.astype(np.float64), bg.astype(np.float64)
    # Same operation order as the DIM release, so "floor" reproduces it bit for bit.
    mixed = weight * f64 + (1.0 - weight) * b64
    if fg.dtype != np.uint8:
        return mixed.astype(fg.dtype)
    levels = np.floor(mixed) if rounding == "floor" else np.rint(mixed)
    return np.clip(levels, 0, 255).astype(np.uint8)


def resize_background_to_cover(bg: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale ``bg`` up (only if needed) so it covers ``height x width``, then crop the top-left.

    The Deep Image Matting rule, see the module docstring: ``ratio = max(width / bw,
    height / bh)``; if ``ratio > 1``, Pillow-compatible bicubic resize to
    ``(ceil(bw * ratio), ceil(bh * ratio))``; crop rows ``[0, height)`` and columns
    ``[0, width)``.

    Args:
        bg: (h, w, C) or (h, w) background, uint8 or float in [0, 1].
        height: target height (the foreground's), >= 1.
        width: target width, >= 1.

    Returns:
        (height, width, C) or (height, width) array of ``bg``'s dtype. uint8 input gives the
        8-bit values Pillow's ``Image.resize(..., Image.BICUBIC)`` gives; float input is
        resampled with the same weights in float64, clipped to [0, 1] after each pass (like
        the 8-bit intermediate), so it differs from the 8-bit result by rounding only.

    Raises:
        UnsupportedImageError: bad shape or dtype of ``bg``.
        ValueError: ``height`` or ``width`` < 1.
    """
    bg = np.asarray(bg)
    _check_image(bg, "bg")
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    bh, bw = bg.shape[:2]
    wratio = width / bw
    hratio = height / bh
    ratio = wratio if wratio > hratio else hratio
    if ratio > 1:
        return _resize_bicubic_pil(
            bg,
            math.ceil(bh * ratio),
            math.ceil(bw * ratio),
            min(height, math.ceil(bh * ratio)),
            min(width, math.ceil(bw * ratio)),
        )
    return np.ascontiguousarray(bg[:height, :width])


def composite_over(
    fg: np.ndarray,
    alpha: np.ndarray,
    bg: np.ndarray,
    *,
    rounding: Rounding = "nearest",
) -> np.ndarray:
    """Composite ``fg`` over a background of any size (DIM style).

    ``bg`` is first fitted with :func:`resize_background_to_cover` to ``fg``'s height and
    width, then :func:`composite` is applied. ``composite_over(fg, alpha, bg,
    rounding="floor")`` on uint8 arrays reproduces one Composition-1k composite of the DIM
    release (up to the JPEG decoder used for the background).

    Args:
        fg: (H, W, 3) foreground, uint8 or float in [0, 1].
        alpha: (H, W) or (H, W, 1) matte, uint8 or float in [0, 1].
        bg: (h, w, 3) background of the same kind of dtype as ``fg``, any size.
        rounding: see :func:`composite`.

    Returns:
        (H, W, 3) composite with ``fg``'s dtype.
    """
    fg = np.asarray(fg)
    _check_image(fg, "fg")
    fitted = resize_background_to_cover(bg, fg.shape[0], fg.shape[1])
    return composite(fg, fitted, alpha, rounding=rounding)


# --------------------------------------------------------------------------- validation


def _check_image(array: np.ndarray, name: str) -> None:
    if array.ndim not in (2, 3) or array.size == 0:
        raise UnsupportedImageError(
            f"{name} has shape {array.shape}, but a non-empty (H, W, C) or (H, W) array is expected."
        )
    if array.dtype == np.uint8:
        return
    if not np.issubdtype(array.dtype, np.floating):
        raise UnsupportedImageError(
            f"{name} has dtype {array.dtype}, but uint8 or float in [0, 1] is expected."
        )
    _check_unit_range(array, name)


def _check_unit_range(array: np.ndarray, name: str) -> None:
    if not np.isfinite(array).all():
        raise UnsupportedImageError(f"{name} contains NaN or infinite values.")
    lo, hi = float(array.min()), float(array.max())
    if lo < 0.0 or hi > 1.0:
        raise UnsupportedImageError(
            f"{name} values must lie in [0, 1], but they span [{lo:.6g}, {hi:.6g}]."
        )


def _alpha_weights(alpha: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Alpha as float64 in [0, 1], shaped to broadcast against an image of ``image_shape``."""
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[:, :, 0]
    if alpha.ndim != 2:
        raise UnsupportedImageError(
            f"alpha has shape {alpha.shape}, but (H, W) or (H, W, 1) is expected."
        )
    if alpha.shape != image_shape[:2]:
        raise SizeMismatchError(
            f"alpha has size {alpha.shape[0]}x{alpha.shape[1]} (HxW) but the images are "
            f"{image_shape[0]}x{image_shape[1]}."
        )
    if alpha.dtype == np.uint8:
        weight = alpha / 255.0
    elif np.issubdtype(alpha.dtype, np.floating):
        _check_unit_range(alpha, "alpha")
        weight = alpha.astype(np.float64)
    else:
        raise UnsupportedImageError(
            f"alpha has dtype {alpha.dtype}, but uint8 or float in [0, 1] is expected."
        )
    return weight[:, :, None] if len(image_shape) == 3 else weight


# --------------------------------------------------------------------------- Pillow bicubic
#
# Pillow's convolution resampler (facts from its documentation and source, re-implemented):
# output pixel x samples the input around centre (x + 0.5) * in / out with the Keys cubic
# (a = -0.5, support 2, widened by the scale factor when downscaling), taps from
# int(centre - support + 0.5) to int(centre + support + 0.5) clipped to the image, weights
# normalised to sum 1. For 8-bit images the weights are turned into 22-bit fixed point
# (round half away from zero), each output is (sum + 2**21) >> 22 clipped to 0..255, and the
# horizontal pass runs before the vertical one on the 8-bit intermediate. Only upscaling is
# needed here (the DIM rule never shrinks a background); for it the result equals Pillow's
# byte for byte (checked against Pillow 13 in the tests). Recent Pillow versions may run the
# vertical pass first when shrinking, which this helper does not model.

_PRECISION_BITS = 22


def _cubic(x: np.ndarray) -> np.ndarray:
    a = -0.5
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _pil_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(first, weights)``: first input index (out,) and weights (out, taps)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    taps = math.ceil(support) * 2 + 1
    centre = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    first = np.maximum((centre - support + 0.5).astype(np.int64), 0)
    count = np.minimum((centre + support + 0.5).astype(np.int64), in_size) - first
    offsets = np.arange(taps)
    inv = 1.0 / filterscale
    weights = _cubic((offsets[None, :] + first[:, None] - centre[:, None] + 0.5) * inv)
    weights[offsets[None, :] >= count[:, None]] = 0.0
    total = np.zeros(out_size)
    for t in range(taps):  # left-to-right sum, as Pillow does
        total += weights[:, t]
    np.divide(weights, total[:, None], out=weights, where=total[:, None] != 0.0)
    return first, weights


def _taps(in_size: int, out_size: int, keep: int, eight_bit: bool) -> tuple[np.ndarray, np.ndarray]:
    """Input index and weight of every tap of the first ``keep`` outputs: (keep, taps) each.

    8-bit: the weights are Pillow's 22-bit fixed-point integers (int32).
    """
    first, weights = _pil_weights(in_size, out_size)
    first, weights = first[:keep], weights[:keep]
    index = np.minimum(first[:, None] + np.arange(weights.shape[1])[None, :], in_size - 1)
    if eight_bit:
        scale = float(1 << _PRECISION_BITS)
        weights = np.trunc(weights * scale + np.where(weights < 0, -0.5, 0.5)).astype(np.int32)
    return index, weights


def _resample(work: np.ndarray, axis: int, out_size: int, keep: int, eight_bit: bool) -> np.ndarray:
    """One pass along ``axis`` (0 = rows, 1 = columns) of an (H, W, C) array."""
    index, weights = _taps(work.shape[axis], out_size, keep, eight_bit)
    shape = list(work.shape)
    shape[axis] = keep
    if eight_bit:
        # int32 cannot overflow: |sum| <= 255 * 1.2 * 2**22 < 2**31.
        acc = np.full(shape, 1 << (_PRECISION_BITS - 1), dtype=np.int32)
    else:
        acc = np.zeros(shape, dtype=np.float64)
    for t in range(weights.shape[1]):
        if not weights[:, t].any():
            continue
        if axis == 0:
            acc += work[index[:, t]] * weights[:, t, None, None]
        else:
            acc += work[:, index[:, t]] * weights[None, :, t, None]
    if eight_bit:
        return np.clip(acc >> _PRECISION_BITS, 0, 255).astype(np.uint8)
    return np.clip(acc, 0.0, 1.0)  # clipped between the passes like the 8-bit intermediate


def _resize_bicubic_pil(
    image: np.ndarray, out_h: int, out_w: int, keep_h: int, keep_w: int
) -> np.ndarray:
    """Top-left ``keep_h x keep_w`` of Pillow's ``Image.resize((out_w, out_h), BICUBIC)``.

    ``image`` is (H, W[, C]); upscaling only (``out_h >= H``, ``out_w >= W``). Each output
    pixel depends only on its own taps, so the crop is computed directly (identical values).
    """
    in_h, in_w = image.shape[:2]
    if out_h < in_h or out_w < in_w:
        raise ValueError("the Pillow-compatible bicubic is implemented for upscaling only.")
    eight_bit = image.dtype == np.uint8
    work = image.reshape(in_h, in_w, -1)
    if not eight_bit:
        work = work.astype(np.float64)
    # horizontal pass first (on the 8-bit intermediate, as Pillow), then vertical
    work = _resample(work, 1, out_w, keep_w, eight_bit) if out_w != in_w else work[:, :keep_w]
    work = _resample(work, 0, out_h, keep_h, eight_bit) if out_h != in_h else work[:keep_h]
    work = work.reshape((keep_h, keep_w, *image.shape[2:]))
    return np.ascontiguousarray(work, dtype=image.dtype)
