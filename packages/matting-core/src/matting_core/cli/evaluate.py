"""``matting evaluate``: score predicted mattes against ground truth.

Files are matched by name (stem) across the prediction, ground-truth and trimap
folders; images are scored in parallel worker processes.  ``--model`` scores a model
directly: its mattes of ``--images`` are predicted first (as ``matting predict`` would
write them, 8-bit PNGs, into a temporary folder) and then scored like a ``--pred`` folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from matting_core.cli._checks import (
    bounded_int,
    device_argument,
    precision_argument,
    prepare_output_file,
    refuse_overwriting_inputs,
    require_dir,
)
from matting_core.cli._evaluate_models import check_model_options, photos_by_name, predict_into
from matting_core.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score predicted alpha mattes with SAD, MSE, Grad and Conn",
        description=(
            "Score predicted alpha mattes against ground truth with the Deep Image Matting "
            "metrics (SAD, Grad and Conn in thousands, MSE raw). With --trimap, over the "
            "trimap's unknown region, predictions first set to the trimap's known values "
            "(0 / 1) outside it (the standard protocol); without --trimap, over the whole "
            "image (the protocol of HAttMatting's trimap-free evaluation). Files are matched "
            "by name; the table and the CSV say which protocol was used. --model scores a "
            "model directly: it predicts the mattes of --images first."
        ),
    )
    parser.add_argument(
        "--pred",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="folder of predicted alpha mattes (repeat to compare several methods)",
    )
    parser.add_argument("--gt", type=Path, required=True, metavar="DIR", help="ground-truth alphas")
    parser.add_argument(
        "--trimap",
        type=Path,
        metavar="DIR",
        help="trimaps: score their unknown regions (default: score whole images)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="add the trimap-only baseline (unknown region = 0.5), the row every model must beat",
    )
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write per-image rows here")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="worker processes (default: %(default)s)",
    )
    parser.add_argument(
        "--convention",
        choices=("dim", "mmagic"),
        default="dim",
        help="metric definitions: the DIM MATLAB code (default) or mmagic's port",
    )
    parser.add_argument(
        "--no-mask",
        action="store_true",
        help="score predictions as they are, without setting the trimap's known regions",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    models = parser.add_argument_group("score a model directly (predict --images, then score)")
    models.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="MODEL",
        help=(
            "registered model to run on the photos of --images (matched by name) and score; "
            "repeat to compare models, alongside any --pred folders"
        ),
    )
    models.add_argument(
        "--checkpoint",
        type=Path,
        metavar="CKPT",
        help="weights for the one --model (default: its bundled weights)",
    )
    models.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="option of the one --model, as in 'matting predict --set' (repeatable)",
    )
    models.add_argument(
        "--refine",
        metavar="REFINER",
        help="refine every --model's mattes with this refiner ('matting list refiners')",
    )
    models.add_argument(
        "--device",
        default="cpu",
        type=device_argument,
        help="where --model runs: cpu (default), cuda, cuda:N, mps, auto",
    )
    precision_argument(models)
    pictures = parser.add_argument_group("where the model fails, as pictures")
    pictures.add_argument(
        "--sheet",
        type=Path,
        metavar="SHEET.png",
        help=(
            "write a contact sheet of the worst images: image | trimap | prediction | ground "
            "truth | error heat map, one row each, worst SAD first"
        ),
    )
    pictures.add_argument(
        "--worst",
        type=bounded_int(1, 1000),
        default=None,
        metavar="N",
        help="how many images the sheet shows (default 8)",
    )
    pictures.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help=(
            "the photos, matched by name: what --model predicts from, and the sheet's first column"
        ),
    )
    pictures.add_argument(
        "--html",
        type=Path,
        metavar="REPORT.html",
        help="write one self-contained HTML page: the score tables and the sheet",
    )
    parser.set_defaults(run=run)


def _score_one(
    method: str,
    pred_path: Path | None,
    gt_path: Path,
    trimap_path: Path | None,
    mask: bool,
    convention: str,
):
    """Worker: read one case and score it (``pred_path`` None = trimap baseline; no
    ``trimap_path`` = the whole image)."""
    from matting_core.evaluation import (
        ImageScore,
        as_uint8_if_exact,
        protocol_name,
        score_alpha,
        trimap_baseline_alpha,
    )
    from matting_data import check_same_size, read_alpha, read_trimap

    gt = as_uint8_if_exact(read_alpha(gt_path))
    arrays = {"ground_truth": (gt_path, gt)}
    trimap = None
    if trimap_path is not None:
        trimap = read_trimap(trimap_path)
        arrays["trimap"] = (trimap_path, trimap)
    if pred_path is None:
        assert trimap is not None
        pred = trimap_baseline_alpha(trimap)
    else:
        pred = as_uint8_if_exact(read_alpha(pred_path))
        arrays["prediction"] = (pred_path, pred)
    check_same_size(**arrays)
    scores = score_alpha(pred, gt, trimap, mask=mask, convention=convention)
    return ImageScore(
        method=method, image=gt_path.stem, scores=scores, protocol=protocol_name(trimap)
    )


def _unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``(3)``… when a row already has it."""
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    taken.add(candidate)
    return candidate


