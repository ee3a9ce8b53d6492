"""``classical-fusion``: a small network that fuses three classical mattes pixel by pixel.

Closed-form (Levin et al. 2008), learning-based (Zheng & Kambhamettu 2009) and KNN matting
(Chen et al. 2013) are each strong on real photos and fail in different places: the
colour-line models of the first two smooth across hair that KNN's nonlocal neighbours
keep, KNN leaks colour from far away.  :class:`ClassicalFusion` solves all three and lets a
small convolutional network (:class:`FusionNet`), which sees the photo, the trimap and the
three mattes, choose per pixel: softmax weights over the three mattes plus a bounded
correction.  It plays the part of Deep Image Matting's refinement stage (Xu et al. 2017)
with classical solves in place of the encoder-decoder; the network has about 49 thousand
parameters and was trained here on real photos (``weights/MODEL_CARD.md``,
:mod:`matting_classical.fusion_training`).

At initialisation (a head of tiny weights) the result is the mean of the three mattes; the correction is
at most ``correction`` (0.1) either way, so the network cannot wander far from what the
solves agree on.  The network's receptive field is :meth:`FusionNet.receptive_radius` pixels
either side; large photos run it in tiles with that much context (``tile``), and the solves
are bounded as for the classical models (:func:`matting_classical.tiling.solve_bounded`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from matting_classical.config import _require
from matting_classical.model import (
    ClassicalMatting,
    ClosedFormMatting,
    KNNMatting,
    LearningBasedMatting,
    check_unnormalised_inputs,
)
from matting_core import Measured, ModelInfo

__all__ = [
    "FUSED_METHODS",
    "FUSION_INFO",
    "ClassicalFusion",
    "FusionConfig",
    "FusionNet",
    "fusion_input",
]

#: The classical methods whose mattes are fused, in the order of the network's channels.
FUSED_METHODS: tuple[type[ClassicalMatting], ...] = (
    ClosedFormMatting,
    LearningBasedMatting,
    KNNMatting,
)
#: Normalisation of the photo inside the network (ImageNet statistics).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class FusionConfig:
    """Options of ``classical-fusion`` (``--set NAME=VALUE``).

    :param width: channels of the network's hidden layers.
    :param dilations: one 3x3 convolution (with LeakyReLU) per entry, with this dilation:
        the default's receptive field is 65x65 pixels.
    :param correction: the largest amount the network adds to or takes from the weighted
        mean of the mattes.
    :param tile: the network runs on tiles of this side (plus its receptive radius of
        context each side) so its memory does not grow with the photo; 0: the whole photo.
    :param progress: progress bars for long solves.
    """

    width: int = 32
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1)
    correction: float = 0.1
    tile: int = 1024
    progress: bool = True

    def __post_init__(self) -> None:
        _require(1 <= self.width <= 1024, f"width must be in [1, 1024], got {self.width}")
        _require(
            len(self.dilations) >= 1 and all(1 <= d <= 64 for d in self.dilations),
            f"dilations must be one or more integers in [1, 64], got {self.dilations}",
        )
        _require(
            0.0 <= self.correction <= 1.0, f"correction must be in [0, 1], got {self.correction}"
        )
        _require(self.tile == 0 or self.tile >= 64, f"tile must be 0 or >= 64, got {self.tile}")


def fusion_input(image: Tensor, trimap: Tensor, mattes: Tensor) -> Tensor:
    """What :class:`FusionNet` sees: (B, 5 + K, H, W) float32.

    Args:
        image: (B, 3, H, W) RGB in [0, 1].
        trimap: (B, 3, H, W) one-hot [background, unknown, foreground].
        mattes: (B, K, H, W) the classical mattes in [0, 1].

    Returns:
        the normalised photo, the foreground and unknown masks, the mattes.
    """
    mean = image.new_tensor(_MEAN).view(1, 3, 1, 1)
    std = image.new_tensor(_STD).view(1, 3, 1, 1)
    return torch.cat([(image - mean) / std, trimap[:, 2:3], trimap[:, 1:2], mattes], dim=1)


class FusionNet(nn.Module):
    """Per-pixel fusion of K mattes: dilated 3x3 convolutions, then a 1x1 head with K
    softmax weights and one bounded correction.

    Args:
        mattes: K, the number of mattes fused.
        config: width, dilations and correction.

    Shape:
        - x: (B, 5 + K, H, W) from :func:`fusion_input`.
        - returns (B, 1, H, W) alpha in [0, 1] (the unknown region's; the caller keeps the
          trimap's known pixels).
    """

    def __init__(self, mattes: int, config: FusionConfig) -> None:
        super().__init__()
        self.mattes = mattes
        self.correction = config.correction
        layers: list[nn.Module] = []
        channels = 5 + mattes
        for dilation in config.dilations:
            layers += [
                nn.Conv2d(channels, config.width, 3, padding=dilation, dilation=dilation),
                nn.LeakyReLU(0.1),
            ]
            channels = config.width
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, mattes + 1, 1)
        # start from (nearly) the plain mean of the mattes and no correction; not exactly
        # zero, so that gradients reach the body from the first step
        nn.init.normal_(self.head.weight, std=1e-3)
        nn.init.zeros_(self.head.bias)

    def receptive_radius(self) -> int:
        """Pixels either side of a pixel that its output depends on."""
        return sum(conv.dilation[0] for conv in self.body if isinstance(conv, nn.Conv2d))

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.body(x))
        weights = torch.softmax(out[:, : self.mattes], dim=1)
        mattes = x[:, 5 : 5 + self.mattes]
        fused = (weights * mattes).sum(dim=1, keepdim=True)
        return (fused + self.correction * torch.tanh(out[:, self.mattes :])).clamp(0.0, 1.0)


class ClassicalFusion(nn.Module):
    """``classical-fusion``: closed-form, learning-based and KNN mattes fused by
    :class:`FusionNet`.

    Args:
        config: the network's options; the solves use their models' default configs.

    Shape:
        - image: (B, 3, H, W) float RGB in [0, 1] (the ModelInfo asks ``predict`` for no
          normalisation, as for the classical models).
        - trimap: (B, 3, H, W) float one-hot [bg, unknown, fg].
        - returns ``{"alpha": (B, 1, H, W)}`` in [0, 1], the known pixels the trimap's.
    """

    def __init__(self, config: FusionConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FusionConfig()
        self.solvers = [
            method(method.config_class(progress=self.config.progress)) for method in FUSED_METHODS
        ]
        self.fusion = FusionNet(len(self.solvers), self.config)

    def solve(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """The classical mattes of one photo: (K, H, W) float32.

        Args:
            image: (H, W, 3) float RGB in [0, 1].
            trimap: (H, W) uint8, 0 background, 128 unknown, 255 foreground.
        """
        return np.stack([solver.matte(image, trimap) for solver in self.solvers])

    def fuse(self, image: Tensor, trimap: Tensor, mattes: Tensor) -> Tensor:
        """The fused alpha from precomputed mattes; differentiable in the network's weights
        (what training calls).  Shapes as :func:`fusion_input`; returns (B, 1, H, W) with the
        trimap's known pixels."""
        alpha = self._run_tiled(fusion_input(image, trimap, mattes))
        return torch.where(trimap[:, 1:2] > 0.5, alpha, trimap[:, 2:3])

    def _run_tiled(self, x: Tensor) -> Tensor:
        tile, height, width = self.config.tile, x.shape[-2], x.shape[-1]
        if tile == 0 or (height <= tile and width <= tile):
            return self.fusion(x)
        margin = self.fusion.receptive_radius()
        out = x.new_empty(x.shape[0], 1, height, width)
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                t0, l0 = max(top - margin, 0), max(left - margin, 0)
                t1, l1 = min(top + tile + margin, height), min(left + tile + margin, width)
                piece = self.fusion(x[..., t0:t1, l0:l1])
                bottom, right = min(top + tile, height), min(left + tile, width)
                out[..., top:bottom, left:right] = piece[
                    ..., top - t0 : bottom - t0, left - l0 : right - l0
                ]
        return out

    def forward(self, image: Tensor, trimap: Tensor | None) -> dict[str, Tensor]:
        check_unnormalised_inputs(image, trimap, "classical-fusion")
        assert trimap is not None  # checked above
        # the solves are not differentiable: gradients reach the network and, through its
        # input, the photo, not the mattes
        solved = [
            self.solve(
                image[b].detach().permute(1, 2, 0).float().cpu().numpy(),
                (trimap[b, 1] * 128 + trimap[b, 2] * 255).detach().to(torch.uint8).cpu().numpy(),
            )
            for b in range(image.shape[0])
        ]
        mattes = torch.from_numpy(np.stack(solved)).to(image.device)
        alpha = self.fuse(image.float(), trimap.float(), mattes)
        return {"alpha": alpha}

    def extra_repr(self) -> str:
        return repr(self.config)


#: Weights trained here on real photos (weights/MODEL_CARD.md).
BUNDLED_WEIGHTS = "matting_classical:weights/classical-fusion-alphamatting.safetensors"

FUSION_INFO = ModelInfo(
    paper=(
        "fuses Levin et al. 2008 (closed-form), Zheng & Kambhamettu 2009 (learning-based) "
        "and Chen et al. 2013 (KNN) with a small network trained here, in the role of Xu et "
        "al. 2017's refinement stage"
    ),
    needs_trimap=True,
    input_channels=6,
    config_class=FusionConfig,
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),
    pad_multiple=1,
    pad_margin=0,
    default_weights=BUNDLED_WEIGHTS,
    description=(
        "closed-form, learning-based and KNN mattes fused per pixel by a 49k-parameter "
        "network trained here on real photos"
    ),
    # the bundled weights, held out from GT17-GT20: Trimap1 / Trimap2 SAD 1.06 / 1.41, MSE
    # 0.0029 / 0.0030 (weights/MODEL_CARD.md); `matting predict` without --model ranks by it
    measured=(Measured(sad=1.235, mse=0.00295),),
)
