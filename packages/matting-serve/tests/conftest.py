"""Shared fixtures: a small real photo with its trimap, and test models registered by hand."""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
import torch
from torch import nn

from matting_core import ModelInfo, hookimpl
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.testing import require_shared

#: The real photo the tests mat: GT04 of the alphamatting.com training set (two trolls with
#: fine hair), scaled down so that a GCA forward pass takes about a second on 2 CPU cores.
CASE = "GT04"
WIDTH = 400


@dataclass(frozen=True)
class Case:
    image: Path
    trimap: Path
    alpha: Path
    width: int
    height: int


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared("data", must_contain="alphamatting_training_lowres", start=__file__)


@pytest.fixture(scope="session")
def case(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """GT04's photo, official trimap and ground-truth alpha at 400 px wide, as PNG files."""
    source = shared_data / "alphamatting_training_lowres"
    folder = tmp_path_factory.mktemp("case")
    image = cv2.imread(str(source / "image" / f"{CASE}.png"), cv2.IMREAD_COLOR)
    height = round(image.shape[0] * WIDTH / image.shape[1])
    resized = {
        "image": cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA),
        "trimap": cv2.resize(
            cv2.imread(str(source / "trimap" / f"{CASE}.png"), cv2.IMREAD_GRAYSCALE),
            (WIDTH, height),
            interpolation=cv2.INTER_NEAREST,
        ),
        "alpha": cv2.resize(
            cv2.imread(str(source / "alpha" / f"{CASE}.png"), cv2.IMREAD_GRAYSCALE),
            (WIDTH, height),
            interpolation=cv2.INTER_AREA,
        ),
    }
    paths = {}
    for role, array in resized.items():
        paths[role] = folder / role / f"{CASE}.png"
        paths[role].parent.mkdir()
        assert cv2.imwrite(str(paths[role]), array)
    return Case(**paths, width=WIDTH, height=height)


# -- models registered by hand --------------------------------------------------------------


@dataclass
class NoOptions:
    pass


class Luminance(nn.Module):
    """A trimap-free 'model' without weights: alpha is the photo's brightness (mean RGB),
    contrast-stretched so that some pixels are surely foreground or background."""

    def __init__(self, config: NoOptions | None = None) -> None:
        super().__init__()
        self.head = nn.Identity()

    def forward(self, image: torch.Tensor, trimap: torch.Tensor | None) -> dict[str, torch.Tensor]:
        assert trimap is None
        brightness = image.mean(dim=1, keepdim=True)
        return {"alpha": self.head((brightness - 0.3) * 4).clamp(0, 1)}


class Gated(nn.Module):
    """A trimap model that waits, mid-forward, until the test opens :data:`GATE`."""

    def __init__(self, config: NoOptions | None = None) -> None:
        super().__init__()
        self.before = nn.Identity()
        self.after = nn.Identity()

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.before(trimap[:, 2:3])
        assert GATE.wait(timeout=60), "the test never opened the gate"
        return {"alpha": self.after(x)}


GATE = threading.Event()

_IDENTITY_NORMALISATION = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


@hookimpl
def matting_register_models(registry) -> None:
    registry.add(
        "test-luminance",
        Luminance,
        ModelInfo(
            paper="— (test)",
            needs_trimap=False,
            input_channels=3,
            config_class=NoOptions,
            **_IDENTITY_NORMALISATION,
        ),
    )
    registry.add(
        "test-gated",
        Gated,
        ModelInfo(
            paper="— (test)",
            needs_trimap=True,
            input_channels=6,
            config_class=NoOptions,
            **_IDENTITY_NORMALISATION,
        ),
    )


@pytest.fixture
def test_models():
    """Register ``test-luminance`` (trimap-free) and ``test-gated`` for one test; yields the
    gate that ``test-gated`` waits for."""
    module = types.ModuleType("matting_serve_test_models")
    module.matting_register_models = matting_register_models
    GATE.clear()
    register_plugin(module, name="serve-tests")
    yield GATE
    GATE.set()
    reset_plugins()
