"""Adobe Composition-1k (Deep Image Matting, Xu et al. 2017): training pairs and the test set.

Folder names accepted (from the DIM release ``Combined_Dataset/`` and from mmagic's
``tools/dataset_converters/comp1k/preprocess_comp1k_dataset.py`` and GCA-Matting's configs)::

    Combined_Dataset/                      (or adobe_composition-1k/ in mmagic)
      Training_set/
        Adobe-licensed images/fg/, alpha/  431 foregrounds in the two subsets,
        Other/fg/, alpha/                  composited onto COCO train2014 backgrounds
        bg/                                (mmagic: backgrounds cropped by the converter)
      Test_set/
        Adobe-licensed images/fg/, alpha/  50 foregrounds (alpha named like the fg)
        Adobe-licensed images/trimaps/     1000 trimaps, named {fg}_{k} like the composites
        merged/                            1000 composites {fg}_{k}, k = 0..19 (mmagic converter)
        alpha_copy/                        alpha copied per composite (GCA-Matting, MGMatting)
        trimaps/                           trimaps per composite (GCA-Matting, MGMatting)

A composite ``{fg}_{k}`` whose alpha/trimap is stored once per foreground (``{fg}``) is matched
by dropping the ``_{k}`` suffix, so the test set works with or without ``alpha_copy/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from matting_data.datasets._folders import (
    PathLike,
    find_folder,
    list_role,
    preview_names,
    require_folder,
    stem_index,
)
from matting_data.datasets.base import FileListLayout, check_index
from matting_data.datasets.foreground_background import ForegroundBackgroundFolders
from matting_data.errors import MissingFileError
from matting_data.sample import read_sample

__all__ = ["Composition1kTest", "Composition1kTrain"]

# "{fg}_{k}": DIM's and mmagic's name of the k-th composite of foreground {fg}.
_COMPOSITE_SUFFIX = re.compile(r"_\d+$")


class Composition1kTrain(ForegroundBackgroundFolders):
    """Composition-1k training foregrounds and backgrounds for on-the-fly composition.

    A :class:`ForegroundBackgroundFolders` whose folders are found under ``root``: ``fg_dir``
    and ``alpha_dir`` directly under ``root`` (or ``root/Training_set``), else in the DIM
    release's subsets ``Adobe-licensed images/`` and ``Other/`` there (both are used).
    ``bg_dir`` is relative to that training folder, or absolute (e.g. COCO ``train2014/``).

    Samples: ``fg``, ``alpha``, ``bg`` (not composited, at its own size), ``bg_name``,
    ``name`` and, with ``second_fg`` (default here, as in GCA), ``fg2``/``alpha2``/``fg2_name``
    drawn with the sample's generator. Index mapping: see :class:`ForegroundBackgroundFolders`.

    Args:
        root: the training folder, or the dataset root holding ``Training_set/``.
        bg_per_fg: backgrounds per foreground (DIM: 100).
        fg_dir, alpha_dir, bg_dir: folder names, see above.
        exclude_same_name, second_fg, check_first, max_pixels: see
            :class:`ForegroundBackgroundFolders`.

    Raises:
        MissingFileError: no foreground folder under ``root`` (lists what was looked for), a
            missing folder, or a foreground without alpha. Otherwise as
            :class:`ForegroundBackgroundFolders`.
    """

    _TITLE: ClassVar[str] = "Composition-1k training"
    _BASES: ClassVar[tuple[str, ...]] = ("", "Training_set")
    _SUBSETS: ClassVar[tuple[str, ...]] = ("Adobe-licensed images", "Other")

    def __init__(
        self,
        root: PathLike,
        *,
        bg_per_fg: int = 100,
        fg_dir: str = "fg",
        alpha_dir: str = "alpha",
        bg_dir: PathLike = "bg",
        exclude_same_name: bool = False,
        second_fg: bool = True,
        check_first: bool = True,
        max_pixels: int | None = None,
    ) -> None:
        self.root = require_folder(root, self._TITLE)
        base, fg_dirs, alpha_dirs = self._find_foregrounds(self.root, fg_dir, alpha_dir)
        super().__init__(
            fg_dirs,
            alpha_dirs,
            base / bg_dir,
            bg_per_fg=bg_per_fg,
            exclude_same_name=exclude_same_name,
            second_fg=second_fg,
            check_first=check_first,
            max_pixels=max_pixels,
        )

    @classmethod
    def _find_foregrounds(
        cls, root: Path, fg_dir: str, alpha_dir: str
    ) -> tuple[Path, list[Path], list[Path]]:
        looked: list[str] = []
        for name in cls._BASES:
            base = root / name if name else root
            if (base / fg_dir).is_dir():
                return base, [base / fg_dir], [base / alpha_dir]
            subsets = [base / s for s in cls._SUBSETS if (base / s / fg_dir).is_dir()]
            if subsets:
                return base, [s / fg_dir for s in subsets], [s / alpha_dir for s in subsets]
            prefix = f"{name}/" if name else ""
            looked += [f"{prefix}{fg_dir}"] + [f"{prefix}{s}/{fg_dir}" for s in cls._SUBSETS]
        raise MissingFileError(
            f"no foreground folder found under {root} (looked for {', '.join(looked)})."
        )

    def describe(self) -> str:
        """Summary: root, sizes, mapping parameters, folders, first names."""
        head, rest = super().describe().split("\n", 1)
        return f"{head}\n  root: {self.root}\n{rest}"


class Composition1kTest(FileListLayout):
    """The Composition-1k test set: composites with their alpha mattes and trimaps.

    Folders are looked up under ``root``, ``root/Test_set``, ``root/comp`` and
    ``root/Test_set/comp`` (in that order), trying these names in order:

    * image: ``merged``, ``image``, ``images``, ``Merged``, ``Image``;
    * alpha: ``alpha_copy``, ``alpha``, ``Alpha``, ``GT``, ``gt``, ``mask``,
      ``Adobe-licensed images/alpha``;
    * trimap: ``trimaps``, ``trimap``, ``Trimaps``, ``Trimap``, ``Adobe-licensed images/trimaps``.

    Pass ``image_dir``/``alpha_dir``/``trimap_dir`` (relative to ``root`` or absolute) to skip
    the lookup. Every image must have an alpha and a trimap named like it, or like its
    foreground (name without the ``_{k}`` suffix); extra alpha/trimap files are ignored.

    Args:
        root: the test folder, or the dataset root holding ``Test_set/``.
        image_dir, alpha_dir, trimap_dir: explicit folders, or ``None`` to look them up.
        check_first: read the first sample on construction.
        max_pixels: pixel limit for every read.

    Samples: ``name`` (the composite's stem), ``image``, ``alpha``, ``trimap``.

    Raises:
        MissingFileError: a folder is not found (lists what was looked for), or an image has no
            alpha/trimap (names the first one).
        DataError: a folder is empty, or two files of a folder share a name.
        SizeMismatchError: (``check_first``) the first sample's files differ in size.
    """

    _TITLE: ClassVar[str] = "Composition-1k test"
    _BASES: ClassVar[tuple[str, ...]] = ("", "Test_set", "comp", "Test_set/comp")
    _IMAGE_DIRS: ClassVar[tuple[str, ...]] = ("merged", "image", "images", "Merged", "Image")
    _ALPHA_DIRS: ClassVar[tuple[str, ...]] = (
        "alpha_copy",
        "alpha",
        "Alpha",
        "GT",
        "gt",
        "mask",
        "Adobe-licensed images/alpha",
    )
    _TRIMAP_DIRS: ClassVar[tuple[str, ...]] = (
        "trimaps",
        "trimap",
        "Trimaps",
        "Trimap",
        "Adobe-licensed images/trimaps",
    )

    def __init__(
        self,
        root: PathLike,
        *,
        image_dir: PathLike | None = None,
        alpha_dir: PathLike | None = None,
        trimap_dir: PathLike | None = None,
        check_first: bool = True,
        max_pixels: int | None = None,
    ) -> None:
        self.root = require_folder(root, self._TITLE)
        bases = [self.root / b if b else self.root for b in self._BASES]
        self.folders: dict[str, Path] = {
            "image": self._folder(bases, image_dir, self._IMAGE_DIRS, "image"),
            "alpha": self._folder(bases, alpha_dir, self._ALPHA_DIRS, "alpha"),
            "trimap": self._folder(bases, trimap_dir, self._TRIMAP_DIRS, "trimap"),
        }
        images = list(stem_index(list_role(self.folders["image"], "image"), "image").values())
        self._paths: dict[str, list[Path]] = {
            "image": images,
            "alpha": _match_composites(images, self.folders["alpha"], "alpha"),
            "trimap": _match_composites(images, self.folders["trimap"], "trimap"),
        }
        self._names = [p.stem for p in images]
        self._max_pixels = max_pixels
        if check_first:
            self.load(0)

    def _folder(
        self,
        bases: Sequence[Path],
        explicit: PathLike | None,
        candidates: Sequence[str],
        role: str,
    ) -> Path:
        if explicit is not None:
            return require_folder(self.root / explicit, f"{self._TITLE} {role}")
        return find_folder(bases, candidates, f"{self._TITLE} {role}")

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Read sample ``index`` (``rng`` is ignored).

        Returns:
            ``name``, ``image`` (H, W, 3) float32 RGB [0, 1], ``alpha`` (H, W) float32 [0, 1],
            ``trimap`` (H, W) uint8 {0, 128, 255}.

        Raises:
            SizeMismatchError: the files differ in size (names both). Any reader error.
        """
        files = self.paths(index)
        sample: dict[str, Any] = {"name": self._names[check_index(index, len(self))]}
        sample.update(read_sample(**files, max_pixels=self._max_pixels))
        return sample

    def describe(self) -> str:
        """Summary: size, folders found, first names."""
        lines = [f"{type(self).__name__} ({self._TITLE}): {len(self)} samples"]
        lines.append(f"  root: {self.root}")
        lines += [f"  {role}: {folder}" for role, folder in self.folders.items()]
        lines.append(f"  names: {preview_names(self._names)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root}, {len(self)} samples)"


def _match_composites(images: list[Path], folder: Path, role: str) -> list[Path]:
    """For each image, the file of ``folder`` named like it, else like its foreground.

    Raises:
        MissingFileError: the first image with neither.
    """
    files = stem_index(list_role(folder, role), role)
    matched: list[Path] = []
    for image in images:
        foreground = _COMPOSITE_SUFFIX.sub("", image.stem)
        partner = files.get(image.stem, files.get(foreground))
        if partner is None:
            also = f" or {foreground}.*" if foreground != image.stem else ""
            raise MissingFileError(
                f"{role} for image {image} is missing: no file named {image.stem}.*{also} "
                f"in {folder}."
            )
        matched.append(partner)
    return matched
