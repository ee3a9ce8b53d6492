"""The generator against the paper's Table 4, the ImageNet initialisation of its 4-channel stem,
and the trimap channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from matting_core.errors import CheckpointError, ConfigError, ShapeError
from matting_gan import AlphaGAN, AlphaGANConfig, AlphaGANSmallConfig, trimap_channel
from matting_nn import ASPPPooling, Bottleneck, MaxUnpool, resnet50


@pytest.fixture(scope="module")
def paper_generator() -> AlphaGAN:
    torch.manual_seed(0)
    return AlphaGAN().eval()


def _conv(module: nn.Module) -> nn.Conv2d:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert len(convs) == 1, module
    return convs[0]


def _assert_conv_norm_relu(unit: nn.Module, cin: int, cout: int, k: int, dilation: int = 1):
    conv = _conv(unit)
    assert (conv.in_channels, conv.out_channels) == (cin, cout), unit
    assert conv.kernel_size == (k, k) and conv.dilation == (dilation, dilation), unit
    assert conv.stride == (1, 1), unit
    kinds = [type(m) for m in unit.children()]
    assert nn.BatchNorm2d in kinds and nn.ReLU in kinds, unit


def test_encoder_is_table_4_left_half(paper_generator: AlphaGAN):
    resnet = paper_generator.encoder.resnet
    # conv1: 7x7, 64, stride 2, on RGB + trimap
    assert resnet.conv1.in_channels == 4 and resnet.conv1.out_channels == 64
    assert resnet.conv1.kernel_size == (7, 7) and resnet.conv1.stride == (2, 2)
    # conv2_x: 3x3 max pool, stride 2, indices kept for the unpooling
    assert resnet.maxpool.kernel_size == 3 and resnet.maxpool.stride == 2
    assert resnet.maxpool.return_indices
    # conv2_x..conv5_x: bottlenecks [1x1 p, 3x3 p, 1x1 4p] x (3, 4, 6, 3); conv4_x and conv5_x
    # dilated 2 and 4 instead of strided (output stride 8); torchvision's rule keeps the
    # previous dilation on the first block of a dilated stage
    rows = [
        (resnet.layer1, 64, 3, 1, (1, 1)),
        (resnet.layer2, 128, 4, 2, (1, 1)),
        (resnet.layer3, 256, 6, 1, (1, 2)),
        (resnet.layer4, 512, 3, 1, (2, 4)),
    ]
    for layer, planes, blocks, stride, (first, rest) in rows:
        assert len(layer) == blocks
        for i, block in enumerate(layer):
            assert isinstance(block, Bottleneck)
            assert block.conv1.out_channels == planes and block.conv1.kernel_size == (1, 1)
            assert block.conv2.out_channels == planes and block.conv2.kernel_size == (3, 3)
            assert block.conv3.out_channels == 4 * planes and block.conv3.kernel_size == (1, 1)
            assert block.conv2.stride == ((stride, stride) if i == 0 else (1, 1))
            d = first if i == 0 else rest
            assert block.conv2.dilation == (d, d) and block.conv2.padding == (d, d)
    assert resnet.output_stride == 8
    # aspp: 1x1 256; 3x3 r=6, 12, 18, 256; image pooling 256; projected to 256
    aspp = paper_generator.encoder.aspp
    branches = list(aspp.convs)
    assert len(branches) == 5
    _assert_conv_norm_relu(branches[0], 2048, 256, 1)
    for branch, rate in zip(branches[1:4], (6, 12, 18), strict=True):
        _assert_conv_norm_relu(branch, 2048, 256, 3, dilation=rate)
    assert isinstance(branches[4], ASPPPooling)
    assert _conv(branches[4]).out_channels == 256
    assert _conv(aspp.project).in_channels == 5 * 256 and _conv(aspp.project).out_channels == 256


def test_decoder_is_table_4_right_half(paper_generator: AlphaGAN):
    decoder = paper_generator.decoder
    assert decoder.bilinear.scale_factor == 2 and decoder.bilinear.mode == "bilinear"
    # deconv1_x: skip from conv2_x, 1x1, 48; 3x3 256, 128, 64
    _assert_conv_norm_relu(decoder.deconv1_x.skip, 256, 48, 1)
    widths = [(256 + 48, 256), (256, 128), (128, 64)]
    for unit, (cin, cout) in zip(decoder.deconv1_x.convs, widths, strict=True):
        _assert_conv_norm_relu(unit, cin, cout, 3)
    # unpooling with the stem's max-pool indices (its kernel/stride/padding)
    assert isinstance(decoder.unpooling, MaxUnpool)
    assert (decoder.unpooling.kernel_size, decoder.unpooling.stride) == (3, 2)
    # deconv2_x: skip from conv1, 1x1, 32; 3x3 64; 3x3 64 stride 1/2; 3x3 32
    d2 = decoder.deconv2_x
    _assert_conv_norm_relu(d2.skip, 64, 32, 1)
    _assert_conv_norm_relu(d2.conv1, 64 + 32, 64, 3)
    deconv = _conv(d2.deconv)
    assert isinstance(deconv, nn.ConvTranspose2d) and deconv.stride == (2, 2)
    assert deconv.kernel_size == (3, 3) and (deconv.in_channels, deconv.out_channels) == (64, 64)
    assert {type(m) for m in d2.deconv.children()} == {
        nn.ConvTranspose2d,
        nn.BatchNorm2d,
        nn.ReLU,
    }
    _assert_conv_norm_relu(d2.conv2, 64, 32, 3)
    # deconv3_x: the RGB image concatenated; deconv4_x: 3x3 32, 3x3 32, then 3x3 1 (no norm)
    d4 = decoder.deconv4_x
    _assert_conv_norm_relu(d4[0], 32 + 3, 32, 3)
    _assert_conv_norm_relu(d4[1], 32, 32, 3)
    last = d4[2]
    assert isinstance(last, nn.Conv2d) and last.out_channels == 1 and last.kernel_size == (3, 3)
    assert last.bias is not None  # no batch norm follows it


def test_output_sizes_are_table_4s_at_320(paper_generator: AlphaGAN):
    sizes: dict[str, tuple[int, ...]] = {}

    def keep(name):
        def hook(module, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            sizes[name] = tuple(out.shape[1:])

        return hook

    resnet, decoder = paper_generator.encoder.resnet, paper_generator.decoder
    modules = {
        "conv1": resnet.conv1,
        "conv2_x": resnet.layer1,
        "conv3_x": resnet.layer2,
        "conv4_x": resnet.layer3,
        "conv5_x": resnet.layer4,
        "aspp": paper_generator.encoder.aspp,
        "bilinear": decoder.bilinear,
        "deconv1_x": decoder.deconv1_x,
        "unpooling": decoder.unpooling,
        "deconv2_x": decoder.deconv2_x,
        "deconv4_x": decoder.deconv4_x,
    }
    handles = [m.register_forward_hook(keep(n)) for n, m in modules.items()]
    trimap = torch.zeros(1, 3, 320, 320)
    trimap[:, 1] = 1
    with torch.no_grad():
        alpha = paper_generator(torch.randn(1, 3, 320, 320), trimap)["alpha"]
    for h in handles:
        h.remove()
    assert sizes == {
        "conv1": (64, 160, 160),
        "conv2_x": (256, 80, 80),
        "conv3_x": (512, 40, 40),
        "conv4_x": (1024, 40, 40),
        "conv5_x": (2048, 40, 40),
        "aspp": (256, 40, 40),
        "bilinear": (256, 80, 80),
        "deconv1_x": (64, 80, 80),
        "unpooling": (64, 160, 160),
        "deconv2_x": (32, 320, 320),
        "deconv4_x": (1, 320, 320),
    }
    assert alpha.shape == (1, 1, 320, 320)
    assert float(alpha.min()) > 0.0 and float(alpha.max()) < 1.0  # the sigmoid


def test_small_variant_keeps_the_layout_with_a_quarter_of_the_channels():
    small = AlphaGAN(AlphaGANSmallConfig())
    resnet = small.encoder.resnet
    assert small.config.width == 0.25
    assert resnet.conv1.out_channels == 16 and resnet.conv1.in_channels == 4
    assert [len(getattr(resnet, f"layer{i}")) for i in (1, 2, 3, 4)] == [3, 4, 6, 3]
    assert resnet.layer4[-1].conv3.out_channels == 512 and resnet.output_stride == 8
    assert resnet.layer4[1].conv2.dilation == (4, 4)
    assert _conv(small.encoder.aspp.project).out_channels == 64
    assert small.decoder.deconv1_x.skip[0].out_channels == 12
    assert small.decoder.deconv4_x[2].in_channels == 8
    trimap = torch.zeros(2, 3, 64, 96)
    trimap[:, 1] = 1
    assert small(torch.randn(2, 3, 64, 96), trimap)["alpha"].shape == (2, 1, 64, 96)


def test_trimap_channel_is_built_from_the_one_hot_codes():
    codes = torch.tensor([0, 1, 2, 1, 0]).view(1, 1, 1, 5)
    onehot = torch.cat([(codes == k).float() for k in range(3)], dim=1)
    assert trimap_channel(onehot).flatten().tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]


def _imagenet_file(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A torchvision-format ResNet-50 ImageNet state dict with random values, written here:
    the same keys and shapes as torchvision's ``resnet50`` file, classifier included."""
    from safetensors.torch import save_file

    torch.manual_seed(1)
    reference = resnet50(num_classes=1000)
    state = {}
    for key, value in reference.state_dict().items():
        if key.endswith("running_var"):
            value = torch.rand_like(value) + 0.5
        elif value.is_floating_point():
            # small values, so that a forward through 16 random blocks stays finite
            value = 0.05 * torch.randn_like(value) + (1.0 if key.endswith("bn1.weight") else 0.0)
        state[key] = value.contiguous()
    path = tmp_path / "resnet50-imagenet.safetensors"
    save_file(state, str(path))
    return path, state


