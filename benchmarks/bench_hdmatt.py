"""Benchmark: HDMatt's crop-and-stitch with context patches on a 6000 x 6000 real photo.

A bundled real photo (``--sample``, alphamatting.com GT18 by default) with its ground truth and
Trimap1 is upscaled to ``--size`` (image and alpha bicubic, trimap nearest; the photo-making
and measuring helpers of ``bench_tiled_inference.py``).  Each case is one ``matting predict``
on the CPU in a fresh process, end to end; peak memory is that process's peak resident set,
time its wall clock, SAD over the unknown region against the upscaled alpha:

* **hdmatt-small, no context** (``--set context_patches=0``: the paper's ablation without
  CPC context, run with the same bundled weights) -- the baseline of the ratios;
* **hdmatt-small** as shipped: 320 patches, overlap 80, each query patch with the top K of
  N = 30 candidate context patches of the image (their features computed once and cached);
* **gca-small tiled**: matting-gca's bundled model through the same crop-and-stitch (320,
  overlap 80) without context.

The goal (issue 16) is a peak of at most 3 GB at 6000 x 6000.  Not a test: run by hand; the
full size runs several hundred patches, about an hour on a 2-core CPU.

    python benchmarks/bench_hdmatt.py [--size 6000] [--sample GT18] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiled_inference import make_photo, sad

CASES = (
    ("hdmatt-small, no context", ["--model", "hdmatt-small", "--set", "context_patches=0"]),
    ("hdmatt-small", ["--model", "hdmatt-small"]),
    ("gca-small tiled", ["--model", "gca-small", "--tile", "320", "--overlap", "80"]),
)


def run_predict(image: Path, trimap: Path, out: Path, extra: list[str]) -> dict:
    """One ``matting predict`` in a fresh process: seconds and peak MiB."""
    command = [sys.executable, "-m", "matting_core.cli", "predict", *extra]
    command += [str(image), str(trimap), "-o", str(out), "--no-progress"]
    measured = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parent / "bench_tiled_inference.py"),
            "--measure",
            *command,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        return {"error": f"exit {result['code']}: {result['tail']}"}
    return {"seconds": result["seconds"], "peak_mib": result["peak_mib"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="side of the large photo")
    parser.add_argument("--sample", default="GT18", choices=("GT17", "GT18", "GT19", "GT20"))
    parser.add_argument("--budget-gb", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="folder for the photos and mattes (kept)")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-hdmatt-"))
    folder.mkdir(parents=True, exist_ok=True)
    image, trimap, alpha = make_photo(args.sample, args.size, folder)
    print(
        f"{args.sample} upscaled to {args.size}x{args.size}, CPU ({os.cpu_count()} cores), one "
        "matting predict process per case, bundled weights",
        flush=True,
    )
    rows = []
    for label, extra in CASES:
        out = folder / f"{label.replace(' ', '_').replace(',', '')}.png"
        result = {"label": label, **run_predict(image, trimap, out, extra)}
        if "error" not in result:
            result["sad"] = sad(out, alpha, trimap)
        print(f"  {label}: {result}", file=sys.stderr, flush=True)
        rows.append(result)
    base = rows[0]
    budget_mib = args.budget_gb * 1e9 / 2**20
    print(
        f"\n{'case':<25} | {'time s':>7} | {'time ratio':>10} | {'peak MiB':>8} | "
        f"{'peak ratio':>10} | {'SAD (unknown)':>13}"
    )
    print("-" * 88)
    for row in rows:
        if "error" in row:
            print(f"{row['label']:<25} | {row['error']}")
            continue
        t_ratio = row["seconds"] / base["seconds"] if "seconds" in base else float("nan")
        m_ratio = row["peak_mib"] / base["peak_mib"] if "peak_mib" in base else float("nan")
        over = " (over budget)" if row["peak_mib"] > budget_mib else ""
        print(
            f"{row['label']:<25} | {row['seconds']:>7.0f} | {t_ratio:>9.2f}x | "
            f"{row['peak_mib']:>8.0f} | {m_ratio:>9.2f}x | {row['sad']:>13.2f}{over}"
        )
    print(f"\nratios against {base['label']!r}, measured in the same run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
