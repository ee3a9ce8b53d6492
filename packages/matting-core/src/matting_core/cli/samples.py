"""``matting samples``: where the bundled real test images are, and what they are."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "samples",
        help="show the bundled real photos with ground-truth alpha and trimaps",
        description=(
            "Show the real photos with ground-truth alpha and trimaps that ship with "
            "matting-data (alphamatting.com training set, Rhemann et al. CVPR 2009), so a "
            "fresh install has something to predict on and evaluate against."
        ),
    )
    parser.add_argument(
        "--path", action="store_true", help="print only the samples folder (for scripts)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from matting_data import list_samples, sample_background, samples_dir

    root = samples_dir()
    if args.path:
        print(root)
        return 0
    print(f"samples folder: {root}")
    print(
        "subfolders: image/ (RGB photo), alpha/ (ground truth), trimap/ (small unknown band), "
        "trimap2/ (large unknown band); derived from the ground truth: scribbles/ (a few "
        "white and black strokes), masks/ (a rough outline)"
    )
    print(f"samples: {', '.join(list_samples())}")
    print(f"a new background to composite over: {sample_background()}")
    print(f"provenance: {root / 'PROVENANCE.md'}")
    print(f"try: matting evaluate --baseline --gt {root / 'alpha'} --trimap {root / 'trimap'}")
    print(
        f"or:  matting trimap {root / 'image' / 'GT17.png'} --scribbles "
        f"{root / 'scribbles' / 'GT17.png'} -o trimap.png"
    )
    return 0