def test_imagenet_weights_load_and_the_trimap_channel_starts_at_zero(tmp_path: Path):
    path, imagenet = _imagenet_file(tmp_path)
    model = AlphaGAN(AlphaGANConfig(pretrained_backbone=str(path)))
    report = model.pretrained_report
    assert report is not None and report.complete
    assert "conv1.weight" in report.adapted
    loaded = model.encoder.resnet.state_dict()
    stem = loaded["conv1.weight"]
    assert stem.shape == (64, 4, 7, 7)
    assert torch.equal(stem[:, :3], imagenet["conv1.weight"])  # the ImageNet RGB filters
    assert torch.count_nonzero(stem[:, 3]) == 0  # the trimap channel starts at zero
    for key, value in loaded.items():
        if key != "conv1.weight" and not key.endswith("num_batches_tracked"):
            assert torch.equal(value, imagenet[key]), key
    # so, at the start, the trimap does not change what the encoder computes from the image
    model.eval()
    image = torch.randn(1, 3, 64, 64)
    a = torch.zeros(1, 3, 64, 64)
    a[:, 0] = 1
    b = torch.zeros(1, 3, 64, 64)
    b[:, 2] = 1
    with torch.no_grad():
        fa, _ = model.encoder(torch.cat([image, trimap_channel(a)], 1))
        fb, _ = model.encoder(torch.cat([image, trimap_channel(b)], 1))
    assert torch.isfinite(fa.layer4).all() and fa.layer4.abs().max() > 0
    assert torch.equal(fa.layer4, fb.layer4)


def test_a_file_that_does_not_fit_is_one_checkpoint_error(tmp_path: Path):
    from safetensors.torch import save_file

    path = tmp_path / "wrong.safetensors"
    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7)}, str(path))
    with pytest.raises(CheckpointError, match=r"wrong\.safetensors"):
        AlphaGAN(AlphaGANConfig(pretrained_backbone=str(path)))


def test_bad_configs_and_inputs_are_typed_errors():
    with pytest.raises(ConfigError, match="width"):
        AlphaGANConfig(width=0)
    with pytest.raises(ConfigError, match="aspp_rates"):
        AlphaGANConfig(aspp_rates=(6, 12))
    with pytest.raises(ConfigError, match="backbone_layers"):
        AlphaGANConfig(backbone_layers=(3, 4, 6))
    with pytest.raises(ConfigError, match=r"pretrained_backbone needs width 1\.0"):
        AlphaGANSmallConfig(pretrained_backbone="resnet50.pth")
    model = AlphaGAN(AlphaGANConfig(width=0.125)).eval()
    trimap = torch.zeros(1, 3, 60, 64)
    with pytest.raises(ShapeError, match="multiple of 8"):
        model(torch.zeros(1, 3, 60, 64), trimap)
