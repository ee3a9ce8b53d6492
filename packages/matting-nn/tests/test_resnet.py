"""The ResNet / ResNeXt backbones: torchvision's keys and shapes, parameter counts, dilation,
wider stems and the features a decoder needs."""

from __future__ import annotations

import hashlib

import pytest
import torch
import torch.nn.functional as F

from matting_nn import (
    BACKBONES,
    BasicBlock,
    BlockConfigError,
    Bottleneck,
    ResNet,
    create_backbone,
    dilation_for_output_stride,
    resnet34,
    resnet50,
)

# --------------------------------------------------------------------------------------------
# The expected state dicts, written from torchvision's documented structure
# --------------------------------------------------------------------------------------------

#: torchvision.models: block kind, blocks per stage, groups, width per group.
TORCHVISION_ARCHS = {
    "resnet34": ("basic", (3, 4, 6, 3), 1, 64),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 1, 64),
    "resnext50_32x4d": ("bottleneck", (3, 4, 6, 3), 32, 4),
    "resnext101_32x8d": ("bottleneck", (3, 4, 23, 3), 32, 8),
}

#: Parameters of torchvision's models with the 1000-class head (torchvision's documentation).
TORCHVISION_PARAMS = {
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
}

#: sha256 of the manifest text (``"key [shape]"`` lines in state-dict order) of torchvision
#: 0.29.1's ``models.<name>(weights=None).state_dict()``, recorded once in an environment that
#: had torchvision; this one has none, so the test compares against the record.
TORCHVISION_MANIFEST_SHA256 = {
    "resnet34": "4aa3e2bbbdc5e2fdb7bfcf1e886271e8e822af6b754d4023a9ab60bf1453a693",
    "resnet50": "614cd53ddf84966979ca9f6b3cf723cba0ad398675e7d0db3550943789819c17",
    "resnext50_32x4d": "5157aafec2a2c5e4cbbd4ed8da5608b8600e9febce1f9f582616e708ab3ab3e3",
    "resnext101_32x8d": "98e3cd7345111310da1de34dea1bf30295ecf78422fe60b4234967e63788d2a7",
}


def _bn(name: str, channels: int) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (f"{name}.weight", (channels,)),
        (f"{name}.bias", (channels,)),
        (f"{name}.running_mean", (channels,)),
        (f"{name}.running_var", (channels,)),
        (f"{name}.num_batches_tracked", ()),
    ]


