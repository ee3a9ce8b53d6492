"""The five classical methods as matting models: weightless ``nn.Module``s and their ModelInfos.

A classical model has no parameters and no weights to load; ``forward(image, trimap)`` takes
what :func:`matting_core.predict` gives every model (the image, here un-normalised RGB in
[0, 1] because the ModelInfo's mean is 0 and std 1, and the one-hot trimap) and returns
``{"alpha": (B, 1, H, W)}`` solved on the CPU with pymatting (:mod:`matting_classical.methods`),
large photos coarse-to-fine in tiles (:mod:`matting_classical.tiling`).  The ModelInfo asks
for no padding: the solves take any size.

Reads top to bottom: the base class, one subclass per method (paper, config, solve), the
ModelInfos ``plugin.py`` registers.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from matting_classical.config import (
    ClosedFormConfig,
    KNNConfig,
    LargeKernelConfig,
    LearningBasedConfig,
    RandomWalkConfig,
    SolverConfig,
)
from matting_classical.methods import (
    Solve,
    closed_form,
    knn,
    large_kernel,
    learning_based,
    random_walk,
)
from matting_classical.tiling import solve_bounded
from matting_core import Measured, ModelInfo
from matting_core.errors import InputError
from matting_core.inference import check_model_inputs

__all__ = [
    "ClassicalMatting",
    "ClosedFormMatting",
    "KNNMatting",
    "LargeKernelMatting",
    "LearningBasedMatting",
    "RandomWalkMatting",
    "model_info",
]


def check_unnormalised_inputs(image: Tensor, trimap: Tensor | None, name: str) -> None:
    """Core's input checks, a trimap, and RGB in [0, 1]: the classical models' ModelInfos ask
    ``predict`` for no normalisation, so an image outside [0, 1] was normalised by mistake.

    :raises InputError: one sentence naming the model and the range found.
    """
    check_model_inputs(image, trimap, model=name)
    if image.numel() and (image.min() < -1e-6 or image.max() > 1 + 1e-6):
        raise InputError(
            f"{name} takes RGB in [0, 1], got values in "
            f"[{float(image.min()):.3g}, {float(image.max()):.3g}]; predict with this "
            f"model's ModelInfo (info=get_model_info({name!r})), which does not normalise"
        )


class ClassicalMatting(nn.Module):
    """Base of the classical methods: a weightless model around one solve.

    Subclasses set :attr:`name`, :attr:`paper`, :attr:`config_class` and :attr:`solve`.

    Args:
        config: the method's options; its default config when None.

    Shape:
        - image: (B, 3, H, W) float RGB in [0, 1] (``predict`` with this model's ModelInfo
          gives exactly that).
        - trimap: (B, 3, H, W) float one-hot [bg, unknown, fg].
        - returns ``{"alpha": (B, 1, H, W)}`` in [0, 1], the image's dtype and device.
    """

    name: ClassVar[str]
    paper: ClassVar[str]
    config_class: ClassVar[type[SolverConfig]]
    solve: ClassVar[Solve]
    description: ClassVar[str]
    #: mean SAD / MSE of the default config on the bundled photos, both trimaps (the README's
    #: comparison table, ``scripts/compare_models.py``): what ``matting predict`` without
    #: ``--model`` ranks by
    measured: ClassVar[Measured]

    def __init__(self, config: SolverConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else self.config_class()

    def min_side(self) -> int:
        """The smallest image height or width the method solves: one window."""
        return 2 * getattr(self.config, "radius", 0) + 1

    def check_size(self, height: int, width: int) -> None:
        """Raise InputError for an image too small for the method."""
        side = self.min_side()
        if min(height, width) < side:
            raise InputError(
                f"{self.name} with radius {self.config.radius} needs images of at least "
                f"{side}x{side} pixels, got {width}x{height}"
            )

    def forward(self, image: Tensor, trimap: Tensor | None) -> dict[str, Tensor]:
        check_unnormalised_inputs(image, trimap, self.name)
        assert trimap is not None  # checked above
        # the solve is not differentiable: the result carries no gradient
        image, trimap = image.detach(), trimap.detach()
        alphas = [
            self.matte(
                image[b].permute(1, 2, 0).float().cpu().numpy(),
                # one byte per pixel: 0 background, 128 unknown, 255 foreground
                (trimap[b, 1] * 128 + trimap[b, 2] * 255).to(torch.uint8).cpu().numpy(),
            )
            for b in range(image.shape[0])
        ]
        alpha = torch.from_numpy(np.stack(alphas)).unsqueeze(1)
        return {"alpha": alpha.to(device=image.device, dtype=image.dtype)}

    def matte(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """Solve one image.

        Args:
            image: (H, W, 3) float RGB in [0, 1].
            trimap: (H, W) uint8, 0 background, 128 unknown, 255 foreground.

        Returns:
            (H, W) float32 alpha in [0, 1].

        Raises:
            InputError: a trimap with no known pixel, or an image smaller than one window.
        """
        known = trimap != 128
        if not known.any():
            raise InputError(
                f"{self.name} needs known pixels: the trimap marks every pixel unknown"
            )
        self.check_size(*known.shape)
        values = (trimap == 255).astype(np.float32)
        return solve_bounded(
            type(self).solve,
            image,
            known,
            values,
            self.config,
            min_side=self.min_side(),
            name=self.name,
        )

    def extra_repr(self) -> str:
        return repr(self.config)


class ClosedFormMatting(ClassicalMatting):
    """Closed-form matting: the matting Laplacian of a local colour-line model, known pixels
    fixed, unknown ones solved exactly (Levin et al. 2008)."""

    name = "closed-form"
    paper = (
        "Anat Levin, Dani Lischinski and Yair Weiss, A Closed-Form Solution to Natural Image "
        "Matting, IEEE TPAMI 30(2):228-242, 2008 (CVPR 2006)"
    )
    config_class = ClosedFormConfig
    solve = staticmethod(closed_form)
    description = "closed-form matting Laplacian (3x3 colour-line windows); no weights"
    measured = Measured(
        sad=1.885, mse=0.00475
    )  # Trimap1 / Trimap2: SAD 1.51 / 2.26, MSE 0.0048 / 0.0047


class KNNMatting(ClassicalMatting):
    """KNN matting: a Laplacian over each pixel's nearest neighbours in colour and position
    (Chen et al. 2013; pymatting's RGB-and-position variant)."""

    name = "knn"
    paper = (
        "Qifeng Chen, Dingzeyu Li and Chi-Keung Tang, KNN Matting, IEEE TPAMI "
        "35(9):2175-2188, 2013 (CVPR 2012)"
    )
    config_class = KNNConfig
    solve = staticmethod(knn)
    description = "KNN matting: nonlocal Laplacian over colour-and-position neighbours; no weights"
    measured = Measured(
        sad=2.055, mse=0.00515
    )  # Trimap1 / Trimap2: SAD 1.75 / 2.36, MSE 0.0055 / 0.0048

    def check_size(self, height: int, width: int) -> None:
        if height * width <= max(self.config.n_neighbors):
            raise InputError(
                f"knn with n_neighbors={self.config.n_neighbors} needs more than "
                f"{max(self.config.n_neighbors)} pixels, got {width}x{height}"
            )


class LargeKernelMatting(ClassicalMatting):
    """Large-kernel matting: closed-form's Laplacian over large windows, applied by box
    filters (He et al. 2010)."""

    name = "lkm"
    paper = (
        "Kaiming He, Jian Sun and Xiaoou Tang, Fast Matting Using Large Kernel Matting "
        "Laplacian Matrices, CVPR 2010"
    )
    config_class = LargeKernelConfig
    solve = staticmethod(large_kernel)
    description = "large-kernel matting Laplacian (21x21 windows, box filters); no weights"
    measured = Measured(
        sad=3.04, mse=0.00865
    )  # Trimap1 / Trimap2: SAD 2.42 / 3.66, MSE 0.0084 / 0.0089

    def min_side(self) -> int:
        # pymatting box-filters the (H - 2r) x (W - 2r) window centres with radius r again
        return 4 * self.config.radius + 1


class RandomWalkMatting(ClassicalMatting):
    """Random-walk matting: a random walker over colour-similarity weights (Grady et al. 2005)."""

    name = "random-walk"
    paper = (
        "Leo Grady, Thomas Schiwietz, Shmuel Aharon and Rüdiger Westermann, Random Walks for "
        "Interactive Alpha-Matting, VIIP 2005"
    )
    config_class = RandomWalkConfig
    solve = staticmethod(random_walk)
    description = "random-walk matting over 3x3 colour-similarity weights; no weights"
    measured = Measured(
        sad=3.985, mse=0.02355
    )  # Trimap1 / Trimap2: SAD 3.29 / 4.68, MSE 0.0246 / 0.0225


class LearningBasedMatting(ClassicalMatting):
    """Learning-based digital matting: a local kernel ridge regression of alpha on colour
    (Zheng & Kambhamettu 2009)."""

    name = "lbdm"
    paper = "Yuanjie Zheng and Chandra Kambhamettu, Learning Based Digital Matting, ICCV 2009"
    config_class = LearningBasedConfig
    solve = staticmethod(learning_based)
    description = "learning-based digital matting (local ridge regression Laplacian); no weights"
    measured = Measured(
        sad=1.855, mse=0.00475
    )  # Trimap1 / Trimap2: SAD 1.49 / 2.22, MSE 0.0048 / 0.0047


def model_info(model: type[ClassicalMatting]) -> ModelInfo:
    """The ModelInfo of a classical method: a trimap, no weights, no normalisation (mean 0,
    std 1: the model sees RGB in [0, 1]) and no padding (any size)."""
    return ModelInfo(
        paper=model.paper,
        needs_trimap=True,
        input_channels=6,
        config_class=model.config_class,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        pad_multiple=1,
        pad_margin=0,
        needs_weights=False,
        description=model.description,
        measured=(model.measured,),
    )


#: Every classical method, in the order ``matting list`` shows them.
METHODS: tuple[type[ClassicalMatting], ...] = (
    ClosedFormMatting,
    KNNMatting,
    LargeKernelMatting,
    RandomWalkMatting,
    LearningBasedMatting,
)
