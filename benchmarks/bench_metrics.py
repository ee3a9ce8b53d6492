"""Benchmark of matting_metrics on a realistic large matte.

Builds a synthetic but realistic case (a smooth object with a soft edge and hair-like
strands, an unknown band of a few hundred thousand pixels, a prediction = ground truth +
blur + noise, masked with the trimap as the evaluation protocol does), times every metric
(median of ``--repeat`` runs) and a straightforward connectivity baseline (one
``scipy.ndimage.label`` + ``np.bincount`` per threshold), checks that the fast connectivity
gives exactly the baseline's value, and prints times as ratios against that baseline.

    python benchmarks/bench_metrics.py [--size 2000] [--repeat 5] [--seed 0]

Exits with status 1 if the fast and baseline connectivity values differ.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage

import matting_metrics


def make_case(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (pred, gt, trimap) triple of shape (size, size), all uint8.

    gt: a star-shaped object (smooth random radius) covering roughly a third of the image,
    with a linear soft edge of ~1.5 % of the size and ~80 blurred one-pixel strands
    ("hair") growing out of its border. trimap: unknown = the 0 < gt < 255 region dilated
    by ~1 % of the size. pred: gt blurred and noised, then masked with the trimap.
    """
    rng = np.random.default_rng(seed)
    s = size / 2000.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cy, cx = size * 0.52, size * 0.48
    radius = np.hypot(yy - cy, xx - cx)
    theta = np.arctan2(yy - cy, xx - cx)
    harmonics = [(k, rng.normal(0.0, 40.0 * s / k), rng.uniform(0, 2 * np.pi)) for k in range(2, 9)]

    def boundary_radius(angle: np.ndarray | float) -> np.ndarray | float:
        return 620.0 * s + sum(a * np.cos(k * angle + ph) for k, a, ph in harmonics)

    edge = 30.0 * s
    body = np.clip((boundary_radius(theta) - radius) / edge + 0.5, 0.0, 1.0)

    hair = np.zeros((size, size), dtype=np.float32)
    for _ in range(80):
        angle = rng.uniform(-np.pi, np.pi)
        start = boundary_radius(angle) - 20.0 * s  # strands grow from inside the soft edge
        y, x = cy + start * np.sin(angle), cx + start * np.cos(angle)
        heading = angle + rng.normal(0, 0.3)
        points = [(x, y)]
        for _ in range(int(rng.integers(15, 50))):
            heading += rng.normal(0, 0.15)
            x += 4.0 * s * np.cos(heading)
            y += 4.0 * s * np.sin(heading)
            points.append((x, y))
        pts = np.round(np.array(points)).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(hair, [pts], False, float(rng.uniform(0.3, 1.0)), 1, cv2.LINE_AA)
    hair = cv2.GaussianBlur(hair, (0, 0), 0.8)
    alpha = np.maximum(body, np.clip(hair * 1.6, 0.0, 1.0))
    gt = np.rint(alpha * 255.0).astype(np.uint8)

    transition = ((gt > 0) & (gt < 255)).astype(np.uint8)
    k = max(3, round(21 * s) | 1)
    unknown = cv2.dilate(transition, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    trimap = np.where(unknown, 128, np.where(gt == 255, 255, 0)).astype(np.uint8)

    blurred = cv2.GaussianBlur(gt.astype(np.float64), (0, 0), 2.0 * s)
    noisy = blurred + rng.normal(0.0, 6.0, gt.shape)
    pred = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    pred = matting_metrics.mask_with_trimap(pred, trimap)
    return pred, gt, trimap


def baseline_connectivity(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Straightforward DIM connectivity: one scipy labelling + bincount per threshold."""
    p = pred.astype(np.float64)
    g = gt.astype(np.float64)
    level = np.full(p.shape, -1.0)
    for i in range(1, 11):
        both = (10.0 * p >= 255.0 * i) & (10.0 * g >= 255.0 * i)
        labels, n = ndimage.label(both.T)  # transposed: components in column-major order
        omega = np.zeros(p.shape, dtype=bool)
        if n:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            omega = (labels == np.argmax(sizes)).T
        level[(level == -1) & ~omega] = (i - 1) / 10
    level[level == -1] = 1.0
    d_p = p / 255.0 - level
    d_g = g / 255.0 - level
    phi_p = 1.0 - d_p * (d_p >= 0.15)
    phi_g = 1.0 - d_g * (d_g >= 0.15)
    return float(np.abs(phi_p - phi_g)[trimap == 128].sum() / 1000.0)


def median_times(functions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median wall time in seconds of each function over ``repeat`` runs.

    The runs are interleaved (one of each per round, after a warm-up round), so a change in
    machine load affects all functions alike and the ratios stay meaningful.
    """
    for fn in functions.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="image side in pixels")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per function")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the test case")
    args = parser.parse_args(argv)

    pred, gt, trimap = make_case(args.size, args.seed)
    n_unknown = int(np.count_nonzero(trimap == 128))
    print(f"case: {args.size}x{args.size} uint8, |U| = {n_unknown} pixels, repeat = {args.repeat}")

    ours = matting_metrics.connectivity_error(pred, gt, trimap)
    reference = baseline_connectivity(pred, gt, trimap)
    identical = ours == reference

    pred_f = pred.astype(np.float32) / np.float32(255)
    baseline = "conn baseline (scipy)"
    functions: dict[str, Callable[[], object]] = {
        baseline: lambda: baseline_connectivity(pred, gt, trimap),
        "sad": lambda: matting_metrics.sad(pred, gt, trimap),
        "mse": lambda: matting_metrics.mse(pred, gt, trimap),
        "grad": lambda: matting_metrics.gradient_error(pred, gt, trimap),
        "conn": lambda: matting_metrics.connectivity_error(pred, gt, trimap),
        "conn, float32 pred": lambda: matting_metrics.connectivity_error(pred_f, gt, trimap),
        "conn, mmagic": lambda: matting_metrics.connectivity_error(
            pred, gt, trimap, convention="mmagic"
        ),
        "compute_all": lambda: matting_metrics.compute_all(pred, gt, trimap),
    }
    times = median_times(functions, args.repeat)
    base = times[baseline]

    print(f"{'function':<24}{'median ms':>11}{'time / baseline':>17}")
    for name, seconds in times.items():
        print(f"{name:<24}{seconds * 1e3:>11.1f}{seconds / base:>17.3f}")
    print(f"conn speed-up vs baseline: {base / times['conn']:.1f}x")
    print(f"conn identical to baseline: {'yes' if identical else 'NO'} ({ours!r} vs {reference!r})")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
