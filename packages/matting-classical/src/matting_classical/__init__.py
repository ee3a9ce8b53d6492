"""matting-classical: classical alpha matting as models of the matting toolkit.

    >>> from matting_core import load_model, predict
    >>> loaded = load_model("closed-form", epsilon=1e-6)    # doctest: +SKIP
    >>> alpha = predict(loaded.model, image, trimap, info=loaded.info)    # doctest: +SKIP

Five methods, solved by pymatting, registered as models without weights: ``closed-form``
(:class:`ClosedFormMatting`), ``knn``, ``lkm``, ``random-walk`` and ``lbdm``.  Their options
are the fields of their config dataclasses; photos larger than ``max_pixels`` are solved
coarse-to-fine in tiles (:func:`solve_bounded`).  The ``closed-form`` refiner
(:func:`closed_form_refiner`, ``matting predict --refine closed-form``) solves closed-form on
the band where another model's matte is unsure.

``classical-fusion`` (:class:`ClassicalFusion`) solves closed-form, learning-based and KNN
matting and fuses the three mattes per pixel with a small network trained here on real
photos (bundled weights; :mod:`matting_classical.fusion_training` trains and cross-validates
it).
"""

from matting_classical.config import (
    ClosedFormConfig,
    KNNConfig,
    LargeKernelConfig,
    LearningBasedConfig,
    RandomWalkConfig,
    SolverConfig,
)
from matting_classical.conjugate_gradient import ConvergenceWarning
from matting_classical.fusion import ClassicalFusion, FusionConfig, FusionNet
from matting_classical.model import (
    METHODS,
    ClassicalMatting,
    ClosedFormMatting,
    KNNMatting,
    LargeKernelMatting,
    LearningBasedMatting,
    RandomWalkMatting,
)
from matting_classical.refine import ClosedFormRefinerConfig, closed_form_refiner
from matting_classical.tiling import solve_bounded

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "ClassicalFusion",
    "ClassicalMatting",
    "ClosedFormConfig",
    "ClosedFormMatting",
    "ClosedFormRefinerConfig",
    "ConvergenceWarning",
    "FusionConfig",
    "FusionNet",
    "KNNConfig",
    "KNNMatting",
    "LargeKernelConfig",
    "LargeKernelMatting",
    "LearningBasedConfig",
    "LearningBasedMatting",
    "RandomWalkConfig",
    "RandomWalkMatting",
    "SolverConfig",
    "__version__",
    "closed_form_refiner",
    "solve_bounded",
]
