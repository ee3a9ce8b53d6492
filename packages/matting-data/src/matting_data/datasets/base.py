"""The interface every dataset layout implements, and the index check they share.

A *layout* knows where the files of a dataset are and reads one sample at a time. Samples are
dicts of numpy arrays with the package's conventions:

* ``image``: (H, W, 3) float32 RGB in [0, 1];
* ``alpha``: (H, W) float32 in [0, 1];
* ``trimap``: (H, W) uint8 in {0 = background, 128 = unknown, 255 = foreground};
* ``fg``, ``bg`` (and ``fg2``/``alpha2``): (H, W, 3) float32 / (H, W) float32, training layouts;
* ``name``: str, unique within the layout.

Layouts validate their folders on construction, read files lazily (only in ``load``) and keep no
state that changes after construction, so they are safe to share between DataLoader workers.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["FileListLayout", "Layout", "check_index"]


@runtime_checkable
class Layout(Protocol):
    """What :class:`~matting_data.torch_dataset.MattingDataset` needs from a dataset layout."""

    @property
    def names(self) -> list[str]:
        """Sample names in index order (``len(names) == len(layout)``)."""
        ...

    def __len__(self) -> int:
        """Number of samples."""
        ...

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Read sample ``index`` (same as ``load(index)``)."""
        ...

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Read sample ``index``; ``rng`` drives any random choice the layout makes.

        Layouts that make no random choice ignore ``rng``. With ``rng=None`` a layout that does
        uses a generator derived from ``index`` alone, so ``layout[i]`` is reproducible.
        """
        ...

    def describe(self) -> str:
        """A short multi-line, human-readable summary: class, size, folders, first names."""
        ...


def check_index(index: int, length: int) -> int:
    """Return ``index`` as a non-negative int in ``[0, length)``; negative indices count from the end.

    Raises:
        TypeError: ``index`` is not an integer (bool is refused).
        IndexError: ``index`` is out of range (ends ``for sample in layout`` loops).
    """
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"dataset indices must be integers, not {type(index).__name__}.")
    position = int(index)
    if position < 0:
        position += length
    if not 0 <= position < length:
        raise IndexError(f"index {int(index)} is out of range for a dataset of {length} samples.")
    return position


class FileListLayout:
    """Base of layouts whose samples are files listed once, at construction.

    Subclasses set ``_names`` (one name per sample, in index order) and ``_paths`` (role →
    one path per sample) and implement ``load``.
    """

    _names: list[str]
    _paths: dict[str, list[Path]]

    @property
    def names(self) -> list[str]:
        """Sample names (file stems), sorted; a new list each call."""
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.load(index)

    def paths(self, index: int) -> dict[str, Path]:
        """The files of sample ``index``, keyed by role."""
        position = check_index(index, len(self))
        return {role: files[position] for role, files in self._paths.items()}

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        raise NotImplementedError
