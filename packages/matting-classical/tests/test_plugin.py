"""The installed plugin: found through the ``matting`` entry point, weightless, configurable."""

from __future__ import annotations

import dataclasses
import importlib.metadata

import numpy as np
import pytest
import torch

import matting_core
from matting_classical import (
    METHODS,
    ClosedFormConfig,
    KNNConfig,
    LargeKernelConfig,
    LearningBasedConfig,
    RandomWalkConfig,
)
from matting_core import (
    ConfigError,
    InputError,
    create_model,
    get_model_info,
    list_models,
    load_model,
    predict,
)
from matting_core.models import parse_overrides

NAMES = ["closed-form", "knn", "lkm", "random-walk", "lbdm"]
CITED = {
    "closed-form": "Levin",
    "knn": "KNN Matting",
    "lkm": "Large Kernel",
    "random-walk": "Random Walks",
    "lbdm": "Learning Based Digital Matting",
}


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch):
    monkeypatch.delenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    matting_core.plugins.reset_plugins()
    yield
    matting_core.plugins.reset_plugins()


def test_entry_point_is_declared():
    eps = importlib.metadata.entry_points(group="matting")
    assert any(ep.name == "classical" and ep.value == "matting_classical.plugin" for ep in eps)


@pytest.mark.parametrize("name", NAMES)
def test_registered_through_the_entry_point(name):
    assert name in list_models()
    assert matting_core.plugins.model_registry().provider(name) == "classical"
    info = get_model_info(name)
    assert CITED[name] in info.paper
    assert info.needs_trimap and info.input_channels == 6
    # weightless, un-normalised, unpadded
    assert info.default_weights is None and info.default_weights_path() is None
    assert info.mean == (0.0, 0.0, 0.0) and info.std == (1.0, 1.0, 1.0)
    assert info.pad_multiple == 1 and info.pad_margin == 0 and info.min_size == 0


@pytest.mark.parametrize("name", NAMES)
def test_loads_without_a_checkpoint(name):
    loaded = load_model(name)
    assert loaded.weights is None and not loaded.bundled and loaded.name == name
    assert not loaded.model.training
    assert [method.name for method in METHODS] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_forward_contract(name):
    """The model contract on inputs normalised the way this model's ModelInfo says."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 48, 56, generator=generator)
    labels = torch.randint(0, 3, (2, 48, 56), generator=generator)
    trimap = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    alpha = create_model(name)(image, trimap)["alpha"]
    assert alpha.shape == (2, 1, 48, 56) and alpha.dtype == torch.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_overrides_from_the_command_line_are_typed():
    config_class = get_model_info("knn").config_class
    overrides = parse_overrides(
        config_class,
        ["n_neighbors=10,5", "distance_weights=1,0.5", "kernel=soft", "max_pixels=200000"],
    )
    model = create_model("knn", **overrides)
    assert model.config == KNNConfig(
        n_neighbors=(10, 5), distance_weights=(1.0, 0.5), kernel="soft", max_pixels=200_000
    )
    closed = parse_overrides(ClosedFormConfig, ["epsilon=1e-5", "radius=2", "tolerance=1e-6"])
    assert create_model("closed-form", **closed).config.epsilon == 1e-5


@pytest.mark.parametrize(
    "config_class, options, message",
    [
        (ClosedFormConfig, {"epsilon": 0.0}, "epsilon must be > 0"),
        (ClosedFormConfig, {"radius": 0}, "radius must be >= 1"),
        (KNNConfig, {"n_neighbors": (10, 5), "distance_weights": (1.0,)}, "same number"),
        (LargeKernelConfig, {"constraint_weight": -1.0}, "constraint_weight must be > 0"),
        (RandomWalkConfig, {"sigma": 0.0}, "sigma must be > 0"),
        (LearningBasedConfig, {"tolerance": 2.0}, "tolerance must be in"),
        (ClosedFormConfig, {"max_iterations": 0}, "max_iterations must be >= 1"),
        (ClosedFormConfig, {"max_pixels": 50**2, "tile_margin": 20}, "leaves no room for tiles"),
    ],
)
def test_bad_options_are_config_errors(config_class, options, message):
    with pytest.raises(ConfigError, match=message):
        config_class(**options)


def test_every_option_has_a_documented_meaning():
    for method in METHODS:
        doc = method.config_class.__doc__ + (method.config_class.__mro__[1].__doc__ or "")
        for field in dataclasses.fields(method.config_class):
            assert f":param {field.name}:" in doc, (method.name, field.name)


def test_imagenet_normalised_input_is_refused(small_hair):
    loaded = load_model("closed-form")
    with pytest.raises(InputError, match=r"takes RGB in \[0, 1\]"):
        predict(loaded.model, small_hair.image, small_hair.trimap)  # no info: ImageNet stats


def test_trimap_without_known_pixels_is_refused(small_hair):
    loaded = load_model("closed-form")
    with pytest.raises(InputError, match="every pixel unknown"):
        predict(
            loaded.model,
            small_hair.image,
            np.full_like(small_hair.trimap, 128),
            info=loaded.info,
        )


def test_image_smaller_than_a_window_is_refused(small_hair):
    loaded = load_model("lkm")
    with pytest.raises(InputError, match=r"radius 10 needs images of at least 41x41"):
        predict(loaded.model, small_hair.image[:40], small_hair.trimap[:40], info=loaded.info)
