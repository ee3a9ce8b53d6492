"""Multi-process training with torchrun and DistributedDataParallel.

``torchrun --nproc-per-node N -m matting_core.cli train CONFIG`` starts N processes with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set;
:func:`init_distributed` reads them and joins the process group (NCCL on CUDA, gloo on CPU).
Without them it returns a one-process context and everything here is a no-op, so the engine
has a single code path.

Batches: ``data.batch_size`` is the *global* batch, ``per-rank batch × world size ×
optim.accumulate``; every rank reads a disjoint shard of each epoch's permutation
(:class:`ResumableSampler`, a ``DistributedSampler`` that can start mid-epoch), so one
process with batch B and N processes with batch B/N see the same samples per step.  Only rank
0 logs, validates, shows progress and writes checkpoints.
"""

from __future__ import annotations

import datetime
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler

from matting_core.errors import ConfigError

__all__ = [
    "DistributedContext",
    "ResumableSampler",
    "all_gather_objects",
    "all_reduce_mean",
    "barrier",
    "init_distributed",
    "per_rank_batch_size",
    "resolve_device",
    "shutdown",
    "unwrap",
    "wrap_model",
]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly one-process) training job.

    :param rank: global rank, 0 … world_size − 1.
    :param world_size: number of processes.
    :param local_rank: rank on this machine (selects the GPU).
    :param device: the device this process trains on.
    :param backend: ``nccl`` / ``gloo`` when a process group is in use, else None.
    :param owns_group: this module created the process group and destroys it at the end.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when gradients are averaged over more than one process."""
        return self.backend is not None and self.world_size > 1


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """The device for ``run.device``: ``auto`` is ``cuda:LOCAL_RANK`` when CUDA is there.

    :raises ConfigError: CUDA asked for but not available.
    """
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"run.device: {spec!r} asked for, but CUDA is not available here")
        device = torch.device(spec if ":" in spec else f"cuda:{local_rank}")
        torch.cuda.set_device(device)
        return device
    return torch.device(spec)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    try:
        return int(text) if text else default
    except ValueError:
        raise ConfigError(f"environment variable {name}={text!r} is not an integer") from None


def init_distributed(device: str = "auto", *, timeout_s: float = 1800.0) -> DistributedContext:
    """Join the torchrun process group described by the environment, if any.

    Reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; with ``WORLD_SIZE`` > 1 it initialises
    the default process group (``env://``: ``MASTER_ADDR``, ``MASTER_PORT``) with NCCL on CUDA,
    else gloo.  A group that already exists (the caller made it) is used as it is.

    :param device: ``run.device``.
    :param timeout_s: collective timeout; validation on rank 0 must fit in it.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if dist.is_available() and dist.is_initialized():
        world_size, rank = dist.get_world_size(), dist.get_rank()
        resolved = resolve_device(device, local_rank)
        return DistributedContext(rank, world_size, local_rank, resolved, dist.get_backend(), False)
    resolved = resolve_device(device, local_rank)
    if world_size <= 1:
        return DistributedContext(device=resolved)
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "nccl" if resolved.type == "cuda" else "gloo"
    dist.init_process_group(
        backend,
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    return DistributedContext(rank, world_size, local_rank, resolved, backend, True)


def shutdown(ctx: DistributedContext) -> None:
    """Destroy the process group if :func:`init_distributed` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def per_rank_batch_size(global_batch: int, world_size: int, accumulate: int) -> int:
    """``global_batch / (world_size × accumulate)``.

    :raises ConfigError: the global batch does not split evenly.
    """
    parts = world_size * accumulate
    if global_batch % parts:
        raise ConfigError(
            f"data.batch_size: the global batch {global_batch} must be divisible by "
            f"world size {world_size} × optim.accumulate {accumulate} = {parts}"
        )
    return global_batch // parts


def wrap_model(
    module: nn.Module,
    ctx: DistributedContext,
    *,
    sync_batchnorm: bool = False,
    find_unused_parameters: bool = False,
) -> nn.Module:
    """``module`` on ``ctx.device``, wrapped in DistributedDataParallel when distributed.

    SyncBatchNorm needs CUDA (torch's kernel is GPU-only); on CPU the option is ignored with
    a warning so that a config tested on CPU still runs.
    """
    module = module.to(ctx.device)
    if not ctx.distributed or not any(p.requires_grad for p in module.parameters()):
        return module
    if sync_batchnorm:
        if ctx.device.type == "cuda":
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        elif ctx.is_main:
            import warnings

            from matting_core.errors import MattingWarning

            warnings.warn(
                "distributed.sync_batchnorm needs CUDA; BatchNorm statistics stay per process",
                MattingWarning,
                stacklevel=2,
            )
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def all_reduce_mean(tensor: torch.Tensor, ctx: DistributedContext) -> torch.Tensor:
    """The mean of ``tensor`` over all ranks (a new tensor; the input is left alone)."""
    if not ctx.distributed:
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / ctx.world_size


def all_gather_objects(obj: Any, ctx: DistributedContext) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, …]`` on every rank (picklable objects)."""
    if not ctx.distributed:
        return [obj]
    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(ctx: DistributedContext) -> None:
    """Wait for every rank (no-op in one process)."""
    if ctx.distributed:
        dist.barrier()


class ResumableSampler(DistributedSampler):
    """A ``DistributedSampler`` that can skip the first indices of an epoch.

    Each epoch is a permutation seeded by ``seed + epoch`` (:meth:`set_epoch`), split across
    ranks; :meth:`set_start` skips this rank's first ``start`` indices so that a resumed run
    continues the epoch exactly where the checkpoint left it.  Used with one rank too, so data
    order does not depend on whether the run is distributed.
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        *,
        num_replicas: int,
        rank: int,
        seed: int,
        shuffle: bool = True,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's permutation and start it from the beginning."""
        super().set_epoch(epoch)
        self.start = 0

    def set_start(self, start: int) -> None:
        """Skip this rank's first ``start`` indices of the current epoch."""
        self.start = max(0, int(start))

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return max(0, super().__len__() - self.start)
