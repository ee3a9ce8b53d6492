"""Training pairs for on-the-fly composition: foregrounds with alpha mattes, and backgrounds.

Deep Image Matting (Xu et al., 2017) composites every training foreground onto a fixed number of
backgrounds (100 for Composition-1k), each background used once. This module serves the
(foreground, alpha, background) triples of that scheme *without* compositing them: the data
pipeline composites (after its own augmentation of F and B), as GCA Matting does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matting_data.datasets._folders import (
    PathLike,
    as_path_list,
    list_role,
    pair_by_stem,
    preview_names,
    stem_index,
)
from matting_data.datasets.base import check_index
from matting_data.errors import DataError
from matting_data.image_io import read_alpha, read_image
from matting_data.sample import check_same_size

__all__ = ["ForegroundBackgroundFolders"]


class ForegroundBackgroundFolders:
    """Foregrounds + alpha mattes (paired by name) and a pool of backgrounds.

    Index mapping (deterministic, DIM-style): with ``K`` backgrounds per foreground, sample
    ``index`` is foreground ``i = index // K`` on background number ``k = index % K``, and that
    background is ``bgs[(i * K + k) % m]``, where ``bgs`` is the sorted background list (without
    the foreground's own name if ``exclude_same_name``) and ``m`` its length. With at least
    ``n_fg * K`` backgrounds every background is used at most once, exactly as DIM's composition
    script does; with fewer, backgrounds are reused cyclically but a foreground never gets the
    same background twice.

    ``K = min(bg_per_fg, m)``, so ``len = n_fg * K``.

    Args:
        fg_dir: folder of foreground colour images, or several folders (e.g. the DIM release's
            ``Adobe-licensed images/fg`` and ``Other/fg``); names must be unique across them.
        alpha_dir: the matching alpha folder(s), same number and order as ``fg_dir``.
        bg_dir: folder (or folders) of background photos; any size, any names.
        bg_per_fg: backgrounds per foreground (``K`` before the limit above), >= 1.
        exclude_same_name: never pair a foreground with a background of the same name (file
            stem): useful when the backgrounds are the same photos the foregrounds come from
            (e.g. a folder of natural images used as both).
        second_fg: also return a second foreground ``fg2``/``alpha2`` chosen with the sample's
            generator, for the two-foreground combination of GCA / Tang et al. (2019).
        check_first: read the first foreground, its alpha and the first background on
            construction (catches corrupt files and an fg/alpha size mismatch early).
        max_pixels: pixel limit for every read, see :func:`matting_data.read_image`.

    Raises:
        ValueError: ``bg_per_fg < 1``, or ``fg_dir`` and ``alpha_dir`` differ in length.
        MissingFileError: a folder is missing, or a foreground has no alpha (names it).
        DataError: a folder is empty, an alpha has no foreground, two foregrounds share a name,
            or no background is left for some foreground.
        SizeMismatchError: (``check_first``) the first foreground and its alpha differ in size.
    """

    def __init__(
        self,
        fg_dir: PathLike | Sequence[PathLike],
        alpha_dir: PathLike | Sequence[PathLike],
        bg_dir: PathLike | Sequence[PathLike],
        *,
        bg_per_fg: int = 100,
        exclude_same_name: bool = False,
        second_fg: bool = False,
        check_first: bool = True,
        max_pixels: int | None = None,
    ) -> None:
        if isinstance(bg_per_fg, bool) or not isinstance(bg_per_fg, int) or bg_per_fg < 1:
            raise ValueError(f"bg_per_fg must be an integer >= 1, got {bg_per_fg!r}.")
        fg_dirs, alpha_dirs = as_path_list(fg_dir), as_path_list(alpha_dir)
        if len(fg_dirs) != len(alpha_dirs) or not fg_dirs:
            raise ValueError(
                f"fg_dir and alpha_dir must name the same number of folders (at least one), "
                f"got {len(fg_dirs)} and {len(alpha_dirs)}."
            )
        fgs: list[Path] = []
        alphas: list[Path] = []
        for fgs_folder, alphas_folder in zip(fg_dirs, alpha_dirs, strict=True):
            paired = pair_by_stem("foreground", fgs_folder, {"alpha": alphas_folder})
            fgs += paired.paths["foreground"]
            alphas += paired.paths["alpha"]
        order = sorted(range(len(fgs)), key=lambda n: fgs[n].stem)
        self._fgs = [fgs[n] for n in order]
        self._alphas = [alphas[n] for n in order]
        stem_index(self._fgs, "foreground")  # names unique across folders
        self.fg_dirs, self.alpha_dirs = fg_dirs, alpha_dirs
        self.bg_dirs = as_path_list(bg_dir)
        self._bgs = sorted(
            (f for folder in self.bg_dirs for f in list_role(folder, "background")),
            key=lambda p: (p.name, str(p)),
        )
        self._excluded = self._excluded_positions(exclude_same_name)
        self.exclude_same_name = exclude_same_name
        self.bg_per_fg = bg_per_fg
        self.second_fg = second_fg
        self._max_pixels = max_pixels
        available = min(self._candidates(i) for i in range(len(self._fgs)))
        if available < 1:
            first = next(i for i in range(len(self._fgs)) if self._candidates(i) < 1)
            raise DataError(
                f"no background is left for foreground {self._fgs[first]} in "
                f"{', '.join(map(str, self.bg_dirs))} (every background has its name)."
            )
        self._k = min(bg_per_fg, available)
        if check_first:
            self._read_fg(0)
            self._read_bg(self.pair(0)[1])

    # ------------------------------------------------------------------ mapping

    def _excluded_positions(self, exclude_same_name: bool) -> list[tuple[int, ...]]:
        """Per foreground, the sorted positions of the backgrounds it must not be paired with."""
        if not exclude_same_name:
            return [()] * len(self._fgs)
        positions: dict[str, list[int]] = {}
        for n, bg in enumerate(self._bgs):
            positions.setdefault(bg.stem, []).append(n)
        return [tuple(positions.get(fg.stem, ())) for fg in self._fgs]

    def _candidates(self, fg_index: int) -> int:
        return len(self._bgs) - len(self._excluded[fg_index])

    @property
    def bgs_per_fg(self) -> int:
        """Backgrounds actually used per foreground: ``min(bg_per_fg, backgrounds available)``."""
        return self._k

    @property
    def fg_names(self) -> list[str]:
        """Foreground names (file stems), sorted."""
        return [p.stem for p in self._fgs]

    @property
    def bg_names(self) -> list[str]:
        """Background names (file stems), in the sorted order the mapping uses."""
        return [p.stem for p in self._bgs]

    def pair(self, index: int) -> tuple[int, int]:
        """Return ``(fg_index, bg_index)`` of sample ``index`` (positions in ``fg_names`` and
        ``bg_names``); see the class docstring for the mapping."""
        position = check_index(index, len(self))
        fg_index, k = divmod(position, self._k)
        bg_index = (fg_index * self._k + k) % self._candidates(fg_index)
        for excluded in self._excluded[fg_index]:  # ascending: skip over excluded positions
            if bg_index >= excluded:
                bg_index += 1
        return fg_index, bg_index

    @property
    def names(self) -> list[str]:
        """Sample names ``"{fg_name}_{k}"`` (DIM's naming of composites), in index order."""
        return [f"{p.stem}_{k}" for p in self._fgs for k in range(self._k)]

    def __len__(self) -> int:
        return len(self._fgs) * self._k

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.load(index)

    # ------------------------------------------------------------------ reading

    def _read_fg(self, fg_index: int) -> tuple[np.ndarray, np.ndarray]:
        fg_path, alpha_path = self._fgs[fg_index], self._alphas[fg_index]
        fg = read_image(fg_path, max_pixels=self._max_pixels)
        alpha = read_alpha(alpha_path, max_pixels=self._max_pixels)
        check_same_size(foreground=(fg_path, fg), alpha=(alpha_path, alpha))
        return fg, alpha

    def _read_bg(self, bg_index: int) -> np.ndarray:
        return read_image(self._bgs[bg_index], max_pixels=self._max_pixels)

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Read sample ``index``.

        Args:
            index: sample index.
            rng: generator for the choice of the second foreground (only used with
                ``second_fg``); ``None``: ``np.random.default_rng(index)``.

        Returns:
            ``name`` (``"{fg_name}_{k}"``), ``fg`` (H, W, 3) float32 RGB [0, 1], ``alpha``
            (H, W) float32 [0, 1], ``bg`` (Hb, Wb, 3) float32 at its own size (resize/crop
            it in the pipeline), ``bg_name``; with ``second_fg`` also ``fg2`` (H2, W2, 3),
            ``alpha2`` (H2, W2) -- a different foreground when there are several -- and
            ``fg2_name``.

        Raises:
            SizeMismatchError: a foreground and its alpha differ in size. Any reader error.
        """
        position = check_index(index, len(self))
        fg_index, bg_index = self.pair(position)
        fg, alpha = self._read_fg(fg_index)
        sample: dict[str, Any] = {
            "name": f"{self._fgs[fg_index].stem}_{position % self._k}",
            "fg": fg,
            "alpha": alpha,
            "bg": self._read_bg(bg_index),
            "bg_name": self._bgs[bg_index].stem,
        }
        if self.second_fg:
            if rng is None:
                rng = np.random.default_rng(position)
            other = self._other_fg(fg_index, rng)
            sample["fg2"], sample["alpha2"] = self._read_fg(other)
            sample["fg2_name"] = self._fgs[other].stem
        return sample

    def _other_fg(self, fg_index: int, rng: np.random.Generator) -> int:
        if len(self._fgs) == 1:
            return fg_index
        other = int(rng.integers(len(self._fgs) - 1))
        return other + 1 if other >= fg_index else other

    def describe(self) -> str:
        """Summary: sizes, mapping parameters, folders, first names."""
        lines = [
            f"{type(self).__name__}: {len(self)} samples = {len(self._fgs)} foregrounds x "
            f"{self._k} backgrounds (of {len(self._bgs)}; asked {self.bg_per_fg})",
            f"  fg: {', '.join(map(str, self.fg_dirs))}",
            f"  alpha: {', '.join(map(str, self.alpha_dirs))}",
            f"  bg: {', '.join(map(str, self.bg_dirs))}",
            f"  foregrounds: {preview_names(self.fg_names)}",
            f"  exclude_same_name: {self.exclude_same_name}, second_fg: {self.second_fg}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self._fgs)} foregrounds x {self._k} backgrounds, "
            f"{len(self)} samples)"
        )
