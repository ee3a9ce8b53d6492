"""Argument checks shared by the subcommands; each raises a one-sentence ``InputError``."""

from __future__ import annotations

from pathlib import Path

from matting_core.errors import InputError


def require_dir(path: Path, what: str) -> None:
    """Raise unless ``path`` is an existing folder; ``what`` names it ("trimap", ...)."""
    if not path.exists():
        raise InputError(f"the {what} folder {path} does not exist")
    if not path.is_dir():
        raise InputError(f"the {what} path {path} is not a folder")
