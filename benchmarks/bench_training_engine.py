"""Benchmark: the training engine's overhead per step against a bare hand-written loop.

Both train the same network (a 6-convolution encoder-decoder with BatchNorm) on the same data
(synthetic 3-channel images with a soft-edged matte and its trimap, per-item seeded) with the
same loader settings, Adam and the ``l1_unknown`` loss, for the same number of steps:

- **bare loop**: ``for batch in loader: forward, loss, zero_grad, backward, step``;
- **engine**: :func:`matting_core.training.train` with no validation and no checkpoint
  during the steps (one log line at the last step);
- **engine + progress bar**: the same with the tqdm bar on (its output discarded).

Two measurements:

1. Whole runs: each loop is timed as a whole call for N and for 2N steps;
   ``(T(2N) − T(N)) / N`` is its time per step with setup (model, loader, for the engine
   also the config file, the final checkpoint and weights) cancelled out.  Process CPU time,
   median of ``--repeat`` rounds in rotating order.
2. Single steps, alternating: one bare step, one engine step (the body of the engine's loop),
   one bare step, … ``--single-steps`` times, timed one by one.  Alternating puts both under
   the same machine load, and the 10th percentile keeps the undisturbed steps: on a shared
   virtual machine identical runs differ by a factor of two, which swamps (1), so the
   overhead is read from (2).

    python benchmarks/bench_training_engine.py [--steps 10] [--batch 8] [--size 64]
                                               [--width 16] [--repeat 5] [--threads 1]
                                               [--single-steps 100]

Target: engine overhead below 5 % of the bare loop's time per step.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from matting_core import DatasetInfo, LossInfo, ModelInfo, hookimpl

MODEL = "bench-convnet"
DATASET = "bench-synthetic"


# --------------------------------------------------------------------------------------------
# Model and data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    width: int = 24


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BenchNet(nn.Module):
    """image + one-hot trimap (B, 6, H, W) → {"alpha": (B, 1, H, W)}."""

    def __init__(self, config: BenchConfig) -> None:
        super().__init__()
        w = config.width
        self.enc1, self.enc2, self.enc3 = _conv(6, w), _conv(w, 2 * w, 2), _conv(2 * w, 4 * w, 2)
        self.dec2, self.dec1 = _conv(6 * w, 2 * w), _conv(3 * w, w)
        self.head = nn.Conv2d(w, 1, 3, padding=1)

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        e1 = self.enc1(torch.cat([image, trimap], 1))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([F.interpolate(e3, scale_factor=2.0), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0), e1], 1))
        return {"alpha": torch.sigmoid(self.head(d1))}


class SyntheticMattes(Dataset[dict[str, torch.Tensor]]):
    """``length`` items, each a function of (seed, index): a noisy image, a soft disc matte,
    its trimap (unknown band where 0 < alpha < 1, dilated) and the one-hot trimap."""

    def __init__(self, root: str = "", size: int = 96, length: int = 64, seed: int = 0) -> None:
        self.size, self.length, self.seed = size, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        s = self.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        cy, cx = rng.uniform(0.3 * s, 0.7 * s, 2).tolist()
        r = rng.uniform(0.15 * s, 0.3 * s)
        alpha = np.clip((r - np.hypot(yy - cy, xx - cx)) / (0.08 * s) + 0.5, 0, 1).astype(
            np.float32
        )
        fg, bg = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
        image = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
        image = np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1).astype(np.float32)
        band = np.abs(np.hypot(yy - cy, xx - cx) - r) < 0.12 * s
        trimap = np.where(band, 0.5, (alpha > 0.5).astype(np.float32)).astype(np.float32)
        onehot = np.stack([trimap == 0, trimap == 0.5, trimap == 1]).astype(np.float32)
        return {
            "image": torch.from_numpy(image.transpose(2, 0, 1).copy()),
            "alpha": torch.from_numpy(alpha[None]),
            "trimap": torch.from_numpy(trimap[None]),
            "trimap_onehot": torch.from_numpy(onehot),
        }


class BenchPlugin:
    """Registers the benchmark's model, dataset and (if core does not yet) its losses."""

    @hookimpl
    def matting_register_models(self, registry: Any) -> None:
        info = ModelInfo(
            paper="— (benchmark)",
            needs_trimap=True,
            input_channels=6,
            config_class=BenchConfig,
            pad_multiple=4,
        )
        registry.add(MODEL, BenchNet, info)

    @hookimpl
    def matting_register_losses(self, registry: Any) -> None:
        from matting_core.losses import LOSS_INFOS

        for name, (factory, papers, description) in LOSS_INFOS.items():
            if name not in registry:
                registry.add(name, factory, LossInfo(papers=papers, description=description))

    @hookimpl
    def matting_register_datasets(self, registry: Any) -> None:
        registry.add(
            DATASET, SyntheticMattes, DatasetInfo(description="synthetic mattes (benchmark)")
        )


# --------------------------------------------------------------------------------------------
# The loops, timed as whole calls
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Wall-clock and process CPU seconds of one call."""

    wall: float
    cpu: float

    def __sub__(self, other: Timing) -> Timing:
        return Timing(self.wall - other.wall, self.cpu - other.cpu)


@contextlib.contextmanager
def timed(out: list[Timing]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    out.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))


class BareSteps:
    """The hand-written loop's state: model, Adam, an endless iterator over the loader."""

    def __init__(self, args: argparse.Namespace) -> None:
        torch.manual_seed(0)
        self.model = BenchNet(BenchConfig(args.width)).train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        dataset = SyntheticMattes(size=args.size, length=args.length)
        generator = torch.Generator().manual_seed(0)
        self.loader = DataLoader(
            dataset,
            batch_size=args.batch,
            sampler=RandomSampler(dataset, generator=generator),
            drop_last=True,
        )
        self.mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        self.std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        self.batches = self._endless()

    def _endless(self) -> Any:
        while True:
            yield from self.loader

    def step(self) -> torch.Tensor:
        from matting_core.losses import l1_unknown

        batch = next(self.batches)
        alpha = self.model((batch["image"] - self.mean) / self.std, batch["trimap_onehot"])["alpha"]
        loss = l1_unknown(alpha, batch["alpha"], batch["trimap"])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss


