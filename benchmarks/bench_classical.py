"""Benchmark: time and peak memory per megapixel of the classical matting methods.

Each method of matting-classical (closed-form, knn, lkm, random-walk, lbdm, and
classical-fusion: three of them solved, then fused by its bundled network) mattes real photos
through ``matting_core.predict`` with its default config:

* the four bundled samples (GT17-GT20, alphamatting.com, about 0.45 MP each, Trimap1): solved
  whole, as pymatting would;
* GT17 upscaled 3x (2400x1695, 4.1 MP): above every method's ``max_pixels``, so solved
  coarse-to-fine in tiles (matting_classical.tiling);
* closed-form on the same 4.1 MP photo solved whole (``max_pixels`` raised), for contrast, with
  the largest and mean |difference| of its matte from the tiled one.

Every case runs in a fresh subprocess.  Timing: one warm-up solve on the photo shrunk to 96 px
wide (numba's cached kernels load there), then ``--repeat`` timed ``predict`` calls, the
fastest counted (other load on the machine only ever adds time).  Memory: the process's
peak resident memory during that call above its resident memory before it (the peak is reset
through ``/proc/self/clear_refs`` first; ru_maxrss where that is not allowed).  Figures are per
megapixel of the photo and, as ratios, against closed-form at the native size measured in the
same run (mean over the four samples).  Not a test: run by hand or with ``nox -s benchmarks``.

    python benchmarks/bench_classical.py [--methods closed-form knn] [--samples GT17]
        [--scale 3] [--repeat 1] [--mem-limit-gb G]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from attention_memory import run_case

METHODS = ("closed-form", "knn", "lkm", "random-walk", "lbdm", "classical-fusion")
SAMPLES = ("GT17", "GT18", "GT19", "GT20")


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def load_sample(name: str, scale: float):
    import cv2
    import numpy as np

    from matting_data import read_image, read_trimap, samples_dir

    root = samples_dir()
    image = read_image(root / "image" / f"{name}.png")
    trimap = read_trimap(root / "trimap" / f"{name}.png")
    if scale != 1:
        height, width = trimap.shape
        size = (round(width * scale), round(height * scale))
        image = np.clip(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), 0, 255)
        trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST)
    return image.astype(np.uint8), trimap


def child(method: str, sample: str, scale: float, options: str, repeat: int, out: str) -> None:
    import cv2
    import numpy as np

    from matting_core import load_model, predict

    loaded = load_model(method, progress=False, **json.loads(options))
    image, trimap = load_sample(sample, scale)
    height, width = trimap.shape
    small = (96, max(8, round(96 * height / width)))
    predict(
        loaded.model,
        cv2.resize(image, small, interpolation=cv2.INTER_AREA),
        cv2.resize(trimap, small, interpolation=cv2.INTER_NEAREST),
        info=loaded.info,
    )
    times, extra = [], 0.0
    for _ in range(repeat):
        exact = _reset_peak()
        base = _status_mib("VmRSS")
        start = time.perf_counter()
        alpha = predict(loaded.model, image, trimap, info=loaded.info)
        times.append(time.perf_counter() - start)
        peak = (
            _status_mib("VmHWM")
            if exact
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        extra = max(extra, peak - base)
    np.save(out, alpha)
    print(
        json.dumps(
            {
                "seconds": min(times),
                "extra_mib": max(0.0, extra),
                "megapixels": height * width / 1e6,
                "size": f"{width}x{height}",
                "out": out,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--samples", nargs="+", default=list(SAMPLES), choices=SAMPLES)
    parser.add_argument("--scale", type=float, default=3.0, help="upscaling of the large photo")
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed predicts per case; the fastest counts"
    )
    parser.add_argument("--mem-limit-gb", type=float, default=None)
    parser.add_argument(
        "--child", nargs=6, metavar=("METHOD", "SAMPLE", "SCALE", "OPTIONS", "REPEAT", "OUT")
    )
    args = parser.parse_args()
    if args.child:
        method, sample, scale, options, repeat, out = args.child
        child(method, sample, float(scale), options, int(repeat), out)
        return 0

    import numpy as np

    script = str(Path(__file__).resolve())
    large = args.samples[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-classical-"))

    def case(method: str, sample: str, scale: float, options: dict | None = None) -> dict:
        out = str(tmp / f"{method}-{sample}-{scale}-{len(options or {})}.npy")
        result = run_case(
            script,
            [method, sample, str(scale), json.dumps(options or {}), str(args.repeat), out],
            args.mem_limit_gb,
        )
        label = f"{method} {sample}{'' if scale == 1 else f' x{scale:g}'}"
        shown = result.get("error") or f"{result['seconds']:.1f} s, {result['extra_mib']:.0f} MiB"
        print(f"  {label}: {shown}", file=sys.stderr, flush=True)
        return result

    print(
        f"classical matting, default configs, CPU ({os.cpu_count()} cores), one predict per "
        f"case; native = mean over {', '.join(args.samples)}; large = {large} upscaled "
        f"{args.scale:g}x (tiled)",
        flush=True,
    )
    rows: list[tuple[str, str, list[dict]]] = []
    for method in args.methods:
        rows.append((method, "native", [case(method, s, 1.0) for s in args.samples]))
        rows.append((method, "large, tiled", [case(method, large, args.scale)]))
    whole = None
    if "closed-form" in args.methods:
        whole = case("closed-form", large, args.scale, {"max_pixels": 10**9})
        rows.append(("closed-form", "large, whole", [whole]))

    def per_mp(results: list[dict], key: str) -> float | None:
        if any("error" in r for r in results):
            return None
        return statistics.mean(r[key] / r["megapixels"] for r in results)

    baseline = next((r for m, s, r in rows if m == "closed-form" and s == "native"), rows[0][2])
    base_time, base_mem = per_mp(baseline, "seconds"), per_mp(baseline, "extra_mib")
    print(
        f"\n{'method':<12} | {'photos':<13} | {'MP':>5} | {'s / MP':>7} | {'time ratio':>10} | "
        f"{'MiB / MP':>8} | {'memory ratio':>12} | {'peak MiB':>8}"
    )
    print("-" * 95)
    for method, size, results in rows:
        seconds, mib = per_mp(results, "seconds"), per_mp(results, "extra_mib")
        megapixels = statistics.mean(r.get("megapixels", 0) for r in results)
        if seconds is None:
            error = next(r["error"] for r in results if "error" in r)
            print(f"{method:<12} | {size:<13} | {megapixels:>5.2f} | {error}")
            continue
        peak = max(r["extra_mib"] for r in results)
        time_ratio = f"{seconds / base_time:.2f}x" if base_time else "-"
        mem_ratio = f"{mib / base_mem:.2f}x" if base_mem else "-"
        print(
            f"{method:<12} | {size:<13} | {megapixels:>5.2f} | {seconds:>7.2f} | "
            f"{time_ratio:>10} | {mib:>8.0f} | {mem_ratio:>12} | {peak:>8.0f}"
        )
    tiled = next(r[0] for m, s, r in rows if m == "closed-form" and s == "large, tiled")
    if whole is not None and "error" not in whole and "error" not in tiled:
        unknown = load_sample(large, args.scale)[1] == 128
        diff = np.abs(np.load(whole["out"]) - np.load(tiled["out"]))[unknown]
        print(
            f"\nclosed-form on {large} x{args.scale:g}, tiled vs whole matte over the unknown "
            f"region: max |diff| {diff.max():.3f}, mean |diff| {diff.mean():.5f}"
        )
    print(
        "MiB = peak resident memory during predict above the memory before it; ratios against "
        "closed-form at the native size"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
