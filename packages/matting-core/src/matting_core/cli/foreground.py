"""``matting foreground``: foreground colours from photos and their alpha mattes.

Turns real photos with ground-truth (or predicted) alpha into training foregrounds, and
with ``--background`` composites them over a new background.
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
        "foreground",
        help="estimate foreground colours from images and alpha mattes",
        description=(
            "Estimate the foreground colours F of each image in --images from its alpha matte "
            "in --alphas (matched by name), so that image = alpha*F + (1-alpha)*B, and write F "
            "as PNG to --out. With --background, also write the foreground composited over "
            "that background (scaled to cover the image) to --composites."
        ),
    )
    parser.add_argument("--images", type=Path, required=True, metavar="DIR")
    parser.add_argument("--alphas", type=Path, required=True, metavar="DIR")
    parser.add_argument("--out", type=Path, metavar="DIR", help="folder for the foregrounds")
    parser.add_argument(
        "--method",
        choices=("multilevel", "blur_fusion"),
        default="multilevel",
        help="multilevel (pymatting, default) or blur_fusion (faster, a little less accurate)",
    )
    parser.add_argument("--background", type=Path, metavar="IMAGE", help="a new background")
    parser.add_argument("--composites", type=Path, metavar="DIR", help="folder for composites")
    parser.add_argument("--resume", action="store_true", help="skip names already written")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from matting_data import (
        check_same_size,
        composite_over,
        estimate_foreground,
        match_by_stem,
        read_alpha,
        read_image,
        resize_background_to_cover,
        write_image,
    )

    if args.out is None and args.composites is None:
        raise InputError(
            "nothing to write: give --out DIR and/or --background IMAGE --composites DIR"
        )
    if (args.background is None) != (args.composites is None):
        raise InputError("--background and --composites go together")
    require_dir(args.images, "image")
    require_dir(args.alphas, "alpha")
    pairs, missing = match_by_stem(args.images, args.alphas)
    if not pairs:
        raise InputError(
            f"no image in {args.images} has an alpha of the same name in {args.alphas}"
        )
    for folder, names in missing.items():
        print(
            f"matting foreground: warning: {len(names)} file(s) without a partner, missing in {folder}",
            file=sys.stderr,
        )

    def outputs(stem: str) -> list[Path]:
        return [d / f"{stem}.png" for d in (args.out, args.composites) if d is not None]

    output_dirs = [d for d in (args.out, args.composites) if d is not None]
    if len(output_dirs) == 2 and _same_place(*output_dirs):
        raise InputError(f"--out and --composites are the same folder {args.out}")
    refuse_overwriting_inputs(
        [path for image, _ in pairs for path in outputs(image.stem)],
        [args.images, args.alphas, *(p for pair in pairs for p in pair)]
        + ([args.background] if args.background is not None else []),
        output_dirs=output_dirs,
    )
    for folder in output_dirs:
        prepare_output_dir(folder, "output")
    background = read_image(args.background) if args.background is not None else None

    todo = [
        (i, a) for i, a in pairs if not (args.resume and all(p.exists() for p in outputs(i.stem)))
    ]
    for image_path, alpha_path in tqdm(
        todo, unit="img", desc="foreground", disable=args.no_progress, file=sys.stderr
    ):
        image, alpha = read_image(image_path), read_alpha(alpha_path)
        check_same_size(image=(image_path, image), alpha=(alpha_path, alpha))
        fg = estimate_foreground(image, alpha, method=args.method)
        if args.out is not None:
            write_image(args.out / f"{image_path.stem}.png", fg)
        if background is not None:
            bg = resize_background_to_cover(background, *alpha.shape)
            write_image(args.composites / f"{image_path.stem}.png", composite_over(fg, alpha, bg))
    print(
        f"{len(todo)} image(s) processed; "
        + ", ".join(f"written to {d}" for d in (args.out, args.composites) if d)
    )
    return 0


def _same_place(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
