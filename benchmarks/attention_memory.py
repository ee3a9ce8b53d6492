"""Shared machinery of the attention benchmarks (bench_gca_attention.py, bench_hop_attention.py).

Each case runs in a fresh subprocess (the benchmark script re-invoked with ``--child``), so
that ``ru_maxrss`` is that case's own peak; on CUDA the peak is
``torch.cuda.max_memory_allocated``.  Timing: one small warm-up forward (thread pool, kernels),
then the minimum of ``repeat`` forwards.  A case that dies (out of memory, or beyond
``--mem-limit-gb``) is reported as OOM.  Not a test: run the scripts by hand or with
``nox -s benchmarks``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

__all__ = ["HEADER", "measure", "measure_calls", "row", "run_case", "synthetic_inputs"]


def synthetic_inputs(height: int, width: int | None = None):
    """A smooth random image and a trimap with a ring-shaped unknown band, (1, 3, H, W) each."""
    import torch

    width = width or height
    gen = torch.Generator().manual_seed(0)
    image = torch.nn.functional.interpolate(
        torch.randn(1, 3, max(1, height // 16), max(1, width // 16), generator=gen),
        size=(height, width),
        mode="bilinear",
    )
    yy, xx = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    radius = ((yy - height / 2) ** 2 + (xx - width / 2) ** 2).sqrt() / max(height, width)
    classes = torch.zeros(height, width, dtype=torch.long)  # background
    classes[radius < 0.35] = 1  # unknown band
    classes[radius < 0.25] = 2  # foreground
    trimap = torch.nn.functional.one_hot(classes, 3).permute(2, 0, 1)[None].float()
    return image, trimap


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(model, size: int, repeat: int, device: str, out: str, warmup_size: int = 256) -> None:
    """Child side: time the network ``model`` on a ``size`` x ``size`` input (see
    :func:`measure_calls`)."""
    model = model.to(device).eval()
    warm = [t.to(device) for t in synthetic_inputs(warmup_size)]
    image, trimap = (t.to(device) for t in synthetic_inputs(size))
    measure_calls(
        lambda: model(*warm), lambda: model(image, trimap)["alpha"][0, 0], repeat, device, out
    )


def measure_calls(
    warmup: Callable[[], object],
    run: Callable[[], object],
    repeat: int,
    device: str,
    out: str,
) -> None:
    """Child side: ``warmup()`` once, then time ``run()`` ``repeat`` times under
    ``torch.inference_mode``; save its (2-D) result to ``out`` (.npy) and print one JSON line
    with seconds, peak and base memory (MiB)."""
    import numpy as np
    import torch

    cuda = device.startswith("cuda")
    with torch.inference_mode():
        warmup()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated() / 2**20
        else:
            base = _current_rss_mib()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = run()
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    np.save(out, result.float().cpu().numpy())
    print(json.dumps({"seconds": min(times), "peak_mib": peak, "base_mib": base}))


def run_case(script: str, child_args: Sequence[str], mem_limit_gb: float | None) -> dict:
    """Parent side: run ``script --child *child_args`` and return its JSON line (or an error)."""

    def limit() -> None:
        if mem_limit_gb:
            cap = int(mem_limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    command = [sys.executable, script, "--child", *child_args]
    proc = subprocess.run(command, capture_output=True, text=True, preexec_fn=limit)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["killed"])[-1]
        oom = "memory" in tail.lower() or proc.returncode in (-9, 137) or "alloc" in tail.lower()
        return {"error": "OOM" if oom else f"failed ({tail[:60]})"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


HEADER = (
    f"{'case':>20} | {'chunked s':>9} | {'full s':>9} | {'time full/chunked':>17} | "
    f"{'chunked peak MiB':>16} | {'full peak MiB':>13} | {'peak full/chunked':>17} | "
    f"{'chunked fwd MiB':>15} | {'full fwd MiB':>12} | {'fwd full/chunked':>16} | "
    f"{'max |diff|':>10}"
)


def row(label: str, c: dict, f: dict) -> str:
    """One table row from the chunked (``c``) and full (``f``) results; each holds ``out``."""
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
        f"{label:>20} | {cell(c, 'seconds', '.2f'):>9} | "
        f"{cell(f, 'seconds', '.2f'):>9} | {ratio('seconds'):>17} | "
        f"{cell(c, 'peak_mib', '.0f'):>16} | {cell(f, 'peak_mib', '.0f'):>13} | "
        f"{ratio('peak_mib'):>17} | {cell(c, 'fwd_mib', '.0f'):>15} | "
        f"{cell(f, 'fwd_mib', '.0f'):>12} | {ratio('fwd_mib'):>16} | {diff:>10}"
    )
