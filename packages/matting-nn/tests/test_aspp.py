"""ASPP: torchvision's layout, shapes, and what each branch sees, checked by gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from matting_nn import ASPP, BlockConfigError


def _support(net: nn.Module, x: torch.Tensor, at: tuple[int, int]) -> torch.Tensor:
    """(H, W) bool: the input pixels the output at ``at`` depends on (non-zero gradient)."""
    x = x.clone().requires_grad_()
    net(x)[0, :, at[0], at[1]].sum().backward()
    return x.grad.abs().sum(dim=(0, 1)) > 0


def test_state_dict_has_torchvisions_layout():
    # torchvision.models.segmentation.deeplabv3.ASPP(2048, [12, 24, 36]) under classifier.0
    aspp = ASPP(2048, 256, rates=(12, 24, 36))
    shapes = {k: tuple(v.shape) for k, v in aspp.state_dict().items() if "running" not in k}
    shapes = {k: v for k, v in shapes.items() if "num_batches" not in k}
    expected = {"convs.0.0.weight": (256, 2048, 1, 1), "convs.0.1.weight": (256,)}
    expected |= {"convs.0.1.bias": (256,)}
    for i in (1, 2, 3):
        expected |= {f"convs.{i}.0.weight": (256, 2048, 3, 3), f"convs.{i}.1.weight": (256,)}
        expected |= {f"convs.{i}.1.bias": (256,)}
    expected |= {"convs.4.1.weight": (256, 2048, 1, 1), "convs.4.2.weight": (256,)}
    expected |= {"convs.4.2.bias": (256,)}
    expected |= {"project.0.weight": (256, 1280, 1, 1), "project.1.weight": (256,)}
    expected |= {"project.1.bias": (256,)}
    assert shapes == expected
    assert [aspp.convs[i][0].dilation for i in (1, 2, 3)] == [(12, 12), (24, 24), (36, 36)]


@pytest.mark.parametrize(
    ("rates", "pooling", "branches"), [((6, 12, 18), True, 5), ((2,), False, 2)]
)
def test_shapes_and_branches(rates, pooling, branches):
    aspp = ASPP(64, 32, rates=rates, image_pooling=pooling).eval()
    assert len(aspp.convs) == branches
    assert aspp.project[0].in_channels == 32 * branches
    with torch.no_grad():
        assert aspp(torch.randn(2, 64, 9, 13)).shape == (2, 32, 9, 13)


def test_atrous_branches_see_exactly_their_rates():
    # without image pooling the output at a pixel depends on the 3×3 grids of spacing
    # rate around it (and the pixel itself, the 1×1 branch)
    torch.manual_seed(0)
    aspp = ASPP(4, 8, rates=(2, 5), image_pooling=False).eval()
    seen = _support(aspp, torch.randn(1, 4, 21, 21), (10, 10))
    expected = torch.zeros(21, 21, dtype=torch.bool)
    for rate in (2, 5):
        for dy in (-rate, 0, rate):
            for dx in (-rate, 0, rate):
                expected[10 + dy, 10 + dx] = True
    assert torch.equal(seen, expected)


def test_image_pooling_sees_the_whole_image_and_only_its_mean():
    torch.manual_seed(0)
    aspp = ASPP(4, 8, rates=(1,), image_pooling=True).eval()
    x = torch.randn(1, 4, 15, 11)
    assert _support(aspp, x, (0, 0)).all()
    pooling = aspp.convs[-1]
    with torch.no_grad():
        out = pooling(x)
        shuffled = pooling(x.flatten(2)[..., torch.randperm(165)].view_as(x))
    assert out.shape == (1, 8, 15, 11)
    assert torch.equal(out, out[..., :1, :1].expand_as(out))  # one value per channel
    torch.testing.assert_close(shuffled, out)  # a function of the mean only


def test_dropout_and_group_norm_at_batch_size_one():
    aspp = ASPP(16, 32, norm_layer=lambda c: nn.GroupNorm(8, c), dropout=0.5)
    assert aspp.project[3].p == 0.5
    aspp.train()(torch.randn(1, 16, 6, 6)).mean().backward()
    assert ASPP(16, 32).project[3].p == 0.0  # the paper's form has no dropout


def test_batch_norm_image_pooling_trains_on_a_batch_of_one():
    """One image gives the pooling branch one value per channel: it normalises with the
    running statistics (as in evaluation), leaves them unchanged and still learns."""
    torch.manual_seed(0)
    aspp = ASPP(16, 32, rates=(2,))
    pooling = aspp.convs[-1]
    pooling[2].running_mean.uniform_(-0.5, 0.5)
    pooling[2].running_var.uniform_(0.5, 2.0)
    before = {k: v.clone() for k, v in pooling[2].state_dict().items()}
    x = torch.randn(1, 16, 6, 6)
    out = pooling.train()(x)
    expected = pooling.eval()(x)
    torch.testing.assert_close(out, expected)
    pooling.train()
    aspp.train()(x).square().mean().backward()
    for key in ("running_mean", "running_var"):
        assert torch.equal(pooling[2].state_dict()[key], before[key])
    assert pooling[1].weight.grad is not None and pooling[1].weight.grad.abs().sum() > 0
    assert pooling[2].weight.grad is not None
    # two images: ordinary batch statistics, running statistics updated
    aspp.train()(torch.randn(2, 16, 6, 6))
    assert not torch.equal(pooling[2].running_mean, before["running_mean"])


def test_bad_options():
    with pytest.raises(BlockConfigError, match=r"rates must be integers >= 1, got \(6, 0\)"):
        ASPP(8, rates=(6, 0))
    with pytest.raises(BlockConfigError, match="in_channels and out_channels must be >= 1"):
        ASPP(0)
    with pytest.raises(BlockConfigError, match="dropout must be in"):
        ASPP(8, dropout=1.0)
