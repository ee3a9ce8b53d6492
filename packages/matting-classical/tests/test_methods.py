"""Each method through ``matting_core.predict`` against pymatting's own function, on real photos."""

from __future__ import annotations

import numpy as np
import pymatting
import pytest
import scipy.sparse

from matting_classical import ClosedFormMatting, KNNMatting
from matting_classical.methods import knn_laplacian, random_walk_weights
from matting_core import load_model, predict
from matting_core.testing import Photo

# pymatting's function for each model and the keyword arguments that match an override
PYMATTING = {
    "closed-form": pymatting.estimate_alpha_cf,
    "knn": pymatting.estimate_alpha_knn,
    "lkm": pymatting.estimate_alpha_lkm,
    "random-walk": pymatting.estimate_alpha_rw,
    "lbdm": pymatting.estimate_alpha_lbdm,
}

# Both sides solve the same system to a relative residual of 1e-7 from inputs that differ by
# float32 rounding (core hands models float32 images), so mattes agree far below 8-bit levels.
# Compared over the unknown region: predict sets the known pixels to 0 / 1, pymatting's
# soft-constraint methods leave them within about 1e-3 of that.
ATOL = 1e-4


def pymatting_inputs(photo: Photo) -> tuple[np.ndarray, np.ndarray]:
    """The float64 image and trimap in [0, 1] that pymatting's functions take."""
    return photo.image.astype(np.float64), photo.trimap.astype(np.float64) / 255


def _predict(name: str, photo, **options) -> np.ndarray:
    loaded = load_model(name, progress=False, **options)
    assert loaded.weights is None and not loaded.bundled
    return predict(loaded.model, photo.image, photo.trimap, info=loaded.info)


@pytest.mark.parametrize("name", ["closed-form", "knn", "random-walk", "lbdm", "lkm"])
def test_default_matte_is_pymattings(name, hair, small_hair):
    photo = small_hair if name == "lkm" else hair
    alpha = _predict(name, photo)
    expected = PYMATTING[name](*pymatting_inputs(photo))
    assert alpha.dtype == np.float32 and alpha.shape == photo.trimap.shape
    unknown = photo.trimap == 128
    np.testing.assert_allclose(alpha[unknown], expected[unknown], atol=ATOL)
    assert 0.05 < alpha[unknown].mean() < 0.95  # a real matte, not a constant


@pytest.mark.parametrize("name", ["closed-form", "knn", "random-walk", "lbdm", "lkm"])
def test_known_pixels_are_kept(name, small_hair):
    alpha = _predict(name, small_hair, tolerance=1e-4)
    assert np.all(alpha[small_hair.trimap == 0] == 0.0)
    assert np.all(alpha[small_hair.trimap == 255] == 1.0)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


@pytest.mark.parametrize(
    "name, options, laplacian_kwargs, cg_kwargs",
    [
        ("closed-form", {"epsilon": 1e-4, "radius": 2}, {"epsilon": 1e-4, "radius": 2}, {}),
        ("closed-form", {"tolerance": 1e-3}, {}, {"rtol": 1e-3}),
        ("lbdm", {"epsilon": 1e-3, "radius": 2}, {"epsilon": 1e-3, "radius": 2}, {}),
        (
            "knn",
            {"n_neighbors": (7,), "distance_weights": (1.0,), "kernel": "soft"},
            {"n_neighbors": [7], "distance_weights": [1.0], "kernel": "soft"},
            {},
        ),
        ("lkm", {"radius": 4, "epsilon": 1e-5}, {"radius": 4, "epsilon": 1e-5}, {}),
        (
            "random-walk",
            {"radius": 2, "regularization": 1e-4},
            {"radius": 2, "regularization": 1e-4},
            {},
        ),
    ],
)
def test_options_reach_the_solver(name, options, laplacian_kwargs, cg_kwargs, hair, small_hair):
    photo = small_hair if name == "lkm" else hair
    alpha = _predict(name, photo, **options)
    expected = PYMATTING[name](
        *pymatting_inputs(photo), laplacian_kwargs=laplacian_kwargs, cg_kwargs=cg_kwargs
    )
    tolerance = 1e-2 if cg_kwargs else ATOL  # a loose stopping rule amplifies float32 input
    unknown = photo.trimap == 128
    np.testing.assert_allclose(alpha[unknown], expected[unknown], atol=tolerance)
    default = _predict(name, photo)
    assert np.abs(alpha - default).max() > 5 * tolerance  # the option changed the matte


def test_constraint_weight_is_lambda(hair):
    """pymatting hard-wires λ = 100 for the soft-constraint methods; here it is an option."""
    loose = _predict("knn", hair, constraint_weight=0.01)
    tight = _predict("knn", hair, constraint_weight=100.0)
    assert np.abs(loose - tight)[hair.trimap == 128].mean() > 1e-3


def test_random_walk_sigma_is_honoured(hair):
    """pymatting's rw_laplacian ignores its ``sigma`` (it computes exp(-900 d^2)); ours uses
    it, and the default 1/30 is that same 900."""
    default = _predict("random-walk", hair)
    wide = _predict("random-walk", hair, sigma=0.2)
    assert np.abs(default - wide)[hair.trimap == 128].mean() > 1e-2


def test_random_walk_weights_by_hand():
    # a 1x2 image: pixel 0 black, pixel 1 with colour distance^2 = 0.01 from it
    image = np.zeros((1, 2, 3))
    image[0, 1] = (0.1, 0.0, 0.0)
    weights = random_walk_weights(image, sigma=0.1, radius=1).toarray()
    # radius 1 visits 9 offsets; clamped at the border, each pixel is reached from pixel 0
    # via offsets with dx in {-1, 0} (6 of them: 3 rows x 2 columns) and pixel 1 via dx = 1
    # (3 of them), so row 0 is [6 * exp(0), 3 * exp(-0.01 / 0.01)] and row 1 mirrors it.
    expected = np.array([[6.0, 3 * np.exp(-1.0)], [3 * np.exp(-1.0), 6.0]])
    np.testing.assert_allclose(weights, expected, rtol=1e-12)


def test_knn_laplacian_is_pymattings_and_tiles_keep_whole_image_positions(hair):
    image = pymatting_inputs(hair)[0]
    ours = knn_laplacian(image, (20, 10), (2.0, 0.1), "binary")
    theirs = pymatting.knn_laplacian(image)
    assert abs(ours - theirs).max() < 1e-12
    # a tile of a 4x larger image: positions scaled by the larger frame, so the features'
    # position part shrinks and colour decides more of the neighbours
    framed = knn_laplacian(image, (20, 10), (2.0, 0.1), "binary", frame=(480, 640))
    assert abs(framed - ours).max() > 0.01
    assert isinstance(framed, scipy.sparse.spmatrix | scipy.sparse.sparray)


def test_models_have_no_parameters_and_keep_their_config():
    model = ClosedFormMatting()
    assert list(model.parameters()) == [] and list(model.buffers()) == []
    assert "epsilon=1e-07" in repr(model)
    assert KNNMatting().config.n_neighbors == (20, 10)
