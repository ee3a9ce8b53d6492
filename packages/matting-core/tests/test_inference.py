"""Whole-image inference (``matting_core.inference``), model loading and ``matting predict``."""

from __future__ import annotations

import dataclasses
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
from matting_core.errors import CheckpointError, InputError, PluginError, ShapeError
from matting_core.evaluation import as_uint8_if_exact, score_alpha, trimap_baseline_alpha
from matting_core.inference import Padding, forward_tta, predict, trimap_one_hot
from matting_core.model_loading import load_model
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.training.validation import validate
from matting_data import TrimapValueError, read_image, read_trimap, samples_dir


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


@pytest.mark.parametrize(
    "size, multiple, margin, min_size, expected",
    [
        # 20 -> 32 is below 64: the bottom pads on to 64; 50 -> 64 already reaches it.
        ((20, 50), 32, 0, 64, (0, 44, 0, 14)),
        # min_size 70 rounds up to the multiple: 96. 100 -> 128 is above it.
        ((20, 100), 32, 0, 70, (0, 76, 0, 28)),
        # With a margin: 20 + 16 = 36 -> 64 < 128, so bottom = 128 - 20 - 8 = 100;
        # 200 + 16 = 216 -> 224 >= 128, so right = 224 - 200 - 8 = 16.
        ((20, 200), 32, 8, 128, (8, 100, 8, 16)),
        # No minimum: unchanged.
        ((20, 50), 32, 0, 0, (0, 12, 0, 14)),
    ],
)
def test_padding_min_size_by_hand(size, multiple, margin, min_size, expected):
    assert Padding.for_size(*size, multiple, margin, min_size) == Padding(*expected)


def test_model_info_min_size_is_validated_and_used_by_predict(probe_registered):
    with pytest.raises(PluginError, match="min_size"):
        dataclasses.replace(PROBE_INFO, min_size=-1)
    model = create_model("probe-net")
    info = dataclasses.replace(PROBE_INFO, min_size=64)
    alpha = predict(
        model, np.zeros((20, 50, 3), np.uint8), np.full((20, 50), 128, np.uint8), info=info
    )
    assert model.seen[-1][0].shape[-2:] == (64, 64)
    assert alpha.shape == (20, 50)


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


# --------------------------------------------------------------------------------------------
# Validation pads like predict
# --------------------------------------------------------------------------------------------


class _ShapeSpy(nn.Module):
    """No weights; records its input sizes and returns alpha 0.5 everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, int]] = []

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        self.shapes.append(tuple(image.shape[-2:]))
        return {"alpha": torch.full_like(image[:, :1], 0.5)}


def test_validate_pads_with_margin_and_min_size_like_predict():
    rng = np.random.default_rng(0)
    h, w = 20, 50
    tri = np.full((h, w), 128, np.uint8)
    tri[:, :10], tri[:, -10:] = 0, 255
    gt = rng.random((h, w), dtype=np.float32)
    item = {
        "image": torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)),
        "alpha": torch.from_numpy(gt)[None, None],
        "trimap": torch.from_numpy(tri.astype(np.float32) / 255)[None, None],
        "trimap_onehot": trimap_one_hot(tri),
    }
    info = dataclasses.replace(PROBE_INFO, pad_margin=32, min_size=160)
    spy = _ShapeSpy()
    scores = validate(spy, info, [item], torch.device("cpu"))
    # 20 + 64 -> 96 and 50 + 64 -> 128 are both below 160: predict pads both to 160.
    padding = Padding.for_size(h, w, 32, 32, 160)
    assert spy.shapes == [(160, 160)] == [(h + padding.top + padding.bottom,) * 2]
    # The score is the DIM score of the 8-bit prediction 0.5 (level 128) on the unknown band.
    pred = np.where(tri == 128, np.uint8(128), tri)
    expected = score_alpha(pred, as_uint8_if_exact(gt), tri)
    assert scores["images"] == 1.0
    for name in ("sad", "mse", "grad", "conn"):
        assert scores[name] == pytest.approx(expected[name], rel=1e-9), name
    unknown = tri == 128
    assert scores["sad"] == pytest.approx(np.abs(128 / 255 - gt[unknown]).sum() / 1000, rel=1e-5)


# --------------------------------------------------------------------------------------------
# dilate_unknown and tta
# --------------------------------------------------------------------------------------------


class TrimapSpy(nn.Module):
    """No weights; records its trimap and returns alpha 0.5 everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.trimaps: list[torch.Tensor] = []

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        self.trimaps.append(trimap.clone())
        return {"alpha": torch.full_like(trimap[:, :1], 0.5)}


