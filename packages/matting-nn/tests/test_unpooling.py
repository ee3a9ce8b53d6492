"""Max-unpooling with a backbone's pool indices, and the decoder block built on it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from matting_nn import BlockConfigError, MaxUnpool, UnpoolingBlock, conv_norm_relu, resnet34


def test_unpool_puts_values_back_by_hand():
    x = torch.tensor([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0]]).view(1, 1, 2, 4)
    pooled, indices = F.max_pool2d(x, 2, 2, return_indices=True)
    assert pooled.flatten().tolist() == [5.0, 9.0]
    out = MaxUnpool(2, 2, 0)(pooled * 10, indices, output_size=(2, 4))
    assert out.view(2, 4).tolist() == [[0, 50, 0, 0], [0, 0, 90, 0]]


def test_unpooling_the_stems_indices_of_an_odd_sized_image():
    net = resnet34().eval()
    with torch.no_grad():
        f = net(torch.randn(1, 3, 70, 54))  # stem 35 × 27: unpooling needs output_size
        pooled = F.max_pool2d(f.stem, 3, 2, 1)
        out = MaxUnpool()(pooled, f.pool_indices, f.stem.shape)
    assert out.shape == f.stem.shape
    kept = out != 0
    assert torch.equal(out[kept], f.stem[kept])
    with pytest.raises(BlockConfigError, match="must have the same shape"):
        MaxUnpool()(pooled[:, :32], f.pool_indices, f.stem.shape)


def test_block_with_reduced_skip():
    torch.manual_seed(0)
    block = UnpoolingBlock(64, (64, 32), skip_channels=64, skip_reduced=32).eval()
    assert [c[0].in_channels for c in block.convs] == [96, 64]
    assert block.skip_reduction[0].kernel_size == (1, 1) and block.out_channels == 32
    stem = torch.relu(torch.randn(2, 64, 33, 40))
    pooled, indices = F.max_pool2d(stem, 3, 2, 1, return_indices=True)
    with torch.no_grad():
        out = block(pooled, indices, skip=stem)
        # the same computed by hand: unpool, reduce and concatenate the skip, two conv units
        unpooled = F.max_unpool2d(pooled, indices, 3, 2, 1, output_size=(33, 40))
        expected = block.convs(torch.cat([unpooled, block.skip_reduction(stem)], dim=1))
    assert out.shape == (2, 32, 33, 40)
    torch.testing.assert_close(out, expected)


def test_block_without_skip_and_misuse():
    block = UnpoolingBlock(8, 4)
    x = torch.randn(1, 8, 10, 10)
    pooled, indices = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert block(pooled, indices, output_size=(10, 10)).shape == (1, 4, 10, 10)
    with pytest.raises(BlockConfigError, match="built for no skip"):
        block(pooled, indices, skip=x)
    with pytest.raises(BlockConfigError, match="built for a skip of 8 channels"):
        UnpoolingBlock(8, 4, skip_channels=8)(pooled, indices, output_size=(10, 10))
    with pytest.raises(BlockConfigError, match="does not fit the unpooled map"):
        UnpoolingBlock(8, 4, skip_channels=3)(
            pooled, indices, skip=torch.zeros(1, 3, 10, 10)[:, :2]
        )
    with pytest.raises(BlockConfigError, match="skip_reduced needs skip_channels"):
        UnpoolingBlock(8, 4, skip_reduced=2)


def test_conv_norm_relu():
    unit = conv_norm_relu(3, 5, 3, dilation=2)
    assert unit[0].padding == (2, 2) and unit[0].bias is None
    assert unit(torch.randn(2, 3, 7, 9)).shape == (2, 5, 7, 9)
    assert (unit(torch.randn(2, 3, 7, 9)) >= 0).all()
    with pytest.raises(BlockConfigError, match="kernel_size must be odd"):
        conv_norm_relu(3, 5, 4)
