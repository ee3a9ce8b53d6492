"""The README's table "Trimaps from scribbles": how good a matte the bundled GCA model makes
from trimaps a person can make, against the official alphamatting.com trimaps.

    python scripts/measure_user_trimaps.py [--band 24]

For each bundled sample (GT17-GT20) the trimaps are:

* the official Trimap1 (small unknown band) and Trimap2 (large), drawn by hand;
* ``matting trimap IMAGE --scribbles`` from the bundled scribbles (4 white and 4 black
  strokes derived from the ground truth by ``scripts/make_sample_inputs.py``), with GrabCut
  (the default) and with geodesic distances;
* ``matting trimap MASK`` from the bundled rough mask (the ground truth's coarse outline).

The bundled GCA model predicts with each (``matting predict``'s code path,
:func:`matting_core.predict`), and the matte is scored against the ground truth by SAD (in
thousands) over the whole image -- a trimap that marks a pixel known wrongly costs there too --
and over the official Trimap1's unknown region (the benchmark's own SAD). Printed as a
markdown table with the mean over the four photos and the share of unknown pixels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def trimaps(name: str, band: int) -> dict[str, np.ndarray]:
    import matting_data as md

    paths = md.sample_paths(name)
    image = md.read_image(paths["image"])
    scribbles = md.read_alpha(paths["scribbles"])
    return {
        "official Trimap1": md.read_trimap(paths["trimap"]),
        "official Trimap2": md.read_trimap(paths["trimap2"]),
        "scribbles, GrabCut": md.trimap_from_scribbles(image, scribbles, band, method="grabcut"),
        "scribbles, geodesic": md.trimap_from_scribbles(image, scribbles, band, method="geodesic"),
        "rough mask": md.trimap_from_mask(md.read_mask(paths["masks"]), band),
    }


def main(argv: list[str] | None = None) -> int:
    import matting_data as md
    import matting_metrics
    from matting_core import load_model, predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--band", type=int, default=md.DEFAULT_BAND, help="unknown band (px)")
    args = parser.parse_args(argv)
    loaded = load_model("gca")
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for name in md.list_samples():
        paths = md.sample_paths(name)
        image, truth = md.read_image(paths["image"]), md.read_alpha(paths["alpha"])
        official = md.read_trimap(paths["trimap"])
        start = time.perf_counter()
        made = trimaps(name, args.band)
        print(f"{name}: trimaps made in {time.perf_counter() - start:.1f} s")
        for label, trimap in made.items():
            alpha = predict(loaded.model, image, trimap, info=loaded.info)
            whole = float(np.abs(alpha - truth).sum()) / 1000.0
            benchmark = matting_metrics.sad(alpha, truth, official)
            unknown = float(np.mean(trimap == 128))
            rows.setdefault(label, []).append((whole, benchmark, unknown))
            print(f"  {label:22s} SAD whole {whole:6.2f}  in Trimap1's band {benchmark:6.2f}")
    names = md.list_samples()
    print()
    print(f"unknown band of made trimaps: {args.band} px")
    header = "| trimap | " + " | ".join(names) + " | mean SAD | SAD in Trimap1's band | unknown |"
    print(header)
    print("| --- |" + " ---: |" * (len(names) + 3))
    for label, values in rows.items():
        whole = [v[0] for v in values]
        print(
            f"| {label} | "
            + " | ".join(f"{w:.2f}" for w in whole)
            + f" | {np.mean(whole):.2f} | {np.mean([v[1] for v in values]):.2f}"
            + f" | {100 * np.mean([v[2] for v in values]):.1f} % |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
