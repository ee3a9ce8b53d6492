"""Large photos: the coarse-to-fine tiled solve keeps every solve under ``max_pixels`` and gives
the whole-image matte where both fit."""

from __future__ import annotations

import numpy as np
import pytest

import matting_classical.conjugate_gradient
import matting_classical.tiling
from matting_classical import ClosedFormMatting
from matting_classical.methods import closed_form
from matting_classical.tiling import _widen, coarse_problem, tile_grid
from matting_core import load_model, predict
from matting_core.evaluation import score_alpha


def _predict(name: str, photo, **options) -> np.ndarray:
    loaded = load_model(name, progress=False, **options)
    return predict(loaded.model, photo.image, photo.trimap, info=loaded.info)


@pytest.mark.parametrize("name", ["closed-form", "knn", "random-walk", "lbdm", "lkm"])
def test_tiled_matte_equals_the_whole_image_matte(name, hair):
    # 120x160 solved whole, then with max_pixels = 100^2: a 1/2-scale coarse solve and six
    # 60x~53 tiles with 20 px of context.  Measured mean |difference| over the unknown region:
    # 0.001 (closed-form, lbdm) to 0.009 (random-walk, whose sharp colour weights let a few
    # pixels cut off from the known ones follow the coarse solution instead).
    whole = _predict(name, hair)
    tiled = _predict(name, hair, max_pixels=100**2, tile_margin=20)
    unknown = hair.trimap == 128
    difference = np.abs(whole - tiled)[unknown]
    assert difference.mean() < 0.015
    assert np.percentile(difference, 90) < 0.03
    np.testing.assert_array_equal(tiled[~unknown], whole[~unknown])


def test_every_solve_stays_within_max_pixels(load_photo, monkeypatch):
    photo = load_photo("GT01")  # 800x497, 397,600 pixels
    max_pixels, margin = 200**2, 16
    sizes: list[tuple[int, int]] = []

    def recording(image, known, values, config, **kwargs):
        sizes.append(known.shape)
        return closed_form(image, known, values, config, **kwargs)

    monkeypatch.setattr(ClosedFormMatting, "solve", staticmethod(recording))
    tiled = _predict("closed-form", photo, max_pixels=max_pixels, tile_margin=margin)
    monkeypatch.undo()

    assert max(h * w for h, w in sizes) <= max_pixels
    # first the coarse solve of the whole photo, downscaled to fit
    assert sizes[0] == (157, 253)  # floor(497 s), floor(800 s), s = sqrt(200^2 / 397600)
    # then one solve per tile holding an unknown pixel, out of a 3x5 grid of <= 168 px tiles
    grid = tile_grid(497, 800, 200 - 2 * margin)
    assert len(grid) == 15
    unknown_tiles = [t for t in grid if (photo.trimap[t[0] : t[1], t[2] : t[3]] == 128).any()]
    assert len(sizes) == 1 + len(unknown_tiles) < 1 + len(grid)

    # and the matte is as good as the whole-image solve's
    whole = _predict("closed-form", photo)
    gt = np.rint(photo.alpha * 255).astype(np.uint8)
    sad_tiled = score_alpha(tiled, gt, photo.trimap)["sad"]
    sad_whole = score_alpha(whole, gt, photo.trimap)["sad"]
    assert abs(sad_tiled - sad_whole) < 0.03 * sad_whole


def test_tiles_show_a_progress_bar(hair, monkeypatch, capsys):
    monkeypatch.setattr(matting_classical.tiling, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(matting_classical.conjugate_gradient, "PROGRESS_DELAY", 0.0)
    loaded = load_model("closed-form", max_pixels=100**2, tile_margin=20)
    predict(loaded.model, hair.image, hair.trimap, info=loaded.info)
    err = capsys.readouterr().err
    assert "closed-form (coarse)" in err and "residual" in err
    assert "closed-form tiles" in err and "tile/s" in err


def test_coarse_problem_by_hand():
    # a 4x4 trimap: left half background, top-right 2x2 foreground, bottom-right mixed
    known = np.ones((4, 4), bool)
    values = np.zeros((4, 4))
    values[:2, 2:] = 1.0
    values[2:, 3] = 1.0
    known[3, 2] = False
    image = np.zeros((4, 4, 3), np.float32)
    image[:, :, 0] = np.arange(16).reshape(4, 4) / 16
    coarse_image, coarse_known, coarse_values = coarse_problem(image, known, values, 4)
    assert coarse_known.tolist() == [[True, True], [True, False]]
    assert coarse_values.tolist() == [[0.0, 1.0], [0.0, 0.0]]
    # area averaging: top-left block holds 0, 1, 4, 5 (/16)
    np.testing.assert_allclose(coarse_image[0, 0, 0], (0 + 1 + 4 + 5) / 64, rtol=1e-6)


def test_tile_grid_covers_the_image_evenly():
    grid = tile_grid(100, 250, 60)
    assert len(grid) == 2 * 5
    covered = np.zeros((100, 250), int)
    for top, bottom, left, right in grid:
        assert 0 < bottom - top <= 60 and 0 < right - left <= 60
        covered[top:bottom, left:right] += 1
    assert (covered == 1).all()
    assert {b - t for t, b, _, _ in grid} == {50}


def test_widen_adds_the_margin_and_reaches_the_minimum_side():
    assert _widen(40, 60, 10, 1, 100) == (30, 70)
    assert _widen(0, 20, 10, 1, 100) == (0, 30)  # clipped at the border
    assert _widen(95, 100, 2, 21, 100) == (79, 100)  # grown inwards to a 21 px window
    assert _widen(0, 5, 0, 21, 12) == (0, 12)  # never past the image