def _band_trimap(h: int, w: int) -> np.ndarray:
    """Background left, foreground right, a 3-pixel unknown band and an unknown dot at the top
    border (so the reflected padding carries unknown pixels too)."""
    tri = np.zeros((h, w), np.uint8)
    tri[:, w // 2 :] = 255
    tri[:, w // 2 - 1 : w // 2 + 2] = 128
    tri[0:2, 5:7] = 128
    return tri


def test_dilate_unknown_feeds_and_restores_the_dilated_trimap():
    h, w = 70, 90
    tri = _band_trimap(h, w)
    image = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    spy = TrimapSpy()
    alpha = predict(spy, image, tri, pad_margin=32, dilate_unknown=11)

    # The padded trimap, built by hand: reflection (numpy's "reflect" = torch's), then
    # cv2.dilate of the unknown channel with the 11x11 ellipse.
    pad = Padding.for_size(h, w, 32, 32)
    assert pad == Padding(32, 58, 32, 38)  # 70 + 64 -> 160, 90 + 64 -> 160
    widths = ((pad.top, pad.bottom), (pad.left, pad.right))
    padded = np.pad(tri, widths, mode="reflect")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
    unknown = cv2.dilate((padded == 128).astype(np.uint8), kernel)
    expected = np.stack(
        [(padded == 0) & (unknown == 0), unknown == 1, (padded == 255) & (unknown == 0)]
    ).astype(np.float32)

    (seen,) = spy.trimaps
    np.testing.assert_array_equal(seen[0].numpy(), expected)
    assert torch.all(seen.sum(1) == 1)  # still an exclusive one-hot
    # The dilation did grow the band, into both known regions, and from the reflected dot.
    grown = unknown[pad.top : pad.top + h, pad.left : pad.left + w] == 1
    assert np.any(grown & (tri == 0)) and np.any(grown & (tri == 255))

    # The known pixels restored are those of the dilated trimap.
    dilated_tri = np.where(grown, np.uint8(128), tri)
    np.testing.assert_array_equal(alpha, trimap_baseline_alpha(dilated_tri))
    assert np.any(alpha[tri == 0] == 0.5) and np.any(alpha[tri == 255] == 0.5)

    # Off by default: the spy sees the plain one-hot.
    predict(spy, image, tri, pad_margin=32)
    assert torch.equal(spy.trimaps[-1][0, 1], torch.from_numpy(padded == 128).float())


@pytest.mark.parametrize("bad", [-1, 2.5, True, "11"])
def test_dilate_unknown_rejects_bad_sizes(bad):
    image, tri = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)
    with pytest.raises(InputError, match="dilate_unknown"):
        predict(TrimapSpy(), image, tri, dilate_unknown=bad)
    with pytest.raises(InputError, match="needs a trimap"):
        predict(TrimapSpy(), image, None, dilate_unknown=3)


class RampNet(nn.Module):
    """Deliberately not equivariant: alpha = sigmoid(ramp over the grid + image[0] + unknown).

    The ramp depends on (row, column) position, so rotating or flipping the input changes the
    output by more than the same rotation.  Records the shape of every input.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, int]] = []

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        self.shapes.append((h, w))
        rows = torch.linspace(-2.0, 1.0, h).view(h, 1)
        cols = torch.linspace(0.5, -3.0, w).view(1, w)
        ramp = rows * rows + 2.0 * cols + rows * cols
        return {"alpha": torch.sigmoid(ramp + image[:, :1] + trimap[:, 1:2])}


def _hand_tta(fn, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """The official HOP demo's 8-fold TTA written out, undoing each turn as a negative turn."""
    outs = []
    for k in range(4):
        outs.append(
            torch.rot90(
                fn(torch.rot90(image, k, (2, 3)), torch.rot90(trimap, k, (2, 3))), -k, (2, 3)
            )
        )
        flipped = fn(
            torch.rot90(torch.flip(image, (3,)), k, (2, 3)),
            torch.rot90(torch.flip(trimap, (3,)), k, (2, 3)),
        )
        outs.append(torch.flip(torch.rot90(flipped, -k, (2, 3)), (3,)))
    return sum(outs) / 8


def test_tta_is_the_mean_of_the_eight_deaugmented_forwards():
    h, w = 40, 70  # padded to 64 x 96: odd turns feed the network 96 x 64
    tri = _band_trimap(h, w)
    rgb = np.random.default_rng(2).integers(0, 256, (h, w, 3), dtype=np.uint8)
    net = RampNet()
    alpha = predict(net, rgb, tri, tta=True)
    assert net.shapes == [(64, 96), (64, 96), (96, 64), (96, 64)] * 2

    # The same padded inputs, independently: normalise, one-hot, reflect.
    mean = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet, predict's default
    std = np.array([0.229, 0.224, 0.225], np.float32)
    x = torch.from_numpy(((rgb / np.float32(255) - mean) / std).transpose(2, 0, 1).copy())[None]
    pad = (0, 96 - w, 0, 64 - h)
    x = nn.functional.pad(x, pad, mode="reflect")
    t = nn.functional.pad(trimap_one_hot(tri), pad, mode="reflect")
    with torch.inference_mode():
        mean_alpha = _hand_tta(lambda i, m: RampNet()(i, m)["alpha"], x, t)[0, 0, :h, :w]
        direct = forward_tta(RampNet(), x, t)[0, 0, :h, :w]
    expected = mean_alpha.numpy().copy()
    expected[tri == 0], expected[tri == 255] = 0.0, 1.0
    np.testing.assert_allclose(alpha, np.clip(expected, 0, 1), rtol=0, atol=1e-6)
    np.testing.assert_allclose(direct.numpy(), mean_alpha.numpy(), rtol=0, atol=1e-6)

    plain = predict(RampNet(), rgb, tri)
    assert np.abs(plain - alpha)[tri == 128].max() > 0.05


def test_tta_changes_nothing_for_an_equivariant_model():
    root = samples_dir()
    image, trimap = (
        read_image(root / "image" / "GT18.png"),
        read_trimap(root / "trimap" / "GT18.png"),
    )
    model = create_model("trimap-baseline")
    with_tta = predict(model, image, trimap, tta=True, pad_margin=32)
    np.testing.assert_array_equal(with_tta, predict(model, image, trimap, pad_margin=32))
    np.testing.assert_array_equal(with_tta, trimap_baseline_alpha(trimap))


def test_cli_predict_tta_dilate_and_margin_on_a_bundled_photo(tmp_path, capsys, monkeypatch):
    root = samples_dir()
    image, trimap = root / "image" / "GT17.png", root / "trimap" / "GT17.png"
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "trimap-baseline", str(image), str(trimap), "-o", str(out)]
    assert main([*argv, "--tta", "--dilate-unknown", "--pad-margin", "32"]) == 0
    assert "written" in capsys.readouterr().out

    # The trimap baseline's answer on the trimap dilated by the default 11 px, after the
    # 32 px reflect border (the bare flag means 11).
    tri = read_trimap(trimap)
    h, w = tri.shape
    pad = Padding.for_size(h, w, 32, 32)
    padded = np.pad(tri, ((pad.top, pad.bottom), (pad.left, pad.right)), mode="reflect")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
    grown = cv2.dilate((padded == 128).astype(np.uint8), kernel)[
        pad.top : pad.top + h, pad.left : pad.left + w
    ]
    expected = trimap_baseline_alpha(np.where(grown == 1, np.uint8(128), tri))
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(written, np.rint(expected * 255).astype(np.uint8))
    assert np.any(written[tri == 0] == 128)  # the dilation reached the output

    # An explicit size, and the folder form; every image gets the options (the trimap
    # baseline cannot tell --tta apart, so the calls are recorded on their way).
    import matting_core.inference

    calls = []

    def recording_predict(*args, **kwargs):
        calls.append({k: kwargs[k] for k in ("tta", "dilate_unknown", "pad_margin")})
        return predict(*args, **kwargs)

    monkeypatch.setattr(matting_core.inference, "predict", recording_predict)
    folder = tmp_path / "out"
    assert (
        main(
            [
                "predict",
                "--model",
                "trimap-baseline",
                "--images",
                str(root / "image"),
                "--trimaps",
                str(root / "trimap"),
                "--out",
                str(folder),
                "--tta",
                "--dilate-unknown",
                "5",
                "--pad-margin",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in folder.iterdir()) == [f"GT{n}.png" for n in (17, 18, 19, 20)]
    assert calls == [{"tta": True, "dilate_unknown": 5, "pad_margin": 0}] * 4


@pytest.mark.parametrize(
    "extra, phrase",
    [
        (["--pad-margin", "-1"], "--pad-margin"),
        (["--pad-margin", "two"], "--pad-margin"),
        (["--dilate-unknown", "0"], "--dilate-unknown"),
        (["--dilate-unknown", "-3"], "--dilate-unknown"),
    ],
)
def test_cli_predict_bad_new_options_exit_2(extra, phrase, tmp_path, capsys):
    root = samples_dir()
    out = tmp_path / "alpha.png"
    argv = [
        "predict",
        "--model",
        "trimap-baseline",
        str(root / "image" / "GT17.png"),
        str(root / "trimap" / "GT17.png"),
        "-o",
        str(out),
        *extra,
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    _assert_one_line_error(err)
    assert phrase in err and "error" in err, err
    assert not out.exists()
