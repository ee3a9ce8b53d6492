"""Benchmark: ``matting predict`` on real photos, fp32 against every reduced precision.

For every registered model with bundled weights (one row per set of weights: ``gca`` runs
its bundled ``gca-small``), and for every precision the device supports, this runs
``matting predict`` on

- the four bundled photos (GT17-GT20 of alphamatting.com, ~800 x 600, with their trimaps),
- GT19 upscaled to ``--size`` squared (bicubic image, nearest trimap, bilinear ground truth),
- random images and trimaps of the same sizes (the value-independent cost),

each in a fresh process, and prints the seconds, the peak memory (ru_maxrss of the
process), the speed-up over fp32, the mean SAD / MSE over the unknown region (DIM protocol,
against the ground truth) and their change from fp32, and real / random time.  The
attention models' cost used to depend on the values (subnormal floats in the attention
softmax on real photos): real / random near 1 says it no longer does.

    python benchmarks/bench_real_photos.py [--quick] [--size 2048] [--models gca]
        [--precisions fp32 bf16] [--device cpu] [--threads N] [--clock wall|cpu]

``--quick``: GT19 only and no upscaled photo (a shared machine's short run).
``--checkpoint hop=PATH`` adds a model with other weights (e.g. the official-format fixture
checkpoints of GCA / HOP: ``python shared/fixtures/hop-official/make_ckpt.py keys.json
hop.pth``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHOTOS = ("GT17", "GT18", "GT19", "GT20")


def child(argv: list[str], threads: int) -> None:
    """Run ``matting predict ARGV`` here and print its seconds and this process's peak RSS."""
    import torch

    from matting_core.cli import main

    if threads:
        torch.set_num_threads(threads)
    start, cpu_start = time.perf_counter(), time.process_time()
    code = main(["predict", *argv, "--no-progress"])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "wall": wall, "cpu": cpu, "peak_mib": peak_mib}))


