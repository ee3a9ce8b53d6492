"""Optimisers and learning-rate schedules from ``[optim]`` and ``[schedule]``.

The papers' recipes, for reference:

- GCA: Adam, β = (0.5, 0.999), lr 1e-4, batch 40, 200k steps, warmup + cosine decay.
- HOP: Adam, warmup + cosine decay, FP16.
- HDMatt: Adam, lr 5e-4, weight decay 1e-4, cosine decay.
- HAttMatting: SGD, momentum 0.9, weight decay 5e-4, lr 0.007, poly decay with power 0.9.

Schedules are :class:`torch.optim.lr_scheduler.LambdaLR` with a :class:`ScheduleFactor`
object (plain float/int attributes), so ``scheduler.state_dict()`` saves and restores
through ``torch.load(weights_only=True)``.  The scheduler is stepped once per optimiser step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

from matting_core.training.config import OptimConfig, ScheduleConfig

__all__ = ["ScheduleFactor", "build_optimizer", "build_scheduler", "lr_factor"]


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: OptimConfig
) -> torch.optim.Optimizer:
    """The optimiser ``cfg.name`` over the parameters that require gradients.

    :param params: the network's parameters (frozen ones are skipped).
    :param cfg: ``[optim]``.
    """
    trainable = [p for p in params if p.requires_grad]
    if cfg.name == "adam":
        return torch.optim.Adam(
            trainable, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            trainable, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
    if cfg.name == "sgd":
        return torch.optim.SGD(
            trainable,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            nesterov=cfg.nesterov,
        )
    raise AssertionError(f"unvalidated optimiser name {cfg.name!r}")  # config.py validates


def lr_factor(
    step: int,
    *,
    name: str,
    total_steps: int,
    warmup_steps: int = 0,
    power: float = 0.9,
    min_ratio: float = 0.0,
) -> float:
    """The multiplier of the peak lr at optimiser step ``step`` (0-based).

    Linear warmup ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps, then
    with ``t`` the fraction of the remaining steps done:

    - ``constant``: 1;
    - ``warmup_cosine``: ``r + (1 − r)·½(1 + cos πt)`` (Loshchilov & Hutter; Goyal et al.);
    - ``poly``: ``r + (1 − r)·(1 − t)^power`` (DeepLab's "poly");

    where ``r = min_lr / lr`` is where the decay ends.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if name == "constant":
        return 1.0
    t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    if name == "warmup_cosine":
        decay = 0.5 * (1.0 + math.cos(math.pi * t))
    elif name == "poly":
        decay = (1.0 - t) ** power
    else:
        raise AssertionError(f"unvalidated schedule name {name!r}")
    return min_ratio + (1.0 - min_ratio) * decay


class ScheduleFactor:
    """``LambdaLR``'s lr_lambda: :func:`lr_factor` with its settings as plain attributes.

    ``LambdaLR.state_dict`` stores a callable object's ``__dict__``, so every attribute here
    is a float, int or str (safe for ``torch.load(weights_only=True)``).
    """

    def __init__(
        self, name: str, total_steps: int, warmup_steps: int, power: float, min_ratio: float
    ) -> None:
        self.name = name
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.power = float(power)
        self.min_ratio = float(min_ratio)

    def __call__(self, step: int) -> float:
        return lr_factor(
            step,
            name=self.name,
            total_steps=self.total_steps,
            warmup_steps=self.warmup_steps,
            power=self.power,
            min_ratio=self.min_ratio,
        )


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, total_steps: int
) -> LambdaLR:
    """The ``LambdaLR`` of ``cfg`` over ``total_steps`` optimiser steps.

    Each parameter group decays from its own lr to ``cfg.min_lr``.
    """
    factors = [
        ScheduleFactor(
            cfg.name,
            total_steps,
            cfg.warmup_steps,
            cfg.power,
            min(1.0, cfg.min_lr / group["lr"]) if group["lr"] > 0 else 0.0,
        )
        for group in optimizer.param_groups
    ]
    return LambdaLR(optimizer, lr_lambda=factors)
