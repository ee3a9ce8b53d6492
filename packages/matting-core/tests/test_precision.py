"""Inference precision (``matting_core.precision``): fp32, bf16 / fp16 autocast with
channels-last tensors, ``auto`` from ``ModelInfo.auto_precisions``, ``--device auto``."""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import matting_core.precision as precision_module
from matting_core import ModelInfo, hookimpl, save_weights
from matting_core.cli import main
from matting_core.errors import InputError, PluginError
from matting_core.inference import check_device, predict
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.precision import precision_supported, resolve_precision
from matting_data import read_image, read_trimap, samples_dir


@dataclass
class SpyConfig:
    width: int = 4


class SpyNet(nn.Module):
    """alpha = sigmoid(conv(relu(conv(image ++ trimap)))); records the autocast dtype and the
    memory format its forward sees."""

    def __init__(self, config: SpyConfig | None = None) -> None:
        super().__init__()
        width = (config or SpyConfig()).width
        self.first = nn.Conv2d(6, width, 3, padding=1)
        self.last = nn.Conv2d(width, 1, 3, padding=1)
        self.seen: list[tuple[torch.dtype | None, bool, torch.dtype]] = []

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        autocast = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None
        channels_last = image.is_contiguous(memory_format=torch.channels_last)
        hidden = torch.relu(self.first(torch.cat([image, trimap], 1)))
        alpha = torch.sigmoid(self.last(hidden))
        self.seen.append((autocast, channels_last, alpha.dtype))
        return {"alpha": alpha}


SPY_INFO = ModelInfo(paper="test", needs_trimap=True, input_channels=6, config_class=SpyConfig)


@pytest.fixture
def cpu_features(monkeypatch):
    """Pretend which CPU features exist: autocast runs anywhere (emulated where the CPU lacks
    the instructions), so the tests do not depend on the machine."""
    features: set[str] = set()
    monkeypatch.setattr(precision_module, "_cpu_has", lambda name: name in features)
    return features


@pytest.fixture
def photo():
    root = samples_dir()
    image = read_image(root / "image" / "GT19.png")[32:96, 352:448]
    trimap = read_trimap(root / "trimap" / "GT19.png")[32:96, 352:448]
    return image, trimap


def _spy(seed: int = 0) -> SpyNet:
    torch.manual_seed(seed)
    return SpyNet()


