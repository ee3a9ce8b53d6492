"""Read the files of one matting sample together and check that their sizes agree."""

from __future__ import annotations

import os

import numpy as np

from matting_data.errors import SizeMismatchError
from matting_data.image_io import read_alpha, read_image, read_trimap

__all__ = ["check_same_size", "read_sample"]

PathLike = str | os.PathLike[str]


def check_same_size(**named: tuple[PathLike | None, np.ndarray]) -> tuple[int, int] | None:
    """Check that arrays which belong together have the same height and width.

    Args:
        **named: ``role=(source, array)``, e.g. ``image=(path, rgb), trimap=(path, tri)``.
            ``source`` (a path, or ``None`` for an in-memory array) is only used in the message.
            The first entry is the reference the others are compared with.

    Returns:
        ``(height, width)`` shared by all arrays, or ``None`` if nothing was given.

    Raises:
        SizeMismatchError: e.g. ``"trimap /x/t.png is 640x480 but image /x/i.png is 800x600."``
            (sizes are width x height).
    """
    items = list(named.items())
    if not items:
        return None
    ref_name, (ref_source, ref_array) = items[0]
    ref_hw = tuple(np.shape(ref_array)[:2])
    for name, (source, array) in items[1:]:
        hw = tuple(np.shape(array)[:2])
        if hw != ref_hw:
            raise SizeMismatchError(
                f"{_describe(name, source)} is {_wxh(hw)} but "
                f"{_describe(ref_name, ref_source)} is {_wxh(ref_hw)}."
            )
    return int(ref_hw[0]), int(ref_hw[1])


def read_sample(
    image: PathLike | None = None,
    trimap: PathLike | None = None,
    alpha: PathLike | None = None,
    *,
    max_pixels: int | None = None,
) -> dict[str, np.ndarray]:
    """Read whichever of image / trimap / alpha are given and check their sizes agree.

    Args:
        image: colour image path (read with :func:`~matting_data.read_image`).
        trimap: trimap path (:func:`~matting_data.read_trimap`).
        alpha: alpha matte path (:func:`~matting_data.read_alpha`).
        max_pixels: pixel limit applied to every file, see :func:`~matting_data.read_image`.

    Returns:
        Dict with the keys of the given paths only: ``"image"`` -> (H, W, 3) float32,
        ``"trimap"`` -> (H, W) uint8 in {0, 128, 255}, ``"alpha"`` -> (H, W) float32.

    Raises:
        ValueError: no path given.
        SizeMismatchError: the files differ in size (names both files and both sizes).
        Any error of the individual readers.
    """
    readers = {"image": read_image, "trimap": read_trimap, "alpha": read_alpha}
    paths = {"image": image, "trimap": trimap, "alpha": alpha}
    given = {role: p for role, p in paths.items() if p is not None}
    if not given:
        raise ValueError("read_sample needs at least one of image=, trimap=, alpha=.")
    arrays = {role: readers[role](p, max_pixels=max_pixels) for role, p in given.items()}
    check_same_size(**{role: (given[role], arrays[role]) for role in arrays})
    return arrays


def _describe(name: str, source: PathLike | None) -> str:
    return name if source is None else f"{name} {os.fspath(source)}"


def _wxh(hw: tuple[int, ...]) -> str:
    if len(hw) < 2:
        return f"shape {hw}"
    return f"{hw[1]}x{hw[0]}"
