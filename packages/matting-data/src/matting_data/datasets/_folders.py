"""Folder checks shared by the dataset layouts: existence, non-empty listing, lookup, stem pairing.

Every error is one sentence that names the folder or the first file concerned.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from matting_data.errors import DataError, MissingFileError
from matting_data.listing import IMAGE_EXTENSIONS, list_images

__all__ = [
    "Paired",
    "PathLike",
    "as_path_list",
    "find_folder",
    "list_role",
    "pair_by_stem",
    "preview_names",
    "require_folder",
    "stem_index",
]

PathLike = str | os.PathLike[str]


def as_path_list(value: PathLike | Sequence[PathLike]) -> list[Path]:
    """Return ``[Path(value)]`` for one path, or a list of paths for a sequence of paths."""
    if isinstance(value, (str, os.PathLike)):
        return [Path(value)]
    return [Path(v) for v in value]


def require_folder(path: PathLike, role: str) -> Path:
    """Return ``Path(path)`` if it is an existing folder.

    Raises:
        MissingFileError: it does not exist. DataError: it is not a folder.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{role} folder {path} does not exist.")
    if not path.is_dir():
        raise DataError(f"{role} folder {path} is not a folder.")
    return path


def list_role(folder: PathLike, role: str) -> list[Path]:
    """List the images of ``folder`` (sorted by name), which must exist and not be empty.

    Raises:
        MissingFileError, DataError: missing folder, not a folder, or no image inside.
    """
    folder = require_folder(folder, role)
    files = list_images(folder)
    if not files:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"{role} folder {folder} holds no images (looked for {extensions}).")
    return files


def stem_index(files: Iterable[Path], role: str) -> dict[str, Path]:
    """Map each file's stem to the file; two files with the same stem are an error.

    Raises:
        DataError: two files share a stem (e.g. ``a.png`` and ``a.jpg``, or the same name in two
            folders of one role).
    """
    index: dict[str, Path] = {}
    for file in files:
        if file.stem in index:
            raise DataError(
                f"{role} files {index[file.stem]} and {file} have the same name {file.stem!r}."
            )
        index[file.stem] = file
    return index


def find_folder(bases: Sequence[Path], candidates: Sequence[str], role: str) -> Path:
    """Return the first ``base / candidate`` that is a folder (bases outer, candidates inner).

    Raises:
        MissingFileError: none exists; the message lists what was looked for under the first base.
    """
    for base in bases:
        for candidate in candidates:
            folder = base / candidate
            if folder.is_dir():
                return folder
    root = bases[0]
    looked = ", ".join(
        str((base / c).relative_to(root)) if base.is_relative_to(root) else str(base / c)
        for base in bases
        for c in candidates
    )
    raise MissingFileError(f"no {role} folder found under {root} (looked for {looked}).")


@dataclass(frozen=True)
class Paired:
    """Files of several roles paired by stem.

    Attributes:
        names: stems kept, sorted.
        paths: role -> list of paths, aligned with ``names``.
        skipped: stems dropped because a partner was missing (non-strict pairing), sorted.
    """

    names: list[str]
    paths: dict[str, list[Path]]
    skipped: list[str]


def pair_by_stem(
    primary_role: str,
    primary_folder: PathLike,
    partners: Mapping[str, PathLike | None],
    *,
    strict: bool = True,
) -> Paired:
    """Pair the images of ``primary_folder`` with the files of each partner folder by stem.

    Extensions may differ between folders (``GT01.png`` pairs with ``GT01.jpg``). Partners given
    as ``None`` are left out.

    Args:
        primary_role: e.g. ``"image"``.
        primary_folder: folder whose files define the samples.
        partners: role -> folder, e.g. ``{"trimap": ..., "alpha": ...}``.
        strict: ``True``: any unmatched file is an error naming the first one (by stem, primary
            files first). ``False``: unmatched stems are dropped and listed in ``skipped``.

    Raises:
        MissingFileError: strict, and a primary file has no partner file.
        DataError: strict, and a partner file has no primary file; a folder is missing or
            empty; nothing is left after dropping unmatched stems.
    """
    primary = stem_index(list_role(primary_folder, primary_role), primary_role)
    given = {role: Path(folder) for role, folder in partners.items() if folder is not None}
    others = {role: stem_index(list_role(folder, role), role) for role, folder in given.items()}
    all_stems = set(primary).union(*others.values())
    kept = sorted(stem for stem in primary if all(stem in files for files in others.values()))
    skipped = sorted(all_stems.difference(kept))
    if strict and skipped:
        _raise_first_unmatched(primary_role, Path(primary_folder), primary, given, others)
    if not kept:
        raise DataError(
            f"no {primary_role} in {primary_folder} has a matching "
            f"{' and '.join(given)} file (matched by name without extension)."
        )
    paths = {primary_role: [primary[s] for s in kept]}
    paths.update({role: [files[s] for s in kept] for role, files in others.items()})
    return Paired(kept, paths, skipped)


def _raise_first_unmatched(
    primary_role: str,
    primary_folder: Path,
    primary: dict[str, Path],
    folders: dict[str, Path],
    others: dict[str, dict[str, Path]],
) -> None:
    for stem in sorted(primary):
        for role, files in others.items():
            if stem not in files:
                raise MissingFileError(
                    f"{role} for {primary_role} {primary[stem]} is missing: no file named "
                    f"{stem}.* in {folders[role]}."
                )
    for role, files in others.items():
        for stem in sorted(files):
            if stem not in primary:
                raise DataError(
                    f"{role} {files[stem]} has no matching {primary_role} in {primary_folder}."
                )


def preview_names(names: Sequence[str], limit: int = 3) -> str:
    """``"a, b, c, ..., z"`` -- the first ``limit`` names and the last, for summaries."""
    if len(names) <= limit + 1:
        return ", ".join(names)
    return ", ".join([*names[:limit], "...", names[-1]])
