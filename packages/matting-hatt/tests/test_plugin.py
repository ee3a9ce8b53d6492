"""The installed plugin: the plugin contract (matting_core.testing) on both models, what is
particular to HAttMatting's registration, and the command line on a real photo without a
trimap."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import matting_core
from matting_core import create_model, get_model_info, save_weights
from matting_core.cli import main
from matting_core.testing import ModelContract
from matting_data import read_alpha, samples_dir
from matting_hatt.model import HAttConfig, HAttMatting, HAttSmallConfig

TINY = {"channels": 8, "reduction": 2}


class TestContract(ModelContract):
    plugin = "hatt"
    models = ("hattmatting", "hattmatting-small")
    # the small backbone keeps the CPU checks fast; the contract does not depend on it
    options: ClassVar = {
        "hattmatting": {"backbone": "resnext50_32x4d", "blocks": (1, 1, 1, 1), **TINY},
        "hattmatting-small": TINY,
    }

    def test_both_names_come_from_the_plugin(self):
        assert matting_core.list_models("hattmatting*") == ["hattmatting", "hattmatting-small"]

    def test_create_model_hattmatting(self):
        info = get_model_info("hattmatting")
        assert not info.needs_trimap and info.input_channels == 3
        assert info.pad_multiple == 16
        assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
        assert "Hierarchical Structure Aggregation" in info.paper
        assert info.config_class is HAttConfig and info.default_weights is None
        assert [e.name for e in info.extra_outputs] == ["spatial_attention"]

    def test_create_model_small_and_overrides(self):
        info = get_model_info("hattmatting-small")
        assert info.config_class is HAttSmallConfig
        assert info.default_weights is not None
        model = create_model("hattmatting-small", channels=8, reduction=2, pool="avg")
        assert isinstance(model, HAttMatting)
        assert model.config.channels == 8 and model.config.pool == "avg"


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = create_model("hattmatting-small", **TINY)
    folder = tmp_path_factory.mktemp("weights")
    return save_weights(
        model, folder / "tiny.safetensors", model_name="hattmatting-small", config=model.config
    )


def test_cli_predicts_a_real_photo_without_a_trimap(tiny_weights: Path, tmp_path: Path, capsys):
    photo = samples_dir() / "image" / "GT18.png"
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "hattmatting-small", "--checkpoint", str(tiny_weights)]
    assert main([*argv, str(photo), "-o", str(out)]) == 0
    alpha = read_alpha(out)
    assert alpha.shape == (646, 800)  # GT18's size: padded to 16 and cropped back
    assert 0 <= alpha.min() <= alpha.max() <= 1
    assert alpha.std() > 0


def test_cli_bad_input_is_one_sentence_and_exit_2(tiny_weights: Path, tmp_path: Path, capsys):
    argv = ["predict", "--model", "hattmatting-small", "--checkpoint", str(tiny_weights)]
    # a file that is not an image
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    out = tmp_path / "out.png"
    assert main([*argv, str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()
    assert not out.exists()
    # a missing file
    assert main([*argv, str(tmp_path / "missing.png"), "-o", str(out)]) == 2
    assert "Traceback" not in capsys.readouterr().err
    # an option the model does not have, and one out of range
    assert main([*argv, "--set", "chanels=8", str(bad), "-o", str(out)]) == 2
    assert (
        main(
            [
                "predict",
                "--model",
                "hattmatting-small",
                "--set",
                "channels=0",
                str(samples_dir() / "image" / "GT18.png"),
                "-o",
                str(out),
            ]
        )
        == 2
    )
    assert "Traceback" not in capsys.readouterr().err
    assert not out.exists()


def test_a_trimap_only_restores_known_pixels(tiny_weights: Path, tmp_path: Path):
    """A trimap given to the trimap-free model sets its known pixels (core's rule)."""
    folder = samples_dir()
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "hattmatting-small", "--checkpoint", str(tiny_weights)]
    argv += [str(folder / "image" / "GT19.png"), str(folder / "trimap" / "GT19.png")]
    assert main([*argv, "-o", str(out)]) == 0
    from matting_data import read_trimap

    trimap = read_trimap(folder / "trimap" / "GT19.png")
    alpha = read_alpha(out)
    assert np.all(alpha[trimap == 255] == 1) and np.all(alpha[trimap == 0] == 0)
