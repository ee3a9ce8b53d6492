"""Build the Composition-1k test set (Xu et al., Deep Image Matting, CVPR 2017) from its parts.

What the DIM release does (its ``Composition_code.py``, Adobe, Apache-2.0, redistributed e.g.
in Yaoyi-Li/GCA-Matting; open-mmlab/mmagic's
``tools/dataset_converters/comp1k/preprocess_comp1k_dataset.py`` repeats it), and what
:func:`build_composition_test_set` therefore does:

* foregrounds in a fixed order (the release reads ``test_fg_names.txt``; here the same list
  via ``fg_names``, else the fg folder sorted by name);
* backgrounds consumed *in order* from one list (the release: ``test_bg_names.txt``, 1000
  Pascal VOC 2012 names): foreground ``i`` gets backgrounds ``i*20 .. i*20+19``;
* each background is fitted with :func:`~matting_data.compositing.resize_background_to_cover`
  (scale up by ``max(w/bw, h/bh)`` only if > 1, Pillow bicubic, ``ceil`` sizes, top-left crop);
* composite ``int(alpha * fg + (1 - alpha) * bg)`` per channel with alpha = level / 255
  (truncated, not rounded; ``rounding="floor"`` here), saved as PNG;
* the ``k``-th composite of foreground ``name.ext`` is ``name_k.png``, k = 0..19.

Distinctions-646 (Qiao et al., CVPR 2020) is built by its authors' script with the same rules
(backgrounds in list order, bicubic enlargement only when smaller, ``ceil`` sizes, top-left
crop, float64 composite truncated to integers) and one difference, the names
(``naming="distinctions-646"``): the foreground's name up to its first ``_`` (its stem when it
has none), ``_``, and a running index over the whole set -- ``test_0.png`` ... ``test_999.png``
for its 50 x 20 test set.

Output layout (``out_dir``), one file per composite in each folder, same name:

* ``merged/<fg>_<k>.png`` -- the composite (8-bit RGB);
* ``alpha/<fg>_<k>.png`` -- the foreground's alpha, copied per composite (as GCA-Matting's
  ``copy_testing_alpha.sh`` does; PNG sources are copied byte for byte);
* ``trimaps/<fg>_<k>.png`` -- the official trimap when ``trimap_dir`` is given (the DIM
  release ships them named per composite, ``<fg>_<k>.png``; a per-foreground ``<fg>.png``
  is accepted too), else a *generated* deterministic trimap
  (:func:`~matting_data.trimap_generation.trimap_from_alpha_fixed`), which is not the official
  one: scores on it are not comparable with published Composition-1k numbers.

Every file is written atomically; the same inputs give byte-identical outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from matting_data.atomic import atomic_write_bytes
from matting_data.compositing import composite_over
from matting_data.errors import DataError, MissingFileError, SizeMismatchError
from matting_data.image_header import read_image_header
from matting_data.image_io import read_alpha, read_image, read_trimap, write_image
from matting_data.listing import list_images
from matting_data.trimap_generation import MAX_KERNEL_SIZE, trimap_from_alpha_fixed

__all__ = [
    "DEFAULT_TRIMAP_KERNEL_SIZE",
    "NAMINGS",
    "CompositePair",
    "CompositionReport",
    "ProgressLike",
    "build_composition_test_set",
    "composite_name",
    "distinctions646_name",
]

PathLike = str | os.PathLike[str]
#: ``callable(done, total)`` or an object with ``update(n)`` (a tqdm bar).
ProgressLike = Callable[[int, int], Any] | Any

#: Kernel size of the generated trimaps (no official trimaps given): the middle of GCA's
#: training range 5..29. A choice of this package, not part of the DIM protocol.
DEFAULT_TRIMAP_KERNEL_SIZE: int = 15

_MERGED, _ALPHA, _TRIMAPS = "merged", "alpha", "trimaps"


class CompositePair(NamedTuple):
    """One composite: its output name, foreground file and background file."""

    name: str
    fg: Path
    bg: Path


@dataclass(frozen=True)
class CompositionReport:
    """What :func:`build_composition_test_set` did.

    Attributes:
        out_dir: the output folder (with ``merged/``, ``alpha/``, ``trimaps/``).
        pairs: every composite in order (name ``<fg>_<k>.png``, fg file, bg file).
        written: composites written by this call.
        skipped: composites left as they were (``resume=True`` and all three files present).
        unused_backgrounds: backgrounds listed beyond the ``n_fg * bg_per_fg`` used.
        trimaps: where the trimaps came from (copied from a folder, or generated and how).
    """

    out_dir: Path
    pairs: tuple[CompositePair, ...]
    written: int
    skipped: int
    unused_backgrounds: int
    trimaps: str

    @property
    def total(self) -> int:
        """Number of composites in the set (``written + skipped``)."""
        return len(self.pairs)


def composite_name(fg_name: str, k: int) -> str:
    """DIM's name of the ``k``-th composite of foreground file ``fg_name``: ``<stem>_<k>.png``."""
    return f"{Path(fg_name).stem}_{k}.png"


