"""Gradient error (Grad): difference of derivative-of-Gaussian gradient magnitudes."""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from matting_metrics._inputs import MatteInputs, check_convention, prepare

__all__ = ["gauss_gradient_filters", "gradient_error"]

#: σ of DIM's ``gaussgradient(IM, 1.4)``.
SIGMA = 1.4
#: Truncation constant ε of ``gaussgradient.m``.
EPSILON = 1e-2


def _half_size(sigma: float, epsilon: float) -> int:
    """Half-size of the filter: ceil(σ·sqrt(−2·ln(√(2π)·σ·ε))); 4 for σ = 1.4, ε = 1e-2."""
    return math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * epsilon)))


def _gauss(x: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """G(x) = exp(−x²/2σ²) / (σ√(2π))."""
    return np.exp(-(x**2) / (2.0 * sigma**2)) / (sigma * math.sqrt(2.0 * math.pi))


def _dgauss(x: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """G′(x) = −x·G(x)/σ²."""
    return -x * _gauss(x, sigma) / sigma**2


def _separable_factors(
    sigma: float = SIGMA, epsilon: float = EPSILON
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit-norm 1-D factors ``(smooth, deriv)`` with ``hx = outer(smooth, deriv)``.

    ``‖outer(a, b)‖_F = ‖a‖·‖b‖``, so normalising each factor normalises the 2-D filter.
    """
    half = _half_size(sigma, epsilon)
    x = np.arange(-half, half + 1, dtype=np.float64)
    smooth = _gauss(x, sigma)
    deriv = _dgauss(x, sigma)
    return smooth / np.linalg.norm(smooth), deriv / np.linalg.norm(deriv)


def gauss_gradient_filters(
    sigma: float = SIGMA, epsilon: float = EPSILON
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The derivative-of-Gaussian filters of DIM's ``gaussgradient.m``.

    ``hx[r, c] = G(r − h)·G′(c − h)`` for r, c = 0..2h, scaled to unit Frobenius norm, and
    ``hy = hxᵀ``, where h = ceil(σ·sqrt(−2·ln(√(2π)·σ·ε))). Convolving with ``hx`` gives the
    horizontal (x, along a row) derivative. The metric itself uses the equivalent separable
    form; this 2-D form is for inspection and tests.

    Args:
        sigma: standard deviation σ in pixels (DIM: 1.4).
        epsilon: truncation constant ε (DIM: 1e-2).

    Returns:
        ``(hx, hy)``, two float64 arrays of shape (2h + 1, 2h + 1); (9, 9) for the defaults.
    """
    half = _half_size(sigma, epsilon)
    x = np.arange(-half, half + 1, dtype=np.float64)
    hx = np.outer(_gauss(x, sigma), _dgauss(x, sigma))
    hx /= np.sqrt(np.sum(hx * hx))
    return hx, np.ascontiguousarray(hx.T)


def _crop_window(inputs: MatteInputs, margin: int) -> tuple[slice, slice]:
    """Bounding box of U grown by ``margin`` pixels and clipped to the image.

    Filtering only this window gives the same values on U as filtering the whole image:
    every pixel within ``margin`` of U is inside it, and where the window meets the image
    border, replicating the window's edge is replicating the image's edge.
    """
    height, width = inputs.shape
    idx = inputs.unknown_index  # sorted, so rows are too
    cols = idx % width
    r0, r1 = int(idx[0] // width), int(idx[-1] // width)
    c0, c1 = int(cols.min()), int(cols.max())
    return (
        slice(max(r0 - margin, 0), min(r1 + margin + 1, height)),
        slice(max(c0 - margin, 0), min(c1 + margin + 1, width)),
    )


def _normalisation_scale(alpha: np.ndarray, convention: str) -> float:
    """Factor s of the min-max normalisation x′ = s·x − s·min(x), on ``alpha``'s own scale.

    ``"dim"``: MATLAB ``mat2gray``, s = 1/(max − min), and a constant image becomes all
    zeros (s = 0). ``"mmagic"``: ``cv2.normalize(α/255, NORM_MINMAX)``, which uses
    s = 1/(max − min) of α/255 and s = 0 when that range is ≤ DBL_EPSILON; returned here
    converted back to ``alpha``'s scale. Min and max are over the whole image.
    """
    lo, hi = float(np.min(alpha)), float(np.max(alpha))
    if convention == "mmagic":
        per_unit = 255.0 if alpha.dtype == np.uint8 else 1.0  # α/255 = alpha / per_unit
        lo, hi = lo / per_unit, hi / per_unit
        return 1.0 / (hi - lo) / per_unit if hi - lo > np.finfo(np.float64).eps else 0.0
    return 1.0 / (hi - lo) if hi > lo else 0.0


def _gradient_magnitude(
    image: np.ndarray, smooth: NDArray[np.float64], deriv: NDArray[np.float64]
) -> NDArray[np.float64]:
    """sqrt(gx² + gy²) in float64, gx = image ∗ hx, gy = image ∗ hy.

    Convolution with replicated borders, done separably (hx = smooth ⊗ deriv is rank 1).
    cv2.sepFilter2D correlates, so the kernels are flipped to convolve; ``kernelX`` runs
    along each row, ``kernelY`` along each column. ``image`` is uint8, float32 or float64.
    """
    d = np.ascontiguousarray(deriv[::-1])
    s = np.ascontiguousarray(smooth[::-1])
    border = cv2.BORDER_REPLICATE
    gx = cv2.sepFilter2D(image, cv2.CV_64F, d, s, borderType=border)
    gy = cv2.sepFilter2D(image, cv2.CV_64F, s, d, borderType=border)
    return cv2.magnitude(gx, gy)


def gradient_error(
    pred: ArrayLike, gt: ArrayLike, trimap: ArrayLike, *, convention: str = "dim"
) -> float:
    """Gradient error over the unknown region, in thousands.

    ``Grad = Σ_U (‖∇p′‖ − ‖∇g′‖)² / 1000`` (DIM ``compute_gradient_loss.m``), where x′ is
    the min-max normalised image (``mat2gray``: min and max over the *whole* image, a
    constant image becomes all zeros) and ∇ is the derivative-of-Gaussian filter pair of
    :func:`gauss_gradient_filters` (σ = 1.4, 9×9), applied by convolution with replicated
    borders. Because of the global min-max and the 4-pixel filter reach, pixels outside U
    matter: mask the prediction first (:func:`~matting_metrics.mask_with_trimap`).

    Args:
        pred: (H, W) or (H, W, 1) predicted alpha, uint8 in 0..255 or float in [0, 1].
        gt: ground-truth alpha, same shape, same accepted dtypes (may differ from ``pred``'s).
        trimap: same shape; uint8 {0, 128, 255} or float {0, 0.5, 1}; U = 128 (or 0.5).
        convention: ``"dim"`` (default) or ``"mmagic"``. mmagic normalises α/255 with
            ``cv2.normalize`` and correlates with the 2-D filter; min-max normalisation is
            scale-free and correlation only flips the gradient's sign, so both agree up to
            floating-point rounding (relative differences around 1e-15).

    Returns:
        Grad / 1000 as a Python float (≥ 0). 0.0 if U is empty.

    Raises:
        MetricInputError: invalid inputs or unknown ``convention``.
    """
    check_convention(convention)
    return gradient_error_from(prepare(pred, gt, trimap), convention)


def gradient_error_from(inputs: MatteInputs, convention: str) -> float:
    """:func:`gradient_error` on already validated inputs (used by :func:`compute_all`).

    The filters are linear and sum to zero, so ∇(s·x − s·min) = s·∇x: the unnormalised
    crop is filtered and the magnitude scaled by s.
    """
    if inputs.unknown_index.size == 0:
        return 0.0
    smooth, deriv = _separable_factors()
    window = _crop_window(inputs, margin=smooth.size // 2)
    unknown = inputs.unknown[window]
    magnitudes = []
    for alpha in (inputs.pred, inputs.gt):
        scale = _normalisation_scale(alpha, convention)
        if scale == 0.0:
            magnitudes.append(np.zeros(np.count_nonzero(unknown)))
            continue
        crop = alpha[window]
        if crop.dtype not in (np.uint8, np.float32, np.float64):
            crop = crop.astype(np.float64)
        magnitude = _gradient_magnitude(np.ascontiguousarray(crop), smooth, deriv)
        magnitudes.append(magnitude[unknown] * scale)
    diff = magnitudes[0] - magnitudes[1]
    return float(np.sum(diff * diff) / 1000.0)
