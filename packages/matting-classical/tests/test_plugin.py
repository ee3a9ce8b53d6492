"""The installed plugin: the plugin contract (matting_core.testing) on every method, weightless
and unnormalised, with typed options."""

from __future__ import annotations

import numpy as np
import pytest

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
    load_model,
    predict,
)
from matting_core.models import parse_overrides
from matting_core.testing import ModelContract

NAMES = ["closed-form", "knn", "lkm", "random-walk", "lbdm"]
CITED = {
    "closed-form": "Levin",
    "knn": "KNN Matting",
    "lkm": "Large Kernel",
    "random-walk": "Random Walks",
    "lbdm": "Learning Based Digital Matting",
}


class TestContract(ModelContract):
    plugin = "classical"
    models = tuple(NAMES)

    def test_registered_weightless_unnormalised_unpadded(self, model_name):
        info = get_model_info(model_name)
        assert CITED[model_name] in info.paper
        assert info.needs_trimap and info.input_channels == 6
        assert info.default_weights is None and info.default_weights_path() is None
        assert info.mean == (0.0, 0.0, 0.0) and info.std == (1.0, 1.0, 1.0)
        assert info.pad_multiple == 1 and info.pad_margin == 0 and info.min_size == 0

    def test_loads_without_a_checkpoint(self, model_name):
        loaded = load_model(model_name)
        assert loaded.weights is None and not loaded.bundled and loaded.name == model_name
        assert not loaded.model.training
        assert [method.name for method in METHODS] == NAMES


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
