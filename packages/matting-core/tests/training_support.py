"""Shared pieces of the training tests: a small real network, one real sample, a plugin.

Loaded by the ``test_training_*.py`` files (and by the scripts they run in subprocesses) from
this file's path, because the tests folder is not a package.

- :class:`TinyMattingNet`: a 6-conv encoder-decoder with BatchNorm (or GroupNorm, whose
  statistics do not depend on how the batch is split across processes).
- :class:`TinyGANRecipe`: the adversarial recipe of ``train-tiny-gan`` (the same network), with
  a 3-conv patch discriminator of its own (core builds no discriminator).
- :class:`GT01Layout`: the alphamatting.com training image GT01 (image, alpha, Trimap1) from the
  shared data, resized to a few dozen pixels and repeated ``length`` times; a matting-data
  layout, so the engine wraps it in ``MattingDataset`` with the recipe's transforms.
- :func:`ensure_plugin`: registers ``train-tiny``, ``train-tiny-gan``, the dataset ``gt01-tiny`` and, when the
  default plugin does not (yet) register them, core's losses.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from matting_core import DatasetInfo, LossInfo, ModelInfo, hookimpl
from matting_core.testing import require_shared
from matting_core.training import AdversarialRecipe

MODEL = "train-tiny"
GAN_MODEL = "train-tiny-gan"
DATASET = "gt01-tiny"
PLUGIN = "matting-training-tests"


def shared_data_dir() -> Path:
    """``shared/data`` (see :mod:`matting_core.testing`); fails the test when it is missing."""
    return require_shared("data", must_contain="alphamatting_training_lowres", start=__file__)


def gt01_root() -> Path:
    return shared_data_dir() / "alphamatting_training_lowres"


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TinyConfig:
    """Options of :class:`TinyMattingNet`."""

    width: int = 16
    norm: str = "batch"


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.GroupNorm(4, channels)


def _conv(cin: int, cout: int, norm: str, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        _norm(norm, cout),
        nn.ReLU(inplace=True),
    )


class TinyMattingNet(nn.Module):
    """image (B, 3, H, W) + one-hot trimap (B, 3, H, W) → {"alpha": (B, 1, H, W)}; H, W
    multiples of 4."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        w, norm = config.width, config.norm
        self.enc1 = _conv(6, w, norm)
        self.enc2 = _conv(w, 2 * w, norm, stride=2)
        self.enc3 = _conv(2 * w, 4 * w, norm, stride=2)
        self.dec2 = _conv(4 * w + 2 * w, 2 * w, norm)
        self.dec1 = _conv(2 * w + w, w, norm)
        self.head = nn.Conv2d(w, 1, 3, padding=1)

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        e1 = self.enc1(torch.cat([image, trimap], dim=1))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([F.interpolate(e3, scale_factor=2.0), e2], dim=1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0), e1], dim=1))
        return {"alpha": torch.sigmoid(self.head(d1))}


class TinyGANRecipe(AdversarialRecipe):
    """The default adversarial recipe with a small patch discriminator: 4×4 convolutions with
    stride 2, 2, 1 (``base_channels``, doubled, then 1 logit per patch) on image ‖ alpha."""

    def build_discriminator(self) -> nn.Module:
        base = int(self.adv.options.get("base_channels", 8))
        return nn.Sequential(
            nn.Conv2d(4, base, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(base, 2 * base, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * base, 1, 4, padding=1),
        )


# --------------------------------------------------------------------------------------------
# The data: one real sample
# --------------------------------------------------------------------------------------------

_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def load_gt01(root: Path, height: int, width: int) -> dict[str, Any]:
    """GT01's image, alpha and Trimap1, resized to (height, width)."""
    import cv2

    from matting_data import read_alpha, read_image, read_trimap

    key = (str(root), height, width)
    if key not in _CACHE:
        root = Path(root)
        image = read_image(root / "image" / "GT01.png")
        alpha = read_alpha(root / "alpha" / "GT01.png")
        trimap = read_trimap(root / "trimap" / "GT01.png")
        size = (width, height)
        _CACHE[key] = {
            "name": "GT01",
            "image": cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32),
            "alpha": np.clip(cv2.resize(alpha, size, interpolation=cv2.INTER_AREA), 0, 1).astype(
                np.float32
            ),
            "trimap": cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST),
        }
    return _CACHE[key]


