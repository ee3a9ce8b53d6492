"""The installed plugin: the plugin contract (matting_core.testing) on both models, what is
particular to AlphaGAN's registration, and the command line on a whole real photo."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import matting_core
from matting_core import create_model, get_model_info, save_weights
from matting_core.cli import main
from matting_core.testing import ModelContract
from matting_data import read_alpha, read_trimap
from matting_gan import AlphaGAN, AlphaGANConfig, AlphaGANSmallConfig
from matting_gan.training import AlphaGANRecipe


class TestContract(ModelContract):
    plugin = "alphagan"
    models = ("alphagan", "alphagan-small")
    # narrow networks keep the CPU checks fast; the contract does not depend on the width
    options: ClassVar = {"alphagan": {"width": 0.125}, "alphagan-small": {"width": 0.125}}

    def test_both_names_come_from_the_plugin(self):
        assert matting_core.list_models("alphagan*") == ["alphagan", "alphagan-small"]

    def test_create_model_alphagan(self):
        info = get_model_info("alphagan")
        assert info.needs_trimap and info.input_channels == 4
        assert info.pad_multiple == 8 and info.pad_mode == "reflect"
        assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
        assert "AlphaGAN" in info.paper and "BMVC 2018" in info.paper
        assert isinstance(info.training_recipe(), AlphaGANRecipe)
        model = create_model("alphagan-small", width=0.125)
        assert isinstance(model, AlphaGAN) and isinstance(model.config, AlphaGANSmallConfig)
        assert model.config.width == 0.125
        assert get_model_info("alphagan").default_config == AlphaGANConfig()
        assert get_model_info("alphagan-small").default_config.width == 0.25


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.manual_seed(0)
    model = create_model("alphagan-small", width=0.125).eval()
    path = tmp_path_factory.mktemp("ckpt") / "alphagan-small.safetensors"
    save_weights(
        model.state_dict(),
        path,
        model_name="alphagan-small",
        config=AlphaGANSmallConfig(width=0.125),
    )
    return path


def test_cli_predicts_a_whole_real_photo(shared_data: Path, checkpoint: Path, tmp_path: Path):
    root = shared_data / "alphamatting_training_lowres"
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "alphagan-small", "--checkpoint", str(checkpoint)]
    argv += [str(root / "image" / "GT04.png"), str(root / "trimap" / "GT04.png"), "-o", str(out)]
    assert main(argv) == 0
    alpha = read_alpha(out)
    trimap = read_trimap(root / "trimap" / "GT04.png")
    assert alpha.shape == trimap.shape  # 800 px photo, not a multiple of 8 on both sides
    assert np.all(alpha[trimap == 255] == 1.0) and np.all(alpha[trimap == 0] == 0.0)


@pytest.mark.parametrize("fault", ["trimap of another size", "missing image"])
def test_bad_input_is_one_sentence_and_exit_code_2(
    shared_data: Path, checkpoint: Path, tmp_path: Path, capsys, fault: str
):
    root = shared_data / "alphamatting_training_lowres"
    image = root / "image" / "GT04.png"
    trimap = root / "trimap" / ("GT05.png" if fault == "trimap of another size" else "GT04.png")
    if fault == "missing image":
        image = tmp_path / "no-such-photo.png"
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "alphagan-small", "--checkpoint", str(checkpoint)]
    assert main([*argv, str(image), str(trimap), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert not out.exists() and not list(tmp_path.glob("alpha*"))
