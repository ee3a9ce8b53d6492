"""Prepare the real-photo training set for the bundled GCA model (issue 7 recipe).

Writes, under OUT (default ``data/alphamatting-train``):

* ``fg/GTnn.png`` and ``alpha/GTnn.png`` for GT01–GT16 of the alphamatting.com low-res
  training set: the foreground colours are estimated from the photo and its ground-truth
  alpha with matting-data's multi-level estimator (pymatting);
* ``bg/``: real photographs only: the scikit-image sample photos (astronaut, chelsea, coffee,
  rocket, motorcycle, grass, gravel, brick, hubble deep field, ...) and the GT01–GT16 photos
  themselves (the layout's ``exclude_same_name`` keeps a photo from being its own background).

GT17–GT20 are left out entirely: they are the validation set (the ``folder`` layout reads them
straight from ``shared/data``).

    python scripts/prepare_alphamatting_training.py [--shared ../shared/data] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from matting_data import estimate_foreground, read_alpha, read_image, write_alpha, write_image

TRAIN_CASES = [f"GT{i:02d}" for i in range(1, 17)]
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "chelsea.png",
    "coffee.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "rocket.jpg",
    "camera.png",
    "moon.png",
    "page.png",
    "coins.png",
    "retina.jpg",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/alphamatting-train"))
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="downscale the written set by this factor (area filter; backgrounds keep a short "
        "side of at least 200 px); matting-hatt's bundled model trains at 0.4",
    )
    args = parser.parse_args()
    source = args.shared / "alphamatting_training_lowres"
    for sub in ("fg", "alpha", "bg"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)

    for case in tqdm(TRAIN_CASES, desc="foregrounds", unit="img"):
        image = read_image(source / "image" / f"{case}.png")
        alpha = read_alpha(source / "alpha" / f"{case}.png")
        write_image(args.out / "fg" / f"{case}.png", estimate_foreground(image, alpha))
        write_alpha(args.out / "alpha" / f"{case}.png", alpha)
        write_image(args.out / "bg" / f"{case}.png", image)

    import skimage

    skimage_data = Path(os.path.dirname(skimage.__file__)) / "data"
    for name in SKIMAGE_PHOTOS:
        photo = read_image(skimage_data / name)  # grayscale photos become RGB
        write_image(args.out / "bg" / f"skimage-{Path(name).stem}.png", np.ascontiguousarray(photo))
    if args.scale != 1.0:
        _downscale(args.out, args.scale)
    print(
        f"training set written to {args.out}: {len(TRAIN_CASES)} foregrounds, "
        f"{len(list((args.out / 'bg').iterdir()))} backgrounds"
    )


def _downscale(root: Path, scale: float, min_bg_side: int = 200) -> None:
    """Rescale every written file in place (area filter, the stored 8/16-bit values)."""
    import cv2

    for sub in ("fg", "alpha", "bg"):
        for path in sorted((root / sub).iterdir()):
            array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            h, w = array.shape[:2]
            s = scale if sub != "bg" else max(scale, min_bg_side / min(h, w))
            size = (max(1, round(w * s)), max(1, round(h * s)))
            cv2.imwrite(str(path), cv2.resize(array, size, interpolation=cv2.INTER_AREA))


if __name__ == "__main__":
    main()
