"""Trimaps from a trimap-free model: ``matting trimap --from-model`` and ``matting predict
--auto-trimap`` hand the model's matte to matting-data's shared mask route."""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import matting_data as md
from matting_core import ModelInfo, get_model_info, hookimpl, predict
from matting_core.auto_trimap import load_trimap_model, trimap_from_model
from matting_core.cli import main
from matting_core.errors import InputError
from matting_core.plugins import register_plugin, reset_plugins


@dataclass(frozen=True)
class BrightConfig:
    """Options of :class:`BrightMask` (none)."""


class BrightMask(nn.Module):
    """A stand-in trimap-free model: a soft mask of the bright pixels (GT17's toy is brighter
    than most of its background), computed from the raw RGB."""

    def __init__(self, config: BrightConfig | None = None) -> None:
        super().__init__()
        self.config = config or BrightConfig()

    def forward(self, image, trimap=None):
        gray = image.mean(dim=1, keepdim=True)
        return {"alpha": torch.clamp((gray - 0.35) * 8.0, 0.0, 1.0)}


@hookimpl
def matting_register_models(registry):
    registry.add(
        "bright-mask",
        BrightMask,
        ModelInfo(
            paper="— (test stand-in)",
            needs_trimap=False,
            input_channels=3,
            config_class=BrightConfig,
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
            pad_multiple=1,
            needs_weights=False,
            description="soft mask of bright pixels",
        ),
    )


@pytest.fixture(autouse=True)
def bright_plugin(monkeypatch):
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugins()
    register_plugin(types.SimpleNamespace(matting_register_models=matting_register_models), "b")
    yield
    reset_plugins()


@pytest.fixture
def gt17():
    return md.sample_paths("GT17")


def _expected(image_path, band: int) -> np.ndarray:
    image = md.read_image(image_path)
    alpha = predict(BrightMask(), image, None, info=get_model_info("bright-mask"))
    return md.trimap_from_mask(alpha, band)


def test_trimap_from_model_is_the_mask_route(gt17):
    image = md.read_image(gt17["image"])
    made = trimap_from_model(image, load_trimap_model("bright-mask"), band=16)
    assert made.alpha.shape == made.trimap.shape == image.shape[:2]
    assert np.array_equal(made.trimap, md.trimap_from_mask(made.alpha, 16))
    assert set(np.unique(made.trimap)) == {0, 128, 255}


def test_cli_trimap_from_model(gt17, tmp_path, capsys):
    out = tmp_path / "t.png"
    code = main(
        [
            "trimap",
            "--from-model",
            "bright-mask",
            str(gt17["image"]),
            "-o",
            str(out),
            "--band",
            "16",
        ]
    )
    assert code == 0 and "% unknown" in capsys.readouterr().out
    assert np.array_equal(md.read_trimap(out), _expected(gt17["image"], 16))


def test_cli_predict_auto_trimap_runs_a_trimap_model_on_it(gt17, tmp_path, capsys):
    # the trimap baseline (known pixels kept, unknown = 0.5) shows exactly which trimap it got
    out = tmp_path / "a.png"
    argv = [
        "predict",
        "--model",
        "trimap-baseline",
        str(gt17["image"]),
        "--auto-trimap",
        "--trimap-model",
        "bright-mask",
        "--trimap-band",
        "20",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    assert "trimaps made by 'bright-mask'" in capsys.readouterr().err
    trimap = _expected(gt17["image"], 20)
    alpha = md.read_alpha(out)
    assert np.all(alpha[trimap == 255] == 1) and np.all(alpha[trimap == 0] == 0)
    assert np.allclose(alpha[trimap == 128], 128 / 255, atol=1 / 255)


@pytest.mark.parametrize(
    "argv",
    [
        # a trimap-based model cannot make trimaps
        ["trimap", "--from-model", "trimap-baseline", "{image}", "-o", "{out}"],
        # two routes at once
        ["trimap", "--from-model", "bright-mask", "--from-alpha", "{image}", "-o", "{out}"],
        # an option of another route
        ["trimap", "--from-model", "bright-mask", "--seed", "3", "{image}", "-o", "{out}"],
        # a typo in the model name
        ["trimap", "--from-model", "brite-mask", "{image}", "-o", "{out}"],
        # --auto-trimap for a model that needs no trimap
        ["predict", "--model", "bright-mask", "{image}", "--auto-trimap", "-o", "{out}"],
        # --auto-trimap and a trimap
        [
            "predict",
            "--model",
            "trimap-baseline",
            "{image}",
            "{trimap}",
            "--auto-trimap",
            "-o",
            "{out}",
        ],
        # an --auto-trimap option without it
        [
            "predict",
            "--model",
            "trimap-baseline",
            "{image}",
            "{trimap}",
            "--trimap-band",
            "9",
            "-o",
            "{out}",
        ],
    ],
)
def test_bad_uses_are_one_sentence_and_exit_2(argv, gt17, tmp_path, capsys):
    out = tmp_path / "o.png"
    filled = [a.format(image=gt17["image"], trimap=gt17["trimap"], out=out) for a in argv]
    assert main(filled) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert not out.exists()


def test_a_model_sure_of_nothing_is_one_sentence(tmp_path, capsys):
    gray = np.full((40, 48, 3), 0.4, np.float32)  # bright-mask gives 0.4 everywhere: not sure
    md.write_image(tmp_path / "gray.png", gray)
    out = tmp_path / "t.png"
    assert (
        main(["trimap", "--from-model", "bright-mask", str(tmp_path / "gray.png"), "-o", str(out)])
        == 2
    )
    assert "no foreground" in capsys.readouterr().err
    assert not out.exists()


def test_load_trimap_model_refuses_a_trimap_model():
    with pytest.raises(InputError, match="needs a trimap itself"):
        load_trimap_model("trimap-baseline")
