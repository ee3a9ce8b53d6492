"""Whole-image inference (``matting_core.inference``), model loading and ``matting predict``."""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from matting_core import ModelInfo, create_model, hookimpl, save_weights
from matting_core.cli import main
from matting_core.errors import CheckpointError, InputError, ShapeError
from matting_core.evaluation import trimap_baseline_alpha
from matting_core.inference import Padding, predict, trimap_one_hot
from matting_core.model_loading import load_model
from matting_core.plugins import register_plugin, reset_plugins
from matting_data import TrimapValueError, read_image, read_trimap


@dataclass
class ProbeConfig:
    width: int = 4


class ProbeNet(nn.Module):
    """Records its inputs; alpha = sigmoid(conv(image ++ trimap)) so it has weights."""

    def __init__(self, config: ProbeConfig) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, 1, 3, padding=1)
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        self.seen.append((image.clone(), trimap.clone()))
        return {"alpha": torch.sigmoid(self.conv(torch.cat([image, trimap], 1)))}


PROBE_INFO = ModelInfo(
    paper="test probe", needs_trimap=True, input_channels=6, config_class=ProbeConfig
)


@pytest.fixture
def probe_registered():
    reset_plugins()
    plugin = types.SimpleNamespace(
        matting_register_models=hookimpl(
            lambda registry: registry.add("probe-net", ProbeNet, PROBE_INFO)
        )
    )
    register_plugin(plugin, name="probe")
    yield
    reset_plugins()


@pytest.fixture
def real_case(shared_data: Path) -> tuple[Path, Path]:
    root = shared_data / "alphamatting_training_lowres"
    return root / "image" / "GT02.png", root / "trimap" / "GT02.png"


@pytest.mark.parametrize(
    "size, multiple, margin, expected",
    [
        ((128, 160), 32, 0, (0, 0, 0, 0)),
        # The official GCA demo: 32 on every side, so 128x160 becomes 192x224.
        ((128, 160), 32, 32, (32, 32, 32, 32)),
        ((100, 70), 32, 0, (0, 28, 0, 26)),
        # 100 + 64 = 164 -> 192: top 32, bottom 192 - 100 - 32 = 60.
        ((100, 70), 32, 32, (32, 60, 32, 58)),
    ],
)
def test_padding_by_hand(size, multiple, margin, expected):
    assert Padding.for_size(*size, multiple, margin) == Padding(*expected)


def test_padding_is_reflection_and_crop_undoes_it():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    padding = Padding.for_size(3, 4, 4, 0)  # bottom 1, right 0
    padded = padding.apply(x, "reflect")
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[0, 0, 3], x[0, 0, 1])  # reflection without edge repeat
    assert torch.equal(padding.crop(padded), x)


def test_trimap_one_hot_channels():
    onehot = trimap_one_hot(np.array([[0, 128], [255, 0]], np.uint8))
    assert onehot.shape == (1, 3, 2, 2)
    assert onehot[0, 0].tolist() == [[1, 0], [0, 1]]  # background
    assert onehot[0, 1].tolist() == [[0, 1], [0, 0]]  # unknown
    assert onehot[0, 2].tolist() == [[0, 0], [1, 0]]  # foreground


def test_trimap_baseline_on_real_photo(real_case):
    image, trimap = read_image(real_case[0]), read_trimap(real_case[1])
    alpha = predict(create_model("trimap-baseline"), image, trimap)
    assert alpha.shape == trimap.shape and alpha.dtype == np.float32
    np.testing.assert_array_equal(alpha, trimap_baseline_alpha(trimap))


def test_probe_sees_normalised_padded_inputs(probe_registered, real_case):
    image, trimap = read_image(real_case[0]), read_trimap(real_case[1])
    model = create_model("probe-net")
    alpha = predict(model, image, trimap, info=PROBE_INFO)
    seen_image, seen_trimap = model.seen[-1]
    h, w = trimap.shape
    assert seen_image.shape[-2] % 32 == 0 and seen_image.shape[-1] % 32 == 0
    mean = torch.tensor(PROBE_INFO.mean).view(3, 1, 1)
    std = torch.tensor(PROBE_INFO.std).view(3, 1, 1)
    restored = (seen_image[0, :, :h, :w] * std + mean).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(restored, image, atol=1e-6)
    assert torch.equal(seen_trimap[0, :, :h, :w], trimap_one_hot(trimap)[0])
    # Known pixels restored, unknown pixels from the network, all in [0, 1].
    assert np.all(alpha[trimap == 255] == 1) and np.all(alpha[trimap == 0] == 0)
    unknown = alpha[trimap == 128]
    assert np.all((unknown > 0) & (unknown < 1))
    assert not model.training


