"""The README's comparison table: every model the installed toolkit can run without a
checkpoint, on the bundled real photos, with both trimaps, laid out as the papers' tables.

    python scripts/compare_models.py [--out compare-output] [--models gca closed-form ...]

For each model (default: every registered model that loads without ``--checkpoint``, i.e. has
no weights or ships bundled ones; two names sharing the same bundled weights count once; and
each combination ``MODEL+REFINER`` its ``ModelInfo.measured`` states, run as ``matting
predict --model MODEL --refine REFINER``) and
each trimap folder of ``matting samples`` (``trimap/`` = Trimap1, the small unknown band;
``trimap2/`` = Trimap2, the large one), it runs ``matting predict --images --trimaps --out``,
then ``matting evaluate`` on all models' folders at once (DIM metrics over the unknown region,
SAD/Grad/Conn in thousands, MSE raw), and prints a markdown table with the mean per model and
trimap and the seconds per image of the predict call.

The two commands are run through ``matting_core.cli.main`` in this process, so the times leave
out Python's start-up and imports; one warm-up predict per model on a 96-pixel copy of a
sample first loads weights, numba's cached kernels and torch's thread pool.  The table and the
per-image CSVs are written to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import statistics
import sys
import time
from pathlib import Path

TRIMAPS = {"trimap": "Trimap1", "trimap2": "Trimap2"}
METRICS = ("sad", "mse", "grad", "conn")


def _run(argv: list[str]) -> str:
    """``matting ARGV`` in this process; its stdout, or exit with its stderr on failure."""
    from matting_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    if code != 0:
        sys.exit(f"matting {' '.join(argv)} failed ({code}):\n{err.getvalue()}")
    return out.getvalue()


def runnable_models() -> list[str]:
    """Registered models that load without a checkpoint, one per set of bundled weights."""
    from matting_core import CheckpointError, list_models, load_model

    names, seen = [], set()
    for name in list_models():
        try:
            loaded = load_model(name)
        except CheckpointError:
            continue  # needs a checkpoint the toolkit does not ship
        key = str(loaded.weights) if loaded.weights is not None else name
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names


def refined_combinations(models: list[str]) -> list[str]:
    """``MODEL+REFINER`` for every refiner a model's ``ModelInfo.measured`` names that is
    installed."""
    from matting_core import get_model_info
    from matting_core.refinement import list_refiners

    refiners = set(list_refiners())
    return [
        f"{model}+{m.refine}"
        for model in models
        for m in get_model_info(model).measured
        if m.refine is not None and m.refine in refiners
    ]


def _predict_options(spec: str) -> list[str]:
    """``--model MODEL [--refine REFINER]`` of a ``MODEL[+REFINER]`` row."""
    model, _, refine = spec.partition("+")
    return ["--model", model, *(["--refine", refine] if refine else [])]


def _label(spec: str) -> str:
    """The row's name: the model, the variant its bundled weights were trained as, and the
    refiner."""
    from matting_core import load_model

    model, _, refine = spec.partition("+")
    loaded = load_model(model)
    label = f"`{model}`" + (f" (bundled `{loaded.name}`)" if loaded.name != model else "")
    return label + (f" + `--refine {refine}`" if refine else "")


def _warm_up(model: str, samples: Path, folder: Path) -> None:
    import cv2

    from matting_data import read_image, read_trimap, write_image

    image = read_image(samples / "image" / "GT17.png")
    trimap = read_trimap(samples / "trimap" / "GT17.png")
    size = (96, round(96 * trimap.shape[0] / trimap.shape[1]))
    image_path = write_image(
        folder / "image.png", cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    )
    trimap_path = write_image(
        folder / "trimap.png", cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST)
    )
    _run(
        [
            "predict",
            *_predict_options(model),
            str(image_path),
            str(trimap_path),
            "-o",
            str(folder / "alpha.png"),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("compare-output"))
    parser.add_argument(
        "--models",
        nargs="+",
        help=(
            "MODEL or MODEL+REFINER; default: every model that runs without a checkpoint, and "
            "the refined combinations their figures state"
        ),
    )
    parser.add_argument("--workers", type=int, default=2, help="matting evaluate --workers")
    args = parser.parse_args()

    from matting_data import list_samples, samples_dir

    samples = samples_dir()
    if args.models:
        models = args.models
    else:
        models = runnable_models()
        models += refined_combinations(models)
    print(
        f"models: {', '.join(models)}; photos: {', '.join(list_samples())} ({samples})",
        file=sys.stderr,
    )
    seconds: dict[tuple[str, str], float] = {}
    for model in models:
        _warm_up(model, samples, args.out / "warm-up" / model)
        for folder in TRIMAPS:
            pred = args.out / folder / model
            images = len(list((samples / "image").glob("*.png")))
            start = time.perf_counter()
            _run(
                [
                    "predict",
                    *_predict_options(model),
                    "--images",
                    str(samples / "image"),
                    "--trimaps",
                    str(samples / folder),
                    "--out",
                    str(pred),
                    "--no-progress",
                ]
            )
            seconds[model, folder] = (time.perf_counter() - start) / images
            print(
                f"  {model} {TRIMAPS[folder]}: {seconds[model, folder]:.2f} s/image",
                file=sys.stderr,
                flush=True,
            )

    means: dict[tuple[str, str], dict[str, float]] = {}
    for folder in TRIMAPS:
        scores = args.out / f"scores-{folder}.csv"
        preds = [arg for model in models for arg in ("--pred", str(args.out / folder / model))]
        _run(
            [
                "evaluate",
                *preds,
                "--gt",
                str(samples / "alpha"),
                "--trimap",
                str(samples / folder),
                "--csv",
                str(scores),
                "--workers",
                str(args.workers),
                "--no-progress",
            ]
        )
        rows = list(csv.DictReader(scores.open()))
        for model in models:
            mine = [row for row in rows if row["method"] == model]
            means[model, folder] = {
                m: statistics.mean(float(row[m]) for row in mine) for m in METRICS
            }

    order = sorted(models, key=lambda m: -means[m, "trimap"]["sad"])  # worst first, as papers
    header = (
        "| model | "
        + " | ".join(f"{label} SAD | MSE | Grad | Conn | s / image" for label in TRIMAPS.values())
        + " |"
    )
    lines = [header, "| --- |" + " ---: |" * (5 * len(TRIMAPS))]
    for model in order:
        cells = []
        for folder in TRIMAPS:
            m = means[model, folder]
            cells += [
                f"{m['sad']:.2f}",
                f"{m['mse']:.4f}",
                f"{m['grad']:.2f}",
                f"{m['conn']:.2f}",
                f"{seconds[model, folder]:.2f}",
            ]
        lines.append(f"| {_label(model)} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    (args.out / "table.md").write_text(table + "\n")
    print(table)
    print(
        f"\nper-image scores: {args.out}/scores-trimap.csv, {args.out}/scores-trimap2.csv",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
