"""SAD, MSE, Gradient and Connectivity errors for alpha mattes.

Pure functions on NumPy arrays that follow the Deep Image Matting (DIM) MATLAB evaluation
code by default (``convention="dim"``); ``convention="mmagic"`` reproduces mmagic's values.
Inputs are (H, W) alpha mattes, uint8 in 0..255 or float in [0, 1], and a trimap (uint8
{0, 128, 255} or float {0, 0.5, 1}) whose unknown region U is where the errors are summed.
"""

from __future__ import annotations

from matting_metrics._inputs import CONVENTIONS
from matting_metrics.compute import compute_all
from matting_metrics.connectivity import connectivity_error
from matting_metrics.errors import MetricInputError
from matting_metrics.gradient import gauss_gradient_filters, gradient_error
from matting_metrics.masking import mask_with_trimap
from matting_metrics.mse import mse
from matting_metrics.sad import sad

#: The package's version, its single source (the wheel's metadata is read from here).
__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS",
    "MetricInputError",
    "__version__",
    "compute_all",
    "connectivity_error",
    "gauss_gradient_filters",
    "gradient_error",
    "mask_with_trimap",
    "mse",
    "sad",
]
