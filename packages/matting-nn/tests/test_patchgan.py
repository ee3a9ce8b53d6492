"""PatchGAN: pix2pix's layout and size, output shapes, and the receptive field measured by
the gradient of one logit with respect to the input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from matting_nn import BlockConfigError, PatchGANDiscriminator, patchgan_receptive_field


def _measured_receptive_field(d: PatchGANDiscriminator, size: int = 192) -> tuple[int, int]:
    """Height and width of the input region one central logit depends on."""
    x = torch.randn(1, d.model[0].in_channels, size, size, requires_grad=True)
    logits = d(x)
    h, w = logits.shape[-2:]
    logits[0, 0, h // 2, w // 2].backward()
    rows = (x.grad.abs().sum(dim=(0, 1, 3)) > 0).nonzero().flatten()
    cols = (x.grad.abs().sum(dim=(0, 1, 2)) > 0).nonzero().flatten()
    assert rows[0] > 0 and rows[-1] < size - 1, "the field must not touch the border"
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_n_layers_3_sees_70_by_70():
    torch.manual_seed(0)
    d = PatchGANDiscriminator(4, base_channels=8, n_layers=3).eval()
    assert d.receptive_field == 70
    assert _measured_receptive_field(d) == (70, 70)


@pytest.mark.parametrize(("n_layers", "field"), [(1, 16), (2, 34), (4, 142)])
def test_receptive_field_formula_matches_the_gradient(n_layers, field):
    torch.manual_seed(0)
    d = PatchGANDiscriminator(2, base_channels=4, n_layers=n_layers, norm="none")
    assert patchgan_receptive_field(n_layers) == field
    assert _measured_receptive_field(d, size=320 if n_layers == 4 else 128) == (field, field)


def test_pix2pix_layout_size_and_output_shape():
    # pix2pix's NLayerDiscriminator(input_nc=6, ndf=64, n_layers=3): "2.769 M" parameters
    d = PatchGANDiscriminator(6)
    assert sum(p.numel() for p in d.parameters()) == 2_768_705
    convs = [m for m in d.model if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (6, 64, 2),
        (64, 128, 2),
        (128, 256, 2),
        (256, 512, 1),
        (512, 1, 1),
    ]
    assert list(d.state_dict())[:3] == ["model.0.weight", "model.0.bias", "model.2.weight"]
    d4 = PatchGANDiscriminator(4, base_channels=8).eval()
    with torch.no_grad():
        assert d4(torch.zeros(2, 4, 256, 256)).shape == (2, 1, 30, 30)
        assert d4(torch.zeros(1, 4, 320, 320)).shape == (1, 1, 38, 38)


def test_norms_and_initialisation():
    batch = PatchGANDiscriminator(4, base_channels=16)
    instance = PatchGANDiscriminator(4, base_channels=16, norm="instance")
    none = PatchGANDiscriminator(4, base_channels=16, norm="none")
    assert isinstance(batch.model[3], nn.BatchNorm2d) and batch.model[2].bias is None
    assert isinstance(instance.model[3], nn.InstanceNorm2d) and not instance.model[3].affine
    assert instance.model[2].bias is not None and isinstance(none.model[3], nn.Identity)
    torch.manual_seed(0)
    weights = torch.cat(
        [m.weight.flatten() for m in PatchGANDiscriminator(4).model if isinstance(m, nn.Conv2d)]
    )
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    # instance norm keeps real and fake statistics apart: a sample's logits do not depend on
    # what else is in the batch
    x = torch.randn(2, 4, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(instance(x)[:1], instance(x[:1]))


def test_bad_options():
    with pytest.raises(BlockConfigError, match="norm must be one of batch, instance, none"):
        PatchGANDiscriminator(4, norm="group")
    with pytest.raises(BlockConfigError, match="must be >= 1, got 4, 64, 0"):
        PatchGANDiscriminator(4, n_layers=0)
