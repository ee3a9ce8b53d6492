"""The network block by block: shapes, the two attentions, the config's checks."""

from __future__ import annotations

import cv2
import pytest
import torch

from matting_core.errors import ConfigError, ShapeError
from matting_data import read_image, samples_dir
from matting_hatt import (
    AppearanceCuesFiltration,
    HAttConfig,
    HAttMatting,
    HAttSmallConfig,
    PyramidalFeaturesDistillation,
    build_discriminator,
)

# a narrow network keeps the CPU checks fast; the structure is the bundled model's
TINY = HAttSmallConfig(channels=16, reduction=4)


@pytest.fixture(scope="module")
def tiny() -> HAttMatting:
    torch.manual_seed(0)
    return HAttMatting(TINY).eval()


def test_shapes_through_every_block(tiny: HAttMatting):
    image = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        features = tiny.backbone(image)
        # block 1 at 1/4 (256 channels, the paper's Fig. 3), block 4 dilated: 1/16
        assert features.layer1.shape == (2, 256, 24, 32)
        assert features.layer4.shape == (2, 2048, 6, 8)
        pyramidal = tiny.aspp(features.layer4)
        assert pyramidal.shape == (2, 16, 6, 8)
        distilled = tiny.pfd(pyramidal)
        # "upsample pyramidal features with factor 4" to block 1's resolution
        assert distilled.features.shape == (2, 16, 24, 32)
        assert distilled.attention.shape == (2, 16)
        filtered = tiny.acf(distilled.features, features.layer1)
        assert filtered.features.shape == (2, 16, 24, 32)
        assert filtered.attention.shape == (2, 1, 24, 32)
        aggregated = tiny.aggregation(torch.cat([filtered.features, distilled.features], 1))
        assert aggregated.shape == (2, 16, 24, 32)
        alpha = tiny.head(aggregated, (96, 128))
        assert alpha.shape == (2, 1, 96, 128)
        out = tiny(image)
    assert torch.equal(out["alpha"], alpha)
    assert out["spatial_attention"].shape == (2, 1, 24, 32)
    assert out["channel_attention"].shape == (2, 16)


def test_the_papers_network_is_resnext101_32x8d():
    model = HAttMatting(HAttConfig())
    backbone = model.backbone
    assert [len(getattr(backbone, f"layer{i}")) for i in (1, 2, 3, 4)] == [3, 4, 23, 3]
    # 32 groups of width 8: the first 3x3 of layer1 has 256 channels in 32 groups
    conv = backbone.layer1[0].conv2
    assert conv.groups == 32 and conv.out_channels == 256
    # layer4 dilated (output stride 16): its 3x3 convolutions have dilation 2, stride 1
    assert backbone.layer4[1].conv2.dilation == (2, 2)
    assert backbone.output_stride == 16
    assert model.aspp.rates == (6, 12, 18)
    params = sum(p.numel() for p in model.parameters())
    assert 95e6 < params < 115e6  # ResNeXt-101 32x8d without its classifier (~87 M) + heads


def test_the_small_network_keeps_every_block_and_fits_30_mb():
    model = HAttMatting(HAttSmallConfig())
    assert [len(getattr(model.backbone, f"layer{i}")) for i in (1, 2, 3, 4)] == [1, 1, 1, 1]
    assert model.backbone.layer1[0].conv2.groups == 32
    params = sum(p.numel() for p in model.parameters())
    assert params * 2 < 30e6  # fp16 bytes of the bundled weights


def test_attention_maps_are_in_0_1(tiny: HAttMatting):
    photo = read_image(samples_dir() / "image" / "GT17.png")
    photo = cv2.resize(photo, (128, 96), interpolation=cv2.INTER_AREA)
    image = torch.from_numpy(photo).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = tiny((image - 0.45) / 0.225)
    for name in ("spatial_attention", "channel_attention"):
        values = out[name]
        assert values.min() >= 0 and values.max() <= 1, name
        assert values.std() > 0, f"{name} is constant"


def test_the_spatial_attention_changes_the_output(tiny: HAttMatting):
    torch.manual_seed(1)
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        with_attention = tiny(image)["alpha"]
        tiny.acf.enabled = False
        try:
            without = tiny(image)["alpha"]
        finally:
            tiny.acf.enabled = True
    assert (with_attention - without).abs().max() > 1e-4


def test_the_channel_attention_changes_the_output(tiny: HAttMatting):
    torch.manual_seed(2)
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        with_attention = tiny(image)["alpha"]
        tiny.pfd.enabled = False
        try:
            without = tiny(image)["alpha"]
        finally:
            tiny.pfd.enabled = True
    assert (with_attention - without).abs().max() > 1e-4


def test_channel_attention_is_a_shared_mlp_over_avg_and_max():
    torch.manual_seed(3)
    pfd = PyramidalFeaturesDistillation(8, reduction=2, pool="avgmax")
    x = torch.randn(2, 8, 3, 5)
    out = pfd(x)
    up = torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
    expected = torch.sigmoid(pfd.mlp(up.mean((2, 3))) + pfd.mlp(up.amax((2, 3))))
    torch.testing.assert_close(out.attention, expected)
    torch.testing.assert_close(out.features, up * expected[:, :, None, None])


def test_spatial_attention_multiplies_the_cues():
    torch.manual_seed(4)
    acf = AppearanceCuesFiltration(8, cue_channels=4).eval()
    pyramidal, cues = torch.randn(1, 8, 12, 12), torch.randn(1, 4, 12, 12)
    with torch.no_grad():
        out = acf(pyramidal, cues)
        attention = acf.attention_map(pyramidal)
        torch.testing.assert_close(out.attention, attention)
        torch.testing.assert_close(out.features, acf.project(cues * attention))
    # the separable branches: 1x7 then 7x1, and 7x1 then 1x7
    assert acf.branch_horizontal[0][0].kernel_size == (1, 7)
    assert acf.branch_horizontal[1].kernel_size == (7, 1)
    assert acf.branch_vertical[0][0].kernel_size == (7, 1)
    assert acf.branch_vertical[1].kernel_size == (1, 7)


def test_ablations_build_and_run():
    image = torch.randn(1, 3, 64, 64)
    for options in (
        {"appearance_cues": False},
        {"spatial_attention": False},
        {"channel_attention": False},
    ):
        model = HAttMatting(HAttSmallConfig(channels=8, reduction=2, **options)).eval()
        with torch.no_grad():
            out = model(image)
        assert out["alpha"].shape == (1, 1, 64, 64)
    assert HAttMatting(HAttSmallConfig(channels=8, reduction=2, appearance_cues=False)).acf is None


def test_the_discriminator_judges_image_and_alpha():
    d = build_discriminator(base_channels=8)
    assert d.receptive_field == 70
    logits = d(torch.randn(2, 4, 64, 64))
    assert logits.shape == (2, 1, 6, 6)


@pytest.mark.parametrize(
    "options",
    [
        {"backbone": "resnet50"},
        {"blocks": (1, 1, 1)},
        {"blocks": (1, 0, 1, 1)},
        {"channels": 1},
        {"aspp_rates": (6, 12)},
        {"reduction": 0},
        {"pool": "median"},
    ],
)
def test_bad_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        HAttSmallConfig(**options)


def test_sizes_that_are_not_multiples_of_16_are_refused(tiny: HAttMatting):
    with pytest.raises(ShapeError, match="multiple of 16"):
        tiny(torch.zeros(1, 3, 40, 64))
