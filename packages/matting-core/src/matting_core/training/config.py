"""Training configs: flat TOML files validated into typed dataclasses.

An experiment is one TOML file with a table per concern, every key explicit, no inheritance::

    [run]
    seed = 0
    steps = 200000
    val_every = 5000
    checkpoint_every = 5000

    [model]
    name = "gca"

    [data]
    train = "comp1k"
    train_root = "data/Combined_Dataset/Training_set"
    batch_size = 40

    [optim]
    name = "adam"
    lr = 4e-4
    betas = [0.5, 0.999]

    [schedule]
    name = "warmup_cosine"
    warmup_steps = 5000

    [loss]
    terms = { l1_unknown = 1.0 }

:func:`load_config` reads the file, applies command-line overrides (``optim.lr=4e-4``) and
validates: an unknown key or a value of the wrong type is a
:class:`~matting_core.errors.ConfigError` naming the full key (``optim.lrr: unknown key; did
you mean optim.lr?``).  :func:`dump_config` writes the resolved config back as TOML; the
engine saves it as ``config.toml`` in the run directory.  Names (model, losses, datasets) are
checked against the registries by :func:`check_names`, which needs the plugins loaded.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomllib

from matting_core.config_values import InvalidValue, build_dataclass, parse_assignment, show_value
from matting_core.errors import ConfigError, MattingError

__all__ = [
    "AdversarialConfig",
    "AmpConfig",
    "DataConfig",
    "DistributedConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "ScheduleConfig",
    "TrainConfig",
    "WeightSchedule",
    "apply_overrides",
    "check_names",
    "config_from_dict",
    "config_to_dict",
    "dump_config",
    "load_config",
    "parse_override",
]


def _require(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise InvalidValue(name, message)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: length, cadence and reproducibility of a run.

    :param seed: seeds model initialisation, data order and augmentation.
    :param steps: optimiser steps to train for (each of ``optim.accumulate`` micro-batches);
        0 when the run is set in ``epochs``.  Exactly one of ``steps`` and ``epochs`` is > 0.
    :param epochs: passes over the training set to train for instead of ``steps``; the engine
        turns them into steps (``ceil(epochs × micro-batches per epoch / optim.accumulate)``)
        once the data is loaded, and the schedules run over those steps.
    :param log_every: steps between lines of ``metrics.jsonl`` (and TensorBoard points).
    :param val_every: steps between validations; 0 validates only at the end.
    :param checkpoint_every: steps between full training-state checkpoints; 0 only at the end.
    :param keep_last: how many step checkpoints to keep (older ones are deleted).
    :param device: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
    :param tensorboard: also write TensorBoard event files (needs ``tensorboardX``).
    :param deterministic: ask torch for deterministic kernels (slower on CUDA).
    :param previews: validation images drawn at every validation (image | trimap | prediction
        | ground truth | error heat map, one row each) into ``RUN_DIR/previews/`` and
        TensorBoard; 0 draws none.
    """

    seed: int = 0
    steps: int = 0
    epochs: int = 0
    log_every: int = 10
    val_every: int = 0
    checkpoint_every: int = 1000
    keep_last: int = 3
    device: str = "auto"
    tensorboard: bool = True
    deterministic: bool = False
    previews: int = 4

    def _check(self) -> None:
        _require(self.seed >= 0, "seed", f"must be >= 0, got {self.seed}")
        _require(self.previews >= 0, "previews", f"must be >= 0, got {self.previews}")
        _require(self.steps >= 0, "steps", f"must be >= 0, got {self.steps}")
        _require(self.epochs >= 0, "epochs", f"must be >= 0, got {self.epochs}")
        _require(self.log_every >= 1, "log_every", f"must be >= 1, got {self.log_every}")
        _require(self.val_every >= 0, "val_every", f"must be >= 0, got {self.val_every}")
        _require(
            self.checkpoint_every >= 0,
            "checkpoint_every",
            f"must be >= 0, got {self.checkpoint_every}",
        )
        _require(self.keep_last >= 1, "keep_last", f"must be >= 1, got {self.keep_last}")
        _require(
            re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None,
            "device",
            f"expected auto, cpu, cuda or cuda:N, got {self.device!r}",
        )


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: which registered model to train.

    :param name: a registered model name (``matting list``).
    :param options: fields of the model's config dataclass, passed to ``create_model``.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def _check(self) -> None:
        _require(bool(self.name), "name", "must name a registered model")


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: training and validation data.

    :param train: registered dataset name for training.
    :param train_root: its root folder (relative paths are relative to the working directory).
    :param train_options: keyword options of the training dataset's factory.
    :param val: registered dataset name for validation, or absent for none.
    :param val_root: its root folder.
    :param val_options: keyword options of the validation dataset's factory.
    :param batch_size: the *global* batch: per-rank batch × world size × ``optim.accumulate``.
    :param num_workers: DataLoader worker processes per rank.
    :param crop_size: side of the square training crops made by the recipe's train transform.
    :param val_limit: validate on the first N images only; 0 for all.
    """

    train: str
    train_root: str = ""
    train_options: dict[str, Any] = field(default_factory=dict)
    val: str | None = None
    val_root: str = ""
    val_options: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 8
    num_workers: int = 0
    crop_size: int = 512
    val_limit: int = 0

    def _check(self) -> None:
        _require(bool(self.train), "train", "must name a registered dataset")
        _require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.num_workers >= 0, "num_workers", f"must be >= 0, got {self.num_workers}")
        _require(self.crop_size >= 1, "crop_size", f"must be >= 1, got {self.crop_size}")
        _require(self.val_limit >= 0, "val_limit", f"must be >= 0, got {self.val_limit}")


@dataclass(frozen=True)
class OptimConfig:
    """``[optim]``: the optimiser (also ``[adversarial.optim]`` for a discriminator).

    :param name: ``adam``, ``adamw`` or ``sgd``.
    :param lr: peak learning rate (after warmup).
    :param betas: Adam's (β1, β2); GCA uses (0.5, 0.999).
    :param momentum: SGD momentum (HAttMatting: 0.9).
    :param weight_decay: L2 penalty (Adam, SGD) or decoupled decay (AdamW).
    :param nesterov: Nesterov momentum for SGD.
    :param grad_clip: clip the global gradient norm to this; 0 disables clipping.
    :param accumulate: micro-batches whose gradients are summed per optimiser step.
    """

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    weight_decay: float = 0.0
    nesterov: bool = False
    grad_clip: float = 0.0
    accumulate: int = 1

    def _check(self) -> None:
        _require(math.isfinite(self.lr) and self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        _require(
            all(0.0 <= b < 1.0 for b in self.betas),
            "betas",
            f"must both be in [0, 1), got {list(self.betas)}",
        )
        _require(self.momentum >= 0, "momentum", f"must be >= 0, got {self.momentum}")
        _require(self.weight_decay >= 0, "weight_decay", f"must be >= 0, got {self.weight_decay}")
        _require(self.grad_clip >= 0, "grad_clip", f"must be >= 0, got {self.grad_clip}")
        _require(self.accumulate >= 1, "accumulate", f"must be >= 1, got {self.accumulate}")
        _require(
            not self.nesterov or (self.name == "sgd" and self.momentum > 0),
            "nesterov",
            "needs name = 'sgd' and momentum > 0",
        )


@dataclass(frozen=True)
class ScheduleConfig:
    """``[schedule]``: the learning-rate schedule over ``run.steps``.

    :param name: ``constant``, ``warmup_cosine`` (GCA, HOP, HDMatt) or ``poly``
        (HAttMatting, power 0.9).
    :param warmup_steps: linear warmup from lr/warmup_steps to lr (any schedule).
    :param power: exponent of ``poly``.
    :param min_lr: the lr the decay ends at.
    """

    name: Literal["constant", "warmup_cosine", "poly"] = "constant"
    warmup_steps: int = 0
    power: float = 0.9
    min_lr: float = 0.0

    def _check(self) -> None:
        _require(self.warmup_steps >= 0, "warmup_steps", f"must be >= 0, got {self.warmup_steps}")
        _require(self.power > 0, "power", f"must be > 0, got {self.power}")
        _require(self.min_lr >= 0, "min_lr", f"must be >= 0, got {self.min_lr}")


@dataclass(frozen=True)
class WeightSchedule:
    """``[loss.schedules.NAME]``: a loss term's weight as a step function of the epoch (or step).

    HAttMatting's SSIM weight, 0.1 in the first epoch and 0.025 after it::

        [loss.schedules.ssim]
        unit = "epoch"
        milestones = [1]
        values = [0.1, 0.025]

    :param unit: what ``milestones`` count: ``epoch`` (0-based passes over the training set)
        or ``step`` (0-based optimiser steps).
    :param milestones: where the next value starts, increasing: ``values[i]`` holds from
        ``milestones[i - 1]`` (or the start) until ``milestones[i]``.
    :param values: the weights, one more than ``milestones``; ``values[0]`` must equal the
        term's weight in ``loss.terms`` (the weight at step 0).
    """

    unit: Literal["epoch", "step"] = "epoch"
    milestones: tuple[int, ...] = ()
    values: tuple[float, ...] = ()

    def _check(self) -> None:
        _require(
            len(self.values) == len(self.milestones) + 1,
            "values",
            f"must hold one value more than milestones ({len(self.milestones)}), "
            f"got {len(self.values)}",
        )
        _require(all(v >= 0 for v in self.values), "values", "must be >= 0")
        _require(
            all(m > 0 for m in self.milestones)
            and all(a < b for a, b in zip(self.milestones, self.milestones[1:], strict=False)),
            "milestones",
            f"must be increasing and > 0, got {list(self.milestones)}",
        )

    def value(self, step: int, epoch: int) -> float:
        """The weight at optimiser step ``step`` of epoch ``epoch`` (both 0-based)."""
        import bisect

        position = epoch if self.unit == "epoch" else step
        return self.values[bisect.bisect_right(self.milestones, position)]


@dataclass(frozen=True)
class LossConfig:
    """``[loss]``: the weighted loss terms of the generator.

    :param terms: registered loss name → weight (``{ l1_unknown = 1.0 }``).
    :param options: registered loss name → its factory's options
        (``[loss.options.alpha_prediction] region = "unknown"``).
    :param schedules: registered loss name → :class:`WeightSchedule` of its weight
        (``[loss.schedules.ssim]``); a term without one keeps its ``terms`` weight.
    """

    terms: dict[str, float] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, WeightSchedule] = field(default_factory=dict)

    def _check(self) -> None:
        for name, weight in self.terms.items():
            _require(
                weight >= 0,
                f"terms.{name}",
                f"must be >= 0, got {weight} (a negative weight trains to maximise the loss)",
            )
        for table in ("options", "schedules"):
            for name in getattr(self, table):
                _require(
                    name in self.terms,
                    f"{table}.{name}",
                    f"is for a loss that is not in loss.terms ({', '.join(self.terms) or 'none'})",
                )
        for name, schedule in self.schedules.items():
            _require(
                schedule.values[0] == self.terms[name],
                f"terms.{name}",
                f"is {self.terms[name]} but loss.schedules.{name} starts at "
                f"{schedule.values[0]}; the term's weight is the schedule's weight at step 0",
            )

    def weight(self, name: str, step: int, epoch: int) -> float:
        """The weight of term ``name`` at ``step`` of ``epoch``: its schedule's, else ``terms``'."""
        schedule = self.schedules.get(name)
        return schedule.value(step, epoch) if schedule is not None else self.terms[name]


@dataclass(frozen=True)
class AmpConfig:
    """``[amp]``: automatic mixed precision (CUDA only; ignored with a warning on CPU).

    :param enabled: run forward passes under autocast.
    :param dtype: ``bf16`` (no loss scaling needed) or ``fp16`` (with a GradScaler; HOP).
    """

    enabled: bool = False
    dtype: Literal["bf16", "fp16"] = "bf16"

    def _check(self) -> None:
        pass


@dataclass(frozen=True)
class DistributedConfig:
    """``[distributed]``: options for multi-process (torchrun) training.

    :param sync_batchnorm: convert BatchNorm layers to SyncBatchNorm (CUDA only).
    :param find_unused_parameters: passed to DistributedDataParallel, for models with branches
        that some steps skip.
    """

    sync_batchnorm: bool = False
    find_unused_parameters: bool = False

    def _check(self) -> None:
        pass


@dataclass(frozen=True)
class AdversarialConfig:
    """``[adversarial]``: a discriminator trained against the generator (AlphaGAN, HAttMatting).

    :param discriminator: the discriminator the model's adversarial recipe builds (the
        papers' is ``patchgan``; which names a recipe knows is up to its plugin).
    :param options: its constructor options (for ``matting_nn.PatchGANDiscriminator``:
        ``in_channels``, ``base_channels``, ``n_layers``, ``norm``).
    :param gan_loss: ``gan_bce`` (the papers' log-loss) or ``lsgan``.
    :param weight: λ_GAN, the weight of the adversarial term in the generator loss
        (HAttMatting λ1 = 0.05); 0 trains the generator exactly as without ``[adversarial]``
        (the non-GAN baseline: the discriminator is neither run nor updated).
    :param d_steps: discriminator updates per generator update it takes part in.
    :param d_every: update the discriminator after every ``d_every``-th generator step only
        (a D:G update ratio below 1 is ``d_steps = 1``, ``d_every = N``).
    :param warmup_steps: generator steps before the adversarial term starts: during them the
        generator trains on the ``[loss]`` terms alone and the discriminator is not updated.
    :param optim: the discriminator's optimiser; absent means a copy of ``[optim]``.
    :param schedule: its schedule; absent means a copy of ``[schedule]``.
    """

    discriminator: str = "patchgan"
    options: dict[str, Any] = field(default_factory=dict)
    gan_loss: Literal["gan_bce", "lsgan"] = "gan_bce"
    weight: float = 0.05
    d_steps: int = 1
    d_every: int = 1
    warmup_steps: int = 0
    optim: OptimConfig | None = None
    schedule: ScheduleConfig | None = None

    def _check(self) -> None:
        _require(self.weight >= 0, "weight", f"must be >= 0, got {self.weight}")
        _require(self.d_steps >= 1, "d_steps", f"must be >= 1, got {self.d_steps}")
        _require(self.d_every >= 1, "d_every", f"must be >= 1, got {self.d_every}")
        _require(self.warmup_steps >= 0, "warmup_steps", f"must be >= 0, got {self.warmup_steps}")


@dataclass(frozen=True)
class TrainConfig:
    """A whole experiment: one field per TOML table."""

    model: ModelConfig
    data: DataConfig
    run: RunConfig = field(default_factory=RunConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    amp: AmpConfig = field(default_factory=AmpConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    adversarial: AdversarialConfig | None = None

    def _check(self) -> None:
        _require(
            self.schedule.min_lr <= self.optim.lr,
            "schedule.min_lr",
            f"must not exceed optim.lr ({self.optim.lr}), got {self.schedule.min_lr}",
        )
        _require(
            self.run.epochs or self.schedule.warmup_steps <= self.run.steps,
            "schedule.warmup_steps",
            f"must not exceed run.steps ({self.run.steps}), got {self.schedule.warmup_steps}",
        )
        _require(
            (self.run.steps > 0) != (self.run.epochs > 0),
            "run.steps",
            "give the length of the run as run.steps or as run.epochs (exactly one of them "
            f"> 0), got steps = {self.run.steps}, epochs = {self.run.epochs}",
        )

    @property
    def discriminator_optim(self) -> OptimConfig:
        """The discriminator's optimiser config (``[adversarial.optim]`` or ``[optim]``)."""
        if self.adversarial is not None and self.adversarial.optim is not None:
            return self.adversarial.optim
        return self.optim

    @property
    def discriminator_schedule(self) -> ScheduleConfig:
        """The discriminator's schedule (``[adversarial.schedule]`` or ``[schedule]``)."""
        if self.adversarial is not None and self.adversarial.schedule is not None:
            return self.adversarial.schedule
        return self.schedule


# --------------------------------------------------------------------------------------------
# Validation: dict -> dataclasses
# --------------------------------------------------------------------------------------------


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """Validate a parsed TOML document into a :class:`TrainConfig`.

    Values are read by :func:`matting_core.config_values.coerce`, the reader of every config
    value of the toolkit.

    :raises ConfigError: unknown key, missing required key, wrong type or value out of range;
        the message starts with the full key (``optim.lr: expected a float, got 'fast'``).
    """
    return build_dataclass(TrainConfig, data, "")


# --------------------------------------------------------------------------------------------
# Overrides and loading
# --------------------------------------------------------------------------------------------


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``"optim.lr=4e-4"`` into (``["optim", "lr"]``, ``0.0004``): the toolkit's one
    ``--set`` grammar, :func:`matting_core.config_values.parse_assignment`.

    :raises ConfigError: not ``KEY=VALUE`` or an empty key part.
    """
    return parse_assignment(item)


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of the TOML document ``data`` with each ``KEY=VALUE`` override set.

    Missing tables on the way are created; keys are validated later, with the file's keys.

    :raises ConfigError: a malformed override, or one that sets a key inside a non-table.
    """
    result = _deep_copy(data)
    for item in overrides:
        parts, value = parse_override(item)
        node: dict[str, Any] = result
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {item!r}: {where} is {show_value(child)}, not a table")
            node = child
        node[parts[-1]] = value
    return result


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read a training config from a TOML file, apply ``--set`` overrides and validate it.

    :param path: the TOML file.
    :param overrides: ``KEY=VALUE`` strings, applied in order after the file.
    :raises ConfigError: unreadable file, invalid TOML, or any validation error (with the key).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return config_from_dict(apply_overrides(data, overrides))


def check_names(cfg: TrainConfig) -> None:
    """Check the config's names against the registries: model and its options, losses and
    their options, datasets.

    :raises ConfigError: naming the key, e.g. ``model.name: unknown model 'gcaa'; did you
        mean 'gca'? …`` or ``loss.terms.l1_unknwn: unknown loss …``.
    """
    from matting_core.models import (
        check_call,
        get_dataset_info,
        get_loss_info,
        get_model_config,
        options_from_config_file,
    )
    from matting_core.plugins import loss_registry

    try:
        get_model_config(
            cfg.model.name, **options_from_config_file(cfg.model.name, cfg.model.options)
        )
    except MattingError as exc:
        key = "model.options" if not isinstance(exc, LookupError) else "model.name"
        raise ConfigError(f"{key}: {exc}") from exc
    for name in cfg.loss.terms:
        try:
            get_loss_info(name)
        except LookupError as exc:
            raise ConfigError(f"loss.terms.{name}: {exc}") from exc
        options = cfg.loss.options.get(name, {})
        factory = loss_registry().get(name).factory
        check_call(factory, (), options, f"loss.options.{name}")
    for key, name in (("data.train", cfg.data.train), ("data.val", cfg.data.val)):
        if name is None:
            continue
        try:
            get_dataset_info(name)
        except LookupError as exc:
            raise ConfigError(f"{key}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Dumping: dataclasses -> TOML text
# --------------------------------------------------------------------------------------------


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain TOML-ready data: tuples become lists, None values are dropped."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None
            }
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items() if v is not None}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(cfg)


def dump_config(cfg: TrainConfig) -> str:
    """The config as TOML text that :func:`load_config` reads back to an equal config."""
    lines: list[str] = ["# resolved training config, written by matting train"]
    _write_table(lines, [], config_to_dict(cfg))
    return "\n".join(lines).strip() + "\n"


def _write_table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines += ["", "[" + ".".join(_toml_key(p) for p in path) + "]"]
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables.items():
        _write_table(lines, [*path, key], value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's; DEL must be escaped in TOML and is not by JSON.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} as TOML")
