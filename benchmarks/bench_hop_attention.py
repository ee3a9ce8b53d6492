"""Benchmark: HOP Matting with the banded (linear-memory) global HOP block vs full tensors.

The release's global HOP block builds the whole ``L x L`` score tensor and several positional
score tensors of that size, ``L`` = positions of its matching grid: ``(H/16)(W/16)`` at rate 1
(demo.py, real photos), a quarter of that at rate 2 (tester.py, Composition-1k) -- memory
quadratic in the image area.  matting-hop processes the queries in bands
(``HOPConfig.attention_chunk``).  Each case runs once banded ("chunked") and once with
``attention_chunk=None`` (the release's full tensors, "full"), each in a fresh subprocess (see
``attention_memory.py``); the table gives seconds, peak memory, the ratios full / chunked and
the max difference of the two outputs.  Two tables:

1. the whole network (randomly initialised, eval, batch 1) on both official inference paths:
   the demo path pads 32 px on every side (an S x S image is an (S + 64)^2 forward), the
   tester path pads to a multiple of 32 only;
2. the global HOP block alone on the matching grid of the same images, which isolates what
   the banding changes (the rest of the network is the same in both columns).

    python benchmarks/bench_hop_attention.py [--sizes 512 1024 2048] [--block-sizes ... 4096]
        [--paths demo tester] [--repeat 1] [--chunk 1024] [--threads N] [--mem-limit-gb 16]
        [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from attention_memory import HEADER, measure, measure_calls, row, run_case, synthetic_inputs

#: path -> (global HOP rate, padding margin) of the release's scripts
PATHS = {"demo": (1, 32), "tester": (2, 0)}


def _padded(path: str, size: int) -> int:
    _, margin = PATHS[path]
    return 32 * -(-(size + 2 * margin) // 32)


def _visible(block) -> None:
    # The release starts W_out's BN gain at 0.1 and the trimap embedding at 0; larger values
    # make the global block visible in the output, so the diff column means something.
    block.w_out[1].weight.data.fill_(1.0)
    block.w_t.weight.data.normal_(0, 0.5)


def child(kind: str, path: str, size: int, chunk: int | None, repeat: int, device: str, out: str):
    import torch

    from matting_hop import GlobalHOPBlock, HOPConfig, HOPMatting
    from matting_nn import settle_spectral_norms

    torch.manual_seed(0)
    rate = PATHS[path][0]
    if kind == "net":
        model = HOPMatting(HOPConfig(global_hop_rate=rate, attention_chunk=chunk))
        _visible(model.decoder.global_hop)
        measure(model, _padded(path, size), repeat, device, out)
        return
    block = GlobalHOPBlock(256, 64, rate=rate, chunk=chunk)
    settle_spectral_norms(block)
    _visible(block)
    block = block.to(device).eval()
    grid = _padded(path, size) // 16
    gen = torch.Generator().manual_seed(1)
    appearance = torch.randn(1, 64, grid, grid, generator=gen).to(device)
    opacity = torch.randn(1, 256, grid, grid, generator=gen).to(device)
    trimap = synthetic_inputs(grid)[1].to(device)
    warm = (appearance[..., :8, :8], opacity[..., :8, :8], trimap[..., :8, :8])
    measure_calls(
        lambda: block(*warm),
        lambda: block(appearance, opacity, trimap)[0][0, 0],
        repeat,
        device,
        out,
    )


def _table(args, tmp: str, kind: str, sizes: list[int]) -> None:
    for path in args.paths:
        for size in sizes:
            results = {}
            for name, chunk in (("chunked", args.chunk), ("full", None)):
                out = str(Path(tmp) / f"{kind}_{path}_{name}_{size}.npy")
                child_args = [kind, path, str(size), str(chunk), str(args.repeat)]
                results[name] = run_case(
                    __file__, [*child_args, args.device, out, str(args.threads)], args.mem_limit_gb
                )
                results[name]["out"] = out
            grid = _padded(path, size) // 16 // PATHS[path][0]
            label = f"{path} {size}^2 L={grid * grid}"
            print(row(label, results["chunked"], results["full"]), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[512, 1024, 2048])
    parser.add_argument("--block-sizes", type=int, nargs="*", default=[512, 1024, 2048, 4096])
    parser.add_argument("--paths", nargs="+", choices=list(PATHS), default=list(PATHS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=1024, help="queries per band")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--mem-limit-gb", type=float, default=16.0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    print(
        f"HOP Matting, {args.device} ({torch.get_num_threads()} CPU threads), batch 1, eval; "
        f"chunked = attention_chunk {args.chunk}, full = attention_chunk None (L x L tensors, "
        "the release's way); demo = rate 1 + 32 px border, tester = rate 2; L = grid positions"
    )
    print(
        "peak = ru_maxrss of the case's process (CUDA: max_memory_allocated); fwd = peak minus "
        f"the memory before the timed forward; OOM = over --mem-limit-gb {args.mem_limit_gb}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.sizes:
            print("\n1. whole network")
            print(HEADER)
            print("-" * len(HEADER))
            _table(args, tmp, "net", args.sizes)
        if args.block_sizes:
            print("\n2. global HOP block alone (inputs on the 1/16 grid of the same images)")
            print(HEADER)
            print("-" * len(HEADER))
            _table(args, tmp, "block", args.block_sizes)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, path, size, chunk, repeat, device, out, threads = sys.argv[2:10]
        if int(threads):
            import torch

            torch.set_num_threads(int(threads))
        chunk_ = None if chunk == "None" else int(chunk)
        child(kind, path, int(size), chunk_, int(repeat), device, out)
        sys.exit(0)
    sys.exit(main())
