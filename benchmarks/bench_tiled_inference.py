"""Benchmark: crop-and-stitch against whole-image inference, GCA on a 6000 x 6000 real photo.

A bundled real photo (``--sample``, alphamatting.com GT18 by default) with its ground truth and
Trimap1 is upscaled (image and alpha bicubic, trimap nearest) to square sizes and written as
PNG files; each case is one ``matting predict --model gca`` (the bundled weights) on the CPU,
in a fresh process, end to end: reading the photo, the forwards, writing the matte.  Peak
memory is that process's peak resident set (``ru_maxrss`` from ``wait4``, started from a small
measuring process: the resident set of the process a child is forked from counts in its
``ru_maxrss``), time its wall clock.

* **whole image** at ``--whole-sizes`` in increasing order, until one needs more than
  ``--budget-gb``: the largest size under the budget is the largest whole-image fits;
* **tiles** (``--tile``, ``--overlap``, ``--tile-batch``) at that same size, for ratios
  measured in the same run, and with the ground truth: SAD over the unknown region of both
  mattes (the upscaled alpha as ground truth);
* **tiles at ``--size``** (6000 by default): the goal is a peak of at most ``--budget-gb``.

The memory of whole-image inference grows with the photo; of tiles, with the tile.  Not a
test: run by hand or with ``nox -s benchmarks`` (a long run on a small CPU: the 6000 x 6000
case runs about a hundred 576 x 576 windows).

    python benchmarks/bench_tiled_inference.py [--size 6000] [--tile 512] [--overlap 128]
        [--tile-batch 4] [--whole-sizes 1000 1500 2000 2500 3000] [--budget-gb 3] [--sample GT18]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_photo(sample: str, size: int, folder: Path) -> tuple[Path, Path, Path]:
    """image, trimap and alpha of ``sample`` upscaled to size x size, as PNG files."""
    import cv2
    import numpy as np

    from matting_data import (
        read_alpha,
        read_image,
        read_trimap,
        samples_dir,
        write_alpha,
        write_image,
    )

    root = samples_dir()
    paths = tuple(folder / f"{kind}-{size}.png" for kind in ("image", "trimap", "alpha"))
    if all(p.exists() for p in paths):
        return paths  # type: ignore[return-value]
    shape = (size, size)
    cubic = cv2.INTER_CUBIC
    image = cv2.resize(read_image(root / "image" / f"{sample}.png"), shape, interpolation=cubic)
    write_image(paths[0], np.clip(image, 0.0, 1.0))
    del image
    trimap = read_trimap(root / "trimap" / f"{sample}.png")
    write_alpha(paths[1], cv2.resize(trimap, shape, interpolation=cv2.INTER_NEAREST))
    alpha = cv2.resize(read_alpha(root / "alpha" / f"{sample}.png"), shape, interpolation=cubic)
    write_alpha(paths[2], np.clip(alpha, 0.0, 1.0))
    return paths  # type: ignore[return-value]


def measure(command: list[str]) -> None:
    """Run ``command``, then print one JSON line: seconds, peak MiB, exit code, stderr's tail.

    Runs in a small process of its own (``--measure``): a child's ``ru_maxrss`` counts the
    memory of the process it was forked from, which must not be this benchmark's photos.
    """
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        stderr.seek(0)
        messages = stderr.read().decode(errors="replace").strip().splitlines()
    result = {
        "seconds": seconds,
        "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "code": os.waitstatus_to_exitcode(status),
        "tail": (messages or ["killed"])[-1][:80],
    }
    print(json.dumps(result))


def run_predict(image: Path, trimap: Path, out: Path, extra: list[str]) -> dict:
    """One ``matting predict --model gca`` in a fresh process: seconds and peak MiB."""
    command = [sys.executable, "-m", "matting_core.cli", "predict", "--model", "gca"]
    command += [str(image), str(trimap), "-o", str(out), "--no-progress", *extra]
    measured = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        return {"error": f"exit {result['code']}: {result['tail']}"}
    return {"seconds": result["seconds"], "peak_mib": result["peak_mib"]}


def sad(pred_path: Path, gt_path: Path, trimap_path: Path) -> float:
    import numpy as np

    from matting_core.evaluation import as_uint8_if_exact, score_alpha
    from matting_data import read_alpha, read_trimap

    gt = np.rint(read_alpha(gt_path) * 255).astype(np.uint8)
    pred = as_uint8_if_exact(read_alpha(pred_path))
    return score_alpha(pred, gt, read_trimap(trimap_path))["sad"]


def main() -> int:
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="side of the large photo")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=128)
    parser.add_argument("--tile-batch", type=int, default=4)
    parser.add_argument(
        "--whole-sizes", type=int, nargs="+", default=[1000, 1500, 2000, 2500, 3000]
    )
    parser.add_argument("--budget-gb", type=float, default=3.0)
    parser.add_argument("--sample", default="GT18", choices=("GT17", "GT18", "GT19", "GT20"))
    parser.add_argument("--keep", type=Path, help="folder for the photos and mattes (kept)")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-tiles-"))
    folder.mkdir(parents=True, exist_ok=True)
    budget_mib = args.budget_gb * 1e9 / 2**20
    tiles = ["--tile", str(args.tile), "--overlap", str(args.overlap)]
    tiles += ["--tile-batch", str(args.tile_batch)]

    def case(label: str, size: int, extra: list[str]) -> dict:
        image, trimap, alpha = make_photo(args.sample, size, folder)
        out = folder / f"{label}-{size}.png"
        result = {"label": label, "size": size, **run_predict(image, trimap, out, extra)}
        if "error" not in result:
            result["sad"] = sad(out, alpha, trimap)
            shown = f"{result['seconds']:.0f} s, {result['peak_mib']:.0f} MiB peak"
        else:
            shown = result["error"]
        print(f"  {label} {size}x{size}: {shown}", file=sys.stderr, flush=True)
        return result

    print(
        f"GCA (bundled gca-small weights), {args.sample} upscaled, CPU ({os.cpu_count()} cores), "
        f"one matting predict process per case; tiles {args.tile}, overlap {args.overlap}, "
        f"{args.tile_batch} per forward; budget {args.budget_gb:g} GB",
        flush=True,
    )
    whole_rows = []
    for size in sorted(args.whole_sizes):
        result = case("whole", size, [])
        whole_rows.append(result)
        if "error" in result or result["peak_mib"] > budget_mib:
            break
    fitting = [r for r in whole_rows if "error" not in r and r["peak_mib"] <= budget_mib]
    baseline = fitting[-1] if fitting else whole_rows[0]
    same = case("tiles", baseline["size"], tiles)
    large = case("tiles", args.size, tiles)

    print(
        f"\n{'case':<6} | {'size':>11} | {'MP':>5} | {'time s':>7} | {'time ratio':>10} | "
        f"{'peak MiB':>8} | {'peak ratio':>10} | {'SAD (unknown)':>13}"
    )
    print("-" * 90)
    for row in [*whole_rows, same, large]:
        megapixels = row["size"] ** 2 / 1e6
        name = f"{row['size']}x{row['size']}"
        if "error" in row:
            print(f"{row['label']:<6} | {name:>11} | {megapixels:>5.1f} | {row['error']}")
            continue
        time_ratio = row["seconds"] / baseline["seconds"] if "seconds" in baseline else 0
        peak_ratio = row["peak_mib"] / baseline["peak_mib"] if "peak_mib" in baseline else 0
        over = " (over budget)" if row["peak_mib"] > budget_mib else ""
        print(
            f"{row['label']:<6} | {name:>11} | {megapixels:>5.1f} | {row['seconds']:>7.0f} | "
            f"{time_ratio:>9.2f}x | {row['peak_mib']:>8.0f} | {peak_ratio:>9.2f}x | "
            f"{row['sad']:>13.2f}{over}"
        )
    print(
        f"\nratios against whole image at {baseline['size']}x{baseline['size']}, the largest "
        f"size whole-image inference ran within {args.budget_gb:g} GB"
    )
    if len(fitting) >= 2:
        (s0, m0), (s1, m1) = ((r["size"] ** 2 / 1e6, r["peak_mib"]) for r in fitting[-2:])
        slope = (m1 - m0) / (s1 - s0)
        estimate = m1 + slope * (args.size**2 / 1e6 - s1)
        print(
            f"whole image at {args.size}x{args.size}, extrapolated linearly from the last two "
            f"sizes (not run): about {estimate * 2**20 / 1e9:.1f} GB"
        )
    if "error" not in large:
        verdict = "within" if large["peak_mib"] <= budget_mib else "OVER"
        print(
            f"tiles at {args.size}x{args.size}: {large['peak_mib'] * 2**20 / 1e9:.2f} GB peak, "
            f"{verdict} the {args.budget_gb:g} GB goal"
        )
    print(f"photos and mattes in {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
