"""The GCA encoder: output shapes, names, and the release's initialisation."""

from __future__ import annotations

import pytest
import torch

from matting_gca.encoder import GCAEncoder


def _input(batch: int, size: int) -> torch.Tensor:
    trimap = torch.zeros(batch, 3, size, size)
    trimap[:, 1, size // 4 : 3 * size // 4] = 1
    trimap[:, 0] = 1 - trimap[:, 1]
    return torch.cat([torch.randn(batch, 3, size, size), trimap], dim=1)


@pytest.mark.parametrize(
    ("width", "channels"), [(1.0, (32, 32, 64, 128, 256, 512)), (0.5, (16, 16, 32, 64, 128, 256))]
)
def test_shapes(width, channels):
    encoder = GCAEncoder(width=width).eval()
    with torch.no_grad():
        embedding, features = encoder(_input(2, 64))
    c1, c2, c3, c4, c5, c6 = channels
    assert embedding.shape == (2, c6, 2, 2)
    assert [tuple(f.shape) for f in features.shortcuts] == [
        (2, c1, 64, 64),
        (2, c2, 32, 32),
        (2, c3, 16, 16),
        (2, c4, 8, 8),
        (2, c5, 4, 4),
    ]
    assert features.image_feature.shape == (2, c4, 8, 8)
    assert features.unknown.shape == (2, 1, 8, 8)
    assert features.offset.shape == (2, 2, 4, 4)
    assert features.scale.shape == (2, 2)


def test_unknown_is_legacy_nearest_of_channel_4():
    x = _input(1, 64)
    x[:, 4] = 0
    x[:, 4, 8, 16] = 1  # pixel (8i, 8j) is sampled
    x[:, 4, 9, 17] = 1  # not sampled
    with torch.no_grad():
        _, features = GCAEncoder(width=0.25).eval()(x)
    expected = torch.zeros(1, 1, 8, 8)
    expected[..., 1, 2] = 1
    assert torch.equal(features.unknown, expected)


def test_release_initialisation():
    encoder = GCAEncoder()
    assert torch.count_nonzero(encoder.conv1.module.weight_bar[:, 3:]) == 0
    assert torch.count_nonzero(encoder.conv1.module.weight_bar[:, :3]) > 0
    for block in (*encoder.layer1, *encoder.layer_bottleneck):
        assert torch.count_nonzero(block.bn2.weight) == 0
    assert encoder.layer2[0].downsample is not None and encoder.layer1[0].downsample is None
