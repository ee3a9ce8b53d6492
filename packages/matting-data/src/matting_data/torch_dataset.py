"""A ``torch.utils.data.Dataset`` over a dataset layout, with worker-independent randomness.

This is the only module of :mod:`matting_data` that imports torch; ``import matting_data`` does
not import it.

Randomness: item ``index`` of epoch ``epoch`` draws every random number (the layout's choices,
e.g. the second foreground, then the transform's) from its own generator
``np.random.default_rng([seed, epoch, index])``. The item is therefore a pure function of
``(seed, epoch, index)``: the same with ``num_workers=0`` or ``8``, whichever worker loads it and
in whatever order. No RNG state is shared or mutated between items, so no ``worker_init_fn`` /
``seed_worker`` is needed -- the usual problem it fixes (forked workers inheriting the *same*
global NumPy RNG state and producing identical "random" augmentations) cannot occur as long as
transforms use only the generator they are given, never ``np.random.*``, ``random`` or torch's
global RNG.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from matting_data.datasets.base import Layout, check_index
from matting_data.errors import DataError, TrimapValueError
from matting_data.trimap import TRIMAP_BACKGROUND, TRIMAP_FOREGROUND, TRIMAP_UNKNOWN

__all__ = ["MattingDataset", "Transform", "sample_rng", "sample_to_tensors", "trimap_tensors"]

#: A sample transform: ``transform(sample, rng) -> sample`` (see :mod:`matting_data.augmentation`).
Transform = Callable[[dict[str, Any], np.random.Generator], dict[str, Any]]


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one item: ``np.random.default_rng([seed, epoch, index])``.

    All three must be non-negative integers (NumPy seed sequences refuse negatives).
    """
    return np.random.default_rng([seed, epoch, index])


class MattingDataset(Dataset[dict[str, Any]]):
    """Wrap a dataset layout and a transform into a torch ``Dataset`` of tensor dicts.

    ``dataset[i]`` reads sample ``i`` of ``layout`` with the item's generator (see the module
    docstring), applies ``transform(sample, rng)`` with the same generator, and converts the
    result with :func:`sample_to_tensors`.

    Call :meth:`set_epoch` before iterating each epoch for fresh random draws (as with
    ``DistributedSampler.set_epoch``). DataLoader workers get a copy of the dataset when the
    loader's iterator starts, so with ``persistent_workers=True`` they keep the epoch they
    started with: use non-persistent workers (the default) when the epoch changes.

    Args:
        layout: any :class:`~matting_data.datasets.Layout` (``len``, ``load(index, rng)`` or
            ``layout[index]``).
        transform: ``transform(sample, rng) -> sample`` on numpy samples, or ``None``. It must
            take its randomness from ``rng`` only. Batching needs equal sizes: crop or resize
            in the transform.
        seed: base seed, a non-negative integer.

    Raises:
        ValueError: ``seed`` is negative or not an integer.
    """

    def __init__(
        self, layout: Layout, transform: Transform | None = None, *, seed: int = 0
    ) -> None:
        self.layout = layout
        self.transform = transform
        self.seed = _non_negative("seed", seed)
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """The epoch mixed into every item's generator (0 until :meth:`set_epoch`)."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` (a non-negative integer) for the random draws of the next iteration."""
        self._epoch = _non_negative("epoch", epoch)

    def __len__(self) -> int:
        return len(self.layout)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Item ``index`` as a dict of tensors (see :func:`sample_to_tensors`)."""
        position = check_index(index, len(self))
        rng = sample_rng(self.seed, self._epoch, position)
        load = getattr(self.layout, "load", None)
        sample = load(position, rng) if load is not None else self.layout[position]
        if self.transform is not None:
            sample = self.transform(sample, rng)
        return sample_to_tensors(sample)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.layout!r}, transform={self.transform!r}, "
            f"seed={self.seed}, epoch={self._epoch})"
        )


def sample_to_tensors(sample: dict[str, Any]) -> dict[str, Any]:
    """Convert a numpy sample to torch tensors in channel-first layout.

    * ``trimap`` (H, W) uint8 {0, 128, 255} -> ``trimap`` (1, H, W) float32 {0, 0.5, 1} and
      ``trimap_onehot`` (3, H, W) float32, channels [background, unknown, foreground];
    * any other (H, W, C) array -> (C, H, W) tensor, (H, W) -> (1, H, W): e.g. ``image``,
      ``fg``, ``bg`` (3, H, W) and ``alpha`` (1, H, W). Floating arrays become float32, other
      dtypes are kept;
    * arrays of other ranks become tensors as they are; tensors, strings, numbers and any other
      value pass through unchanged.

    Raises:
        TrimapValueError: the trimap is not uint8 with values in {0, 128, 255}; names the sample.
        DataError: the trimap is not (H, W).
    """
    out: dict[str, Any] = {}
    for key, value in sample.items():
        if key == "trimap" and isinstance(value, np.ndarray):
            out["trimap"], out["trimap_onehot"] = trimap_tensors(value, sample.get("name"))
        elif isinstance(value, np.ndarray):
            out[key] = _array_to_tensor(value)
        else:
            out[key] = value
    return out


def _array_to_tensor(array: np.ndarray) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.floating) and array.dtype != np.float32:
        array = array.astype(np.float32)
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 3:
        array = array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def trimap_tensors(trimap: np.ndarray, name: object = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The toolkit's one trimap encoder for networks: (H, W) uint8 {0, 128, 255} ->
    ``(scalar, onehot)``: (1, H, W) float32 {0, 0.5, 1} (the losses' trimap) and (3, H, W)
    float32 one-hot [background, unknown, foreground] (the networks' input).

    Raises:
        TrimapValueError: not uint8, or a value outside {0, 128, 255}; names ``name``.
        DataError: not (H, W).
    """
    label = "trimap" if name is None else f"trimap of sample {name!r}"
    if trimap.ndim != 2:
        raise DataError(f"{label} has shape {trimap.shape}, but (H, W) is expected.")
    if trimap.dtype != np.uint8:
        raise TrimapValueError(
            f"{label} has dtype {trimap.dtype}, but uint8 with values in {{0, 128, 255}} is "
            "expected."
        )
    classes = np.stack(
        [trimap == TRIMAP_BACKGROUND, trimap == TRIMAP_UNKNOWN, trimap == TRIMAP_FOREGROUND]
    )
    invalid = trimap.size - int(np.count_nonzero(classes))
    if invalid:
        raise TrimapValueError(
            f"{label} has {invalid} pixels outside {{0, 128, 255}} (resize trimaps with "
            "nearest-neighbour interpolation)."
        )
    onehot = torch.from_numpy(classes.astype(np.float32))
    scalar = onehot[1:2] * 0.5 + onehot[2:3]
    return scalar, onehot


def _non_negative(what: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}.")
    return int(value)
