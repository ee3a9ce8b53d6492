"""List image files in folders and pair image/trimap/alpha files by file stem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from matting_data.errors import DataError, MissingFileError

__all__ = ["IMAGE_EXTENSIONS", "StemMatch", "list_images", "match_by_stem"]

PathLike = str | os.PathLike[str]

#: File extensions treated as images (compared case-insensitively).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)


class StemMatch(NamedTuple):
    """Result of :func:`match_by_stem`.

    Attributes:
        matched: one tuple of paths per stem present in *every* folder, in folder order,
            sorted by stem.
        missing: for each folder (as given, converted to ``Path``) the sorted stems that
            exist in some other folder but not in this one; folders missing nothing are
            left out (so ``not missing`` means everything matched).
    """

    matched: list[tuple[Path, ...]]
    missing: dict[Path, list[str]]


def list_images(folder: PathLike) -> list[Path]:
    """Return the image files directly inside ``folder``, sorted by name.

    Only regular files with an extension in :data:`IMAGE_EXTENSIONS` (any case) are listed;
    hidden files (name starting with ``.``, e.g. macOS ``._x.png``) are skipped. Not recursive.

    Raises:
        MissingFileError: ``folder`` does not exist.
        DataError: ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.exists():
        raise MissingFileError(f"folder {folder} does not exist.")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder.")
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )


def match_by_stem(*folders: PathLike) -> StemMatch:
    """Pair files across folders by file stem (name without extension), e.g. image/trimap/alpha.

    ``match_by_stem("image", "trimap", "alpha")`` pairs ``image/GT01.png``,
    ``trimap/GT01.png`` and ``alpha/GT01.jpg``. Extensions may differ between folders.
    Stems missing from some folder are reported, not raised.

    Args:
        *folders: one or more folders, listed with :func:`list_images`.

    Returns:
        A :class:`StemMatch` ``(matched, missing)``.

    Raises:
        ValueError: no folder given.
        DataError: a folder holds two images with the same stem (e.g. ``a.png`` and ``a.jpg``).
        MissingFileError: a folder does not exist.
    """
    if not folders:
        raise ValueError("match_by_stem needs at least one folder.")
    by_folder: list[tuple[Path, dict[str, Path]]] = []
    for folder in folders:
        stems: dict[str, Path] = {}
        for file in list_images(folder):
            if file.stem in stems:
                raise DataError(
                    f"folder {folder} holds two images with stem {file.stem!r}: "
                    f"{stems[file.stem].name} and {file.name}."
                )
            stems[file.stem] = file
        by_folder.append((Path(folder), stems))
    all_stems = set().union(*(stems.keys() for _, stems in by_folder))
    common = set.intersection(*(set(stems) for _, stems in by_folder))
    matched = [tuple(stems[s] for _, stems in by_folder) for s in sorted(common)]
    missing: dict[Path, list[str]] = {}
    for folder, stems in by_folder:
        absent = sorted(all_stems - stems.keys())
        if absent:
            missing[folder] = absent
    return StemMatch(matched, missing)