#: How composites are named: DIM's ``<fg>_<k>.png`` or Distinctions-646's running index.
NAMINGS: tuple[str, ...] = ("dim", "distinctions-646")


def distinctions646_name(fg_name: str, index: int) -> str:
    """Distinctions-646's name of composite number ``index`` (over the whole set) of foreground
    file ``fg_name``: the name up to its first ``_`` (the stem when there is none), ``_index``.

    >>> distinctions646_name("test_7.png", 140), distinctions646_name("13(2).png", 5)
    ('test_140.png', '13(2)_5.png')
    """
    return f"{Path(fg_name).stem.split('_')[0]}_{index}.png"


def build_composition_test_set(
    fg_dir: PathLike,
    alpha_dir: PathLike,
    bg_dir: PathLike,
    out_dir: PathLike,
    *,
    bg_per_fg: int = 20,
    naming: str = "dim",
    bg_names: Sequence[str] | PathLike | None = None,
    fg_names: Sequence[str] | PathLike | None = None,
    trimap_dir: PathLike | None = None,
    trimap_kernel_size: int = DEFAULT_TRIMAP_KERNEL_SIZE,
    resume: bool = False,
    progress: ProgressLike | None = None,
) -> CompositionReport:
    """Composite every foreground over its ``bg_per_fg`` backgrounds, the DIM way.

    With the 50 Adobe test foregrounds, the 1000 VOC backgrounds of ``test_bg_names.txt`` and
    the defaults, this is the 1000-image Composition-1k test set. All inputs are checked
    before anything is written.

    Args:
        fg_dir: foreground colour images (8-bit; RGBA colours are used as stored).
        alpha_dir: alpha mattes, named like the foregrounds (same name, or same stem).
        bg_dir: background images.
        out_dir: output folder; ``merged/``, ``alpha/`` and ``trimaps/`` are created in it.
        bg_per_fg: backgrounds per foreground (DIM: 20; Distinctions-646: 20 for the test
            set, 80 for the training set of the official lists, 100 in the paper's text).
        naming: ``"dim"`` (``<fg>_<k>.png``) or ``"distinctions-646"`` (a running index,
            :func:`distinctions646_name`).
        bg_names: background file names in the order to use them -- a sequence, or the path
            of a text file with one name per line (DIM's ``test_bg_names.txt``); names are
            relative to ``bg_dir``. ``None`` = every image in ``bg_dir``, sorted by name.
        fg_names: foreground file names in order (a sequence or a names file such as DIM's
            ``test_fg_names.txt``); ``None`` = every image in ``fg_dir``, sorted by name.
        trimap_dir: official trimaps to copy (``<fg>_<k>.*`` or ``<fg>.*``); ``None`` =
            generate them with ``trimap_from_alpha_fixed(alpha, trimap_kernel_size)``.
        trimap_kernel_size: kernel of the generated trimaps (ignored with ``trimap_dir``).
        resume: skip composites whose three output files already exist (files are written
            atomically, so an existing file is complete); otherwise everything is (re)written.
        progress: ``callable(done, total)``, or a tqdm-like object (``update(n)``; its
            ``total`` is set if it is ``None``), told after each composite.

    Returns:
        A :class:`CompositionReport`.

    Raises:
        MissingFileError: a folder, a listed file, an alpha or a trimap is missing.
        SizeMismatchError: a foreground and its alpha (or a trimap) differ in size; the
            message names both files.
        DataError: too few backgrounds (says how many are needed and how many were found),
            no foregrounds, unreadable images.
        ValueError: ``bg_per_fg`` or ``trimap_kernel_size`` < 1, or ``trimap_kernel_size``
            > :data:`~matting_data.trimap_generation.MAX_KERNEL_SIZE`.
    """
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, got {naming!r}.")
    for name, value, top in (
        ("bg_per_fg", bg_per_fg, None),
        ("trimap_kernel_size", trimap_kernel_size, MAX_KERNEL_SIZE),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        if top is not None and value > top:
            raise ValueError(f"{name} must be at most {top}, got {value!r}.")
    fg_dir, alpha_dir, bg_dir, out_dir = Path(fg_dir), Path(alpha_dir), Path(bg_dir), Path(out_dir)

    # ---- validate everything first
    fgs = _ordered_files(fg_dir, fg_names, "foreground")
    if not fgs:
        raise DataError(f"no foreground images found in {fg_dir}.")
    alphas = [_find_alpha(fg, alpha_dir) for fg in fgs]
    sizes = [
        _check_same_size(fg, "foreground", alpha, "alpha")
        for fg, alpha in zip(fgs, alphas, strict=True)
    ]
    bgs = _ordered_files(bg_dir, bg_names, "background")
    needed = len(fgs) * bg_per_fg
    if len(bgs) < needed:
        source = (
            f"the names list {bg_names}"
            if isinstance(bg_names, str | os.PathLike)
            else ("the given names" if bg_names is not None else str(bg_dir))
        )
        raise DataError(
            f"{needed} backgrounds are needed ({len(fgs)} foregrounds x {bg_per_fg} each), "
            f"but {len(bgs)} were found in {source}."
        )

    def name_of(i: int, fg: Path, k: int) -> str:
        if naming == "dim":
            return composite_name(fg.name, k)
        return distinctions646_name(fg.name, i * bg_per_fg + k)

    pairs = tuple(
        CompositePair(name_of(i, fg, k), fg, bgs[i * bg_per_fg + k])
        for i, fg in enumerate(fgs)
        for k in range(bg_per_fg)
    )
    _check_unique_names(pairs)
    trimap_sources: dict[str, Path] = {}
    if trimap_dir is not None:
        names = [
            [p.name for p in pairs[i * bg_per_fg : (i + 1) * bg_per_fg]] for i in range(len(fgs))
        ]
        trimap_sources = _find_trimaps(Path(trimap_dir), fgs, sizes, names)
        trimaps_note = f"copied from {trimap_dir}"
    else:
        trimaps_note = (
            f"generated with trimap_from_alpha_fixed(alpha, kernel_size={trimap_kernel_size}) "
            "(not the official Composition-1k trimaps)"
        )

    # ---- build
    report_progress = _progress_reporter(progress, len(pairs))
    written = skipped = done = 0
    for i, (fg, alpha_path) in enumerate(zip(fgs, alphas, strict=True)):
        group = pairs[i * bg_per_fg : (i + 1) * bg_per_fg]
        todo = [p for p in group if not (resume and _outputs_exist(out_dir, p.name))]
        skipped += len(group) - len(todo)
        done += len(group) - len(todo)
        if len(todo) < len(group):
            report_progress(done)
        if not todo:
            continue
        fg_levels = _levels(read_image(fg))
        alpha_levels = _levels(read_alpha(alpha_path))
        # Bytes written for every composite of this foreground, encoded once.
        alpha_bytes = _png_bytes(alpha_path, alpha_levels)
        generated = (
            None
            if trimap_dir is not None
            else _encode_png(trimap_from_alpha_fixed(alpha_levels, trimap_kernel_size))
        )
        official: dict[Path, bytes] = {}
        for pair in todo:
            bg_levels = _levels(read_image(pair.bg))
            merged = composite_over(fg_levels, alpha_levels, bg_levels, rounding="floor")
            if generated is None:
                source = trimap_sources[pair.name]
                if source not in official:
                    official[source] = _png_bytes(source, None)
                trimap_bytes = official[source]
            else:
                trimap_bytes = generated
            atomic_write_bytes(out_dir / _ALPHA / pair.name, alpha_bytes)
            atomic_write_bytes(out_dir / _TRIMAPS / pair.name, trimap_bytes)
            write_image(out_dir / _MERGED / pair.name, merged)
            written += 1
            done += 1
            report_progress(done)
    return CompositionReport(
        out_dir=out_dir,
        pairs=pairs,
        written=written,
        skipped=skipped,
        unused_backgrounds=len(bgs) - needed,
        trimaps=trimaps_note,
    )


# --------------------------------------------------------------------------- inputs


def _read_names(names: Sequence[str] | PathLike, what: str) -> list[str]:
    if isinstance(names, str | os.PathLike):
        path = Path(names)
        if not path.is_file():
            raise MissingFileError(f"{what} names file {path} does not exist.")
        lines = path.read_text(encoding="utf-8").splitlines()
    else:
        lines = list(names)
    return [line.strip() for line in lines if line.strip()]


def _ordered_files(folder: Path, names: Sequence[str] | PathLike | None, what: str) -> list[Path]:
    if names is None:
        return list_images(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{what} folder {folder} does not exist.")
    files = [folder / name for name in _read_names(names, what)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise MissingFileError(
            f"{len(missing)} listed {what} file(s) are missing in {folder}: {shown}."
        )
    return files


def _find_by_stem(folder: Path, name: str) -> Path | None:
    """``folder/name`` if it exists, else the only image in ``folder`` with ``name``'s stem."""
    exact = folder / name
    if exact.is_file():
        return exact
    stem = Path(name).stem
    candidates = [p for p in list_images(folder) if p.stem == stem]
    if len(candidates) > 1:
        raise DataError(
            f"{folder} holds several images with stem {stem!r}: "
            + ", ".join(p.name for p in candidates)
            + "."
        )
    return candidates[0] if candidates else None


def _find_alpha(fg: Path, alpha_dir: Path) -> Path:
    if not alpha_dir.is_dir():
        raise MissingFileError(f"alpha folder {alpha_dir} does not exist.")
    alpha = _find_by_stem(alpha_dir, fg.name)
    if alpha is None:
        raise MissingFileError(
            f"foreground {fg} has no alpha matte {alpha_dir / fg.name} (or same stem)."
        )
    return alpha


def _image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header, decoding only if the header does not say."""
    header = read_image_header(path.read_bytes(), source=str(path))
    if header is not None:
        return header.height, header.width
    return read_image(path).shape[:2]


def _check_same_size(a: Path, a_what: str, b: Path, b_what: str) -> tuple[int, int]:
    size_a, size_b = _image_size(a), _image_size(b)
    if size_a != size_b:
        raise SizeMismatchError(
            f"{a_what} {a} is {size_a[1]}x{size_a[0]} but {b_what} {b} is "
            f"{size_b[1]}x{size_b[0]} (WxH); they must be the same size."
        )
    return size_a


def _check_unique_names(pairs: Sequence[CompositePair]) -> None:
    seen: dict[str, Path] = {}
    for pair in pairs:
        if pair.name in seen and seen[pair.name] != pair.fg:
            raise DataError(
                f"foregrounds {seen[pair.name]} and {pair.fg} give the same composite name "
                f"{pair.name}; rename one of them."
            )
        seen[pair.name] = pair.fg


def _find_trimaps(
    trimap_dir: Path,
    fgs: Sequence[Path],
    sizes: Sequence[tuple[int, int]],
    names: Sequence[Sequence[str]],
) -> dict[str, Path]:
    if not trimap_dir.is_dir():
        raise MissingFileError(f"trimap folder {trimap_dir} does not exist.")
    by_stem: dict[str, Path] = {}
    for path in list_images(trimap_dir):
        if path.stem in by_stem:
            raise DataError(
                f"{trimap_dir} holds two trimaps with stem {path.stem!r}: "
                f"{by_stem[path.stem].name} and {path.name}."
            )
        by_stem[path.stem] = path
    found: dict[str, Path] = {}
    missing: list[str] = []
    checked: set[Path] = set()
    for fg, size, fg_names in zip(fgs, sizes, names, strict=True):
        for name in fg_names:
            source = by_stem.get(Path(name).stem) or by_stem.get(fg.stem)
            if source is None:
                missing.append(name)
                continue
            if source not in checked:
                checked.add(source)
                trimap_size = _image_size(source)
                if trimap_size != size:
                    raise SizeMismatchError(
                        f"trimap {source} is {trimap_size[1]}x{trimap_size[0]} but foreground "
                        f"{fg} is {size[1]}x{size[0]} (WxH); they must be the same size."
                    )
            found[name] = source
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise MissingFileError(
            f"{len(missing)} trimap(s) are missing in {trimap_dir} (looked for <fg>_<k> and "
            f"<fg>): {shown}."
        )
    return found


# --------------------------------------------------------------------------- outputs


def _levels(image: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 levels (exact for 8-bit sources)."""
    return np.rint(image * 255.0).astype(np.uint8)


def _outputs_exist(out_dir: Path, name: str) -> bool:
    return all((out_dir / sub / name).is_file() for sub in (_MERGED, _ALPHA, _TRIMAPS))


def _encode_png(levels: np.ndarray) -> bytes:
    """PNG bytes of a (H, W) uint8 array (the encoding :func:`write_alpha` uses)."""
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(levels, dtype=np.uint8))
    if not ok:  # pragma: no cover - OpenCV always encodes 8-bit grayscale PNG
        raise DataError("could not encode a PNG.")
    return buffer.tobytes()


def _png_bytes(source: Path, alpha_levels: np.ndarray | None) -> bytes:
    """A PNG source's own bytes (copied as is); any other format re-encoded as PNG.

    ``alpha_levels`` given: ``source`` is an alpha matte with these levels; ``None``: a
    trimap, whose values are snapped to {0, 128, 255} (e.g. a JPEG trimap).
    """
    if source.suffix.lower() == ".png":
        return source.read_bytes()
    return _encode_png(read_trimap(source) if alpha_levels is None else alpha_levels)


def _progress_reporter(progress: ProgressLike | None, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda done: None
    update = getattr(progress, "update", None)
    if callable(update):
        if getattr(progress, "total", 0) is None:
            progress.total = total
            refresh = getattr(progress, "refresh", None)
            if callable(refresh):
                refresh()
        state = {"done": 0}

        def tick(done: int) -> None:
            update(done - state["done"])
            state["done"] = done

        return tick
    if callable(progress):
        return lambda done: progress(done, total)
    raise TypeError(
        f"progress must be callable(done, total) or have an update(n) method, got {type(progress).__name__}."
    )