def run_predict(argv: list[str], threads: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(argv), "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"matting predict {' '.join(argv)} failed:\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def make_inputs(root: Path, photos: tuple[str, ...], size: int) -> dict[str, tuple[Path, Path]]:
    """Folders of images / trimaps / alphas: 'real' (the photos, plus GT19 at size x size when
    size > 0) and 'random' of the same sizes.  Returns {kind: (image dir, trimap dir)}."""
    import cv2
    import numpy as np

    from matting_data import read_alpha, read_image, read_trimap, samples_dir, write_image

    samples = samples_dir()
    rng = np.random.default_rng(0)
    made = {}
    for kind in ("real", "random", "big", "big-random"):
        for sub in ("image", "trimap", "alpha"):
            (root / kind / sub).mkdir(parents=True)
        made[kind] = (root / kind / "image", root / kind / "trimap")

    def write(kind: str, name: str, image, trimap, alpha) -> None:
        write_image(root / kind / "image" / f"{name}.png", image)
        write_image(root / kind / "trimap" / f"{name}.png", trimap)
        write_image(root / kind / "alpha" / f"{name}.png", alpha)

    def random_like(kind: str, name: str, image) -> None:
        noise = rng.integers(0, 256, image.shape, dtype=np.uint8)
        trimap = rng.choice(np.array([0, 128, 255], np.uint8), image.shape[:2])
        write(kind, name, noise, trimap, rng.integers(0, 256, image.shape[:2], dtype=np.uint8))

    for name in photos:
        image = read_image(samples / "image" / f"{name}.png")
        trimap = read_trimap(samples / "trimap" / f"{name}.png")
        alpha = np.rint(read_alpha(samples / "alpha" / f"{name}.png") * 255).astype(np.uint8)
        write("real", name, image, trimap, alpha)
        random_like("random", name, image)
    if size:
        image = read_image(samples / "image" / "GT19.png")
        trimap = read_trimap(samples / "trimap" / "GT19.png")
        alpha = read_alpha(samples / "alpha" / "GT19.png")
        big = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
        big_trimap = cv2.resize(trimap, (size, size), interpolation=cv2.INTER_NEAREST)
        big_alpha = cv2.resize(alpha, (size, size), interpolation=cv2.INTER_LINEAR)
        write("big", "GT19", big, big_trimap, np.rint(big_alpha * 255).astype(np.uint8))
        random_like("big-random", "GT19", big)
    return made


def scores(pred_dir: Path, truth_dir: Path) -> tuple[float, float]:
    """Mean SAD (thousands) and MSE over the unknown region, predictions masked (DIM)."""
    import numpy as np

    from matting_core.evaluation import score_alpha
    from matting_data import read_alpha, read_trimap

    rows = []
    for pred in sorted(pred_dir.glob("*.png")):
        gt = np.rint(read_alpha(truth_dir / "alpha" / pred.name) * 255).astype(np.uint8)
        trimap = read_trimap(truth_dir / "trimap" / pred.name)
        rows.append(score_alpha(read_alpha(pred), gt, trimap))
    return float(np.mean([r["sad"] for r in rows])), float(np.mean([r["mse"] for r in rows]))


def bundled_models() -> list[str]:
    """One registered name per bundled weights file (the first name in sorted order)."""
    from matting_core import get_model_info, list_models

    seen, names = set(), []
    for name in list_models():
        info = get_model_info(name)
        path = info.default_weights_path() if info.default_weights else None
        if path is not None and path not in seen:
            seen.add(path)
            names.append(name)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="default: every model with bundled weights")
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="MODEL=PATH",
        help="run MODEL with these weights, e.g. hop-all-data=hop.pth built by the official "
        "fixture's make_ckpt.py (repeatable; without --models, only these run)",
    )
    parser.add_argument(
        "--precisions", nargs="+", help="default: fp32 and every reduced mode the device runs"
    )
    parser.add_argument("--size", type=int, default=2048, help="upscaled photo side (0: none)")
    parser.add_argument("--quick", action="store_true", help="GT19 only, no upscaled photo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="seconds of the wall clock, or CPU seconds of the process (steadier on a shared "
        "machine, with --threads 1)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(json.loads(args.child), args.threads)
        return 0

    import torch

    from matting_core.precision import REDUCED_PRECISIONS, precision_supported

    # --checkpoint alone runs only the checkpoints
    default = [] if args.checkpoint else bundled_models()
    runs = [(name, None) for name in (args.models or default)]
    for item in args.checkpoint:
        name, _, path = item.partition("=")
        runs.append((name, path))
    precisions = args.precisions or [
        "fp32",
        *(p for p in REDUCED_PRECISIONS if precision_supported(p, args.device)),
    ]
    photos = ("GT19",) if args.quick else PHOTOS
    size = 0 if args.quick else args.size
    threads = args.threads or torch.get_num_threads()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"matting predict on real photos, {args.device} ({threads} threads, load average "
        f"{load:.1f} at the start, {os.cpu_count()} cores); {args.clock} seconds, including "
        "loading the model; "
        "peak = ru_maxrss of the process; SAD (thousands) and MSE: mean over the unknown "
        "region (DIM protocol); random = random image + trimap of the same size"
    )
    header = (
        f"{'model':<11} {'input':<14} {'prec':<5} {'seconds':>8} {'x fp32':>7} {'peak MiB':>9} "
        f"{'SAD':>8} {'dSAD %':>7} {'MSE':>8} {'dMSE %':>7} {'random s':>9} {'real/rnd':>8}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = make_inputs(root, photos, size)
        cases = [("real", "random", f"{len(photos)} photos")]
        if size:
            cases.append(("big", "big-random", f"GT19 {size}^2"))
        for model, checkpoint in runs:
            for real, random, label in cases:
                base: dict[str, float] = {}
                for precision in precisions:
                    measured = {}
                    for kind in (real, random):
                        images, trimaps = inputs[kind]
                        out = root / "out" / f"{model}-{bool(checkpoint)}" / kind / precision
                        argv = ["--model", model, "--device", args.device]
                        argv += ["--checkpoint", checkpoint] if checkpoint else []
                        argv += ["--precision", precision, "--images", str(images)]
                        argv += ["--trimaps", str(trimaps), "--out", str(out)]
                        measured[kind] = run_predict(argv, threads)
                    sad, mse = scores(
                        root / "out" / f"{model}-{bool(checkpoint)}" / real / precision, root / real
                    )
                    seconds = measured[real][args.clock]
                    if precision == precisions[0]:
                        base = {"seconds": seconds, "sad": sad, "mse": mse}
                    print(
                        f"{model:<11} {label:<14} {precision:<5} {seconds:8.2f} "
                        f"{base['seconds'] / seconds:7.2f} {measured[real]['peak_mib']:9.0f} "
                        f"{sad:8.3f} {100 * (sad / base['sad'] - 1):+7.2f} {mse:8.5f} "
                        f"{100 * (mse / base['mse'] - 1):+7.2f} "
                        f"{measured[random][args.clock]:9.2f} "
                        f"{seconds / measured[random][args.clock]:8.2f}",
                        flush=True,
                    )
    print(
        "x fp32 and the changes are against the first precision listed; an 'auto' precision "
        "is declared per model (ModelInfo.auto_precisions) only where |dSAD| < 1%."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
