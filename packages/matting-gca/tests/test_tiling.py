"""Core's crop-and-stitch inference with the bundled GCA model, on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matting_core import load_model, predict
from matting_core.cli import main
from matting_core.evaluation import alpha_to_uint8, score_alpha
from matting_core.strategy import CropAndStitch
from matting_data import read_alpha, read_image, read_trimap, write_alpha, write_image


@pytest.fixture(scope="module")
def bundled():
    return load_model("gca")


def _crop(shared_data: Path, case: str, side: int):
    """A side x side crop of a validation photo centred on its unknown region."""
    root = shared_data / "alphamatting_training_lowres"
    trimap = read_trimap(root / "trimap" / f"{case}.png")
    rows, cols = np.nonzero(trimap == 128)
    top = int(np.clip(rows.mean() - side // 2, 0, trimap.shape[0] - side))
    left = int(np.clip(cols.mean() - side // 2, 0, trimap.shape[1] - side))
    box = np.s_[top : top + side, left : left + side]
    image = read_image(root / "image" / f"{case}.png")[box]
    gt = np.rint(read_alpha(root / "alpha" / f"{case}.png")[box] * 255).astype(np.uint8)
    return image, trimap[box], gt


def test_an_image_of_one_tile_is_the_whole_image_forward(bundled, shared_data):
    image, trimap, _ = _crop(shared_data, "GT17", 192)
    whole = predict(bundled.model, image, trimap, info=bundled.info)
    one = predict(bundled.model, image, trimap, info=bundled.info, strategy=CropAndStitch(192, 48))
    np.testing.assert_allclose(one, whole, rtol=0, atol=1e-5)


def test_overlapping_tiles_are_close_to_the_whole_image(bundled, shared_data, tmp_path):
    # 384 x 384 in 4 tiles of 256 overlapping by 128 (starts 0 and 128 on each axis); GCA's
    # attention sees less context per tile, so the mattes differ a little, not the error.
    image, trimap, gt = _crop(shared_data, "GT18", 384)
    strategy = CropAndStitch(256, 64)
    whole = predict(bundled.model, image, trimap, info=bundled.info)
    tiled = predict(bundled.model, image, trimap, info=bundled.info, strategy=strategy)
    unknown = trimap == 128
    # measured: mean |difference| 0.013 over the unknown region, SAD 4.99 tiled vs 5.19 whole
    assert np.abs(tiled - whole)[unknown].mean() < 0.03
    sad_whole, sad_tiled = (score_alpha(a, gt, trimap)["sad"] for a in (whole, tiled))
    assert abs(sad_tiled - sad_whole) < 0.1 * sad_whole, (sad_tiled, sad_whole)
    np.testing.assert_array_equal(tiled[trimap == 0], 0.0)
    np.testing.assert_array_equal(tiled[trimap == 255], 1.0)

    # matting predict --tile writes the same matte
    write_image(tmp_path / "image.png", image)
    write_alpha(tmp_path / "trimap.png", trimap)
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "gca", str(tmp_path / "image.png"), str(tmp_path / "trimap.png")]
    assert main([*argv, "-o", str(out), "--tile", "256", "--overlap", "64"]) == 0
    written = np.rint(read_alpha(out) * 255).astype(np.uint8)
    assert np.abs(written.astype(int) - alpha_to_uint8(tiled)).max() <= 1
