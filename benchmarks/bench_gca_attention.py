"""Benchmark: GCA Matting with chunked (linear-memory) attention vs the full-matrix attention.

The release's guided contextual attention builds an ``L x L`` score matrix with
``L = (H/16) (W/16)``, so its memory grows with the square of the image area; matting-gca
processes the queries in chunks (``GCAConfig.attention_chunk``).  For each input size this
runs the whole network (randomly initialised, eval mode, batch 1, CPU) once with chunked
attention and once with ``attention_chunk=None`` (the full matrix), each in a fresh
subprocess so that ``ru_maxrss`` is that case's own peak, and prints seconds, peak RSS and
the ratios full / chunked.  It also checks that both give the same alpha (max abs diff).

Timing: one forward at 256x256 first (thread pool and kernel warm-up), then the minimum
of ``--repeat`` forwards at the size.  A case that dies (out of memory, or beyond
``--mem-limit-gb`` when given) is reported as OOM.

    python benchmarks/bench_gca_attention.py [--sizes 512 1024 2048] [--repeat 1]
        [--chunk 1024] [--threads N] [--mem-limit-gb G]
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


def _inputs(size: int):
    import torch

    gen = torch.Generator().manual_seed(0)
    image = torch.nn.functional.interpolate(
        torch.randn(1, 3, size // 16, size // 16, generator=gen), size=(size, size), mode="bilinear"
    )
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    radius = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2).sqrt() / size
    classes = torch.zeros(size, size, dtype=torch.long)  # background
    classes[radius < 0.35] = 1  # unknown band
    classes[radius < 0.25] = 2  # foreground
    trimap = torch.nn.functional.one_hot(classes, 3).permute(2, 0, 1)[None].float()
    return image, trimap


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(size: int, chunk: int | None, repeat: int, threads: int | None, out: str) -> None:
    import numpy as np
    import torch

    from matting_gca import GCAConfig, GCAMatting

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GCAMatting(GCAConfig(attention_chunk=chunk)).eval()
    for block in (model.encoder.gca, model.decoder.gca):
        # The release initialises the GCA output BN gain to 1e-3 (block ~ identity); a gain of
        # 1 makes the attention visible in alpha, so the diff column means something.
        block.W[1].weight.data.fill_(1.0)
    with torch.inference_mode():
        model(*_inputs(256))
        image, trimap = _inputs(size)
        base = _current_rss_mib()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            alpha = model(image, trimap)["alpha"]
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    np.save(out, alpha[0, 0].numpy())
    print(json.dumps({"seconds": min(times), "peak_mib": peak, "base_mib": base}))


def run_case(args: argparse.Namespace, size: int, chunk: int | None, out: str) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        str(size),
        "none" if chunk is None else str(chunk),
        str(args.repeat),
        str(args.threads or 0),
        out,
    ]

    def limit() -> None:
        if args.mem_limit_gb:
            cap = int(args.mem_limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    proc = subprocess.run(command, capture_output=True, text=True, preexec_fn=limit)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["killed"])[-1]
        oom = "memory" in tail.lower() or proc.returncode in (-9, 137) or "alloc" in tail.lower()
        return {"error": "OOM" if oom else f"failed ({tail[:60]})"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(size: int, c: dict, f: dict) -> str:
    """One table row from the chunked (c) and full (f) results."""
    import numpy as np

    ok = "error" not in c and "error" not in f
    for r in (c, f):
        if "error" not in r:
            r["fwd_mib"] = r["peak_mib"] - r["base_mib"]

    def cell(r: dict, key: str, fmt: str) -> str:
        return r["error"] if "error" in r else format(r[key], fmt)

    def ratio(key: str) -> str:
        return f"{f[key] / c[key]:.2f}x" if ok else "-"

    diff = f"{np.abs(np.load(c['out']) - np.load(f['out'])).max():.1e}" if ok else "-"
    return (
        f"{size:>4}x{size:<4} | {cell(c, 'seconds', '.2f'):>9} | "
        f"{cell(f, 'seconds', '.2f'):>9} | {ratio('seconds'):>17} | "
        f"{cell(c, 'peak_mib', '.0f'):>16} | {cell(f, 'peak_mib', '.0f'):>13} | "
        f"{ratio('peak_mib'):>17} | {cell(c, 'fwd_mib', '.0f'):>15} | "
        f"{cell(f, 'fwd_mib', '.0f'):>12} | {ratio('fwd_mib'):>16} | {diff:>10}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=1024, help="queries per attention chunk")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--mem-limit-gb", type=float, default=None)
    args = parser.parse_args()

    import torch

    print(
        f"GCA Matting forward, CPU ({torch.get_num_threads()} threads), batch 1, eval; "
        f"chunked = attention_chunk {args.chunk}, full = attention_chunk None (L x L matrix)"
    )
    print(
        "peak = ru_maxrss of the case's process; fwd = peak minus the RSS before the timed "
        "forward (model and inputs loaded)"
    )
    header = (
        f"{'size':>9} | {'chunked s':>9} | {'full s':>9} | {'time full/chunked':>17} | "
        f"{'chunked peak MiB':>16} | {'full peak MiB':>13} | {'peak full/chunked':>17} | "
        f"{'chunked fwd MiB':>15} | {'full fwd MiB':>12} | {'fwd full/chunked':>16} | "
        f"{'max |diff|':>10}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            results = {}
            for name, chunk in (("chunked", args.chunk), ("full", None)):
                out = str(Path(tmp) / f"{name}_{size}.npy")
                results[name] = run_case(args, size, chunk, out)
                results[name]["out"] = out
            c, f = results["chunked"], results["full"]
            print(_row(size, c, f), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        size, chunk, repeat, threads, out = sys.argv[2:7]
        child(
            int(size),
            None if chunk == "none" else int(chunk),
            int(repeat),
            int(threads) or None,
            out,
        )
        sys.exit(0)
    sys.exit(main())
