"""Throughput of the GCA / HOP training augmentation per DataLoader worker process.

Foregrounds mimic Adobe Image Matting ones (about 1500-2000 px on the long side): the real
alphamatting.com photos and alphas (800 px) are upscaled to ``--long-side`` px. Backgrounds are
other photos at their native 800 px (COCO-sized). Every sample carries a second foreground
(``fg2``/``alpha2``) for the two-foreground combination, as a dataset would provide it.

Measured in one process with OpenCV limited to ``--cv2-threads`` threads (a DataLoader worker
should not fan out): CPU seconds per sample (process time, so other load on the machine does
not inflate it), median, mean and p90 over ``--samples`` samples, for

* "augment": the pipeline alone, inputs already decoded in memory;
* "decode+augment": reading the PNG foreground/alphas (both foregrounds) and the JPEG
  background with ``matting_data.read_image``/``read_alpha``, then the pipeline.

Then: workers needed to feed a GPU step of T seconds at batch B = ceil(B / (rate x T)).
Defaults: B = 10 (GCA release: batch 10 per GPU, 4 GPUs), T = 0.25 s -- an *assumed* step time
for GCA at 512x512 on one H100, not a measurement; pass ``--step-time`` for yours.

    python benchmarks/bench_augmentation.py [--samples 60] [--long-side 1800] [--step-time 0.25]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import matting_data as md
from matting_data.pipelines import gca_pipeline, hop_pipeline

CASES = [f"GT{i:02d}" for i in range(1, 21)]


def find_shared_data() -> Path:
    env = os.environ.get("MATTING_SHARED_DATA")
    if env:
        return Path(env)
    for ancestor in Path(__file__).resolve().parents:
        for candidate in (ancestor.parent / "shared" / "data", ancestor / "shared" / "data"):
            if (candidate / "alphamatting_training_lowres").is_dir():
                return candidate
    sys.exit("shared data not found: set MATTING_SHARED_DATA")


def upscale(array: np.ndarray, long_side: int, interpolation: int) -> np.ndarray:
    h, w = array.shape[:2]
    ratio = long_side / max(h, w)
    size = (round(w * ratio), round(h * ratio))
    return np.clip(cv2.resize(array, size, interpolation=interpolation), 0.0, 1.0)


def build_data(lowres: Path, folder: Path, long_side: int, n_fg: int) -> list[dict]:
    """Write ``n_fg`` large foregrounds (PNG fg + alpha) and the other photos as JPEG bgs."""
    fg_cases, bg_cases = CASES[:n_fg], CASES[n_fg:]
    items = []
    for case in fg_cases:
        fg = upscale(md.read_image(lowres / "image" / f"{case}.png"), long_side, cv2.INTER_CUBIC)
        alpha = upscale(
            md.read_alpha(lowres / "alpha" / f"{case}.png"), long_side, cv2.INTER_LINEAR
        )
        md.write_image(folder / f"{case}_fg.png", fg)
        md.write_alpha(folder / f"{case}_alpha.png", alpha)
        items.append({"fg": folder / f"{case}_fg.png", "alpha": folder / f"{case}_alpha.png"})
    bgs = []
    for case in bg_cases:
        bgr = cv2.imread(str(lowres / "image" / f"{case}.png"), cv2.IMREAD_COLOR)
        path = folder / f"{case}_bg.jpg"
        cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        bgs.append(path)
    return [
        {
            "fg": items[i % n_fg]["fg"],
            "alpha": items[i % n_fg]["alpha"],
            "fg2": items[(i + 1) % n_fg]["fg"],
            "alpha2": items[(i + 1) % n_fg]["alpha"],
            "bg": bgs[i % len(bgs)],
        }
        for i in range(len(bgs) * n_fg)
    ]


def load(paths: dict) -> dict:
    return {
        "fg": md.read_image(paths["fg"]),
        "alpha": md.read_alpha(paths["alpha"]),
        "fg2": md.read_image(paths["fg2"]),
        "alpha2": md.read_alpha(paths["alpha2"]),
        "bg": md.read_image(paths["bg"]),
    }


def time_samples(pipeline, paths: list[dict], decoded: list[dict] | None, n: int) -> list[float]:
    """CPU seconds of each sample (process time: unaffected by other load on the machine)."""
    times = []
    for i in range(n):
        rng = np.random.default_rng(i)
        start = time.process_time()
        sample = decoded[i % len(decoded)] if decoded is not None else load(paths[i % len(paths)])
        out = pipeline(sample, rng)
        times.append(time.process_time() - start)
        assert out["image"].shape[:2] == (512, 512)
    return times


def step_breakdown(paths: list[dict], decoded: list[dict], n: int) -> list[tuple[str, float]]:
    """Mean CPU seconds of each GCA step (and of decoding) over ``n`` samples. Means, not
    medians: a step that runs on a fraction of the samples (p=0.5, p=0.25) has median 0."""
    pipeline = gca_pipeline()
    names = ["decode (fg, alpha, fg2, alpha2, bg)"] + [
        type(t).__name__ for t in pipeline.transforms
    ]
    per_step: list[list[float]] = [[] for _ in names]
    for i in range(n):
        start = time.process_time()
        load(paths[i % len(paths)])
        per_step[0].append(time.process_time() - start)
        rng = np.random.default_rng(i)
        sample = decoded[i % len(decoded)]
        for k, transform in enumerate(pipeline.transforms, start=1):
            start = time.process_time()
            sample = transform(sample, rng)
            per_step[k].append(time.process_time() - start)
    return [(name, statistics.fmean(ts)) for name, ts in zip(names, per_step, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=60, help="samples timed per row")
    parser.add_argument("--long-side", type=int, default=1800, help="foreground long side, px")
    parser.add_argument("--foregrounds", type=int, default=6, help="distinct foregrounds")
    parser.add_argument("--batch", type=int, default=10, help="batch per GPU (GCA: 10)")
    parser.add_argument("--step-time", type=float, default=0.25, help="GPU step seconds")
    parser.add_argument("--cv2-threads", type=int, default=1)
    args = parser.parse_args()
    cv2.setNumThreads(args.cv2_threads)

    lowres = find_shared_data() / "alphamatting_training_lowres"
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_data(lowres, Path(tmp), args.long_side, args.foregrounds)
        decoded = [load(p) for p in paths[: args.foregrounds]]
        shape = decoded[0]["fg"].shape
        print(
            f"foregrounds: {args.foregrounds} x ~{shape[1]}x{shape[0]} px (upscaled real photos), "
            f"backgrounds: {len(CASES) - args.foregrounds} real photos ~800 px; crop 512; "
            f"cv2 threads {args.cv2_threads}; {args.samples} samples per row"
        )
        for p in paths[:2]:  # warm-up (page cache, OpenCV init)
            gca_pipeline()(load(p), np.random.default_rng(0))

        rows = []
        for name, factory in (("GCA", gca_pipeline), ("HOP (GCA + random interp.)", hop_pipeline)):
            for mode, source in (("augment", decoded), ("decode+augment", None)):
                times = time_samples(factory(), paths, source, args.samples)
                median, mean = statistics.median(times), statistics.fmean(times)
                p90 = sorted(times)[int(0.9 * (len(times) - 1))]
                rows.append((name, mode, median, mean, p90))

        print("\nCPU ms per sample (one worker = one core); rate = samples/s per worker")
        print(
            f"{'pipeline':28} {'mode':16} {'median':>7} {'mean':>7} {'p90':>7} "
            f"{'rate(median)':>13} {'rate(mean)':>11}"
        )
        for name, mode, median, mean, p90 in rows:
            print(
                f"{name:28} {mode:16} {median * 1e3:7.1f} {mean * 1e3:7.1f} {p90 * 1e3:7.1f} "
                f"{1 / median:13.2f} {1 / mean:11.2f}"
            )

        print("\nGCA, mean CPU ms per step (inputs in memory except 'decode'):")
        for step, seconds in step_breakdown(paths, decoded, max(20, args.samples // 2)):
            print(f"  {step:36} {seconds * 1e3:8.1f}")

    b, t = args.batch, args.step_time
    print(
        f"\nDataLoader workers (one core each) to keep one GPU fed: ceil(B / (rate x T)), "
        f"B = {b}, rate = 1 / mean CPU time (the sustained rate; the median under-counts the "
        f"p=0.5 two-foreground combination); T = {t} s is an ASSUMED step time (GCA, 512 "
        f"crops, one H100), not measured."
    )
    steps = sorted({0.1, t, 0.5, 1.0})
    header = "".join(f"{f'T={s:g}s':>9}" for s in steps)
    print(f"{'pipeline / mode':46}{header}")
    for name, mode, _, mean, _ in rows:
        cells = "".join(f"{math.ceil(b * mean / s):9d}" for s in steps)
        print(f"{name + ' / ' + mode:46}{cells}")
    gca_mean = next(r[3] for r in rows if r[0] == "GCA" and r[1] == "decode+augment")
    print(
        f"\n=> GCA with decoding: {1 / gca_mean:.2f} samples/s per worker; at B={b}, T={t} s "
        f"the GPU consumes {b / t:.0f} samples/s, i.e. {math.ceil(b * gca_mean / t)} workers "
        f"(cores) per GPU; the paper's batch 40 on 4 GPUs needs 4x that."
    )


if __name__ == "__main__":
    main()
