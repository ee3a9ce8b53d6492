"""``matting predict``: alpha mattes for one image or a folder of images."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from matting_core.cli import _predict_outputs
from matting_core.cli._checks import (
    bounded_int,
    device_argument,
    precision_argument,
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
            "and --pad-margin 32 reproduce the official demos' options. --cutout, --composite "
            "and --save-extras write an RGBA cutout, a composite over a new background and "
            "pictures of the model's attention. Under torchrun, the images of --images are "
            "shared among the processes (every file once, one summary). --auto-trimap gives a "
            "trimap-based model a trimap made from the photo alone by a trimap-free model "
            "(matting trimap --from-model)."
        ),
    )
    parser.add_argument("image", nargs="?", type=Path, help="input image (single-image form)")
    parser.add_argument("trimap", nargs="?", type=Path, help="its trimap (single-image form)")
    parser.add_argument("-o", "--output", type=Path, metavar="ALPHA", help="output alpha PNG")
    parser.add_argument(
        "--model",
        help=(
            "registered model name (see matting list); default: the best the installed "
            "plugins offer for the input (with a trimap: the best measured trimap-based model "
            "or model + refiner; without: a trimap-free model), named on stderr"
        ),
    )
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
        help=(
            "model option, e.g. --set rate=1 (repeatable); VALUE as in 'matting train --set': "
            "a TOML literal, or text read by the option's type (3,4 for a list, none to unset)"
        ),
    )
    parser.add_argument(
        "--refine",
        metavar="REFINER",
        help=(
            "improve the model's matte with a refiner a plugin registers ('matting list "
            "refiners'; closed-form: a closed-form solve on the band where the model is "
            "unsure, from matting-classical); the trimap's known pixels are kept"
        ),
    )
    parser.add_argument(
        "--refine-set",
        dest="refine_overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="refiner option, e.g. --refine-set band=8 (repeatable; as --set)",
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
        help="auto (CUDA when present, else cpu), cpu, cuda, cuda:1, mps (default: cpu)",
    )
    precision_argument(parser)
    parser.add_argument(
        "--bit-depth", type=int, choices=(8, 16), default=8, help="PNG bit depth of the output"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--auto-trimap",
        action="store_true",
        help="no trimap at hand: make each image's trimap from the photo with a trimap-free "
        "model (--trimap-model), as 'matting trimap --from-model' does",
    )
    parser.add_argument(
        "--trimap-model",
        metavar="NAME",
        help="with --auto-trimap: the trimap-free model (default hattmatting-small, its bundled "
        "weights)",
    )
    parser.add_argument(
        "--trimap-checkpoint",
        type=Path,
        metavar="PATH",
        help="with --auto-trimap: weights of the trimap-free model (default: its bundled ones)",
    )
    parser.add_argument(
        "--trimap-band",
        type=bounded_int(0, 4096),
        metavar="PX",
        help="with --auto-trimap: width of the unknown band along the matte's edge (default 24)",
    )
    _predict_outputs.add_arguments(parser)
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


def _choose_model(args: argparse.Namespace, jobs: list, say: bool) -> None:
    """Without --model: set ``args.model`` (and ``args.refine``, unless given) to the best
    combination the installed plugins offer for these inputs, and say which on stderr."""
    from matting_core.choice import best_model

    given = [option for option in ("checkpoint", "overrides") if getattr(args, option)]
    if given:
        option = {"checkpoint": "--checkpoint", "overrides": "--set"}[given[0]]
        raise InputError(f"{option} belongs to one model: give --model NAME with it")
    trimap = any(trimap is not None for _, trimap, _ in jobs) or args.trimaps is not None
    choice = best_model(trimap=trimap)
    args.model = choice.model
    if args.refine is None:
        args.refine = choice.refine
    elif args.refine != choice.refine:  # the user's refiner: a combination nobody measured
        choice = type(choice)(choice.model, args.refine, None)
    if say:
        kind = "an image with a trimap" if trimap else "an image without a trimap"
        print(
            f"matting predict: no --model given: running {choice.describe()}, the best the "
            f"installed plugins offer for {kind}",
            file=sys.stderr,
        )


def _refiner(args: argparse.Namespace):
    """The refiner ``--refine`` and ``--refine-set`` ask for, or None."""
    if args.refine is None:
        if args.refine_overrides:
            raise InputError("--refine-set sets options of a refiner: give --refine REFINER")
        return None
    from matting_core.models import parse_overrides
    from matting_core.refinement import create_refiner, get_refiner_info

    info = get_refiner_info(args.refine)
    return create_refiner(args.refine, **parse_overrides(info.config_class, args.refine_overrides))


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


def _check_outputs(
    args: argparse.Namespace,
    jobs: list[tuple[Path, Path | None, Path]],
    planned: list[_predict_outputs.ImageOutputs] = (),
) -> None:
    """Before any work: no output replaces an input, and every output can be written."""
    inputs = [path for image, trimap, _ in jobs for path in (image, trimap) if path is not None]
    inputs += [
        p for p in (args.images, args.trimaps, args.checkpoint, args.image, args.trimap) if p
    ]
    if getattr(args, "trimap_checkpoint", None):
        inputs.append(args.trimap_checkpoint)
    if getattr(args, "background", None) and Path(args.background).is_file():
        inputs.append(Path(args.background))
    output_dirs = [args.out] if args.out is not None else []
    extra_dirs = _predict_outputs.output_dirs(args)
    outputs = [out for _, _, out in jobs]
    outputs += [path for image in planned for path in image.files()[1:]]
    refuse_overwriting_inputs(outputs, inputs, output_dirs=output_dirs + extra_dirs)
    if args.out is not None:
        prepare_output_dir(args.out, "output")
    else:
        prepare_output_file(args.output, "output")
    for folder in extra_dirs:
        prepare_output_dir(folder, "output")
    if args.image is not None:
        for path in (args.cutout, args.composite):
            if path is not None:
                prepare_output_file(path, "output")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from matting_core.cutout import Background, cutout_and_composite
    from matting_core.extras import capture_extras, has_flow, save_extras, write_flow_key
    from matting_core.inference import Padding, predict
    from matting_core.model_loading import load_model
    from matting_core.models import get_model_info, parse_overrides
    from matting_core.sharding import gather, shard_from_environment, shard_group
    from matting_core.strategy import WholeImage
    from matting_data import read_image, read_trimap, write_alpha

    shard = shard_from_environment()
    jobs = _jobs(args)
    if args.model is None:
        _choose_model(args, jobs, shard.is_main)
    planned = _predict_outputs.plan(args, jobs)
    _check_outputs(args, jobs, planned)
    background = Background.parse(args.background) if args.background is not None else None
    info = get_model_info(args.model)
    if args.save_extras is not None and not info.extra_outputs:
        raise InputError(
            f"model {args.model!r} declares no outputs besides alpha, so --save-extras has "
            "nothing to draw"
        )
    overrides = parse_overrides(info.config_class, args.overrides)
    refiner = _refiner(args)
    strategy = _strategy(args, info)
    if args.save_extras is not None and (
        strategy is not None or not isinstance(info.inference, WholeImage)
    ):
        raise InputError(
            "--save-extras draws what one whole-image forward returns; it cannot be combined "
            f"with crop-and-stitch inference (--tile, or model {args.model!r}'s own)"
        )
    auto = _auto_trimap_model(args, info, jobs)
    for image, trimap, _ in jobs:
        if info.needs_trimap and trimap is None and auto is None:
            raise InputError(
                f"model {args.model!r} needs a trimap for {image}; give TRIMAP (or --trimaps "
                "DIR), or use a trimap-free model ('matting list' shows trimap: no)"
            )
    loaded = load_model(args.model, args.checkpoint, **overrides)
    if loaded.bundled and shard.is_main:
        print(f"matting predict: {bundled_weights_note(args.model, loaded)}", file=sys.stderr)
    info = loaded.info
    device = shard.device(args.device)
    if device:
        loaded.model.to(device)
    from matting_core.precision import resolve_precision

    # checked (one sentence, exit 2) before any image is read
    precision = resolve_precision(args.precision, device or "cpu", info.auto_precisions)
    if not jobs:
        raise InputError(f"no images found in {args.images}")
    if args.save_extras is not None and has_flow(info) and shard.is_main:
        write_flow_key(args.save_extras)

    mine = shard.take(list(zip(jobs, planned, strict=True)))
    todo = [(job, out) for job, out in mine if not (args.resume and out.done())]
    skipped = len(mine) - len(todo)
    show = len(jobs) > 1 and not args.no_progress and shard.is_main
    label = "predict" if shard.world_size == 1 else f"predict (process 1 of {shard.world_size})"
    method = args.foreground_method or "multilevel"
    failure = None
    with shard_group(shard):
        try:
            capturing = (
                capture_extras(loaded.model, info)
                if args.save_extras is not None
                else contextlib.nullcontext(None)
            )
            with capturing as captured:
                for (image_path, trimap_path, out_path), outputs in tqdm(
                    todo, unit="img", desc=label, disable=not show, file=sys.stderr
                ):
                    image = read_image(image_path)
                    trimap = (
                        read_trimap(trimap_path, thresholds=args.trimap_thresholds)
                        if trimap_path is not None
                        else None
                    )
                    if trimap is None and auto is not None:
                        from matting_core.auto_trimap import trimap_from_model

                        trimap = trimap_from_model(
                            image, auto, band=args.trimap_band, device=device
                        ).trimap
                    if trimap is not None and trimap.shape != image.shape[:2]:
                        from matting_data import check_same_size

                        check_same_size(image=(image_path, image), trimap=(trimap_path, trimap))
                    if captured is not None:
                        captured.clear()
                    alpha = predict(
                        loaded.model,
                        image,
                        trimap,
                        info=info,
                        device=device,
                        pad_margin=args.pad_margin,
                        tta=args.tta,
                        dilate_unknown=args.dilate_unknown,
                        strategy=strategy,
                        name=loaded.name,
                        progress=not args.no_progress and shard.is_main,
                        precision=precision,
                        refine=refiner,
                    )
                    cutout_and_composite(
                        image,
                        alpha,
                        cutout=outputs.cutout,
                        composite=outputs.composite,
                        background=background,
                        method=method,
                        bit_depth=args.bit_depth,
                    )
                    if captured is not None and outputs.extras is not None:
                        margin = args.pad_margin if args.pad_margin is not None else info.pad_margin
                        padding = Padding.for_size(
                            *image.shape[:2], info.pad_multiple, margin, info.min_size
                        )
                        save_extras(
                            outputs.extras,
                            captured,
                            info,
                            padding,
                            image.shape[:2],
                            model_name=args.model,
                        )
                    # free the photo (float32, 12 bytes a pixel) before the PNG encoder's
                    # temporaries: on a tiled 36-megapixel photo this is the peak
                    del image, trimap
                    write_alpha(out_path, alpha, bit_depth=args.bit_depth)
        except Exception as exc:  # reported after every process has finished its share
            if shard.world_size == 1:
                raise
            failure = exc
        counts = gather(shard, (len(todo) if failure is None else None, skipped, _why(failure)))
    if shard.is_main:
        _summarise(args, jobs, counts)
    if failure is not None:
        raise failure
    return 0


def _auto_trimap_model(args: argparse.Namespace, info, jobs):
    """The loaded trimap-free model of --auto-trimap, or None without the option."""
    if not args.auto_trimap:
        for option in ("--trimap-model", "--trimap-checkpoint", "--trimap-band"):
            if getattr(args, option[2:].replace("-", "_")) is not None:
                raise InputError(f"{option} goes with --auto-trimap")
        return None
    if not info.needs_trimap:
        raise InputError(
            f"--auto-trimap makes trimaps for trimap-based models; model {args.model!r} needs none"
        )
    if any(trimap is not None for _, trimap, _ in jobs):
        raise InputError("give a trimap (TRIMAP or --trimaps) or --auto-trimap, not both")
    from matting_core.auto_trimap import DEFAULT_TRIMAP_MODEL, load_trimap_model

    name = args.trimap_model or DEFAULT_TRIMAP_MODEL
    loaded = load_trimap_model(name, args.trimap_checkpoint)
    print(
        f"matting predict: trimaps made by {name!r}"
        + (f" with its bundled weights {loaded.weights}" if loaded.bundled else ""),
        file=sys.stderr,
    )
    return loaded


def _why(failure: BaseException | None) -> str | None:
    return None if failure is None else (str(failure) or type(failure).__name__)


def _summarise(
    args: argparse.Namespace,
    jobs: list[tuple[Path, Path | None, Path]],
    counts: list[tuple[int | None, int, str | None]],
) -> None:
    """One summary for all processes: what was written, skipped, and which process failed."""
    written = sum(done for done, _, _ in counts if done is not None)
    skipped = sum(skip for _, skip, _ in counts)
    if skipped:
        print(
            f"matting predict: {skipped} output(s) already exist, skipped (--resume)",
            file=sys.stderr,
        )
    for rank, (_, _, why) in enumerate(counts):
        if why is not None and rank != 0:  # rank 0's own error ends the command
            print(f"matting predict: process {rank} stopped: {why}", file=sys.stderr)
    processes = f" by {len(counts)} processes" if len(counts) > 1 else ""
    if len(jobs) == 1:
        print(f"alpha matte written to {jobs[0][2]}")
    else:
        print(f"{written} alpha matte(s) written to {args.out}{processes}")
    folder = args.image is None
    for name, path in (("cutout", args.cutout), ("composite", args.composite)):
        if path is not None:
            print(f"{name}{'s' if folder else ''} written to {path}")
    if args.save_extras is not None:
        print(f"pictures of the model's extra outputs written to {args.save_extras}")


def bundled_weights_note(asked: str, loaded: Any) -> str:
    """Which network and weights run when ``--model ASKED`` is given no checkpoint."""
    from matting_core.registry import bare_name

    if bare_name(loaded.name) == bare_name(asked):
        return f"no --checkpoint given: {asked!r} runs with its bundled weights {loaded.weights}"
    return (
        f"no --checkpoint given: {asked!r} has no weights of its own, so its plugin's bundled "
        f"weights run, which are a {loaded.name!r} network ({loaded.info.description}): "
        f"{loaded.weights}; for {asked!r} itself pass --checkpoint"
    )
