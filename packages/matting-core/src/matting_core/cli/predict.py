"""``matting predict``: alpha mattes for one image or a folder of images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matting_core.cli._checks import (
    bounded_int,
    device_argument,
    prepare_output_dir,
    prepare_output_file,
    refuse_overwriting_inputs,
    require_dir,
)
from matting_core.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict alpha mattes with a model",
        description=(
            "Predict alpha mattes: either one IMAGE (with its TRIMAP) written to -o ALPHA, or "
            "every image of --images DIR (trimaps matched by name in --trimaps DIR) written "
            "to --out DIR. A trimap-free model ('matting list' shows trimap: no) needs no "
            "trimap; given one, it only sets the known pixels. Inputs are padded by "
            "reflection to the model's multiple, the trimap's known pixels are kept, and every "
            "PNG is written atomically. --tile runs any model on overlapping patches blended "
            "back together (memory set by the tile, not the photo). --tta, --dilate-unknown "
            "and --pad-margin 32 reproduce the official demos' options."
        ),
    )
    parser.add_argument("image", nargs="?", type=Path, help="input image (single-image form)")
    parser.add_argument("trimap", nargs="?", type=Path, help="its trimap (single-image form)")
    parser.add_argument("-o", "--output", type=Path, metavar="ALPHA", help="output alpha PNG")
    parser.add_argument("--model", required=True, help="registered model name (see matting list)")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="CKPT",
        help="weights (.safetensors, or an official .pth); default: the model's bundled weights",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="model option, e.g. --set rate=1 (repeatable)",
    )
    parser.add_argument("--images", type=Path, metavar="DIR", help="folder of input images")
    parser.add_argument("--trimaps", type=Path, metavar="DIR", help="folder of trimaps")
    parser.add_argument("--out", type=Path, metavar="DIR", help="folder for the alpha mattes")
    parser.add_argument(
        "--resume", action="store_true", help="skip images whose output already exists"
    )
    parser.add_argument(
        "--trimap-thresholds",
        type=_thresholds,
        metavar="LOW,HIGH",
        help=(
            "read trimaps with any gray levels as the official releases do: < LOW background, "
            ">= HIGH foreground (the GCA demo uses 85,170); default: 0/128/255 required"
        ),
    )
    parser.add_argument(
        "--tta",
        action="store_true",
        help=(
            "test-time augmentation of the official HOP demo: the mean alpha of the 4 "
            "rotations x 2 flips (8 forwards per image)"
        ),
    )
    parser.add_argument(
        "--dilate-unknown",
        nargs="?",
        const=11,
        default=0,
        type=_dilate_size,
        metavar="PX",
        help=(
            "after padding, dilate the trimap's unknown region with a PX x PX ellipse, "
            "1 <= PX <= 255; the known pixels kept are those left (the official GCA/HOP demos' "
            "--dilate_unknown; the official demos use 11, the value when PX is left out)"
        ),
    )
    parser.add_argument(
        "--pad-margin",
        type=bounded_int(0),
        metavar="N",
        help=(
            "reflect border added on every side before rounding up to the model's multiple; "
            "32 reproduces the official GCA/HOP demo.py, 0 pads bottom/right only like the "
            "official Composition-1k testers (default: the model's own)"
        ),
    )
    parser.add_argument(
        "--tile",
        type=bounded_int(1),
        metavar="N",
        help=(
            "crop-and-stitch: run the model on N x N patches (plus the model's padding), "
            "blended with weights falling linearly towards each patch's border; peak memory "
            "then depends on N, not the photo (default: the model's own strategy, see "
            "matting list)"
        ),
    )
    parser.add_argument(
        "--overlap",
        type=bounded_int(0),
        metavar="M",
        help="least overlap of neighbouring patches in pixels (default: the model's, else N/4)",
    )
    parser.add_argument(
        "--tile-batch",
        type=bounded_int(1),
        metavar="B",
        help="patches per forward with --tile (default: the model's, else 4)",
    )
    parser.add_argument(
        "--device",
        default=None,
        type=device_argument,
        help="cpu, cuda, cuda:1, mps (default: cpu)",
    )
    parser.add_argument(
        "--bit-depth", type=int, choices=(8, 16), default=8, help="PNG bit depth of the output"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def _thresholds(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH integers, got {text!r}") from None
    if not 0 < low < high <= 255:
        raise argparse.ArgumentTypeError(f"need 0 < LOW < HIGH <= 255, got {text!r}")
    return low, high


def _dilate_size(text: str) -> int:
    from matting_core.inference import MAX_DILATE_UNKNOWN

    return bounded_int(1, MAX_DILATE_UNKNOWN)(text)


def _strategy(args: argparse.Namespace, info):
    """The crop-and-stitch strategy the options ask for, or None for the model's own."""
    import dataclasses

    from matting_core.strategy import CropAndStitch

    if args.tile is None and args.overlap is None and args.tile_batch is None:
        return None
    declared = info.inference if isinstance(info.inference, CropAndStitch) else None
    if args.tile is None and declared is None:
        raise InputError(
            f"--overlap and --tile-batch need --tile N: model {args.model!r} runs on the whole "
            "image"
        )
    base = declared if declared is not None else CropAndStitch()
    tile = args.tile if args.tile is not None else base.tile
    overlap = args.overlap
    if overlap is None:
        overlap = base.overlap if declared is not None and base.overlap < tile else tile // 4
    batch = args.tile_batch if args.tile_batch is not None else base.batch_size
    return dataclasses.replace(base, tile=tile, overlap=overlap, batch_size=batch)


