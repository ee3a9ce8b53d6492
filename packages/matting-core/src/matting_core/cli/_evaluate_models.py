"""``matting evaluate --model``: predict a model's mattes of ``--images`` before scoring.

Everything is checked before the first forward (model names, trimaps for models that need
them, options that belong to one model, the precision the device runs); each model's
mattes are written as ``matting predict`` writes them (8-bit PNGs), into a scratch folder
that :mod:`matting_core.cli.evaluate` scores like a ``--pred`` folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matting_core.cli._checks import require_dir
from matting_core.errors import InputError


def check_model_options(args: argparse.Namespace) -> None:
    """Before any work: the options of ``--model`` go together and name what exists."""
    if not args.model:
        given = [
            option
            for option, value in (
                ("--checkpoint", args.checkpoint),
                ("--set", args.overrides),
                ("--refine", args.refine),
                ("--precision", args.precision != "fp32"),
            )
            if value
        ]
        if given:
            raise InputError(f"{given[0]} sets how a model runs: give --model NAME with it")
        return
    if len(args.model) > 1 and (args.checkpoint or args.overrides):
        option = "--checkpoint" if args.checkpoint else "--set"
        raise InputError(f"{option} belongs to one model: give a single --model with it")
    if args.images is None:
        raise InputError("--model predicts from photos: give --images DIR (matched by name)")
    require_dir(args.images, "image")
    from matting_core.models import get_model_info, parse_overrides
    from matting_core.precision import resolve_precision

    for name in args.model:
        info = get_model_info(name)
        if info.needs_trimap and args.trimap is None:
            raise InputError(f"model {name!r} needs a trimap: give --trimap DIR")
        parse_overrides(info.config_class, args.overrides)
        resolve_precision(args.precision, args.device, info.auto_precisions)
    if args.refine is not None:
        from matting_core.refinement import get_refiner_info

        get_refiner_info(args.refine)


def photos_by_name(images: Path, cases: dict[str, tuple[Path, Path | None]]) -> dict[str, Path]:
    """The photo of each case (name -> path); warns about the cases that have none."""
    from matting_data import list_images

    found = {path.stem: path for path in list_images(images)}
    photos = {name: found[name] for name in cases if name in found}
    if not photos:
        raise InputError(f"no photo in {images} matches a ground-truth alpha by name")
    absent = sorted(set(cases) - set(photos))
    if absent:
        shown = ", ".join(absent[:8]) + (" …" if len(absent) > 8 else "")
        print(
            f"matting evaluate: warning: {len(absent)} case(s) have no photo in {images}, "
            f"so --model skips them: {shown}",
            file=sys.stderr,
        )
    return photos


def predict_into(
    args: argparse.Namespace,
    name: str,
    cases: dict[str, tuple[Path, Path | None]],
    photos: dict[str, Path],
    folder: Path,
) -> tuple[str, list[tuple[Path, Path, Path | None]]]:
    """Predict model ``name``'s matte of every photo into ``folder``.

    Returns:
        the row label (model, refiner, precision when not fp32, checkpoint file) and
        (prediction, ground truth, trimap) for each photo.
    """
    from tqdm import tqdm

    from matting_core.cli.predict import bundled_weights_note
    from matting_core.inference import predict
    from matting_core.model_loading import load_model
    from matting_core.models import get_model_info, parse_overrides
    from matting_core.precision import resolve_precision
    from matting_core.refinement import create_refiner
    from matting_data import check_same_size, read_image, read_trimap, write_alpha

    overrides = parse_overrides(get_model_info(name).config_class, args.overrides)
    loaded = load_model(name, args.checkpoint, **overrides)
    if loaded.bundled:
        print(f"matting evaluate: {bundled_weights_note(name, loaded)}", file=sys.stderr)
    loaded.model.to(args.device)
    precision = resolve_precision(args.precision, args.device, loaded.info.auto_precisions)
    refiner = create_refiner(args.refine) if args.refine is not None else None
    label = name + (f" + {args.refine}" if args.refine else "")
    label += f" [{precision}]" if precision != "fp32" else ""
    label += f" ({args.checkpoint.name})" if args.checkpoint is not None else ""
    folder.mkdir(parents=True)
    rows = []
    for stem, photo in tqdm(
        photos.items(),
        unit="img",
        desc=f"predict {label}",
        disable=args.no_progress,
        file=sys.stderr,
    ):
        gt, trimap_path = cases[stem]
        image = read_image(photo)
        trimap = read_trimap(trimap_path) if trimap_path is not None else None
        if trimap is not None:
            check_same_size(image=(photo, image), trimap=(trimap_path, trimap))
        alpha = predict(
            loaded.model,
            image,
            trimap,
            info=loaded.info,
            device=args.device,
            name=loaded.name,
            precision=precision,
            refine=refiner,
        )
        out = folder / f"{stem}.png"
        write_alpha(out, alpha)
        rows.append((out, gt, trimap_path))
    return label, rows
