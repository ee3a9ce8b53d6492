"""Users' own data: a folder of images with optional trimap and alpha folders, matched by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from matting_data.datasets._folders import PathLike, pair_by_stem, preview_names
from matting_data.datasets.base import FileListLayout, check_index
from matting_data.sample import read_sample

__all__ = ["FolderDataset"]


class FolderDataset(FileListLayout):
    """Images with optional trimaps and alpha mattes, paired by file name without extension.

    ``FolderDataset("photos", trimaps="trimaps", alphas="alphas")`` pairs ``photos/cat.jpg``
    with ``trimaps/cat.png`` and ``alphas/cat.png``. Samples are in name order.

    Args:
        images: folder of colour images (defines the samples).
        trimaps: folder of trimaps, or ``None``.
        alphas: folder of alpha mattes, or ``None``.
        strict: ``True`` (default): a missing partner file (or a trimap/alpha without image) is
            an error naming the first one. ``False``: such names are dropped and recorded in
            :attr:`skipped`.
        check_first: read the first sample on construction, so a corrupt file or a size
            mismatch shows up now rather than in a DataLoader worker.
        max_pixels: pixel limit for every read, see :func:`matting_data.read_image`.

    Attributes:
        skipped: names dropped because a partner file was missing (empty when strict).

    Raises:
        MissingFileError: a folder does not exist, or (strict) an image lacks a trimap/alpha.
        DataError: a folder is empty or not a folder, two files share a name, or (strict) a
            trimap/alpha has no image.
        SizeMismatchError: (``check_first``) the first sample's files differ in size.
    """

    def __init__(
        self,
        images: PathLike,
        trimaps: PathLike | None = None,
        alphas: PathLike | None = None,
        *,
        strict: bool = True,
        check_first: bool = True,
        max_pixels: int | None = None,
    ) -> None:
        paired = pair_by_stem("image", images, {"trimap": trimaps, "alpha": alphas}, strict=strict)
        self.folders: dict[str, Path] = {"image": Path(images)}
        if trimaps is not None:
            self.folders["trimap"] = Path(trimaps)
        if alphas is not None:
            self.folders["alpha"] = Path(alphas)
        self.skipped: list[str] = paired.skipped
        self._names = paired.names
        self._paths = paired.paths
        self._max_pixels = max_pixels
        if check_first:
            self.load(0)

    def load(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Read sample ``index``; ``rng`` is ignored (no random choice here).

        Returns:
            ``{"name": str, "image": (H, W, 3) float32 RGB [0, 1]}`` plus ``"trimap"``
            ((H, W) uint8 {0, 128, 255}) and ``"alpha"`` ((H, W) float32 [0, 1]) when their
            folders were given.

        Raises:
            SizeMismatchError: the files differ in size (names both files). Any reader error.
        """
        position = check_index(index, len(self))
        files = {role: paths[position] for role, paths in self._paths.items()}
        sample: dict[str, Any] = {"name": self._names[position]}
        sample.update(read_sample(**files, max_pixels=self._max_pixels))
        return sample

    def describe(self) -> str:
        """Summary: class, size, folders, first names, skipped names."""
        lines = [f"{type(self).__name__}: {len(self)} samples"]
        lines += [f"  {role}: {folder}" for role, folder in self.folders.items()]
        lines.append(f"  names: {preview_names(self._names)}")
        if self.skipped:
            lines.append(f"  skipped ({len(self.skipped)}): {preview_names(self.skipped)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.folders['image']}, {len(self)} samples)"
