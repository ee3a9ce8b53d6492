"""matting-hatt's model card table: the trimap-free model alone, and GCA on trimaps made from
the photo alone by it, against the official trimaps and trivial baselines, on GT17-GT20.

    python scripts/measure_auto_trimaps.py [--bands 24,48] [--hatt-checkpoint W.safetensors]

For each bundled sample (held out from every training run here):

* ``hattmatting-small`` alone (no trimap; its bundled weights unless --hatt-checkpoint);
* trivial mattes: all background, and a centred ellipse (the middle 60 % of each side);
* the bundled GCA model (``matting predict --model gca``) on the official Trimap1 and Trimap2
  and on trimaps made by ``matting trimap --from-model hattmatting-small --band B``
  (:func:`matting_core.auto_trimap.trimap_from_model`, what ``--auto-trimap`` runs).

Scores against the ground truth: SAD (thousands) and MSE over the whole image (the HAttMatting
protocol), and SAD over the official Trimap1's unknown region (the benchmark's own). Printed as
a markdown table of means over the four photos, with the share of unknown pixels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def centred_ellipse(height: int, width: int, extent: float = 0.6) -> np.ndarray:
    """1 inside the ellipse spanning the middle ``extent`` of each side, 0 outside."""
    yy, xx = np.mgrid[0:height, 0:width]
    inside = ((yy - height / 2) / (height / 2 * extent)) ** 2 + (
        (xx - width / 2) / (width / 2 * extent)
    ) ** 2 <= 1
    return inside.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    import matting_data as md
    import matting_metrics
    from matting_core import load_model, predict
    from matting_core.auto_trimap import load_trimap_model, trimap_from_model
    from matting_core.evaluation import alpha_to_uint8

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bands", default="24,48", help="unknown bands of made trimaps (px)")
    parser.add_argument("--hatt-checkpoint", default=None, help="hattmatting-small weights")
    args = parser.parse_args(argv)
    bands = [int(b) for b in args.bands.split(",")]
    gca = load_model("gca")
    hatt = load_trimap_model("hattmatting-small", args.hatt_checkpoint)
    rows: dict[str, list[tuple[float, float, float, float]]] = {}

    def score(label: str, alpha: np.ndarray, truth: np.ndarray, official, trimap=None) -> None:
        alpha = alpha_to_uint8(alpha).astype(np.float32) / 255.0  # as matting predict writes
        whole = float(np.abs(alpha - truth).sum()) / 1000.0
        mse = float(np.mean((alpha - truth) ** 2))
        band = matting_metrics.sad(alpha, truth, official)
        unknown = float(np.mean(trimap == 128)) if trimap is not None else float("nan")
        rows.setdefault(label, []).append((whole, mse, band, unknown))

    for name in md.list_samples():
        paths = md.sample_paths(name)
        image, truth = md.read_image(paths["image"]), md.read_alpha(paths["alpha"])
        official = md.read_trimap(paths["trimap"])
        start = time.perf_counter()
        made = trimap_from_model(image, hatt, band=bands[0])
        print(f"{name}: hattmatting-small in {time.perf_counter() - start:.1f} s")
        score("hattmatting-small, no trimap", made.alpha, truth, official)
        score("all background (trivial)", np.zeros_like(truth), truth, official)
        score("centred ellipse (trivial)", centred_ellipse(*truth.shape), truth, official)
        trimaps = {
            "GCA on official Trimap1": official,
            "GCA on official Trimap2": md.read_trimap(paths["trimap2"]),
        }
        for band in bands:
            trimap = md.trimap_from_mask(made.alpha, band)
            trimaps[f"GCA on auto trimap, band {band}"] = trimap
        for label, trimap in trimaps.items():
            alpha = predict(gca.model, image, trimap, info=gca.info)
            score(label, alpha, truth, official, trimap)
        for label, values in rows.items():
            print(f"  {label:34s} SAD {values[-1][0]:7.2f}  MSE {values[-1][1]:.4f}")
    print()
    print("| matte | SAD whole | MSE whole | SAD in Trimap1's band | unknown |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, values in rows.items():
        v = np.array(values)
        unknown = "" if np.isnan(v[:, 3]).all() else f"{100 * v[:, 3].mean():.1f} %"
        print(
            f"| {label} | {v[:, 0].mean():.2f} | {v[:, 1].mean():.4f} | {v[:, 2].mean():.2f} "
            f"| {unknown} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
