"""Speed and accuracy of the foreground estimators of ``matting_data.foreground_estimation``.

On the mmagic sample (alphamatting GT05 composited over GT26r, so the true F and B are known,
800x552) each method estimates F from the composite and the alpha; reported:

* seconds: median over ``--repeats`` runs after one warm-up run (numba compiles there);
* recomposition error: mean |alpha F_est + (1 - alpha) B_true - I| where alpha > 0.1, in
  8-bit levels;
* F error: mean |F_est - F_true| where alpha > 0.1, in 8-bit levels;

each also as a ratio against pymatting's multi-level estimator measured in the same run.
``--torch`` adds the vectorised red-black Gauss-Seidel port of the multi-level solver that was
tried for the package and left out (``--device cuda`` to time it on a GPU).

    python benchmarks/bench_foreground.py [--repeats 5] [--torch [--device cpu|cuda]]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from matting_data.foreground_estimation import estimate_foreground
from matting_data.image_io import read_alpha, read_image


def find_shared_data() -> Path:
    env = os.environ.get("MATTING_SHARED_DATA")
    if env:
        return Path(env)
    for ancestor in Path(__file__).resolve().parents:
        for candidate in (ancestor.parent / "shared" / "data", ancestor / "shared" / "data"):
            if (candidate / "mmagic_matting_sample").is_dir():
                return candidate
    sys.exit("shared data not found: set MATTING_SHARED_DATA")


def multilevel_red_black_torch(
    image: np.ndarray, alpha: np.ndarray, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """The multi-level solver (pymatting's levels, weights and defaults) with a red-black
    Gauss-Seidel sweep vectorised in torch instead of pymatting's raster-order numba loop."""
    import torch
    import torch.nn.functional as nnf

    def nearest(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        src_h, src_w = x.shape[-2:]
        ys = torch.arange(h, device=x.device) * src_h // h
        xs = torch.arange(w, device=x.device) * src_w // w
        return x[..., ys[:, None], xs[None, :]]

    with torch.no_grad():
        img0 = torch.from_numpy(image).permute(2, 0, 1)[None].to(device)
        a0 = torch.from_numpy(alpha)[None, None].to(device)
        h0, w0 = alpha.shape
        fg_mask, bg_mask = (a0 > 0.9).float(), (a0 < 0.1).float()
        fg_mean = (img0 * fg_mask).sum((2, 3), keepdim=True) / (fg_mask.sum() + 1e-5)
        bg_mean = (img0 * bg_mask).sum((2, 3), keepdim=True) / (bg_mask.sum() + 1e-5)
        fb = torch.cat([fg_mean, bg_mean], 1)  # (1, 6, 1, 1): F and B stacked
        levels = math.ceil(math.log2(max(h0, w0)))
        for level in range(levels + 1):
            h, w = round(h0 ** (level / levels)), round(w0 ** (level / levels))
            img, a = nearest(img0, h, w), nearest(a0, h, w)
            fb = nearest(fb, h, w)
            iterations = 10 if (h <= 32 and w <= 32) else 2
            ap = nnf.pad(a, (1, 1, 1, 1), mode="replicate")
            neighbours = (
                ap[..., 1:-1, :-2],
                ap[..., 1:-1, 2:],
                ap[..., :-2, 1:-1],
                ap[..., 2:, 1:-1],
            )
            weights = [1e-5 + (a - n).abs() for n in neighbours]
            total = weights[0] + weights[1] + weights[2] + weights[3]
            a1 = 1 - a
            m00, m11, m01 = a * a + total, a1 * a1 + total, a * a1
            inv = 1.0 / (m00 * m11 - m01 * m01)
            base = torch.cat([a * img, a1 * img], 1)
            yy = torch.arange(h, device=device)[:, None]
            xx = torch.arange(w, device=device)[None, :]
            red = ((yy + xx) % 2 == 0)[None, None]
            for _ in range(iterations):
                for mask in (red, ~red):
                    p = nnf.pad(fb, (1, 1, 1, 1), mode="replicate")
                    shifted = (
                        p[..., 1:-1, :-2],
                        p[..., 1:-1, 2:],
                        p[..., :-2, 1:-1],
                        p[..., 2:, 1:-1],
                    )
                    rhs = base + sum(wt * s for wt, s in zip(weights, shifted, strict=True))
                    rf, rb = rhs[:, :3], rhs[:, 3:]
                    new = torch.cat([inv * (m11 * rf - m01 * rb), inv * (m00 * rb - m01 * rf)], 1)
                    fb = torch.where(mask, new.clamp_(0, 1), fb)
        fb = fb[0].permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(fb[:, :, :3]), np.ascontiguousarray(fb[:, :, 3:])


def timed(fn: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    result = fn()  # warm-up (numba compilation, torch allocators)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="add the torch red-black prototype")
    parser.add_argument("--device", default="cpu", help="device of the torch prototype")
    args = parser.parse_args()

    folder = find_shared_data() / "mmagic_matting_sample"
    image = read_image(folder / "image" / "GT05.jpg")
    fg_true = read_image(folder / "fg" / "GT05.jpg")
    bg_true = read_image(folder / "bg" / "GT26r.jpg")
    alpha = read_alpha(folder / "alpha" / "GT05.jpg")
    region = alpha > 0.1
    a = alpha[:, :, None]

    methods: dict[str, Callable[[], np.ndarray]] = {
        "pymatting multilevel": lambda: estimate_foreground(image, alpha, method="multilevel"),
        "blur-fusion x2 (90, 6)": lambda: estimate_foreground(image, alpha, method="blur_fusion"),
    }
    if args.torch:
        methods[f"torch red-black ML ({args.device})"] = lambda: multilevel_red_black_torch(
            image, alpha, args.device
        )[0]

    rows = []
    for name, fn in methods.items():
        seconds, fg = timed(fn, args.repeats)
        recomposition = float(np.abs(a * fg + (1 - a) * bg_true - image)[region].mean()) * 255
        fg_error = float(np.abs(fg - fg_true)[region].mean()) * 255
        rows.append((name, seconds, recomposition, fg_error))

    base = rows[0]
    h, w = alpha.shape
    print(f"mmagic sample GT05 over GT26r ({w}x{h}); errors in 8-bit levels where alpha > 0.1;")
    print(f"median of {args.repeats} runs after a warm-up; ratios against pymatting (same run).\n")
    header = f"{'method':28s} {'seconds':>9s} {'x pym':>7s} {'recomp err':>11s} {'x pym':>7s} {'F err':>7s} {'x pym':>7s}"
    print(header)
    print("-" * len(header))
    for name, seconds, recomposition, fg_error in rows:
        print(
            f"{name:28s} {seconds:9.4f} {seconds / base[1]:7.2f} {recomposition:11.3f} "
            f"{recomposition / base[2]:7.2f} {fg_error:7.3f} {fg_error / base[3]:7.2f}"
        )


if __name__ == "__main__":
    main()
