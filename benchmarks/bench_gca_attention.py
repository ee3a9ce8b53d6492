"""Benchmark: GCA Matting with chunked (linear-memory) attention vs the full-matrix attention.

The release's guided contextual attention builds an ``L x L`` score matrix with
``L = (H/16) (W/16)``, so its memory grows with the square of the image area; matting-gca
processes the queries in chunks (``GCAConfig.attention_chunk``).  For each input size this
runs the whole network (randomly initialised, eval mode, batch 1) once with chunked
attention and once with ``attention_chunk=None`` (the full matrix), each in a fresh
subprocess (see ``attention_memory.py``), and prints seconds, peak memory and the ratios
full / chunked.  It also checks that both give the same alpha (max abs diff).

    python benchmarks/bench_gca_attention.py [--sizes 512 1024 2048] [--repeat 1]
        [--chunk 1024] [--threads N] [--mem-limit-gb G] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from attention_memory import HEADER, measure, row, run_case


def child(size: int, chunk: int | None, repeat: int, threads: int, device: str, out: str) -> None:
    import torch

    from matting_gca import GCAConfig, GCAMatting

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GCAMatting(GCAConfig(attention_chunk=chunk))
    for block in (model.encoder.gca, model.decoder.gca):
        # The release initialises the GCA output BN gain to 1e-3 (block ~ identity); a gain of
        # 1 makes the attention visible in alpha, so the diff column means something.
        block.W[1].weight.data.fill_(1.0)
    measure(model, size, repeat, device, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=1024, help="queries per attention chunk")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--mem-limit-gb", type=float, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    print(
        f"GCA Matting forward, {args.device} ({torch.get_num_threads()} CPU threads), batch 1, "
        f"eval; chunked = attention_chunk {args.chunk}, full = attention_chunk None (L x L)"
    )
    print(
        "peak = ru_maxrss of the case's process (CUDA: max_memory_allocated); fwd = peak minus "
        "the memory before the timed forward (model and inputs loaded)"
    )
    print(HEADER)
    print("-" * len(HEADER))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            results = {}
            for name, chunk in (("chunked", args.chunk), ("full", None)):
                out = str(Path(tmp) / f"{name}_{size}.npy")
                child_args = [str(size), str(chunk), str(args.repeat), str(args.threads)]
                results[name] = run_case(
                    __file__, [*child_args, args.device, out], args.mem_limit_gb
                )
                results[name]["out"] = out
            print(row(f"{size}x{size}", results["chunked"], results["full"]), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        size, chunk, repeat, threads, device, out = sys.argv[2:8]
        child(
            int(size),
            None if chunk == "None" else int(chunk),
            int(repeat),
            int(threads),
            device,
            out,
        )
        sys.exit(0)
    sys.exit(main())
