"""``matting trimap``: a trimap from what a person has -- a rough mask, an alpha matte, or a
photo with a few scribbles.

Every route is a function of matting-data's shared trimap module
(:mod:`matting_data.user_trimaps`), so a trimap made here is the one the web page makes:

* ``matting trimap MASK -o T.png [--band PX] [--band-fg PX --band-bg PX]``:
  :func:`matting_data.trimap_from_mask`;
* ``matting trimap ALPHA --from-alpha -o T.png [--band PX | --kernel-range LOW,HIGH --seed N]``:
  the papers' recipes, :func:`matting_data.trimap_from_alpha` (seeded) and
  :func:`matting_data.trimap_from_alpha_fixed`;
* ``matting trimap IMAGE --scribbles S.png -o T.png [--band PX] [--method grabcut|geodesic]``:
  :func:`matting_data.trimap_from_scribbles`.

A trimap-free model's route (``matting trimap --from-model NAME IMAGE -o T.png [--band PX]``)
runs the model on IMAGE and hands its alpha to :func:`matting_data.trimap_from_mask` (the alpha
is a soft mask), with ``--band``, ``--band-fg/--band-bg`` and ``--confidence`` meaning what they
mean for a mask (:mod:`matting_core.auto_trimap`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matting_core.cli._checks import bounded_int, prepare_output_file, refuse_overwriting_inputs
from matting_core.errors import InputError

#: Largest ``--band`` accepted (pixels); matting-data refuses more as well.
MAX_BAND = 4096


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trimap",
        help="make a trimap from a rough mask, an alpha matte, scribbles or a photo alone",
        description=(
            "Make a trimap (0 background, 128 unknown, 255 foreground) from INPUT. By default "
            "INPUT is a rough mask (white = foreground; binary or soft; a selection exported "
            "from an editor, also as an RGBA cut-out): what it is sure of stays known, and an "
            "unknown band --band pixels wide is laid along its edge (half on each side, or "
            "--band-fg/--band-bg). With --from-alpha INPUT is an alpha matte, and its "
            "transition is dilated as the matting papers make trimaps (reproducibly: "
            "--seed). With --scribbles, INPUT is the photo and SCRIBBLES a gray image with a "
            "few white strokes on the object and black strokes around it; the strokes are "
            "grown into a segmentation (GrabCut, or geodesic distances) and the band is laid "
            "along its edge. With --from-model NAME, INPUT is the photo alone: a trimap-free "
            "model (hattmatting-small) predicts its matte, which is read as a soft mask."
        ),
    )
    parser.add_argument("input", type=Path, help="the mask, the alpha (--from-alpha) or the photo")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="TRIMAP", help="output trimap PNG"
    )
    parser.add_argument(
        "--band",
        type=bounded_int(0, MAX_BAND),
        metavar="PX",
        help=(
            "width of the unknown band along the edge (default: 24 for masks and scribbles); "
            "with --from-alpha, the fixed kernel size instead of a random one"
        ),
    )
    parser.add_argument(
        "--band-fg",
        type=bounded_int(0, MAX_BAND),
        metavar="PX",
        help="pixels of the foreground side given to the band (default: half the band)",
    )
    parser.add_argument(
        "--band-bg",
        type=bounded_int(0, MAX_BAND),
        metavar="PX",
        help="pixels of the background side given to the band (default: half the band)",
    )
    parser.add_argument(
        "--confidence",
        type=_confidence,
        default=None,
        metavar="C",
        help=(
            "a soft mask counts as foreground where >= C and background where <= 1 - C, "
            "unknown between (0.5 < C <= 1; default 0.95)"
        ),
    )
    parser.add_argument(
        "--scribbles",
        type=Path,
        metavar="SCRIBBLES",
        help="white (foreground) and black (background) strokes on gray, the photo's size",
    )
    parser.add_argument(
        "--method",
        choices=("grabcut", "geodesic"),
        default=None,
        help=(
            "how strokes grow into regions: grabcut (Rother et al. 2004, default) or "
            "geodesic (Bai & Sapiro 2007)"
        ),
    )
    parser.add_argument(
        "--iterations",
        type=bounded_int(1, 100),
        default=None,
        metavar="N",
        help="GrabCut iterations (default 5)",
    )
    parser.add_argument(
        "--from-model",
        metavar="NAME",
        help="INPUT is a photo: a trimap-free model (e.g. hattmatting-small) predicts its matte, "
        "read as a soft mask",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="PATH",
        help="with --from-model: the model's weights (default: its bundled weights)",
    )
    parser.add_argument(
        "--from-alpha",
        action="store_true",
        help="INPUT is an alpha matte: dilate its transition region as the papers do",
    )
    parser.add_argument(
        "--recipe",
        choices=("dilate", "erode-dilate"),
        default=None,
        help=(
            "with --from-alpha: dilate the transition band (AlphaGAN, Deep Image Matting; "
            "default) or erode foreground and background separately (GCA)"
        ),
    )
    parser.add_argument(
        "--kernel-range",
        type=_kernel_range,
        metavar="LOW,HIGH",
        help="with --from-alpha: random kernel sizes (default 2,20 for dilate, 5,29 for "
        "erode-dilate)",
    )
    parser.add_argument(
        "--seed",
        type=bounded_int(0),
        default=None,
        metavar="N",
        help="with --from-alpha: the random seed (default 0): the same seed, the same trimap",
    )
    parser.set_defaults(run=run)


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.5 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be > 0.5 and <= 1, got {text}")
    return value


def _kernel_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH integers, got {text!r}") from None
    if not 1 <= low <= high <= 255:
        raise argparse.ArgumentTypeError(f"need 1 <= LOW <= HIGH <= 255, got {text!r}")
    return low, high


def _refuse_foreign_options(args: argparse.Namespace) -> None:
    """Options that belong to another route are an error, not silently ignored."""
    routes = {
        "--from-alpha": ("--recipe", "--kernel-range", "--seed"),
        "--scribbles": ("--method", "--iterations"),
        "--from-model": ("--checkpoint",),
    }
    given = [
        route
        for route, on in (
            ("--from-alpha", args.from_alpha),
            ("--scribbles", args.scribbles is not None),
            ("--from-model", args.from_model is not None),
        )
        if on
    ]
    if len(given) > 1:
        raise InputError(f"{' and '.join(given)} are different routes; give one")
    active = given[0] if given else None
    for route, options in routes.items():
        if route == active:
            continue
        for option in options:
            if getattr(args, option[2:].replace("-", "_")) is not None:
                raise InputError(f"{option} goes with {route}")
    if args.from_alpha:
        for option in ("--band-fg", "--band-bg", "--confidence"):
            if getattr(args, option[2:].replace("-", "_")) is not None:
                raise InputError(f"{option} applies to masks and scribbles, not to --from-alpha")
        if args.band is not None and args.kernel_range is not None:
            raise InputError("give --band (a fixed kernel) or --kernel-range (random), not both")
    elif args.scribbles is not None and args.confidence is not None:
        raise InputError("--confidence applies to masks, not to scribbles")


def _bands(args: argparse.Namespace) -> dict[str, float | None]:
    from matting_data import DEFAULT_BAND

    return {
        "band": DEFAULT_BAND if args.band is None else args.band,
        "band_fg": args.band_fg,
        "band_bg": args.band_bg,
    }


def _from_alpha(args: argparse.Namespace):
    import numpy as np

    from matting_data import read_alpha, trimap_from_alpha, trimap_from_alpha_fixed

    alpha = read_alpha(args.input)
    mode = "erode_dilate" if args.recipe == "erode-dilate" else "dilate"
    if args.band is not None and mode == "erode_dilate":
        return trimap_from_alpha_fixed(alpha, max(1, args.band))
    kernels = (max(1, args.band),) * 2 if args.band is not None else args.kernel_range
    rng = np.random.default_rng(0 if args.seed is None else args.seed)
    return trimap_from_alpha(alpha, rng=rng, kernel_range=kernels, mode=mode)


def _from_scribbles(args: argparse.Namespace):
    from matting_data import check_same_size, read_alpha, read_image, trimap_from_scribbles

    image = read_image(args.input)
    scribbles = read_alpha(args.scribbles)
    check_same_size(image=(args.input, image), scribbles=(args.scribbles, scribbles))
    return trimap_from_scribbles(
        image,
        scribbles,
        **_bands(args),
        method=args.method or "grabcut",
        iterations=args.iterations or 5,
    )


def _from_model(args: argparse.Namespace):
    from matting_core.auto_trimap import load_trimap_model, trimap_from_model
    from matting_data import read_image

    image = read_image(args.input)
    loaded = load_trimap_model(args.from_model, args.checkpoint)
    if loaded.bundled:
        print(
            f"matting trimap: {args.from_model!r} runs with its bundled weights {loaded.weights}",
            file=sys.stderr,
        )
    return trimap_from_model(image, loaded, **_bands(args), confidence=args.confidence).trimap


def _from_mask(args: argparse.Namespace):
    from matting_data import MASK_CONFIDENCE, read_mask, trimap_from_mask

    mask = read_mask(args.input)
    confidence = MASK_CONFIDENCE if args.confidence is None else args.confidence
    return trimap_from_mask(mask, **_bands(args), confidence=confidence)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from matting_data import write_alpha

    _refuse_foreign_options(args)
    if args.output.suffix.lower() != ".png":
        raise InputError(f"the output {args.output} must be a .png file")
    inputs = [args.input] + [p for p in (args.scribbles, args.checkpoint) if p is not None]
    refuse_overwriting_inputs([args.output], inputs)
    prepare_output_file(args.output, "output")
    if args.from_alpha:
        trimap = _from_alpha(args)
    elif args.scribbles is not None:
        trimap = _from_scribbles(args)
    elif args.from_model is not None:
        trimap = _from_model(args)
    else:
        trimap = _from_mask(args)
    unknown = float(np.mean(trimap == 128))
    if unknown == 0.0:
        print(
            "matting trimap: warning: the trimap has no unknown pixels (a band of 0 on a "
            "binary mask); a model has nothing to predict",
            file=sys.stderr,
        )
    write_alpha(args.output, trimap)
    print(f"trimap written to {args.output} ({100 * unknown:.1f} % unknown)")
    return 0