def test_resolve_checks_the_hardware(cpu_features):
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("auto", "cpu", ("bf16",)) == "fp32"  # not on this "CPU"
    with pytest.raises(InputError, match=r"bf16 is not supported by this CPU.*AVX512-BF16"):
        resolve_precision("bf16", "cpu")
    with pytest.raises(InputError, match="fp16 is not supported by this CPU"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(InputError, match="precision must be one of"):
        resolve_precision("int8", "cpu")
    cpu_features.add("avx512_bf16")
    assert precision_supported("bf16", "cpu") and not precision_supported("fp16", "cpu")
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu", ("fp16", "bf16")) == "bf16"  # first supported
    cpu_features.add("amx_fp16")
    assert resolve_precision("auto", "cpu", ("fp16", "bf16")) == "fp16"


def test_model_info_declares_its_auto_precisions():
    info = dataclasses.replace(SPY_INFO, auto_precisions=["bf16"])
    assert info.auto_precisions == ("bf16",)
    assert SPY_INFO.auto_precisions == ()
    with pytest.raises(PluginError, match="auto_precisions"):
        dataclasses.replace(SPY_INFO, auto_precisions=("int8",))


def test_bf16_runs_under_autocast_with_channels_last_and_returns_float32(cpu_features, photo):
    cpu_features.add("avx512_bf16")
    image, trimap = photo
    model = _spy()
    reference = predict(model, image, trimap, info=SPY_INFO)
    assert model.seen[-1] == (None, False, torch.float32)
    alpha = predict(model, image, trimap, info=SPY_INFO, precision="bf16")
    assert model.seen[-1] == (torch.bfloat16, True, torch.bfloat16)
    assert model.first.weight.is_contiguous(memory_format=torch.channels_last)
    assert alpha.dtype == np.float32 and alpha.shape == trimap.shape
    unknown = trimap == 128
    # bfloat16 keeps 8 bits of mantissa: the sigmoid's output moves by well under 1%
    assert np.abs(alpha - reference)[unknown].max() < 0.02
    assert np.array_equal(alpha[~unknown], reference[~unknown])
    # back to fp32: contiguous again and the same result as before
    again = predict(model, image, trimap, info=SPY_INFO, precision="fp32")
    assert model.seen[-1] == (None, False, torch.float32)
    np.testing.assert_array_equal(again, reference)


def test_auto_follows_the_declaration_and_the_hardware(cpu_features, photo):
    image, trimap = photo
    model = _spy()
    declared = dataclasses.replace(SPY_INFO, auto_precisions=("bf16",))
    predict(model, image, trimap, info=declared, precision="auto")
    assert model.seen[-1][0] is None  # the CPU has no bf16: fp32
    cpu_features.add("avx512_bf16")
    predict(model, image, trimap, info=declared, precision="auto")
    assert model.seen[-1][0] == torch.bfloat16
    predict(model, image, trimap, info=SPY_INFO, precision="auto")
    assert model.seen[-1][0] is None  # nothing declared: fp32


def test_crop_and_stitch_runs_in_the_precision_too(cpu_features, photo):
    from matting_core.strategy import CropAndStitch

    cpu_features.add("avx512_bf16")
    image, trimap = photo
    model = _spy()
    whole = predict(model, image, trimap, info=SPY_INFO)
    tiled = predict(
        model,
        image,
        trimap,
        info=SPY_INFO,
        strategy=CropAndStitch(tile=32, overlap=8),
        precision="bf16",
    )
    assert model.seen[-1][0] == torch.bfloat16 and model.seen[-1][2] == torch.bfloat16
    assert tiled.dtype == np.float32
    assert np.abs(tiled - whole).max() < 0.05


def test_device_auto_is_cuda_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert check_device("auto").type == expected


@pytest.fixture
def spy_registered(tmp_path):
    reset_plugins()
    plugin = types.SimpleNamespace(
        matting_register_models=hookimpl(
            lambda registry: registry.add(
                "spy-net", SpyNet, dataclasses.replace(SPY_INFO, auto_precisions=("bf16",))
            )
        )
    )
    register_plugin(plugin, name="spy")
    weights = save_weights(
        _spy(), tmp_path / "spy.safetensors", model_name="spy-net", config=SpyConfig()
    )
    yield weights
    reset_plugins()


def _write_photo(tmp_path, photo):
    from matting_data import write_image

    image, trimap = photo
    write_image(tmp_path / "image.png", image)
    write_image(tmp_path / "trimap.png", trimap)
    return str(tmp_path / "image.png"), str(tmp_path / "trimap.png")


def test_cli_precision_and_device_auto(spy_registered, cpu_features, photo, tmp_path, capsys):
    image, trimap = _write_photo(tmp_path, photo)
    base = ["predict", "--model", "spy-net", "--checkpoint", str(spy_registered), image, trimap]
    for mode in ("fp32", "auto"):
        out = tmp_path / f"{mode}.png"
        assert main([*base, "-o", str(out), "--precision", mode, "--device", "auto"]) == 0
    cpu_features.add("avx512_bf16")
    assert main([*base, "-o", str(tmp_path / "bf16.png"), "--precision", "bf16"]) == 0
    capsys.readouterr()
    # a mode this CPU lacks: one sentence, exit 2, nothing written
    out = tmp_path / "fp16.png"
    assert main([*base, "-o", str(out), "--precision", "fp16"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "precision fp16 is not supported by this CPU" in err
    assert not out.exists()