class GT01Layout:
    """A matting-data layout of ``length`` copies of GT01 at (height, width).

    :param delay: seconds each load sleeps (to give the kill test time to act).
    :param drop: comma-separated keys the samples leave out (``"trimap"``: a dataset without
        trimaps).
    """

    def __init__(
        self,
        root: str,
        height: int = 64,
        width: int = 64,
        length: int = 8,
        delay: float = 0.0,
        drop: str = "",
    ) -> None:
        self.root = Path(root)
        self.height, self.width, self.length, self.delay = height, width, length, delay
        self.drop = {key.strip() for key in drop.split(",") if key.strip()}

    def __len__(self) -> int:
        return self.length

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        if self.delay:
            time.sleep(self.delay)
        return {
            k: (v.copy() if isinstance(v, np.ndarray) else v)
            for k, v in load_gt01(self.root, self.height, self.width).items()
            if k not in self.drop
        }

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.load(index)


# --------------------------------------------------------------------------------------------
# The plugin
# --------------------------------------------------------------------------------------------


@hookimpl
def matting_register_models(registry: Any) -> None:
    info = ModelInfo(
        paper="— (training tests)",
        needs_trimap=True,
        input_channels=6,
        config_class=TinyConfig,
        pad_multiple=4,
        description="6-conv encoder-decoder for the training tests",
    )
    registry.add(MODEL, TinyMattingNet, info)
    registry.add(
        GAN_MODEL,
        TinyMattingNet,
        dataclasses.replace(
            info,
            description="train-tiny with a patch discriminator",
            training_recipe=TinyGANRecipe,
        ),
    )


@hookimpl
def matting_register_losses(registry: Any) -> None:
    from matting_core.losses import LOSS_INFOS

    for name, (factory, papers, description) in LOSS_INFOS.items():
        if name not in registry:  # the default plugin registers them once the lead wires it
            registry.add(name, factory, LossInfo(papers=papers, description=description))
    # a plain (prediction, target) loss, as third-party plugins may register
    registry.add("plain-l1", nn.L1Loss, LossInfo(description="torch.nn.L1Loss (tests)"))


@hookimpl
def matting_register_datasets(registry: Any) -> None:
    registry.add(DATASET, GT01Layout, DatasetInfo(description="GT01 resized, repeated (tests)"))


def ensure_plugin() -> None:
    """Register this module as a plugin unless it already is (``reset_plugins`` in other
    tests forgets it)."""
    import sys

    from matting_core import list_models
    from matting_core.plugins import register_plugin

    if MODEL not in list_models():
        register_plugin(sys.modules[__name__], PLUGIN)


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------


def base_config(**sections: dict[str, Any]) -> dict[str, Any]:
    """A small, fast config as a TOML-like dict; ``sections`` update its tables."""
    root = str(gt01_root())
    data: dict[str, Any] = {
        "run": {
            "seed": 0,
            "steps": 4,
            "log_every": 1,
            "val_every": 0,
            "checkpoint_every": 2,
            "keep_last": 3,
            "tensorboard": False,
        },
        "model": {"name": MODEL, "options": {"width": 8}},
        "data": {
            "train": DATASET,
            "train_root": root,
            "train_options": {"height": 48, "width": 48, "length": 8},
            "batch_size": 2,
            "crop_size": 32,
        },
        "optim": {"name": "adam", "lr": 1e-3},
        "loss": {"terms": {"l1_unknown": 1.0}},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: the tensors here are tiny, and two OpenMP threads on a busy
    two-core machine spend their time waiting for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cli_main(monkeypatch: Any) -> Any:
    """``matting_core.cli.main`` with the ``train`` and ``config`` subcommands listed (until
    ``cli/__init__.py`` lists them itself)."""
    import matting_core.cli as cli

    extra = tuple(c for c in ("train", "config") if c not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, *extra))
    return cli.main


def weights_of(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))