def torchvision_manifest(arch: str) -> list[tuple[str, tuple[int, ...]]]:
    """torchvision's ``state_dict()`` keys and shapes, in order, with the ImageNet head.

    A stage of ``planes`` channels has ``planes * e`` outputs (e = 1 basic, 4 bottleneck); a
    bottleneck's 3×3 convolution is ``planes * width / 64 * groups`` wide and grouped; the
    first block of a stage has a ``downsample`` (1×1 conv + BN) when its stride or width
    changes.
    """
    kind, layers, groups, width_per_group = TORCHVISION_ARCHS[arch]
    e = 1 if kind == "basic" else 4
    entries = [("conv1.weight", (64, 3, 7, 7)), *_bn("bn1", 64)]
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True), 1):
        out = planes * e
        for b in range(blocks):
            p = f"layer{stage}.{b}."
            if kind == "basic":
                entries += [(p + "conv1.weight", (planes, inplanes, 3, 3)), *_bn(p + "bn1", planes)]
                entries += [(p + "conv2.weight", (planes, planes, 3, 3)), *_bn(p + "bn2", planes)]
            else:
                width = planes * width_per_group // 64 * groups
                entries += [(p + "conv1.weight", (width, inplanes, 1, 1)), *_bn(p + "bn1", width)]
                entries += [
                    (p + "conv2.weight", (width, width // groups, 3, 3)),
                    *_bn(p + "bn2", width),
                ]
                entries += [(p + "conv3.weight", (out, width, 1, 1)), *_bn(p + "bn3", out)]
            if b == 0 and (stage > 1 or inplanes != out):
                entries += [
                    (p + "downsample.0.weight", (out, inplanes, 1, 1)),
                    *_bn(p + "downsample.1", out),
                ]
            inplanes = out
    entries += [("fc.weight", (1000, 512 * e)), ("fc.bias", (1000,))]
    return entries


def _manifest_text(entries: list[tuple[str, tuple[int, ...]]]) -> str:
    return "\n".join(f"{key} {list(shape)}" for key, shape in entries)


@pytest.mark.parametrize("arch", list(TORCHVISION_ARCHS))
def test_state_dict_is_torchvisions(arch):
    expected = torchvision_manifest(arch)
    # the written manifest is the one torchvision 0.29.1 produced
    digest = hashlib.sha256(_manifest_text(expected).encode()).hexdigest()
    assert digest == TORCHVISION_MANIFEST_SHA256[arch]
    net = create_backbone(arch, num_classes=1000)
    ours = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    assert ours == expected
    assert sum(p.numel() for p in net.parameters()) == TORCHVISION_PARAMS[arch]
    del net
    # without the classifier: the same keys but fc.*
    headless = create_backbone(arch)
    assert [(k, tuple(v.shape)) for k, v in headless.state_dict().items()] == expected[:-2]
    fc = expected[-2][1]
    assert sum(p.numel() for p in headless.parameters()) == TORCHVISION_PARAMS[arch] - (
        fc[0] * fc[1] + fc[0]
    )


def test_registry_names_and_unknown_backbone():
    assert set(BACKBONES) == set(TORCHVISION_ARCHS)
    with pytest.raises(BlockConfigError, match="unknown backbone 'resnet51'; known backbones"):
        create_backbone("resnet51")


def test_torchvision_initialisation():
    net = resnet34(zero_init_residual=True)
    assert torch.equal(net.layer1[0].bn2.weight, torch.zeros(64))
    assert torch.equal(net.bn1.weight, torch.ones(64)) and torch.equal(
        net.bn1.bias, torch.zeros(64)
    )
    # kaiming normal, fan_out: std = sqrt(2 / (out * k * k))
    std = net.layer4[0].conv2.weight.std().item()
    assert std == pytest.approx((2 / (512 * 9)) ** 0.5, rel=0.05)


# --------------------------------------------------------------------------------------------
# Output stride and dilation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output_stride", [8, 16, 32])
@pytest.mark.parametrize("factory", [resnet34, resnet50], ids=["basic", "bottleneck"])
def test_output_stride_gives_the_stated_feature_sizes(factory, output_stride):
    net = factory(output_stride=output_stride).eval()
    with torch.no_grad():
        f = net(torch.randn(1, 3, 64, 96))
    e = net.block.expansion
    assert f.stem.shape == (1, 64, 32, 48)
    assert f.pool_indices.shape == (1, 64, 16, 24) and f.pool_indices.dtype == torch.int64
    assert f.layer1.shape == (1, 64 * e, 16, 24)
    assert f.layer2.shape == (1, 128 * e, 8, 12)
    s3 = min(output_stride, 16)
    assert f.layer3.shape == (1, 256 * e, 64 // s3, 96 // s3)
    assert f.layer4.shape == (1, 512 * e, 64 // output_stride, 96 // output_stride)
    assert net.output_stride == output_stride
    for name, tensor in f._asdict().items():
        assert net.feature_strides[name] == 64 // tensor.shape[-2], name
        assert net.feature_channels[name] == tensor.shape[1], name


def _short_basic(**options):
    return ResNet(BasicBlock, (1, 1, 2, 2), **options)


def _short_resnext(**options):
    return ResNet(Bottleneck, (1, 1, 2, 2), groups=8, width_per_group=8, **options)


@pytest.mark.parametrize("factory", [_short_basic, _short_resnext], ids=["basic", "bottleneck"])
def test_dilation_is_the_strided_network_sampled_densely(factory):
    # Trading a stride for dilation ("à trous") keeps every weight and computes the strided
    # network's outputs at every position instead of every other one: the dilated features
    # at even positions equal the strided ones.  This pins which convolution gets which
    # dilation, in the basic block (no torchvision reference) as in the bottleneck; two
    # blocks in each dilated stage cover the first block's rule and the others'.
    torch.manual_seed(0)
    strided = factory().eval()
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        f32 = strided(x)
        for stride, step3, step4 in ((16, 1, 2), (8, 2, 4)):
            dense = factory(output_stride=stride)
            dense.load_state_dict(strided.state_dict())
            f = dense.eval()(x)
            for name, step in (("layer3", step3), ("layer4", step4)):
                # dilated and strided convolutions sum in different orders: compare relative
                # to the features' scale
                ref = getattr(f32, name)
                got = getattr(f, name)[..., ::step, ::step]
                assert (got - ref).abs().max() <= 1e-5 * ref.abs().max(), (stride, name)
    dense = factory(output_stride=8)
    dilations = [m.dilation[0] for m in dense.layer4.modules() if _is_3x3(m)]
    assert dilations[0] == 2 and set(dilations[1:]) == {4}


def _is_3x3(module: torch.nn.Module) -> bool:
    return isinstance(module, torch.nn.Conv2d) and module.kernel_size == (3, 3)


def test_dilation_flags_and_output_stride():
    assert dilation_for_output_stride(8) == (False, True, True)
    assert dilation_for_output_stride(16) == (False, False, True)
    assert dilation_for_output_stride(32) == (False, False, False)
    net = resnet50(replace_stride_with_dilation=[False, True, True])
    assert net.output_stride == 8
    resnet50(output_stride=16, replace_stride_with_dilation=(False, False, True))  # agree
    with pytest.raises(BlockConfigError, match="output_stride must be 8, 16 or 32, got 4"):
        resnet50(output_stride=4)
    with pytest.raises(BlockConfigError, match="disagree"):
        resnet50(output_stride=8, replace_stride_with_dilation=(False, False, True))
    with pytest.raises(BlockConfigError, match="3 flags"):
        resnet50(replace_stride_with_dilation=(True, True))


# --------------------------------------------------------------------------------------------
# Input channels, features, errors
# --------------------------------------------------------------------------------------------


def test_wider_stem_and_input_checks():
    net = resnet34(in_channels=6)
    assert net.conv1.weight.shape == (64, 6, 7, 7)
    with pytest.raises(BlockConfigError, match=r"expects \(B, 6, H, W\), got \(1, 3, 32, 32\)"):
        net(torch.zeros(1, 3, 32, 32))
    with pytest.raises(BlockConfigError, match="in_channels must be >= 1"):
        resnet34(in_channels=0)
    with pytest.raises(BlockConfigError, match="layers must be 4 block counts"):
        ResNet(type(net.layer1[0]), (3, 4, 6))


def test_pool_indices_undo_the_stems_max_pool():
    net = _short_basic().eval()
    with torch.no_grad():
        f = net(torch.randn(2, 3, 66, 50))  # odd stem size 33 x 25
    pooled = F.max_pool2d(f.stem, 3, 2, 1)
    unpooled = F.max_unpool2d(pooled, f.pool_indices, 3, 2, 1, output_size=f.stem.shape[-2:])
    assert unpooled.shape == f.stem.shape
    kept = unpooled != 0
    assert torch.equal(unpooled[kept], f.stem[kept])  # every value went back where it came from
    # pooling the unpooled map gives the pooled map again (the stem is >= 0 after its ReLU)
    assert torch.equal(F.max_pool2d(unpooled, 3, 2, 1), pooled)


def test_classifier_is_torchvisions_forward():
    torch.manual_seed(0)
    net = resnet34(num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = net.classify(x)
        expected = net.fc(net(x).layer4.mean(dim=(2, 3)))
    assert logits.shape == (2, 10)
    torch.testing.assert_close(logits, expected)
    with pytest.raises(BlockConfigError, match="no classifier"):
        resnet34().classify(x)


def test_group_norm_trains_at_batch_size_one():
    net = resnet34(norm_layer=lambda c: torch.nn.GroupNorm(32, c), output_stride=8)
    out = net(torch.randn(1, 3, 32, 32)).layer4
    out.mean().backward()
    assert net.conv1.weight.grad is not None
    assert "running_mean" not in " ".join(net.state_dict())