def test_pad_margin_matches_official_demo_size(probe_registered):
    model = create_model("probe-net")
    predict(
        model,
        np.zeros((128, 160, 3), np.uint8),
        np.full((128, 160), 128, np.uint8),
        info=PROBE_INFO,
        pad_margin=32,
    )
    assert model.seen[-1][0].shape[-2:] == (192, 224)


@pytest.mark.parametrize(
    "image, trimap, error",
    [
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), ShapeError),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), np.uint8), ShapeError),
        (np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 60, np.uint8), TrimapValueError),
        (np.full((8, 8, 3), 1.5, np.float32), np.zeros((8, 8), np.uint8), InputError),
        (np.zeros((8, 8, 3), np.uint8), None, InputError),
    ],
)
def test_bad_inputs_raise_typed_errors(image, trimap, error):
    info = ModelInfo(paper="-", needs_trimap=True, input_channels=6, config_class=ProbeConfig)
    with pytest.raises(error):
        predict(create_model("trimap-baseline"), image, trimap, info=info)


def test_load_model_round_trip_and_refusals(probe_registered, tmp_path):
    model = create_model("probe-net")
    with torch.no_grad():
        model.conv.weight.normal_()
    path = save_weights(
        model, tmp_path / "probe.safetensors", model_name="probe-net", config=ProbeConfig()
    )
    loaded = load_model("probe-net", path)
    assert torch.equal(loaded.model.conv.weight, model.conv.weight)
    assert not loaded.bundled and not loaded.model.training
    with pytest.raises(CheckpointError, match="no bundled weights"):
        load_model("probe-net")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model("probe-net", tmp_path / "missing.safetensors")
    save_weights(model, tmp_path / "other.safetensors", model_name="trimap-baseline")
    with pytest.raises(CheckpointError, match="trimap-baseline"):
        load_model("probe-net", tmp_path / "other.safetensors")


def _assert_one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err


def test_cli_predict_single_and_folder_with_resume(shared_data, tmp_path, capsys):
    root = shared_data / "alphamatting_training_lowres"
    out = tmp_path / "one.png"
    assert (
        main(
            [
                "predict",
                "--model",
                "trimap-baseline",
                str(root / "image" / "GT03.png"),
                str(root / "trimap" / "GT03.png"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    expected = trimap_baseline_alpha(read_trimap(root / "trimap" / "GT03.png"))
    np.testing.assert_array_equal(written, np.rint(expected * 255).astype(np.uint8))

    images, trimaps, out_dir = tmp_path / "images", tmp_path / "trimaps", tmp_path / "out"
    for folder, kind in ((images, "image"), (trimaps, "trimap")):
        folder.mkdir()
        for case in ("GT01", "GT02"):
            (folder / f"{case}.png").write_bytes((root / kind / f"{case}.png").read_bytes())
    argv = [
        "predict",
        "--model",
        "trimap-baseline",
        "--images",
        str(images),
        "--trimaps",
        str(trimaps),
        "--out",
        str(out_dir),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["GT01.png", "GT02.png"]
    before = (out_dir / "GT01.png").stat().st_mtime_ns
    (out_dir / "GT02.png").unlink()
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert (out_dir / "GT01.png").stat().st_mtime_ns == before
    assert (out_dir / "GT02.png").exists()
    assert "1 output(s) already exist" in capsys.readouterr().err


def test_cli_predict_errors_are_one_line_and_write_nothing(shared_data, tmp_path, capsys):
    root = shared_data / "alphamatting_training_lowres"
    image, trimap = str(root / "image" / "GT03.png"), str(root / "trimap" / "GT04.png")
    out = tmp_path / "alpha.png"
    cases = [
        (["--model", "trimap-baseline", image, trimap, "-o", str(out)], "is 800x563 but image"),
        (["--model", "nope", image, trimap, "-o", str(out)], "unknown model"),
        (["--model", "trimap-baseline", image, trimap], "missing -o"),
        (["--model", "trimap-baseline", image, trimap, "-o", str(tmp_path / "a.jpg")], ".png"),
        (
            [
                "--model",
                "trimap-baseline",
                "--set",
                "unknown_value=2",
                image,
                trimap,
                "-o",
                str(out),
            ],
            "unknown_value",
        ),
        (
            [
                "--model",
                "trimap-baseline",
                "--checkpoint",
                str(tmp_path / "x.pth"),
                image,
                trimap,
                "-o",
                str(out),
            ],
            "does not exist",
        ),
    ]
    for argv, phrase in cases:
        assert main(["predict", *argv]) == 2, argv
        err = capsys.readouterr().err
        _assert_one_line_error(err)
        assert phrase in err, (phrase, err)
    assert list(tmp_path.iterdir()) == []
