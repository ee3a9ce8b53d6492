"""Splitting a folder of work across processes and machines started by ``torchrun``.

``torchrun --nnodes M --nproc-per-node N -m matting_core.cli predict --images DIR ...`` starts
``M * N`` processes with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` set. :func:`shard_from_environment` reads them; :meth:`Shard.take` gives this
process every ``WORLD_SIZE``-th item of the (sorted, identical on every process) job list,
starting at its rank, so every file is done exactly once and a re-run with ``--resume`` gives
each file to the same process again. At the end the processes exchange their counts over a
gloo process group (:func:`gather`, CPU only: it works whatever device the model runs on) and
rank 0 prints one summary. Without those variables everything is one process and no group is
made.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from matting_core.errors import InputError

__all__ = ["Shard", "gather", "shard_from_environment", "shard_group"]

T = TypeVar("T")

#: How long a process waits for the others at the end: ranks finish their shares at
#: different times, and a slow shard must not make the fast ones time out.
GATHER_TIMEOUT = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Shard:
    """This process's place among ``world_size`` processes.

    :param rank: 0 .. world_size - 1 (torchrun's ``RANK``).
    :param world_size: number of processes (``WORLD_SIZE``).
    :param local_rank: rank on this machine (``LOCAL_RANK``; picks the GPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that reports."""
        return self.rank == 0

    def take(self, items: Sequence[T]) -> list[T]:
        """This process's share: items ``rank``, ``rank + world_size``, ... (round robin, so
        shares differ by at most one item and every item is in exactly one share)."""
        return list(items[self.rank :: self.world_size])

    def device(self, device: str | None) -> str | None:
        """``cuda`` without an index means this process's own GPU, ``cuda:LOCAL_RANK``, when
        there are several processes; anything else is kept."""
        if device == "cuda" and self.world_size > 1:
            return f"cuda:{self.local_rank}"
        return device


def shard_from_environment() -> Shard:
    """The :class:`Shard` torchrun's environment describes (one process when it is not set).

    :raises InputError: a variable that is not an integer, a rank outside the world, or a
        world of several processes without ``MASTER_ADDR`` / ``MASTER_PORT`` (not started by
        torchrun).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if world_size < 1:
        raise InputError(f"WORLD_SIZE={world_size} must be at least 1")
    if not 0 <= rank < world_size:
        raise InputError(f"RANK={rank} must be from 0 to WORLD_SIZE - 1 = {world_size - 1}")
    if world_size > 1:
        missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
        if missing:
            raise InputError(
                f"WORLD_SIZE={world_size} but {' and '.join(missing)} is not set: start the "
                "processes with torchrun"
            )
    return Shard(rank, world_size, local_rank)


@contextmanager
def shard_group(shard: Shard) -> Iterator[None]:
    """A gloo process group for :func:`gather` while the block runs (nothing for one
    process, or when the caller already made a group)."""
    if shard.world_size == 1:
        yield
        return
    import torch.distributed as dist

    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(
            "gloo", rank=shard.rank, world_size=shard.world_size, timeout=GATHER_TIMEOUT
        )
    try:
        yield
    finally:
        if owned and dist.is_initialized():
            dist.destroy_process_group()


def gather(shard: Shard, value: Any) -> list[Any]:
    """Every process's ``value``, in rank order (``[value]`` for one process); every process
    must call it, inside :func:`shard_group`."""
    if shard.world_size == 1:
        return [value]
    import torch.distributed as dist

    values: list[Any] = [None] * shard.world_size
    dist.all_gather_object(values, value)
    return values


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    try:
        return int(text) if text else default
    except ValueError:
        raise InputError(f"the environment variable {name}={text!r} is not an integer") from None
