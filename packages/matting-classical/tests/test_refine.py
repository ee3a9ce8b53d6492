"""The closed-form refiner on real photos: it keeps what the network is sure of, solves the
band where it hesitates, and comes closer to the ground truth than the network alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matting_classical import ClosedFormRefinerConfig, closed_form_refiner
from matting_classical.refine import unsure_band
from matting_core import ConfigError, MattingError, UnknownRefinerError, get_model_info, predict
from matting_core.refinement import (
    create_refiner,
    get_refiner_info,
    list_refiners,
    refine_alpha,
)


def sad(alpha, photo):
    unknown = photo.trimap == 128
    return float(np.abs(alpha[unknown] - photo.alpha[unknown]).sum())


def blurred_network(photo):
    """A stand-in for a weak network: the ground truth blurred (a soft, too wide edge) and
    pushed to 0 / 1 away from it, with the trimap's known pixels set."""
    alpha = cv2.GaussianBlur(photo.alpha, (0, 0), 3.0)
    alpha = np.where(alpha < 0.05, 0.0, np.where(alpha > 0.95, 1.0, alpha)).astype(np.float32)
    alpha[photo.trimap == 0] = 0.0
    alpha[photo.trimap == 255] = 1.0
    return alpha


def test_registered_by_the_plugin():
    assert "closed-form" in list_refiners()
    info = get_refiner_info("classical:closed-form")
    assert "Levin" in info.paper and info.config_class is ClosedFormRefinerConfig


def test_unsure_band_by_hand():
    trimap = np.full((5, 7), 128, np.uint8)
    trimap[:, 0] = 0
    alpha = np.zeros((5, 7), np.float32)
    alpha[:, 4:] = 1.0
    alpha[2, 3] = 0.5  # the one unsure pixel
    alpha[0, 6] = 0.995  # sure: within 0.01 of 1
    band = unsure_band(trimap, alpha, confidence=0.01, band=0)
    assert band.sum() == 1 and band[2, 3]
    grown = unsure_band(trimap, alpha, confidence=0.01, band=1)
    # a 3x3 ellipse is a cross: the pixel and its 4 neighbours, all unknown here
    assert grown.sum() == 5 and grown[1, 3] and grown[2, 2] and grown[2, 4] and not grown[1, 2]
    trimap[2, 2] = 255  # known pixels never join the band
    assert not unsure_band(trimap, alpha, 0.01, 1)[2, 2]


def test_keeps_known_and_sure_pixels_and_improves_a_real_crop(hair):
    network = blurred_network(hair)
    config = ClosedFormRefinerConfig()
    refined = refine_alpha(closed_form_refiner(config), hair.image, hair.trimap, network)
    band = unsure_band(hair.trimap, network, config.confidence, config.band)
    assert 0 < band.sum() < (hair.trimap == 128).sum()
    np.testing.assert_array_equal(refined[~band], network[~band])  # trimap and sure pixels
    assert not np.allclose(refined[band], network[band], atol=1e-3)
    assert sad(refined, hair) < 0.8 * sad(network, hair)


def test_a_sure_network_is_left_as_it_is(hair):
    sure = (hair.alpha > 0.5).astype(np.float32)
    refined = refine_alpha("closed-form", hair.image, hair.trimap, sure)
    np.testing.assert_array_equal(refined, sure)


def test_without_a_trimap_every_pixel_is_unknown(hair):
    network = blurred_network(hair)
    refined = refine_alpha("closed-form", hair.image, None, network)
    band = unsure_band(np.full(network.shape, 128, np.uint8), network, 0.01, 8)
    np.testing.assert_array_equal(refined[~band], network[~band])
    assert sad(refined, hair) < sad(network, hair)


def test_predict_refines_any_model(hair):
    """Through core's predict: the trimap baseline (0.5 on the whole unknown region) refined
    is closed-form matting itself."""
    from matting_core import create_model, load_model

    baseline = create_model("trimap-baseline")
    info = get_model_info("trimap-baseline")
    refined = predict(baseline, hair.image, hair.trimap, info=info, refine="closed-form")
    closed = load_model("closed-form", progress=False)
    expected = predict(closed.model, hair.image, hair.trimap, info=closed.info)
    np.testing.assert_allclose(refined, expected, atol=1e-4)


def test_options_are_checked():
    refiner = create_refiner("closed-form", band=3, confidence=0.1)
    assert callable(refiner)
    with pytest.raises(ConfigError, match="confidence"):
        create_refiner("closed-form", confidence=0.5)
    with pytest.raises(ConfigError, match="no option 'width'"):
        create_refiner("closed-form", width=3)
    with pytest.raises(UnknownRefinerError, match=r"(?i)known refiners: closed-form"):
        create_refiner("closed_form")
    assert issubclass(UnknownRefinerError, MattingError)  # the CLI's one sentence, exit 2


def test_cli_refine(tmp_path, real_photo_files):
    from matting_core.cli import main

    image, trimap = real_photo_files
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "trimap-baseline", str(image), str(trimap), "-o", str(out)]
    assert main([*argv, "--refine", "closed-form", "--refine-set", "band=2"]) == 0
    assert out.is_file()


def test_cli_unknown_refiner_is_one_sentence(tmp_path, real_photo_files, capsys):
    from matting_core.cli import main

    image, trimap = real_photo_files
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "trimap-baseline", str(image), str(trimap), "-o", str(out)]
    assert main([*argv, "--refine", "guided-filter"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown refiner 'guided-filter'" in err
    assert "closed-form" in err and not out.exists()
    assert main([*argv, "--refine-set", "band=2"]) == 2
    assert "--refine REFINER" in capsys.readouterr().err


@pytest.fixture
def real_photo_files(tmp_path, hair):
    from matting_data import write_image

    image, trimap = tmp_path / "image.png", tmp_path / "trimap.png"
    write_image(image, hair.image)
    write_image(trimap, hair.trimap)
    return image, trimap
