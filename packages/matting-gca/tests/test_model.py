"""GCAMatting: size of the network, forward/backward, config and input validation."""

from __future__ import annotations

import pytest
import torch

from matting_core.errors import ConfigError, InputError, ShapeError
from matting_gca.model import GCAConfig, GCAMatting, GCASmallConfig

OFFICIAL_ELEMENTS = 25_291_776  # keys.json: every tensor of gca-dist.pth, buffers included
OFFICIAL_TENSORS = 578


def _trimap(batch: int, size: int) -> torch.Tensor:
    classes = torch.zeros(batch, size, size, dtype=torch.long)
    classes[:, size // 4 : 3 * size // 4] = 1
    classes[:, 3 * size // 4 :] = 2
    return torch.nn.functional.one_hot(classes, 3).permute(0, 3, 1, 2).float()


@pytest.fixture(scope="module")
def model() -> GCAMatting:
    torch.manual_seed(0)
    return GCAMatting()


def test_size_equals_the_release(model, official_manifest):
    state = model.state_dict()
    assert len(state) == OFFICIAL_TENSORS == official_manifest["num_tensors"]
    assert (
        sum(t.numel() for t in state.values())
        == OFFICIAL_ELEMENTS
        == official_manifest["num_elements"]
    )
    # Learnable parameters: everything but BN statistics, BN counters and the SN vectors.
    learnable = sum(p.numel() for p in model.parameters())
    assert 25_000_000 < learnable < OFFICIAL_ELEMENTS


def test_state_dict_names_and_shapes_are_the_releases(model, official_manifest):
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {r["key"]: tuple(r["shape"]) for r in official_manifest["tensors"]}
    assert ours == theirs


def test_forward_64x64(model):
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64), _trimap(2, 64))
    assert out["alpha"].shape == (2, 1, 64, 64)
    assert out["alpha"].dtype == torch.float32
    assert torch.isfinite(out["alpha"]).all()
    # u, v start from power iterations, so even an untrained model is not saturated.
    assert out["alpha"].min() > 0 and out["alpha"].max() < 1
    assert out["offset_1"].shape == out["offset_2"].shape == (2, 2, 4, 4)
    assert out["scale_1"].shape == out["scale_2"].shape == (2, 2)


def test_backward_and_train_mode_power_iteration():
    torch.manual_seed(1)
    model = GCAMatting(GCASmallConfig()).train()
    u_before = model.encoder.conv1.module.weight_u.clone()
    out = model(torch.randn(2, 3, 64, 64), _trimap(2, 64))
    loss = (out["alpha"] - 0.5).abs().mean()
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["decoder.conv2.weight"].abs().sum() > 0
    assert grads["encoder.gca.guidance_conv.weight"].abs().sum() > 0
    assert not torch.equal(model.encoder.conv1.module.weight_u, u_before)


def test_chunk_setting_does_not_change_the_output(model):
    model.eval()
    image, trimap = torch.randn(1, 3, 96, 64), _trimap(1, 96)[..., :64]
    outputs = []
    for chunk in (None, 1, 1024):
        model.set_attention_chunk(chunk)
        with torch.no_grad():
            outputs.append(model(image, trimap)["alpha"])
    model.set_attention_chunk(1024)
    torch.testing.assert_close(outputs[1], outputs[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(outputs[2], outputs[0], atol=1e-5, rtol=0)


def test_small_variant_is_the_same_code_at_half_width():
    small = GCAMatting(GCASmallConfig())
    assert small.config.width == 0.5
    assert small.encoder.layer_bottleneck[0].conv1.module.weight_bar.shape == (256, 128, 3, 3)
    n_small = sum(p.numel() for p in small.parameters())
    n_full = sum(p.numel() for p in GCAMatting().parameters())
    assert 0.2 < n_small / n_full < 0.3


@pytest.mark.parametrize(
    ("image", "trimap"),
    [
        ((1, 3, 64, 48), (1, 3, 64, 48)),  # not a multiple of 32
        ((1, 4, 64, 64), (1, 3, 64, 64)),  # RGBA
        ((1, 3, 64, 64), (1, 1, 64, 64)),  # one-channel trimap
        ((3, 64, 64), (3, 64, 64)),
    ],
)
def test_bad_inputs_raise_shape_error(model, image, trimap):
    with pytest.raises(ShapeError):
        model(torch.zeros(image), torch.zeros(trimap))


def test_missing_trimap_raises(model):
    with pytest.raises(InputError):
        model(torch.zeros(1, 3, 64, 64), None)


@pytest.mark.parametrize(
    "options",
    [
        {"width": 0.0},
        {"rate": 3},
        {"attention_chunk": 0},
        {"encoder_layers": (3, 4, 4)},
        {"decoder_layers": (2, 0, 3, 2)},
    ],
)
def test_bad_config_raises(options):
    with pytest.raises(ConfigError):
        GCAConfig(**options)


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"width": float("inf")}, "must be a finite number"),
        ({"width": float("nan")}, "must be a finite number"),
        ({"width": 2e5}, "width must be > 0 and <= 4.0"),
        ({"encoder_layers": (3, 4, 4, 100000)}, "block counts from 1 to 64"),
    ],
)
def test_sizes_are_bounded_before_anything_is_allocated(options, phrase):
    """width = 2e5 would allocate without end, inf overflowed: both are refused up front."""
    from matting_core import create_model

    with pytest.raises(ConfigError, match=phrase):
        create_model("gca", **options)


@pytest.mark.parametrize("width", [2e5, float("inf")])
def test_a_sidecar_with_an_unbounded_width_is_refused(tmp_path, width):
    import json

    from matting_core import CheckpointError, create_model, load_model, save_weights

    model = create_model("gca-small", encoder_layers=(1, 1, 1, 1), decoder_layers=(1, 1, 1, 1))
    path = save_weights(model, tmp_path / "w.safetensors", model_name="gca-small",
                        config=model.config)  # fmt: skip
    sidecar = tmp_path / "w.json"
    content = json.loads(sidecar.read_text())
    content["config"]["width"] = width
    sidecar.write_text(json.dumps(content))
    with pytest.raises(CheckpointError, match=r"the sidecar of checkpoint .* invalid config"):
        load_model("gca-small", path)
