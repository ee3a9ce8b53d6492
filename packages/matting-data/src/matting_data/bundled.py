"""The real matting samples bundled with the package (alphamatting.com GT17-GT20, low-res),
with scribbles and rough masks derived from their ground truth.

See ``samples/PROVENANCE.md`` for their origin and terms of use.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from matting_data.errors import MissingFileError

__all__ = ["SAMPLE_ROLES", "list_samples", "sample_background", "sample_paths", "samples_dir"]

#: Sub-folders of the samples directory: image (RGB), alpha (ground truth), trimap (official
#: Trimap1, small unknown band), trimap2 (official Trimap2, larger unknown band), and what a
#: person would bring instead of a trimap, derived from the ground truth by
#: ``scripts/make_sample_inputs.py``: scribbles (white / black strokes on gray) and masks (a
#: rough binary outline).
SAMPLE_ROLES: tuple[str, ...] = ("image", "alpha", "trimap", "trimap2", "scribbles", "masks")


def samples_dir() -> Path:
    """Return the directory holding the bundled samples.

    Resolved with :mod:`importlib.resources`, so it works for editable and wheel installs (the
    package must be installed on a file system, not imported from a zip archive).

    Raises:
        MissingFileError: the samples are not installed.
    """
    path = Path(str(resources.files("matting_data").joinpath("samples")))
    if not (path / "image").is_dir():
        raise MissingFileError(f"bundled samples directory {path} is missing.")
    return path


def sample_background() -> Path:
    """A bundled real photograph to composite over (the Hubble eXtreme Deep Field, NASA,
    public domain; see ``samples/PROVENANCE.md``)."""
    path = samples_dir() / "backgrounds" / "hubble_deep_field.jpg"
    if not path.is_file():
        raise MissingFileError(f"bundled background {path} is missing.")
    return path


def list_samples() -> list[str]:
    """Return the names of the bundled samples, sorted (e.g. ``["GT17", ..., "GT20"]``)."""
    return sorted(p.stem for p in (samples_dir() / "image").glob("*.png"))


def sample_paths(name: str) -> dict[str, Path]:
    """Return the files of one bundled sample, keyed by :data:`SAMPLE_ROLES`.

    Args:
        name: a name from :func:`list_samples`, e.g. ``"GT17"``.

    Returns:
        ``{"image": Path, "alpha": Path, "trimap": Path, "trimap2": Path, "scribbles": Path,
        "masks": Path}``.

    Raises:
        MissingFileError: no such sample.
    """
    root = samples_dir()
    paths = {role: root / role / f"{name}.png" for role in SAMPLE_ROLES}
    if not all(p.is_file() for p in paths.values()):
        raise MissingFileError(
            f"bundled sample {name!r} does not exist in {root} "
            f"(available: {', '.join(list_samples())})."
        )
    return paths
