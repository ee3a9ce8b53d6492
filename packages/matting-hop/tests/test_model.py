"""HOPMatting: size of the network, module names, forward/backward, configs, input checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from matting_core import create_model
from matting_core.errors import ConfigError, InputError, ShapeError
from matting_hop.model import HOPAllDataConfig, HOPConfig, HOPMatting

OFFICIAL_ELEMENTS = 25_357_815  # keys.json: every tensor of HOP-9x9-RI*.pth, buffers included
OFFICIAL_TENSORS = 624


def _trimap(batch: int, height: int, width: int | None = None) -> torch.Tensor:
    width = width or height
    classes = torch.zeros(batch, height, width, dtype=torch.long)
    classes[:, height // 4 : 3 * height // 4] = 1
    classes[:, 3 * height // 4 :] = 2
    return nn.functional.one_hot(classes, 3).permute(0, 3, 1, 2).float()


@pytest.fixture(scope="module")
def model() -> HOPMatting:
    torch.manual_seed(0)
    return HOPMatting().eval()


def test_size_equals_the_release(model, official_manifest):
    state = model.state_dict()
    assert len(state) == OFFICIAL_TENSORS == official_manifest["num_tensors"]
    elements = sum(t.numel() for t in state.values())
    assert elements == OFFICIAL_ELEMENTS == official_manifest["num_elements"]
    # Learnable: everything but the BN statistics and counters and the SN vectors (the
    # paper's Table 4 rounds the network to 25.3 M).
    not_learnable = ("weight_u", "weight_v", "running_mean", "running_var", "num_batches_tracked")
    learnable = sum(
        math.prod(row["shape"])
        for row in official_manifest["tensors"]
        if not row["key"].endswith(not_learnable)
    )
    assert sum(p.numel() for p in model.parameters()) == learnable
    assert 25.2e6 < learnable < 25.3e6


def test_sub_modules_are_named_after_the_paper(model):
    names = dict(model.named_children())
    assert list(names) == ["opacity_encoder", "appearance_encoder", "decoder"]
    decoder = dict(model.decoder.named_children())
    assert {"global_hop", "local_hop1", "local_hop2", "local_hop3"} <= set(decoder)
    assert {"scale", "w_qk", "w_pe", "w_t", "w_out"} <= {
        n.split(".")[0] for n, _ in model.decoder.global_hop.named_parameters()
    }


@pytest.mark.parametrize("rate", [1, 2])
def test_forward_shapes_and_range(rate):
    torch.manual_seed(0)
    net = HOPMatting(HOPConfig(global_hop_rate=rate, width=0.25)).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 96, 128), _trimap(2, 96, 128))
    assert out["alpha"].shape == (2, 1, 96, 128) and out["alpha"].dtype == torch.float32
    assert torch.isfinite(out["alpha"]).all()
    assert out["alpha"].min() > 0 and out["alpha"].max() < 1
    assert out["offset"].shape == (2, 2, 6 // rate, 8 // rate)


@pytest.mark.parametrize(("rate", "size"), [(1, 64), (1, 160), (2, 64), (2, 224)])
def test_inputs_smaller_than_the_releases_limit_run(model, rate, size):
    # The release needs a 14 x 14 matching grid (224 px at rate 1, 448 at rate 2).
    net = HOPMatting(HOPConfig(global_hop_rate=rate))
    net.load_state_dict(model.state_dict())
    with torch.no_grad():
        out = net.eval()(torch.randn(1, 3, size, size), _trimap(1, size))
    assert out["alpha"].shape == (1, 1, size, size) and torch.isfinite(out["alpha"]).all()


def test_backward_reaches_every_parameter_and_train_mode_iterates_spectral_norms():
    torch.manual_seed(0)
    net = HOPMatting(HOPConfig(width=0.25)).train()
    u_before = net.decoder.global_hop.w_out[0].module.weight_u.clone()
    out = net(torch.randn(2, 3, 64, 64), _trimap(2, 64))
    out["alpha"].mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    assert net.decoder.global_hop.scale.grad.abs() > 0
    assert not torch.equal(u_before, net.decoder.global_hop.w_out[0].module.weight_u)


def test_chunk_setting_does_not_change_the_output(model):
    image, trimap = torch.randn(1, 3, 128, 160), _trimap(1, 128, 160)
    outs = []
    for chunk in (1024, 3, None):
        model.set_attention_chunk(chunk)
        with torch.no_grad():
            outs.append(model(image, trimap)["alpha"])
    model.set_attention_chunk(1024)
    torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(outs[2], outs[0], atol=1e-5, rtol=0)
    with pytest.raises(ConfigError):
        model.set_attention_chunk(0)


def test_batchnorm_eps_of_the_two_released_configs():
    def eps(net):
        return {m.eps for m in net.modules() if isinstance(m, nn.BatchNorm2d)}

    assert eps(create_model("hop", width=0.25)) == {1e-3}
    assert eps(create_model("hop-all-data", width=0.25)) == {1e-5}
    assert HOPAllDataConfig().global_hop_rate == HOPConfig().global_hop_rate == 2


@pytest.mark.parametrize(
    "options",
    [
        {"local_window": 5},  # HOP-5x5
        {"positional_encoding": False, "trimap_embedding": False},  # the ablation baseline
        {"trimap_embedding": False},
    ],
)
def test_the_papers_variants_build_and_run(options):
    net = HOPMatting(HOPConfig(width=0.25, **options)).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 96), _trimap(1, 64, 96))
    assert torch.isfinite(out["alpha"]).all()
    keys = net.state_dict().keys()
    assert any(".w_pe." in k for k in keys) == options.get("positional_encoding", True)
    assert any(".w_t." in k for k in keys) == options.get("trimap_embedding", True)


@pytest.mark.parametrize(
    ("image", "trimap"),
    [
        (torch.zeros(1, 3, 32, 32), _trimap(1, 32)),  # below the 64 px minimum
        (torch.zeros(1, 3, 64, 80), _trimap(1, 64, 80)),  # not a multiple of 32
        (torch.zeros(1, 3, 64, 64), _trimap(1, 96)),  # sizes differ
        (torch.zeros(1, 4, 64, 64), _trimap(1, 64)),  # not RGB
    ],
)
def test_bad_inputs_raise_shape_error(model, image, trimap):
    with pytest.raises(ShapeError):
        model(image, trimap)


def test_missing_trimap_raises(model):
    with pytest.raises(InputError, match="trimap"):
        model(torch.zeros(1, 3, 64, 64), None)


@pytest.mark.parametrize(
    "options",
    [
        {"global_hop_rate": 3},
        {"local_window": 4},
        {"local_window": 1},
        {"pe_radius": 0},
        {"batchnorm_eps": 0.0},
        {"attention_chunk": 0},
        {"width": 0.3},  # odd attention widths
        {"encoder_layers": (3, 4, 4)},
    ],
)
def test_bad_config_raises(options):
    with pytest.raises(ConfigError):
        create_model("hop", **options)


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"width": float("inf")}, "must be a finite number"),
        ({"width": 2e5}, "width must be > 0 and <= 4.0"),
        ({"decoder_layers": (2, 3, 3, 100000)}, "block counts from 1 to 64"),
    ],
)
def test_sizes_are_bounded_before_anything_is_allocated(options, phrase):
    from matting_core import create_model

    with pytest.raises(ConfigError, match=phrase):
        create_model("hop", **options)


def test_forward_returns_the_declared_extra_outputs():
    from matting_hop.model import HOP_EXTRA_OUTPUTS, HOP_INFO

    model = HOPMatting(HOPConfig(width=0.25)).eval()
    trimap = torch.zeros(1, 3, 128, 96)
    trimap[:, 1] = 1
    with torch.no_grad():
        out = model(torch.randn(1, 3, 128, 96), trimap)
    assert HOP_INFO.extra_outputs == HOP_EXTRA_OUTPUTS
    assert [e.name for e in HOP_EXTRA_OUTPUTS] == [
        "offset",
        "propagation_1",
        "propagation_2",
        "propagation_3",
    ]
    assert set(out) == {"alpha", *(e.name for e in HOP_EXTRA_OUTPUTS)}
    assert out["propagation_1"].shape == (1, 2, 16, 12)
    assert out["propagation_2"].shape == (1, 2, 32, 24)
    assert out["propagation_3"].shape == (1, 2, 64, 48)
    for level in (1, 2, 3):
        assert out[f"propagation_{level}"].abs().max() <= 4  # inside the 9 x 9 window
