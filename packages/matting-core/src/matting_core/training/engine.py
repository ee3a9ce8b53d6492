"""The training loop.

:func:`train` runs one experiment (a :class:`~matting_core.training.config.TrainConfig`) in a
run directory::

    RUN_DIR/
      config.toml        the resolved config
      metrics.jsonl      one JSON line per logged step and per validation
      tensorboard/       TensorBoard events (validation previews as images too)
      previews/          step-*.png: the first validation images at every validation
      checkpoints/       step-*.pt full states, latest.json, best/final .safetensors weights
      .lock              held (flock) by the run using the directory

The engine owns everything that is the same for every model: data loading (a
``DistributedSampler`` shard per rank, per-item seeding by the dataset), forward/backward
under autocast, gradient accumulation, clipping, GradScaler, schedules, the alternating
generator/discriminator updates of GANs, logging, validation, checkpoints and resume.  What is
model-specific comes from the :class:`~matting_core.training.recipe.TrainingRecipe`.

Reproducibility: the seed fixes model initialisation, the data order (the sampler's
per-epoch permutation) and every augmentation (``MattingDataset`` seeds each item with
(seed, epoch, index)); the DataLoader gets its own generator so that it never draws from the
global RNG.  A resumed run restores the RNG states and the data position, and on the CPU
reproduces an uninterrupted run bit for bit.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from matting_core.errors import (
    CheckpointError,
    ConfigError,
    MattingWarning,
    PluginError,
    TrainingDivergedError,
)
from matting_core.training import distributed as dist_utils
from matting_core.training.config import TrainConfig, check_names, config_to_dict, dump_config
from matting_core.training.logger import RunLogger
from matting_core.training.optim import build_optimizer, build_scheduler
from matting_core.training.previews import PREVIEW_DIR, ValidationPreviews
from matting_core.training.recipe import Batch, LossTerms, TrainingRecipe, recipe_for
from matting_core.training.state import (
    CHECKPOINT_DIR,
    STATE_FORMAT,
    capture_rng_state,
    list_checkpoints,
    load_latest_state,
    restore_rng_state,
    save_state,
)
from matting_core.training.validation import validate

__all__ = ["CONFIG_FILE", "LOCK_FILE", "TrainResult", "seed_everything", "train"]

#: Name of the resolved config in the run directory.
CONFIG_FILE = "config.toml"
#: The file a run holds a lock on while it uses its directory.
LOCK_FILE = ".lock"
#: What a run writes in its directory: the files an earlier run leaves (and --overwrite removes).
_RUN_OUTPUTS = (CONFIG_FILE, "metrics.jsonl", "tensorboard", PREVIEW_DIR, CHECKPOINT_DIR)

_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class TrainResult:
    """What a finished :func:`train` reports.

    :param run_dir: the run directory.
    :param step: the last step trained (``run.steps``, or the steps ``run.epochs`` came to).
    :param loss: the last logged generator loss (mean over the log interval and the ranks).
    :param best_sad: the best validation SAD, or None without validation.
    :param best_step: the step of ``best_sad``.
    :param checkpoint: the last full training state (``checkpoints/step-*.pt``).
    :param weights: the final generator weights (``checkpoints/final.safetensors``).
    :param resumed_from: the step the run resumed from, or None for a fresh run.
    :param validation: the last validation's metrics, or None.
    """

    run_dir: Path
    step: int
    loss: float | None
    best_sad: float | None
    best_step: int | None
    checkpoint: Path | None
    weights: Path | None
    resumed_from: int | None = None
    validation: dict[str, float] | None = field(default=None)


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's global RNGs (all CUDA devices too)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(
    cfg: TrainConfig,
    run_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    recipe: TrainingRecipe | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``cfg`` in ``run_dir``; under torchrun, every rank calls this.

    The run holds a lock on ``run_dir`` (``.lock``, released when the process ends, even
    when killed), so a second run in the same directory is refused instead of interleaving
    its checkpoints and metrics with the first.

    :param cfg: the validated config (:func:`~matting_core.training.config.load_config`).
    :param run_dir: the run directory, created if needed.
    :param resume: continue from the newest usable checkpoint in ``run_dir`` (a run without
        checkpoints starts fresh, with a warning).
    :param overwrite: start afresh in a directory that holds an earlier run, deleting that
        run's config, metrics, TensorBoard events and checkpoints first.
    :param recipe: the training recipe; default :func:`~matting_core.training.recipe.recipe_for`.
    :param progress: show a progress bar (rank 0 only) with loss, lr, step rate and ETA.
    :raises ConfigError: a config that cannot run (unknown names, batch not divisible), a run
        directory that is a file, is in use by another run, or already holds a run while
        neither ``resume`` nor ``overwrite`` is given.
    :raises CheckpointError: ``resume`` and no checkpoint of the run can be loaded, or the
        checkpoint's optimiser is not the config's.
    :raises TrainingDivergedError: the loss became infinite or NaN.
    """
    if resume and overwrite:
        raise ConfigError("resume and overwrite exclude each other: continue the run or replace it")
    trainer = _Trainer(
        cfg, Path(run_dir), recipe=recipe, progress=progress, resume=resume, overwrite=overwrite
    )
    try:
        return trainer.fit()
    finally:
        trainer.close()