def run(args: argparse.Namespace) -> int:
    from matting_data import match_by_stem

    if not args.pred and not args.baseline and not args.model:
        raise InputError(
            "nothing to evaluate: give --pred DIR or --model NAME (one or more) and/or --baseline"
        )
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    whole = args.trimap is None
    if whole and args.baseline:
        raise InputError("--baseline needs --trimap DIR: the trimap-only baseline is the trimap")
    if whole and args.no_mask:
        raise InputError("--no-mask needs --trimap DIR: without trimaps nothing is masked")
    require_dir(args.gt, "ground-truth")
    if not whole:
        require_dir(args.trimap, "trimap")
    for pred_dir in args.pred:
        require_dir(pred_dir, "prediction")
    check_model_options(args)

    if whole:
        cases = {gt.stem: (gt, None) for (gt,) in match_by_stem(args.gt)[0]}
        if not cases:
            raise InputError(f"no ground-truth alpha in {args.gt}")
    else:
        gt_and_trimaps, missing = match_by_stem(args.gt, args.trimap)
        _report_missing(missing, ("ground truth", "trimap"), (args.gt, args.trimap))
        if not gt_and_trimaps:
            raise InputError(
                f"no ground-truth alpha in {args.gt} has a trimap of the same name in {args.trimap}"
            )
        cases = {gt.stem: (gt, trimap) for gt, trimap in gt_and_trimaps}

    jobs: list[tuple[str, Path | None, Path, Path | None]] = []
    taken: set[str] = {"trimap-only baseline"}
    others = (args.gt,) if whole else (args.gt, args.trimap)
    labels = ("prediction", "ground truth") if whole else ("prediction", "ground truth", "trimap")
    for pred_dir in args.pred:
        method = _unique_name(pred_dir.name or str(pred_dir), taken)
        matched, missing = match_by_stem(pred_dir, *others)
        _report_missing(missing, labels, (pred_dir, *others))
        if not matched:
            what = "ground-truth alpha" if whole else "ground-truth alpha and trimap"
            raise InputError(f"no prediction in {pred_dir} matches a {what} by name")
        jobs += [(method, pred, gt, None if whole else rest[0]) for pred, gt, *rest in matched]
    photos = photos_by_name(args.images, cases) if args.model else {}
    if args.csv is not None:
        inputs = [args.gt, *([] if whole else [args.trimap]), *args.pred, *photos.values()]
        inputs += [path for job in jobs for path in job[1:] if path is not None]
        inputs += [path for case in cases.values() for path in case if path is not None]
        refuse_overwriting_inputs([args.csv], inputs)
        prepare_output_file(args.csv, "CSV file")
    # the ground truth and trimaps are inputs too (the baseline's and every model's)
    pictures = _check_pictures(args, [*jobs, *(("", None, *case) for case in cases.values())])

    with tempfile.TemporaryDirectory(prefix="matting-evaluate-") as scratch:
        for number, name in enumerate(args.model):
            label, rows = predict_into(args, name, cases, photos, Path(scratch) / str(number))
            method = _unique_name(label, taken)
            jobs += [(method, pred, gt, trimap) for pred, gt, trimap in rows]
        if args.baseline:
            jobs += [("trimap-only baseline", None, gt, trimap) for gt, trimap in cases.values()]
        return _score(args, cases, whole, jobs, pictures)