def bare_loop(args: argparse.Namespace, steps: int) -> Timing:
    """A hand-written loop of ``steps`` steps, setup included."""
    result: list[Timing] = []
    with timed(result):
        bare = BareSteps(args)
        for _ in range(steps):
            loss = bare.step()
        loss.item()
    return result[0]


def engine_config(args: argparse.Namespace, steps: int) -> Any:
    from matting_core.training import config_from_dict

    return config_from_dict(
        {
            "run": {
                "steps": steps,
                "log_every": steps,
                "val_every": 0,
                "checkpoint_every": 0,
                "tensorboard": False,
            },
            "model": {"name": MODEL, "options": {"width": args.width}},
            "data": {
                "train": DATASET,
                "train_options": {"size": args.size, "length": args.length},
                "batch_size": args.batch,
            },
            "optim": {"name": "adam", "lr": 1e-3},
            "loss": {"terms": {"l1_unknown": 1.0}},
        }
    )


def engine_loop(args: argparse.Namespace, steps: int, progress: bool) -> Timing:
    """:func:`matting_core.training.train` for ``steps`` steps, setup and the final
    checkpoint included (they cancel in the difference of two step counts)."""
    from matting_core.training import train

    result: list[Timing] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stderr(io.StringIO()),
        timed(result),
    ):
        train(engine_config(args, steps), Path(tmp) / "run", progress=progress)
    return result[0]


def interleaved_steps(args: argparse.Namespace, count: int) -> tuple[list[float], list[float]]:
    """Seconds of single steps, bare and engine alternating: (bare, engine).

    The engine step is the body of its loop (``_Trainer._train_step``: data, forward, loss
    terms, backward, optimiser, scheduler, bookkeeping); what :func:`train` adds around it per
    step is a counter, a progress-bar update and two modulo tests.
    """
    from matting_core.training.engine import _Trainer

    bare_times, engine_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        trainer = _Trainer(
            engine_config(args, 10**9), Path(tmp) / "run", recipe=None, progress=False, resume=False
        )
        try:
            batches = trainer._micro_batches()
            bare = BareSteps(args)
            for i in range(count + 5):  # the first steps warm allocator and kernels up
                start = time.perf_counter()
                bare.step()
                middle = time.perf_counter()
                trainer._train_step(batches)
                end = time.perf_counter()
                if i >= 5:
                    bare_times.append(middle - start)
                    engine_times.append(end - middle)
        finally:
            trainer.close()
    return bare_times, engine_times


def measure(args: argparse.Namespace, n: int) -> dict[str, list[Timing]]:
    """Per-step timings of the three whole loops over ``args.repeat`` rounds."""
    loops = {
        "bare loop": lambda steps: bare_loop(args, steps),
        "engine": lambda steps: engine_loop(args, steps, progress=False),
        "engine + progress bar": lambda steps: engine_loop(args, steps, progress=True),
    }
    bare_loop(args, 3)  # warm-up: threads, allocator, oneDNN primitives
    engine_loop(args, 2, progress=False)
    per_step: dict[str, list[Timing]] = {name: [] for name in loops}
    names = list(loops)
    for i in range(args.repeat):
        # rotate the order so that drifts in machine load hit every loop alike
        for name in names[i % 3 :] + names[: i % 3]:
            diff = loops[name](2 * n) - loops[name](n)
            per_step[name].append(Timing(diff.wall / n, diff.cpu / n))
    return per_step


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="N: whole runs of N and 2N steps")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--length", type=int, default=64, help="dataset items")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of whole runs")
    parser.add_argument("--single-steps", type=int, default=100, help="interleaved single steps")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from matting_core.plugins import register_plugin

    register_plugin(BenchPlugin(), "matting-benchmark")
    whole = measure(args, args.steps)
    bare_steps, engine_steps = interleaved_steps(args, args.single_steps)

    print(
        f"BenchNet width {args.width}, batch {args.batch} x 6 x {args.size} x {args.size}, Adam, "
        f"l1_unknown; torch threads {torch.get_num_threads()}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'':<44}{'s/step':>10}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    print(f"whole runs, (T(2N) - T(N)) / N, N = {args.steps}, median of {args.repeat} (CPU time):")
    base = statistics.median(t.cpu for t in whole["bare loop"])
    for name, values in whole.items():
        value = statistics.median(t.cpu for t in values)
        print(f"  {name:<42}{value:>10.4f}{value / base:>8.3f}")
    print(f"single steps, bare and engine alternating, {args.single_steps} each (wall clock):")
    for label, q in (("10th percentile", 10), ("median", 50)):
        bare_q, engine_q = percentile(bare_steps, q), percentile(engine_steps, q)
        print(f"  {'bare step, ' + label:<42}{bare_q:>10.4f}{1.0:>8.3f}")
        print(f"  {'engine step, ' + label:<42}{engine_q:>10.4f}{engine_q / bare_q:>8.3f}")
    overhead = percentile(engine_steps, 10) / percentile(bare_steps, 10) - 1
    print("-" * len(header))
    print(
        f"engine overhead per step (10th percentile of alternating single steps): "
        f"{overhead * 100:+.1f} % (target < 5 %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
