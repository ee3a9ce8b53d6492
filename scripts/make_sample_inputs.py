"""What a person would bring besides a photo, for the bundled samples: scribbles and a rough
mask, derived from the ground-truth alpha, reproducibly.

    python scripts/make_sample_inputs.py [--out DIR]

writes ``scribbles/GTnn.png`` and ``masks/GTnn.png`` for every bundled sample (default: into
matting-data's ``samples/`` folder, where they ship). Running it again gives the same bytes
(a test checks), so the files are a function of the ground truth and this script.

Scribbles (a person painting a few strokes): white foreground strokes and black background
strokes, 7 px wide, on a 128 gray canvas; 4 strokes of each kind, each a polyline of up to 4
points with segments of 40-120 px drawn at random angles. A stroke stays inside its region
shrunk by 15 px (alpha = 1 for the foreground, alpha = 0 for the background), as a careful
person keeps away from the edge. Strokes spread out as a person's do: each new stroke starts
among the 5 % of the region farthest from the strokes already painted. Random numbers come
from ``numpy.random.default_rng([SEED, nn])`` for sample ``GTnn``.

Rough mask (a coarse segmentation, as a segmentation network or a quick lasso gives): the
ground truth thresholded at 0.5, shrunk 16 times (area average) and grown back (bilinear),
thresholded at 0.5 again: the outline without hair or fine detail, binary 0/255.
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import cv2
import numpy as np

SEED = 20
STROKES = 4
STROKE_WIDTH = 7
MARGIN = 15
POINTS = 4
SEGMENT = (40.0, 120.0)
SPREAD_QUANTILE = 0.95
MASK_SHRINK = 16


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _inside(region: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> bool:
    line = np.zeros_like(region)
    cv2.line(line, a, b, 1, STROKE_WIDTH)
    return not (line & (1 - region)).any()


def strokes_in(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``STROKES`` polylines inside ``region`` ((H, W) uint8 {0, 1}) as an (H, W) bool mask."""
    height, width = region.shape
    painted = np.zeros_like(region)
    for _ in range(STROKES):
        if painted.any():
            distance = cv2.distanceTransform(1 - painted, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            far = np.quantile(distance[region > 0], SPREAD_QUANTILE)
            ys, xs = np.nonzero((distance >= far) & (region > 0))
        else:
            ys, xs = np.nonzero(region)
        start = int(rng.integers(len(ys)))
        points = [(int(xs[start]), int(ys[start]))]
        for _ in range(POINTS - 1):
            for _attempt in range(50):
                angle = rng.uniform(0.0, 2.0 * math.pi)
                length = rng.uniform(*SEGMENT)
                x = round(points[-1][0] + length * math.cos(angle))
                y = round(points[-1][1] + length * math.sin(angle))
                if 0 <= x < width and 0 <= y < height and _inside(region, points[-1], (x, y)):
                    points.append((x, y))
                    break
        for a, b in itertools.pairwise(points):
            cv2.line(painted, a, b, 1, STROKE_WIDTH)
        if len(points) == 1:
            cv2.circle(painted, points[0], STROKE_WIDTH // 2, 1, -1)
    return painted.astype(bool)


def scribbles_for(alpha: np.ndarray, number: int) -> np.ndarray:
    """(H, W) uint8 scribbles: 255 foreground strokes, 0 background strokes, 128 elsewhere."""
    rng = np.random.default_rng([SEED, number])
    foreground = cv2.erode((alpha >= 1.0).astype(np.uint8), _disc(MARGIN))
    background = cv2.erode((alpha <= 0.0).astype(np.uint8), _disc(MARGIN))
    scribbles = np.full(alpha.shape, 128, np.uint8)
    scribbles[strokes_in(background, rng)] = 0
    scribbles[strokes_in(foreground, rng)] = 255
    return scribbles


def rough_mask_for(alpha: np.ndarray) -> np.ndarray:
    """(H, W) uint8 {0, 255}: the coarse outline of the ground truth."""
    height, width = alpha.shape
    binary = (alpha >= 0.5).astype(np.float32)
    small = cv2.resize(
        binary,
        (max(1, width // MASK_SHRINK), max(1, height // MASK_SHRINK)),
        interpolation=cv2.INTER_AREA,
    )
    grown = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.where(grown >= 0.5, 255, 0).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    import matting_data as md

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="default: the samples folder")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else md.samples_dir()
    for name in md.list_samples():
        alpha = md.read_alpha(md.samples_dir() / "alpha" / f"{name}.png")
        number = int(name[2:])
        md.write_alpha(out / "scribbles" / f"{name}.png", scribbles_for(alpha, number))
        md.write_alpha(out / "masks" / f"{name}.png", rough_mask_for(alpha))
        print(f"{name}: {out / 'scribbles' / name}.png, {out / 'masks' / name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
