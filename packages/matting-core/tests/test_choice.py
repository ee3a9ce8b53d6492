"""``matting predict`` without ``--model``: the best measured combination of the installed
plugins for the input, named on stderr."""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import pytest

from matting_core import InputError, Measured, ModelInfo, PluginError, RefinerInfo, hookimpl
from matting_core.choice import best_model
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.testing import load_photo
from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig


def info(needs_trimap=True, *measured):
    return ModelInfo(
        paper="-",
        needs_trimap=needs_trimap,
        input_channels=6 if needs_trimap else 3,
        config_class=TrimapBaselineConfig,
        needs_weights=False,
        measured=measured,
    )


@hookimpl
def matting_register_models(registry):
    registry.add("good", TrimapBaseline, info(True, Measured(sad=2.0, mse=0.01)))
    registry.add(
        "refinable",
        TrimapBaseline,
        info(True, Measured(sad=3.0, mse=0.02), Measured(sad=1.5, mse=0.01, refine="half")),
    )
    # weights it does not ship: never a default, however good its figures
    registry.add(
        "needs-checkpoint",
        TrimapBaseline,
        dataclass_replace(info(True, Measured(sad=0.1, mse=0.0)), needs_weights=True),
    )


def dataclass_replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)


@dataclass(frozen=True)
class HalfConfig:
    pass


def half(config):
    return lambda image, trimap, alpha: np.full(alpha.shape, 0.5)


@hookimpl
def matting_register_refiners(registry):
    registry.add("half", half, RefinerInfo(HalfConfig, "0.5 everywhere"))


@pytest.fixture(autouse=True)
def only_core(monkeypatch):
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugins()
    yield
    reset_plugins()


def test_core_alone_offers_the_trimap_baseline_and_nothing_without_a_trimap():
    choice = best_model(trimap=True)
    assert (choice.model, choice.refine) == ("trimap-baseline", None)
    assert "mean SAD 26.52" in choice.describe()
    with pytest.raises(InputError, match="no trimap-free model is installed"):
        best_model(trimap=False)


def test_the_best_measured_runnable_combination_wins():
    register_plugin(types.SimpleNamespace(matting_register_models=matting_register_models), "m")
    choice = best_model(trimap=True)  # 'half' is not installed: refinable alone scores 3.0
    assert (choice.model, choice.refine, choice.measured.sad) == ("good", None, 2.0)
    register_plugin(types.SimpleNamespace(matting_register_refiners=matting_register_refiners), "r")
    choice = best_model(trimap=True)
    assert (choice.model, choice.refine, choice.measured.sad) == ("refinable", "half", 1.5)
    assert choice.describe().startswith("'refinable' refined by 'half' (mean SAD 1.50")


def test_an_unmeasured_trimap_free_model_runs_without_a_trimap():
    @hookimpl
    def matting_register_models(registry):
        registry.add("free", TrimapBaseline, info(False))
        registry.add("free-measured", TrimapBaseline, info(False, Measured(sad=9.0, mse=0.1)))

    register_plugin(types.SimpleNamespace(matting_register_models=matting_register_models), "f")
    assert best_model(trimap=False).model == "free-measured"  # measured first
    assert best_model(trimap=True).model == "trimap-baseline"  # trimap-free ones are not it


def test_measured_is_checked():
    with pytest.raises(PluginError, match="sad"):
        Measured(sad=float("nan"), mse=0.0)
    with pytest.raises(PluginError, match="repeats a refiner"):
        info(True, Measured(1.0, 0.0), Measured(2.0, 0.0))


def test_cli_names_the_model_it_picked(tmp_path, capsys, request):
    from matting_core.cli import main
    from matting_data import read_alpha, write_image

    photo = load_photo(start=request.config.rootpath)
    image, trimap, out = tmp_path / "image.png", tmp_path / "trimap.png", tmp_path / "a.png"
    write_image(image, photo.image)
    write_image(trimap, photo.trimap)
    register_plugin(types.SimpleNamespace(matting_register_models=matting_register_models), "m")
    register_plugin(types.SimpleNamespace(matting_register_refiners=matting_register_refiners), "r")
    assert main(["predict", str(image), str(trimap), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "no --model given: running 'refinable' refined by 'half'" in err
    alpha = read_alpha(out)
    np.testing.assert_allclose(alpha[photo.trimap == 128], 128 / 255, atol=1 / 255)

    assert main(["predict", str(image), "-o", str(tmp_path / "b.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no trimap-free model is installed" in err and "\n" not in err
    assert (
        main(["predict", "--set", "unknown_value=0.3", str(image), str(trimap), "-o", str(out)])
        == 2
    )
    assert "give --model NAME" in capsys.readouterr().err
