"""Tiny matting networks (trimap-based and trimap-free) and an L1 alpha loss, for the plugin
example."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from matting_core import ConfigError


@dataclass(frozen=True)
class ExampleTinyConfig:
    """Options of :class:`ExampleTiny`.

    :param width: channels of the hidden convolution.
    """

    width: int = 8

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ConfigError(f"width must be >= 1, got {self.width}")


class ExampleTiny(nn.Module):
    """Two 3x3 convolutions on RGB + one-hot trimap, then a sigmoid.

    Shape:
        - image: (B, 3, H, W) normalised RGB.
        - trimap: (B, 3, H, W) one-hot [bg, unknown, fg].
        - returns ``{"alpha": (B, 1, H, W)}`` in [0, 1].
    """

    def __init__(self, config: ExampleTinyConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ExampleTinyConfig()
        width = self.config.width
        self.conv1 = nn.Conv2d(6, width, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(width, 1, kernel_size=3, padding=1)

    def forward(self, image: Tensor, trimap: Tensor) -> dict[str, Tensor]:
        features = torch.relu(self.conv1(torch.cat([image, trimap], dim=1)))
        return {"alpha": torch.sigmoid(self.conv2(features))}


class ExampleFree(nn.Module):
    """A trimap-free network: two 3x3 convolutions on RGB only, then a sigmoid.

    Shape:
        - image: (B, 3, H, W) normalised RGB.
        - trimap: None (a trimap-free model never gets one).
        - returns ``{"alpha": (B, 1, H, W)}`` in [0, 1].
    """

    def __init__(self, config: ExampleTinyConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ExampleTinyConfig()
        width = self.config.width
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(width, 1, kernel_size=3, padding=1)

    def forward(self, image: Tensor, trimap: Tensor | None = None) -> dict[str, Tensor]:
        features = torch.relu(self.conv1(image))
        return {"alpha": torch.sigmoid(self.conv2(features))}


class ExampleL1Loss(nn.Module):
    """Mean absolute difference between predicted and true alpha, times ``weight``."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, alpha: Tensor, target: Tensor) -> Tensor:
        return self.weight * (alpha - target).abs().mean()