def _score(
    args: argparse.Namespace,
    cases: dict,
    whole: bool,
    jobs: list[tuple[str, Path | None, Path, Path | None]],
    pictures: dict[str, Path] | None,
) -> int:
    """Score every job (in worker processes), print the table, write the CSV and pictures."""
    from tqdm import tqdm

    from matting_core.evaluation import format_table, summarise, write_csv

    mask = not args.no_mask
    results = []
    workers = min(args.workers, len(jobs))
    progress = tqdm(
        total=len(jobs), unit="img", desc="evaluate", disable=args.no_progress, file=sys.stderr
    )
    with progress:
        if workers == 1:
            for job in jobs:
                results.append(_score_one(*job, mask, args.convention))
                progress.update()
        else:
            pool = ProcessPoolExecutor(max_workers=workers)
            try:
                futures = [pool.submit(_score_one, *job, mask, args.convention) for job in jobs]
                for future in as_completed(futures):
                    results.append(future.result())
                    progress.update()
            finally:
                pool.shutdown(cancel_futures=True)

    order = {name: i for i, name in enumerate(dict.fromkeys(job[0] for job in jobs))}
    results.sort(key=lambda r: (order[r.method], r.image))
    if whole:
        protocol = "whole image: every pixel scored, no trimap"
    elif mask:
        protocol = (
            "unknown region: predictions set to the trimap's known values outside it (DIM protocol)"
        )
    else:
        protocol = "unknown region: predictions scored unmasked"
    print(
        format_table(
            summarise(results),
            title=f"{args.gt} ({len(cases)} images, {args.convention} metrics; {protocol})",
        )
    )
    print("SAD, Grad and Conn are in thousands (/1000); MSE is the raw mean squared error.")
    if args.csv:
        write_csv(args.csv, results)
        print(f"per-image rows written to {args.csv}")
    if pictures is not None:
        _write_pictures(args, jobs, results, pictures, protocol)
    return 0


def _check_pictures(args: argparse.Namespace, jobs: list) -> dict[str, Path] | None:
    """Before any work: the sheet / report options and their files; the photos by name."""
    if args.sheet is None and args.html is None:
        if args.worst is not None:
            raise InputError("--worst goes with --sheet or --html")
        if args.images is not None and not args.model:
            raise InputError("--images goes with --model, --sheet or --html")
        return None
    if not args.pred and not args.model:
        raise InputError("--sheet and --html show predictions: give --pred DIR or --model NAME")
    for path, option, suffixes in (
        (args.sheet, "--sheet", (".png",)),
        (args.html, "--html", (".html", ".htm")),
    ):
        if path is not None and path.suffix.lower() not in suffixes:
            raise InputError(f"{option} {path} must end in {' or '.join(suffixes)}")
    images: dict[str, Path] = {}
    if args.images is not None:
        from matting_data import list_images

        require_dir(args.images, "image")
        images = {path.stem: path for path in list_images(args.images)}
    outputs = [p for p in (args.sheet, args.html) if p is not None]
    inputs = [args.gt, args.trimap, *args.pred, *images.values()]
    inputs += [path for job in jobs for path in job[1:] if path is not None]
    inputs += [args.csv] if args.csv is not None else []
    refuse_overwriting_inputs(outputs, inputs)
    if args.sheet is not None and args.html is not None and _same_file(args.sheet, args.html):
        raise InputError(f"--sheet and --html are the same file {args.sheet}")
    for path in outputs:
        prepare_output_file(path, "output")
    return images


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _write_pictures(
    args: argparse.Namespace,
    jobs: list,
    results: list,
    images: dict[str, Path],
    protocol: str,
) -> None:
    from matting_core.evaluation import summarise
    from matting_core.report import failure_sheet, html_report, sheet_columns, worst_cases
    from matting_data import write_image
    from matting_data.atomic import atomic_write_bytes

    files = {(method, gt.stem): (pred, gt, trimap) for method, pred, gt, trimap in jobs if pred}
    count = args.worst or 8
    cases = worst_cases(results, files, images, count)
    missing = [c.score.image for c in cases if c.image is None]
    if args.images is not None and missing:
        print(
            f"matting evaluate: warning: no photo in {args.images} for {', '.join(missing)}; "
            "the sheet leaves out the image column",
            file=sys.stderr,
        )
    sheet = failure_sheet(cases)
    caption = f"The {len(cases)} worst image(s) by SAD: " + " | ".join(sheet_columns(cases))
    if args.sheet is not None:
        write_image(args.sheet, sheet)
        print(f"contact sheet of the {len(cases)} worst image(s) written to {args.sheet}")
    if args.html is not None:
        page = html_report(
            summarise(results),
            results,
            title=f"matting evaluate: {args.gt}",
            protocol=protocol,
            sheet=sheet,
            sheet_caption=caption,
        )
        atomic_write_bytes(args.html, page.encode("utf-8"))
        print(f"HTML report written to {args.html}")


def _report_missing(missing: dict, labels: tuple[str, ...], folders: tuple[Path, ...]) -> None:
    """Print one warning line per folder that lacks some matched names."""
    if not missing:
        return
    for label, folder in zip(labels, folders, strict=True):
        names = missing.get(folder) or missing.get(str(folder)) or []
        if names:
            shown = ", ".join(sorted(names)[:8]) + (" …" if len(names) > 8 else "")
            print(
                f"matting evaluate: warning: {len(names)} {label} file(s) missing in {folder}: {shown}",
                file=sys.stderr,
            )