def _jobs(args: argparse.Namespace) -> list[tuple[Path, Path | None, Path]]:
    """(image, trimap or None, output) for each image to predict."""
    from matting_data import list_images, match_by_stem

    single = args.image is not None
    folder = any(x is not None for x in (args.images, args.trimaps, args.out))
    if single and folder:
        raise InputError(
            "give either IMAGE [TRIMAP] -o ALPHA or --images/--trimaps/--out, not both"
        )
    if single:
        if args.output is None:
            raise InputError("missing -o ALPHA: where to write the alpha matte")
        if args.output.suffix.lower() != ".png":
            raise InputError(f"the output {args.output} must be a .png file")
        return [(args.image, args.trimap, args.output)]
    if args.images is None or args.out is None:
        raise InputError(
            "nothing to predict: give IMAGE [TRIMAP] -o ALPHA, or --images DIR --out DIR"
        )
    require_dir(args.images, "image")
    if args.trimaps is not None:
        require_dir(args.trimaps, "trimap")
    if args.trimaps is None:
        return [(image, None, args.out / f"{image.stem}.png") for image in list_images(args.images)]
    matched, missing = match_by_stem(args.images, args.trimaps)
    absent = missing.get(Path(args.trimaps), [])
    if absent:
        shown = ", ".join(absent[:8]) + (" …" if len(absent) > 8 else "")
        print(
            f"matting predict: warning: {len(absent)} image(s) have no trimap in "
            f"{args.trimaps} and are skipped: {shown}",
            file=sys.stderr,
        )
    return [(image, trimap, args.out / f"{image.stem}.png") for image, trimap in matched]


def _check_outputs(args: argparse.Namespace, jobs: list[tuple[Path, Path | None, Path]]) -> None:
    """Before any work: no output replaces an input, and every output can be written."""
    inputs = [path for image, trimap, _ in jobs for path in (image, trimap) if path is not None]
    inputs += [
        p for p in (args.images, args.trimaps, args.checkpoint, args.image, args.trimap) if p
    ]
    output_dirs = [args.out] if args.out is not None else []
    refuse_overwriting_inputs([out for _, _, out in jobs], inputs, output_dirs=output_dirs)
    if args.out is not None:
        prepare_output_dir(args.out, "output")
    else:
        prepare_output_file(args.output, "output")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from matting_core.inference import predict
    from matting_core.model_loading import load_model
    from matting_core.models import get_model_info, parse_overrides
    from matting_data import read_image, read_trimap, write_alpha

    jobs = _jobs(args)
    _check_outputs(args, jobs)
    info = get_model_info(args.model)
    overrides = parse_overrides(info.config_class, args.overrides)
    strategy = _strategy(args, info)
    for image, trimap, _ in jobs:
        if info.needs_trimap and trimap is None:
            raise InputError(
                f"model {args.model!r} needs a trimap for {image}; give TRIMAP (or --trimaps "
                "DIR), or use a trimap-free model ('matting list' shows trimap: no)"
            )
    loaded = load_model(args.model, args.checkpoint, **overrides)
    if loaded.bundled:
        variant = f" (a {loaded.name!r} model)" if loaded.name != args.model else ""
        print(
            f"matting predict: no --checkpoint given, using the bundled weights of "
            f"{args.model!r}{variant}: {loaded.weights}",
            file=sys.stderr,
        )
    info = loaded.info
    if args.device:
        loaded.model.to(args.device)
    if not jobs:
        raise InputError(f"no images found in {args.images}")

    todo = [job for job in jobs if not (args.resume and job[2].exists())]
    if len(todo) < len(jobs):
        print(
            f"matting predict: {len(jobs) - len(todo)} output(s) already exist, skipped (--resume)",
            file=sys.stderr,
        )
    show = len(todo) > 1 and not args.no_progress
    for image_path, trimap_path, out_path in tqdm(
        todo, unit="img", desc="predict", disable=not show, file=sys.stderr
    ):
        image = read_image(image_path)
        trimap = (
            read_trimap(trimap_path, thresholds=args.trimap_thresholds)
            if trimap_path is not None
            else None
        )
        if trimap is not None and trimap.shape != image.shape[:2]:
            from matting_data import check_same_size

            check_same_size(image=(image_path, image), trimap=(trimap_path, trimap))
        alpha = predict(
            loaded.model,
            image,
            trimap,
            info=info,
            device=args.device,
            pad_margin=args.pad_margin,
            tta=args.tta,
            dilate_unknown=args.dilate_unknown,
            strategy=strategy,
            name=loaded.name,
            progress=not args.no_progress,
        )
        # free the photo (float32, 12 bytes a pixel) before the PNG encoder's temporaries:
        # on a tiled 36-megapixel photo this is the peak
        del image, trimap
        write_alpha(out_path, alpha, bit_depth=args.bit_depth)
    if len(jobs) == 1:
        print(f"alpha matte written to {jobs[0][2]}")
    else:
        print(f"{len(todo)} alpha matte(s) written to {args.out}")
    return 0
