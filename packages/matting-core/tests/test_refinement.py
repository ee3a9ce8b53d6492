"""Refiners through core: registered by a plugin, called by predict and matting predict, held
to their contract (shape, finite values, known pixels untouched)."""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import pytest

from matting_core import (
    ConfigError,
    PluginError,
    RefinerInfo,
    ShapeError,
    UnknownRefinerError,
    create_model,
    get_model_info,
    hookimpl,
    predict,
)
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.refinement import create_refiner, list_refiners, refine_alpha
from matting_core.testing import load_photo


@dataclass(frozen=True)
class SnapConfig:
    threshold: float = 0.3


def snap(config):
    """Alpha below / above the threshold set to 0 / 1; everywhere else 0.25 (even on the
    trimap's known pixels, which core must restore)."""

    def refine(image, trimap, alpha):
        assert image.dtype == np.float32 and image.shape == (*alpha.shape, 3)
        assert trimap.dtype == np.uint8 and alpha.dtype == np.float32
        out = np.full(alpha.shape, 0.25)
        out[alpha < config.threshold] = 0.0
        out[alpha > 1 - config.threshold] = 1.0
        out[trimap != 128] = 0.75  # a careless refiner: core sets them back
        return out

    return refine


def broken(config):
    return lambda image, trimap, alpha: np.full((2, 2), np.nan)


@hookimpl
def matting_register_refiners(registry):
    registry.add("snap", snap, RefinerInfo(SnapConfig, "snap to 0 / 1"))
    registry.add("broken", broken, RefinerInfo(SnapConfig, "returns the wrong shape"))


@pytest.fixture(autouse=True)
def refiners(monkeypatch):
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugins()
    register_plugin(
        types.SimpleNamespace(matting_register_refiners=matting_register_refiners), "snapper"
    )
    yield
    reset_plugins()


@pytest.fixture(scope="module")
def photo(request):
    return load_photo(start=request.config.rootpath)


def test_registered_and_listed():
    assert list_refiners() == ["broken", "snap"]
    with pytest.raises(UnknownRefinerError, match="unknown refiner 'snp'; did you mean 'snap'"):
        create_refiner("snp")
    with pytest.raises(ConfigError, match="no option 'band'"):
        create_refiner("snap", band=2)


def test_refine_alpha_keeps_known_pixels(photo):
    network = photo.alpha.copy()
    refined = refine_alpha(
        create_refiner("snap", threshold=0.4), photo.image, photo.trimap, network
    )
    known = photo.trimap != 128
    np.testing.assert_array_equal(refined[known], network[known])
    unknown = ~known
    expected = np.where(network < 0.4, 0.0, np.where(network > 0.6, 1.0, 0.25))
    np.testing.assert_array_equal(refined[unknown], expected[unknown].astype(np.float32))
    assert refined.dtype == np.float32


def test_without_a_trimap_every_pixel_is_refined(photo):
    refined = refine_alpha("snap", photo.image, None, photo.alpha)
    assert set(np.unique(refined)) <= {0.0, 0.25, 1.0}


def test_contract_and_shapes(photo):
    with pytest.raises(PluginError, match="refiner 'broken' broke the refiner contract"):
        refine_alpha("broken", photo.image, photo.trimap, photo.alpha)
    with pytest.raises(ShapeError, match="matte"):
        refine_alpha("snap", photo.image, photo.trimap, photo.alpha[1:])
    with pytest.raises(ShapeError, match="trimap"):
        refine_alpha("snap", photo.image, photo.trimap[1:], photo.alpha)


def test_predict_refines_and_refuses_unknown_names_before_the_forward(photo):
    model = create_model("trimap-baseline", unknown_value=0.5)
    info = get_model_info("trimap-baseline")
    refined = predict(model, photo.image, photo.trimap, info=info, refine="snap")
    expected = np.where(photo.trimap == 128, 0.25, photo.trimap / 255).astype(np.float32)
    np.testing.assert_array_equal(refined, expected)

    def forward_must_not_run(*args):
        raise AssertionError("the forward ran before the refiner's name was checked")

    model.forward = forward_must_not_run
    with pytest.raises(UnknownRefinerError, match="known refiners: broken, snap"):
        predict(model, photo.image, photo.trimap, info=info, refine="guided-filter")
