"""``matting compose``: build the Composition-1k test set the way Deep Image Matting does.

Foregrounds (sorted, or in the order of ``--fg-names``) are composited over backgrounds taken
in order (``--bg-names``, e.g. DIM's ``test_bg_names.txt``, or the sorted folder), 20 each:
``merged/``, ``alpha/`` and ``trimaps/`` with names ``<fg>_<k>.png``.  ``--layout
distinctions-646`` builds Distinctions-646 from a local copy and the official lists
(``fg_test.txt``, ``bg_test.txt``): the same composition rules, its running-index names.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matting_core.cli._checks import (
    prepare_output_dir,
    refuse_overwriting_inputs,
    require_dir,
)
from matting_core.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compose",
        help="build the Composition-1k or Distinctions-646 test set (foregrounds x backgrounds)",
        description=(
            "Composite every foreground over its backgrounds exactly as the Deep Image Matting "
            "release builds Composition-1k: backgrounds consumed in order, --bg-per-fg per "
            "foreground, scaled up (Pillow-compatible bicubic) to cover the foreground and "
            "cropped at the top-left, composite truncated to 8 bits. Writes merged/, alpha/ and "
            "trimaps/ under --out, named <fg>_<k>.png. Without --trimaps, deterministic trimaps "
            "are generated (not the official ones)."
        ),
    )
    parser.add_argument("--fg", type=Path, required=True, metavar="DIR", help="foreground images")
    parser.add_argument("--alpha", type=Path, required=True, metavar="DIR", help="alpha mattes")
    parser.add_argument("--bg", type=Path, required=True, metavar="DIR", help="background images")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--bg-names",
        type=Path,
        metavar="FILE",
        help="background file names in order, one per line (DIM: test_bg_names.txt); "
        "default: the --bg folder sorted by name",
    )
    parser.add_argument(
        "--fg-names",
        type=Path,
        metavar="FILE",
        help="foreground file names in order (DIM: test_fg_names.txt); default: sorted",
    )
    parser.add_argument(
        "--trimaps",
        type=Path,
        metavar="DIR",
        help="official trimaps to copy (<fg>_<k>.png or <fg>.png); default: generate them",
    )
    parser.add_argument(
        "--trimap-kernel",
        type=int,
        default=None,
        metavar="N",
        help="kernel size of the generated trimaps, 1 to 255 (default: 15)",
    )
    parser.add_argument(
        "--bg-per-fg",
        type=int,
        default=20,
        metavar="N",
        help="backgrounds per foreground (default: %(default)s)",
    )
    parser.add_argument(
        "--layout",
        choices=("composition-1k", "distinctions-646"),
        default="composition-1k",
        help="output names: Composition-1k's <fg>_<k>.png (default) or Distinctions-646's "
        "running index (<fg up to its first _>_<n>.png, n over the whole set: the official "
        "lists give test_0 ... test_999 with --bg-per-fg 20, the training set 596 x 80)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="skip composites whose files already exist"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


#: The folders ``build_composition_test_set`` writes under ``--out``.
_OUTPUT_FOLDERS = ("merged", "alpha", "trimaps")


def _check_file(path: Path | None, what: str) -> None:
    if path is not None and not path.is_file():
        raise InputError(f"the {what} file {path} does not exist")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from matting_data.composition1k import DEFAULT_TRIMAP_KERNEL_SIZE, build_composition_test_set
    from matting_data.trimap_generation import MAX_KERNEL_SIZE

    if args.bg_per_fg < 1:
        raise InputError(f"--bg-per-fg must be at least 1, got {args.bg_per_fg}")
    if args.trimap_kernel is not None and args.trimaps is not None:
        raise InputError("--trimap-kernel applies to generated trimaps; drop it or --trimaps")
    kernel = DEFAULT_TRIMAP_KERNEL_SIZE if args.trimap_kernel is None else args.trimap_kernel
    if not 1 <= kernel <= MAX_KERNEL_SIZE:
        raise InputError(f"--trimap-kernel must be from 1 to {MAX_KERNEL_SIZE}, got {kernel}")
    require_dir(args.fg, "foreground")
    require_dir(args.alpha, "alpha")
    require_dir(args.bg, "background")
    if args.trimaps is not None:
        require_dir(args.trimaps, "trimap")
    _check_file(args.bg_names, "background names")
    _check_file(args.fg_names, "foreground names")
    inputs = (args.fg, args.alpha, args.bg, args.trimaps, args.bg_names, args.fg_names)
    refuse_overwriting_inputs(
        [],
        [p for p in inputs if p is not None],
        output_dirs=[args.out, *(args.out / sub for sub in _OUTPUT_FOLDERS)],
    )
    for sub in _OUTPUT_FOLDERS:
        prepare_output_dir(args.out / sub, "output")

    progress = tqdm(
        total=None, unit="img", desc="compose", disable=args.no_progress, file=sys.stderr
    )
    with progress:
        report = build_composition_test_set(
            args.fg,
            args.alpha,
            args.bg,
            args.out,
            bg_per_fg=args.bg_per_fg,
            naming="dim" if args.layout == "composition-1k" else "distinctions-646",
            bg_names=args.bg_names,
            fg_names=args.fg_names,
            trimap_dir=args.trimaps,
            trimap_kernel_size=kernel,
            resume=args.resume,
            progress=progress,
        )
    n_fg = report.total // args.bg_per_fg
    print(
        f"{report.total} composites ({n_fg} foregrounds x {args.bg_per_fg} backgrounds) in "
        f"{report.out_dir}: {report.written} written, {report.skipped} already there."
    )
    print(f"trimaps: {report.trimaps}.")
    if report.unused_backgrounds:
        print(f"{report.unused_backgrounds} listed background(s) were not needed.")
    return 0