class _Trainer:
    """One run's state; :func:`train` is the public face."""

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: Path,
        *,
        recipe: TrainingRecipe | None,
        progress: bool,
        resume: bool,
        overwrite: bool = False,
    ) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.resume = resume
        self.overwrite = overwrite
        self.logger: RunLogger | None = None
        self.pbar: Any = None
        self._lock: int | None = None
        check_names(cfg)
        self.ctx = dist_utils.init_distributed(cfg.run.device)
        # A run refused during set-up leaves no directory behind that it made itself.
        made_run_dir = not run_dir.exists()
        try:
            self._setup(recipe, progress)
        except BaseException:
            self.close()
            if made_run_dir and self.ctx.is_main:
                _remove_lock_only_dir(run_dir)
            raise

    def _setup(self, recipe: TrainingRecipe | None, progress: bool) -> None:
        from matting_core.models import get_model_info

        cfg, ctx = self.cfg, self.ctx
        if cfg.run.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
        self._check_run_dir()

        # --- networks (identical initialisation on every rank) ------------------------------
        seed_everything(cfg.run.seed)
        self.recipe = recipe if recipe is not None else recipe_for(cfg)
        if cfg.adversarial is not None and not self.recipe.adversarial:
            raise ConfigError(
                f"adversarial: the recipe {type(self.recipe).__name__} trains no discriminator"
            )
        self.info = get_model_info(cfg.model.name)
        self.recipe.setup(cfg, self.info, ctx.device)
        raw = self.recipe.build_networks()
        expected = {"generator", "discriminator"} if self.recipe.adversarial else {"generator"}
        if set(raw) != expected:
            raise PluginError(
                f"{type(self.recipe).__name__}.build_networks returned {sorted(raw)}; "
                f"expected {sorted(expected)}"
            )
        self.nets = {
            name: dist_utils.wrap_model(
                module.train(),
                ctx,
                sync_batchnorm=cfg.distributed.sync_batchnorm,
                find_unused_parameters=cfg.distributed.find_unused_parameters,
            )
            for name, module in raw.items()
        }
        self.raw = {name: dist_utils.unwrap(module) for name, module in self.nets.items()}
        for name, module in self.raw.items():
            if not any(p.requires_grad for p in module.parameters()):
                raise ConfigError(
                    f"model.name: the {name} of {cfg.model.name!r} has no trainable parameters"
                )
        # from here on each rank draws its own random numbers (dropout, noise)
        seed_everything(cfg.run.seed + ctx.rank)

        # --- data --------------------------------------------------------------------------
        self.accumulate = cfg.optim.accumulate
        self.per_rank_batch = dist_utils.per_rank_batch_size(
            cfg.data.batch_size, ctx.world_size, self.accumulate
        )
        train_set = self.recipe.build_dataset("train")
        if train_set is None:
            raise PluginError(f"{type(self.recipe).__name__}.build_dataset('train') returned None")
        self.train_set = train_set
        self.sampler = dist_utils.ResumableSampler(
            train_set, num_replicas=ctx.world_size, rank=ctx.rank, seed=cfg.run.seed
        )
        if len(self.sampler) < self.per_rank_batch:
            raise ConfigError(
                f"data.batch_size: each rank needs {self.per_rank_batch} samples per micro-batch "
                f"but the training set ({len(train_set)} items) gives it {len(self.sampler)}"
            )
        # The loader's own generator keeps it from drawing on the global RNG, which a resumed
        # run would otherwise see shifted.
        self.loader_generator = torch.Generator()
        self.loader = DataLoader(
            train_set,
            batch_size=self.per_rank_batch,
            sampler=self.sampler,
            num_workers=cfg.data.num_workers,
            drop_last=True,
            pin_memory=ctx.device.type == "cuda",
            generator=self.loader_generator,
        )
        self._check_sample("train", train_set, self.recipe.required_keys())
        self.val_loader = self._val_loader() if ctx.is_main else None
        # the run's length in optimiser steps: run.steps, or run.epochs over this data
        self.micro_batches_per_epoch = self.sampler.num_samples // self.per_rank_batch
        self.total_steps = cfg.run.steps or math.ceil(
            cfg.run.epochs * self.micro_batches_per_epoch / self.accumulate
        )
        for key, schedule in (
            ("schedule", cfg.schedule),
            ("adversarial.schedule", cfg.discriminator_schedule),
        ):
            if schedule.warmup_steps > self.total_steps:
                raise ConfigError(
                    f"{key}.warmup_steps: must not exceed the run's {self.total_steps} steps, "
                    f"got {schedule.warmup_steps}"
                )

        # --- optimisation ------------------------------------------------------------------
        optim_cfgs = {"generator": cfg.optim, "discriminator": cfg.discriminator_optim}
        schedule_cfgs = {"generator": cfg.schedule, "discriminator": cfg.discriminator_schedule}
        self.optim_cfgs = {name: optim_cfgs[name] for name in self.nets}
        self.optimizers = {
            name: build_optimizer(self.raw[name].parameters(), self.optim_cfgs[name])
            for name in self.nets
        }
        self.schedulers = {
            name: build_scheduler(self.optimizers[name], schedule_cfgs[name], self.total_steps)
            for name in self.nets
        }
        self.amp_enabled = cfg.amp.enabled and ctx.device.type == "cuda"
        if cfg.amp.enabled and not self.amp_enabled and ctx.is_main:
            warnings.warn(
                "amp.enabled is ignored on the CPU: training runs in float32",
                MattingWarning,
                stacklevel=3,
            )
        self.amp_dtype = _AMP_DTYPES[cfg.amp.dtype]
        use_scaler = self.amp_enabled and self.amp_dtype == torch.float16
        self.scalers = {
            name: torch.amp.GradScaler(ctx.device.type, enabled=use_scaler) for name in self.nets
        }

        # --- progress ---------------------------------------------------------------------
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.best_sad: float | None = None
        self.best_step: int | None = None
        self.last_checkpoint: Path | None = None
        self.last_checkpoint_step: int | None = None
        self.last_val_step: int | None = None
        self.last_validation: dict[str, float] | None = None
        self.last_loss: float | None = None
        self.resumed_from: int | None = None
        self.progress = progress and ctx.is_main
        self._acc: dict[str, Tensor] = {}
        self._acc_steps = 0

    # ---------------------------------------------------------------------------------------
    # setup helpers
    # ---------------------------------------------------------------------------------------

    def _check_run_dir(self) -> None:
        """Make (rank 0) and lock the run directory; refuse one that holds an earlier run."""
        if self.ctx.is_main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"the run directory {self.run_dir} cannot be made: {exc.strerror or exc}"
                ) from exc
            self._lock = _lock_run_dir(self.run_dir)
        earlier = _earlier_run(self.run_dir)
        if earlier and not self.resume:
            if not self.overwrite:
                raise ConfigError(
                    f"run directory {self.run_dir} already holds a run ({', '.join(earlier)}); "
                    "pass --resume to continue it, --overwrite to replace it, or choose "
                    "another --run-dir"
                )
            if self.ctx.is_main:
                _remove_run_outputs(self.run_dir)
        dist_utils.barrier(self.ctx)

    def _write_config(self) -> None:
        """Save the resolved config (rank 0), once everything could be built."""
        if self.ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.resume:
                _warn_if_config_changed(self.run_dir / CONFIG_FILE, self.cfg)
            from matting_data.atomic import atomic_write_bytes

            atomic_write_bytes(self.run_dir / CONFIG_FILE, dump_config(self.cfg).encode("utf-8"))

    def _val_loader(self) -> DataLoader[Any] | None:
        val_set = self.recipe.build_dataset("val")
        if val_set is None:
            return None
        needs = {"image": "the network's input", "alpha": "the ground truth"}
        if self.info.needs_trimap:
            needs["trimap"] = f"model {self.cfg.model.name!r} takes a trimap"
        self._check_sample("val", val_set, needs)
        limit = self.cfg.data.val_limit
        if limit and limit < len(val_set):
            val_set = Subset(val_set, range(limit))
        return DataLoader(
            val_set, batch_size=1, shuffle=False, num_workers=self.cfg.data.num_workers
        )

    def _check_sample(self, split: str, dataset: Any, needs: Mapping[str, str]) -> None:
        """Load the first sample of ``split`` and check it holds what the recipe reads, so a
        dataset without (say) foregrounds for a composition loss is one sentence at start."""
        name = getattr(self.cfg.data, split)
        try:
            item = dataset[0]
        except KeyError as exc:
            what = exc.args[0] if exc.args else "?"
            if isinstance(what, str) and what.isidentifier():
                what = f"the {split} transform needs {what!r}, which the dataset does not give"
            gives = _raw_keys(dataset)
            raise ConfigError(
                f"data.{split}: dataset {name!r} cannot make a {split} sample: {what}"
                + (f"; its samples hold {', '.join(gives)}" if gives else "")
            ) from exc
        if not isinstance(item, Mapping):
            raise PluginError(
                f"data.{split}: dataset {name!r} gives {type(item).__name__} items; a training "
                "sample is a dict of tensors (see docs/hooks.md)"
            )
        missing = [f"{key!r} ({why})" for key, why in needs.items() if key not in item]
        if missing:
            raise ConfigError(
                f"data.{split}: dataset {name!r} gives {', '.join(sorted(map(str, item)))} but "
                f"training needs {', '.join(missing)}"
            )

    def _autocast(self) -> AbstractContextManager[Any]:
        if not self.amp_enabled:
            return nullcontext()
        return torch.autocast(device_type=self.ctx.device.type, dtype=self.amp_dtype)

    # ---------------------------------------------------------------------------------------
    # resume
    # ---------------------------------------------------------------------------------------

    def _load(self) -> None:
        loaded = load_latest_state(self.run_dir)
        if loaded is None:
            if self.ctx.is_main:
                warnings.warn(
                    f"--resume: {self.run_dir} has no checkpoint yet; starting from step 0",
                    MattingWarning,
                    stacklevel=4,
                )
            return
        state, path = loaded
        for name, module in self.raw.items():
            _check_same_optimizer(path, name, state.get("config"), self.cfg)
            try:
                module.load_state_dict(state["networks"][name])
                self.optimizers[name].load_state_dict(state["optimizers"][name])
            except (KeyError, RuntimeError, ValueError) as exc:
                raise CheckpointError(
                    f"{path} does not fit this run's {name} (was model.options changed?): "
                    + str(exc).strip().splitlines()[0]
                ) from exc
            scheduler = self.schedulers[name]
            # the config, not the checkpoint, decides the schedule (run.steps may have grown)
            factors = [dict(vars(f)) for f in scheduler.lr_lambdas]
            scheduler.load_state_dict(state["schedulers"][name])
            for factor, settings in zip(scheduler.lr_lambdas, factors, strict=True):
                vars(factor).update(settings)
            if state["scalers"].get(name):
                self.scalers[name].load_state_dict(state["scalers"][name])
        self.step = int(state["step"])
        self.epoch = int(state["position"]["epoch"])
        self.batch_in_epoch = int(state["position"]["batches"])
        self.best_sad = state["best"]["sad"]
        self.best_step = state["best"]["step"]
        self.last_checkpoint_step = self.step
        self.resumed_from = self.step
        rng = state["rng"]
        if len(rng) != self.ctx.world_size and self.ctx.is_main:
            warnings.warn(
                f"the checkpoint was written by {len(rng)} processes and this run has "
                f"{self.ctx.world_size}: random streams differ from the original run",
                MattingWarning,
                stacklevel=4,
            )
        restore_rng_state(rng[self.ctx.rank % len(rng)])

    # ---------------------------------------------------------------------------------------
    # the loop
    # ---------------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        cfg, ctx = self.cfg, self.ctx
        if self.resume:
            self._load()
        self._write_config()
        if ctx.is_main:
            self.logger = RunLogger(
                self.run_dir, tensorboard=cfg.run.tensorboard, resume_step=self.resumed_from
            )
        from tqdm import tqdm

        self.pbar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc="train",
            unit="step",
            disable=not self.progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        batches = self._micro_batches()
        self._log_clock = (time.perf_counter(), self.step)
        told_epoch: int | None = None
        while self.step < self.total_steps:
            # the epoch of this step's first micro-batch: exact, and the same after a resume
            epoch = self.step * self.accumulate // max(1, self.micro_batches_per_epoch)
            if epoch != told_epoch:
                self.recipe.on_epoch(epoch)
                told_epoch = epoch
            self.recipe.on_step(self.step, epoch)
            self._train_step(batches)
            self.step += 1
            self.pbar.update(1)
            last = self.step == self.total_steps
            if self.step % cfg.run.log_every == 0 or last:
                self._log_train()
            if cfg.run.val_every and self.step % cfg.run.val_every == 0 and not last:
                self._validate()
            if cfg.run.checkpoint_every and self.step % cfg.run.checkpoint_every == 0 and not last:
                self._checkpoint()
        if self.last_val_step != self.step:
            self._validate()
        if self.last_checkpoint_step != self.step:  # the same on every rank: a collective
            self._checkpoint()
        weights = self._save_final_weights()
        return TrainResult(
            run_dir=self.run_dir,
            step=self.step,
            loss=self.last_loss,
            best_sad=self.best_sad,
            best_step=self.best_step,
            checkpoint=self.last_checkpoint or _latest_path(self.run_dir),
            weights=weights,
            resumed_from=self.resumed_from,
            validation=self.last_validation,
        )

    def _micro_batches(self) -> Iterator[Batch]:
        """Micro-batches on the device, forever, keeping (epoch, batch_in_epoch) current."""
        device = self.ctx.device
        set_dataset_epoch = getattr(self.train_set, "set_epoch", None)
        while True:
            self.sampler.set_epoch(self.epoch)
            self.sampler.set_start(self.batch_in_epoch * self.per_rank_batch)
            if set_dataset_epoch is not None:
                set_dataset_epoch(self.epoch)
            # worker seeds depend on the epoch only, not on where a resumed run starts
            self.loader_generator.manual_seed(self.cfg.run.seed * 1_000_003 + self.epoch)
            for item in self.loader:
                self.batch_in_epoch += 1
                yield {
                    k: v.to(device, non_blocking=True)
                    for k, v in item.items()
                    if isinstance(v, Tensor)
                }
            self.epoch += 1
            self.batch_in_epoch = 0

    def _train_step(self, batches: Iterator[Batch]) -> None:
        """One optimiser step of the generator (and ``d_steps`` of the discriminator)."""
        recipe, nets = self.recipe, self.nets
        adversarial = recipe.adversarial
        generator = nets["generator"]
        g_nets: Mapping[str, nn.Module] = nets
        frozen: AbstractContextManager[Any] = nullcontext()
        if adversarial:
            # G's update sees the plain discriminator, frozen: no DDP hooks, no D gradients,
            # and its buffers (BatchNorm statistics, spectral-norm vectors) restored after
            g_nets = {"generator": generator, "discriminator": self.raw["discriminator"]}
            frozen = _frozen(self.raw["discriminator"])
        kept: list[tuple[Batch, dict[str, Tensor]]] = []
        with frozen:
            self.optimizers["generator"].zero_grad(set_to_none=True)
            for i in range(self.accumulate):
                batch = next(batches)
                sync = self._sync_context(generator, i)
                with sync:
                    with self._autocast():
                        outputs = recipe.forward(generator, batch)
                    # losses in float32: SSIM's convolution or a sqrt(Δ² + ε²) in bf16 is too
                    # coarse
                    terms = recipe.generator_loss(g_nets, batch, outputs)
                    loss = terms.total()
                    self.scalers["generator"].scale(loss / self.accumulate).backward()
                self._accumulate("loss", terms, loss)
                if adversarial:
                    kept.append((batch, {k: v.detach() for k, v in outputs.items()}))
            self._optimizer_step("generator")
        if adversarial and recipe.discriminator_due():  # type: ignore[attr-defined]
            self._discriminator_steps(kept)
        with warnings.catch_warnings():
            # the discriminator's schedule follows the generator's steps, also those that do
            # not update it (warm-up, d_every); torch warns about a schedule stepped first
            warnings.filterwarnings("ignore", re.escape("Detected call of `lr_scheduler.step()`"))
            for scheduler in self.schedulers.values():
                scheduler.step()
        self._acc_steps += 1

    def _discriminator_steps(self, kept: list[tuple[Batch, dict[str, Tensor]]]) -> None:
        d_steps = self.cfg.adversarial.d_steps if self.cfg.adversarial is not None else 1
        discriminator = self.nets["discriminator"]
        for _ in range(d_steps):
            self.optimizers["discriminator"].zero_grad(set_to_none=True)
            for i, (batch, outputs) in enumerate(kept):
                with self._sync_context(discriminator, i):
                    terms = self.recipe.discriminator_loss(self.nets, batch, outputs)
                    loss = terms.total()
                    self.scalers["discriminator"].scale(loss / self.accumulate).backward()
                self._accumulate("d_loss", terms, loss, scale=1.0 / d_steps)
            self._optimizer_step("discriminator")

    def _sync_context(self, module: nn.Module, micro_index: int) -> AbstractContextManager[Any]:
        # DDP all-reduces gradients only on the last micro-batch of an accumulation
        if (
            isinstance(module, nn.parallel.DistributedDataParallel)
            and micro_index < self.accumulate - 1
        ):
            return module.no_sync()
        return nullcontext()

    def _optimizer_step(self, name: str) -> None:
        scaler, optimizer = self.scalers[name], self.optimizers[name]
        clip = self.optim_cfgs[name].grad_clip
        if clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(self.raw[name].parameters(), clip)
        scaler.step(optimizer)
        scaler.update()

    def _accumulate(self, prefix: str, terms: LossTerms, total: Tensor, scale: float = 1.0) -> None:
        # detached device tensors: no host sync until the next log line
        scale = scale / self.accumulate
        values = {
            prefix: total,
            **{f"{prefix}/{k}": v for k, v in terms.values.items()},
            **terms.logged,
        }
        for key, value in values.items():
            contribution = value.detach().float() * scale
            previous = self._acc.get(key)
            self._acc[key] = contribution if previous is None else previous + contribution

    # ---------------------------------------------------------------------------------------
    # logging, validation, checkpoints
    # ---------------------------------------------------------------------------------------

    def _log_train(self) -> None:
        names = sorted(self._acc)
        stacked = torch.stack([self._acc[n] for n in names]) / max(1, self._acc_steps)
        values = dist_utils.all_reduce_mean(stacked, self.ctx).tolist()
        self._acc, self._acc_steps = {}, 0
        metrics = dict(zip(names, values, strict=True))
        now = time.perf_counter()
        started, start_step = self._log_clock
        rate = (self.step - start_step) / max(now - started, 1e-9)
        self._log_clock = (now, self.step)
        metrics["lr"] = self.optimizers["generator"].param_groups[0]["lr"]
        if "discriminator" in self.optimizers:
            metrics["lr/discriminator"] = self.optimizers["discriminator"].param_groups[0]["lr"]
        metrics["epoch"] = self.epoch
        metrics["steps_per_s"] = rate
        metrics["samples_per_s"] = rate * self.cfg.data.batch_size
        self.last_loss = metrics["loss"]
        if not math.isfinite(metrics["loss"]):
            raise TrainingDivergedError(
                f"step {self.step}: the loss is {metrics['loss']}; lower optim.lr, set "
                "optim.grad_clip, or check the data"
            )
        if self.logger is not None:
            self.logger.log(self.step, "train", metrics)
        self.pbar.set_postfix(
            loss=f"{metrics['loss']:.4g}", lr=f"{metrics['lr']:.3g}", refresh=False
        )

    def _validate(self) -> None:
        self.last_val_step = self.step
        if self.ctx.is_main and self.val_loader is not None:
            previews = ValidationPreviews(self.cfg.run.previews) if self.cfg.run.previews else None
            metrics = validate(
                self.raw["generator"],
                self.info,
                self.val_loader,
                self.ctx.device,
                autocast=self._autocast(),
                on_prediction=previews,
                name=self.cfg.model.name,
            )
            if previews is not None:
                previews.write(self.run_dir, self.step, self.logger)
            self.last_validation = metrics
            if self.logger is not None:
                self.logger.log(self.step, "val", metrics)
            sad = metrics["sad"]
            if math.isfinite(sad) and (self.best_sad is None or sad < self.best_sad):
                self.best_sad, self.best_step = sad, self.step
                self._save_weights("best", {"step": self.step, "validation": metrics})
        dist_utils.barrier(self.ctx)
        self._log_clock = (time.perf_counter(), self.step)

    def _checkpoint(self) -> None:
        rng = dist_utils.all_gather_objects(capture_rng_state(), self.ctx)
        if self.ctx.is_main:
            state = {
                "format": STATE_FORMAT,
                "step": self.step,
                "position": {"epoch": self.epoch, "batches": self.batch_in_epoch},
                "networks": {n: m.state_dict() for n, m in self.raw.items()},
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "scalers": {n: s.state_dict() for n, s in self.scalers.items()},
                "rng": rng,
                "world_size": self.ctx.world_size,
                "best": {"sad": self.best_sad, "step": self.best_step},
                "config": config_to_dict(self.cfg),
                "versions": {"torch": str(torch.__version__)},
            }
            self.last_checkpoint = save_state(
                self.run_dir, self.step, state, keep_last=self.cfg.run.keep_last
            )
            if self.logger is not None:
                self.logger.flush()
        self.last_checkpoint_step = self.step
        dist_utils.barrier(self.ctx)
        self._log_clock = (time.perf_counter(), self.step)

    def _save_weights(self, stem: str, extra: dict[str, Any]) -> Path:
        from matting_core.checkpoints import save_weights
        from matting_core.models import get_model_config, options_from_config_file

        name = self.cfg.model.name
        config = get_model_config(name, **options_from_config_file(name, self.cfg.model.options))
        return save_weights(
            self.raw["generator"],
            self.run_dir / CHECKPOINT_DIR / f"{stem}.safetensors",
            model_name=self.cfg.model.name,
            config=config,
            extra=extra,
        )

    def _save_final_weights(self) -> Path | None:
        path = None
        if self.ctx.is_main:
            path = self._save_weights(
                "final", {"step": self.step, "validation": self.last_validation}
            )
        dist_utils.barrier(self.ctx)
        return path if path is not None else self.run_dir / CHECKPOINT_DIR / "final.safetensors"

    def close(self) -> None:
        if self.pbar is not None:
            self.pbar.close()
        if self.logger is not None:
            self.logger.close()
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None
        ctx = getattr(self, "ctx", None)
        if ctx is not None:
            dist_utils.shutdown(ctx)


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Freeze ``module`` for the block: its parameters require no gradient, and its buffers
    (BatchNorm running statistics, spectral-norm power-iteration vectors, which a forward in
    training mode updates) are put back as they were, so that every tensor of it is
    bit-identical after the block."""
    params = [p for p in module.parameters() if p.requires_grad]
    buffers = [(b, b.detach().clone()) for b in module.buffers()]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def _raw_keys(dataset: Any) -> list[str]:
    """The keys of the first raw sample of a ``MattingDataset``'s layout (before the
    transform), or [] when that cannot be known."""
    layout = getattr(dataset, "layout", None)
    if layout is None:
        return []
    try:
        load = getattr(layout, "load", None)
        sample = load(0, np.random.default_rng(0)) if load is not None else layout[0]
    except Exception:
        return []
    return sorted(str(k) for k in sample) if isinstance(sample, Mapping) else []


def _remove_lock_only_dir(run_dir: Path) -> None:
    """Remove ``run_dir`` if it holds nothing but the lock file (a run refused at set-up)."""
    with contextlib.suppress(OSError):
        if {p.name for p in run_dir.iterdir()} <= {LOCK_FILE}:
            (run_dir / LOCK_FILE).unlink(missing_ok=True)
            run_dir.rmdir()


def _lock_run_dir(run_dir: Path) -> int:
    """Take the run directory's lock (``LOCK_FILE``) without waiting; return its descriptor.

    ``flock`` belongs to the open file, so the kernel releases it when the process ends in any
    way (a SIGKILLed run can be resumed at once), and a stale lock file locks nothing.

    :raises ConfigError: another process holds the lock.
    """
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _try_lock(fd)
    except OSError:
        try:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        finally:
            os.close(fd)
        raise ConfigError(
            f"run directory {run_dir} is in use by another matting train (process {holder}); "
            "wait for it to finish or choose another --run-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def _try_lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _earlier_run(run_dir: Path) -> list[str]:
    """The files of an earlier run in ``run_dir`` (step checkpoints first), or []."""
    found = [path.name for _, path in list_checkpoints(run_dir)[:1]]
    checkpoints = run_dir / CHECKPOINT_DIR
    for name in ("final.safetensors", "best.safetensors", "latest.json"):
        if (checkpoints / name).exists():
            found.append(name)
    for name in ("metrics.jsonl", "tensorboard"):
        if (run_dir / name).exists():
            found.append(name)
    return found


def _remove_run_outputs(run_dir: Path) -> None:
    """Delete what an earlier run wrote (``--overwrite``); other files are left alone."""
    import shutil

    for name in _RUN_OUTPUTS:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _check_same_optimizer(path: Path, name: str, saved_config: Any, cfg: TrainConfig) -> None:
    """Refuse to resume with another optimiser than the checkpoint's: torch would load the
    saved hyper-parameters over the new optimiser's and fail later, inside a step."""
    if not isinstance(saved_config, Mapping):
        return  # nothing recorded to compare with
    optim = saved_config.get("optim", {})
    if name == "discriminator":
        optim = saved_config.get("adversarial", {}).get("optim", optim)
    saved = optim.get("name") if isinstance(optim, Mapping) else None
    current = (cfg.discriminator_optim if name == "discriminator" else cfg.optim).name
    if saved is not None and saved != current:
        key = "adversarial.optim.name" if name == "discriminator" else "optim.name"
        raise CheckpointError(
            f"{path} was written with the {saved} optimiser for the {name}, but {key} is now "
            f"{current!r}; resume with {saved!r}, or start afresh with --overwrite"
        )


def _latest_path(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[0][1] if found else None


def _warn_if_config_changed(path: Path, cfg: TrainConfig) -> None:
    """Warn, naming the keys, when a resumed run's config differs from the one it started with."""
    from matting_core.training.config import load_config

    try:
        previous = config_to_dict(load_config(path))
    except (OSError, ConfigError):
        return
    changed = sorted(_flat_diff(previous, config_to_dict(cfg)))
    if changed:
        warnings.warn(
            f"resuming with a changed config ({', '.join(changed)}); the new values apply "
            f"from here and are saved in {path.name}",
            MattingWarning,
            stacklevel=5,
        )


def _flat_diff(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> set[str]:
    keys = set(a) | set(b)
    changed = set()
    for key in keys:
        x, y = a.get(key), b.get(key)
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            changed |= _flat_diff(x, y, f"{prefix}{key}.")
        elif x != y:
            changed.add(prefix + key)
    return changed
