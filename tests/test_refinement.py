"""The bundled GCA network refined by matting-classical's closed-form refiner, through the
installed toolkit, on a real photo; and the model ``matting predict`` picks by itself."""

from __future__ import annotations

import numpy as np
import pytest

from matting_core import get_model_info, load_model, predict
from matting_core.choice import best_model
from matting_core.testing import load_photo


@pytest.fixture(scope="module")
def photo(request):
    """160x160 of GT20 (a soft toy's fuzzy outline): 23% unknown."""
    return load_photo("GT20", 100, 350, 160, 160, start=request.config.rootpath)


def test_gca_refined_by_closed_form_is_closer_to_the_truth(photo):
    from matting_classical.refine import unsure_band

    loaded = load_model("gca")
    network = predict(loaded.model, photo.image, photo.trimap, info=loaded.info)
    refined = predict(
        loaded.model, photo.image, photo.trimap, info=loaded.info, refine="closed-form"
    )
    unknown = photo.trimap == 128

    def sad(alpha):
        return float(np.abs(alpha - photo.alpha)[unknown].sum())

    assert sad(refined) < 0.5 * sad(network)  # measured: 94 against 343
    # unchanged wherever the network was sure (and on the trimap's known pixels)
    kept = ~unsure_band(photo.trimap, network, confidence=0.01, band=8)
    assert (kept & unknown).any()
    np.testing.assert_array_equal(refined[kept], network[kept])


def test_the_default_model_is_at_least_as_good_as_closed_form():
    choice = best_model(trimap=True)
    closed_form = get_model_info("closed-form").measured[0]
    assert choice.measured is not None
    assert choice.measured.sad <= closed_form.sad and choice.measured.mse <= closed_form.mse
