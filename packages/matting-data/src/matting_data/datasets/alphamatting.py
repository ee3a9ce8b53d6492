"""The alphamatting.com benchmark (Rhemann et al., CVPR 2009) as unpacked from its zip files.

Official layout (one folder per zip, files named ``GT01.png``..``GT27.png`` for training and
``doll.png``, ``donkey.png``, ... for the test images)::

    root/
      input_training_lowres/            input_training_highres/
      gt_training_lowres/               gt_training_highres/
      trimap_training_lowres/Trimap1/   trimap_training_highres/Trimap1/
      trimap_training_lowres/Trimap2/   trimap_training_highres/Trimap2/
      input_lowres/                     input_highres/              (test: no ground truth)
      trimap_lowres/Trimap1|2|3/        trimap_highres/Trimap1|2|3/

The project's shared copy (and the package's bundled samples) use plain folders instead:
``image/``, ``alpha/``, ``trimap/`` (= Trimap1) and ``trimap2/`` (= Trimap2); read those with
:meth:`AlphaMattingDataset.from_folders`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from matting_data.datasets._folders import PathLike, require_folder
from matting_data.datasets.folder import FolderDataset

__all__ = ["ALPHAMATTING_TRIMAPS", "AlphaMattingDataset"]

#: Trimap choices: the training set has Trimap1 and Trimap2, the test set also Trimap3.
ALPHAMATTING_TRIMAPS: tuple[str, ...] = ("Trimap1", "Trimap2", "Trimap3")
_SPLITS = ("training", "test")
_RESOLUTIONS = ("lowres", "highres")
# Plain-folder names of the shared copy / bundled samples, per official trimap.
_PLAIN_TRIMAP_DIRS = {"Trimap1": "trimap", "Trimap2": "trimap2", "Trimap3": "trimap3"}


class AlphaMattingDataset:
    """alphamatting.com training or test images with one of the official trimaps.

    Args:
        root: folder holding the unpacked zips (see the module docstring).
        split: ``"training"`` (27 images with ground truth) or ``"test"`` (8 images, no alpha).
        resolution: ``"lowres"`` or ``"highres"``.
        trimap: ``"Trimap1"`` (small unknown band), ``"Trimap2"`` (larger), ``"Trimap3"``
            (test only), or ``None`` for no trimap.
        check_first: read the first sample on construction.
        max_pixels: pixel limit for every read (high-res images are large).

    Samples: ``name``, ``image``, ``trimap`` (unless ``trimap=None``) and, for training,
    ``alpha``; see :class:`FolderDataset`.

    Raises:
        ValueError: unknown ``split``, ``resolution`` or ``trimap``.
        MissingFileError: a folder or a partner file is missing (the message names it).
        DataError, SizeMismatchError: as for :class:`FolderDataset`.
    """

    def __init__(
        self,
        root: PathLike,
        *,
        split: str = "training",
        resolution: str = "lowres",
        trimap: str | None = "Trimap1",
        check_first: bool = True,
        max_pixels: int | None = None,
    ) -> None:
        _check_choice("split", split, _SPLITS)
        _check_choice("resolution", resolution, _RESOLUTIONS)
        if trimap is not None:
            _check_choice("trimap", trimap, ALPHAMATTING_TRIMAPS)
        root = require_folder(root, "alphamatting.com")
        if split == "training":
            images = root / f"input_training_{resolution}"
            alphas: Path | None = root / f"gt_training_{resolution}"
            trimaps = root / f"trimap_training_{resolution}" / trimap if trimap else None
        else:
            images = root / f"input_{resolution}"
            alphas = None
            trimaps = root / f"trimap_{resolution}" / trimap if trimap else None
        self._setup(
            root,
            FolderDataset(images, trimaps, alphas, check_first=check_first, max_pixels=max_pixels),
            f"{split} {resolution}, {trimap or 'no trimap'}",
        )

    @classmethod
    def from_folders(
        cls,
        root: PathLike,
        *,
        trimap: str | None = "Trimap1",
        check_first: bool = True,
        max_pixels: int | None = None,
    ) -> AlphaMattingDataset:
        """Read a plain-folder copy: ``image/``, ``alpha/`` (used if present), ``trimap/``.

        This is the layout of the project's shared data
        (``shared/data/alphamatting_training_lowres/``) and of the bundled samples
        (:func:`matting_data.samples_dir`). ``trimap`` picks the folder: ``"Trimap1"`` ->
        ``trimap/``, ``"Trimap2"`` -> ``trimap2/``, ``"Trimap3"`` -> ``trimap3/``, ``None`` ->
        none.

        Raises:
            ValueError: unknown ``trimap``. Otherwise as the constructor.
        """
        if trimap is not None:
            _check_choice("trimap", trimap, ALPHAMATTING_TRIMAPS)
        root = require_folder(root, "alphamatting.com")
        alphas = root / "alpha"
        trimaps = root / _PLAIN_TRIMAP_DIRS[trimap] if trimap else None
        layout = cls.__new__(cls)
        layout._setup(
            root,
            FolderDataset(
                root / "image",
                trimaps,
                alphas if alphas.is_dir() else None,
                check_first=check_first,
                max_pixels=max_pixels,
            ),
            f"plain folders, {trimap or 'no trimap'}",
        )
        return layout

    def _setup(self, root: Path, folders: FolderDataset, variant: str) -> None:
        self.root = root
        self._folders = folders
        self._variant = variant

    @property
    def names(self) -> list[str]:
        """Image names, e.g. ``["GT01", ..., "GT27"]``."""
        return self._folders.names

    @property
    def folders(self) -> dict[str, Path]:
        """The folders read, keyed by role."""
        return dict(self._folders.folders)

    def __len__(self) -> int:
        return len(self._folders)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._folders.load(index)

    def paths(self, index: int) -> dict[str, Path]:
        """The files of sample ``index``, keyed by role."""
        return self._folders.paths(index)

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Read sample ``index`` (``rng`` is ignored); see :meth:`FolderDataset.load`."""
        return self._folders.load(index)

    def describe(self) -> str:
        """Summary: variant, size, folders, first names."""
        inner = self._folders.describe().split("\n", 1)[1]
        return f"{type(self).__name__} ({self._variant}): {len(self)} samples\n{inner}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root}, {self._variant}, {len(self)} samples)"


def _check_choice(what: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, got {value!r}.")
