"""The GCA decoder: output shapes and range."""

from __future__ import annotations

import pytest
import torch

from matting_gca.decoder import GCADecoder
from matting_gca.encoder import EncoderFeatures


@pytest.mark.parametrize("width", [1.0, 0.5])
def test_shapes_and_range(width):
    def ch(n):
        return round(n * width)

    batch, size = 2, 64
    shortcuts = tuple(
        torch.randn(batch, ch(c), size // s, size // s)
        for c, s in ((32, 1), (32, 2), (64, 4), (128, 8), (256, 16))
    )
    unknown = torch.zeros(batch, 1, 8, 8)
    unknown[:, :, 2:6] = 1
    features = EncoderFeatures(
        shortcuts,
        torch.randn(batch, ch(128), 8, 8),
        unknown,
        torch.zeros(batch, 2, 4, 4),
        torch.ones(batch, 2),
    )
    decoder = GCADecoder(width=width).eval()
    with torch.no_grad():
        alpha, offset, scale = decoder(torch.randn(batch, ch(512), 2, 2), features)
    assert alpha.shape == (batch, 1, size, size)
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert offset.shape == (batch, 2, 4, 4)
    torch.testing.assert_close(scale, torch.ones(batch, 2))


def test_transposed_convolutions_are_spectrally_normalised_on_dim_0():
    decoder = GCADecoder()
    assert decoder.conv1.module.weight_u.shape == (32,)
    assert decoder.layer1[0].conv1.module.weight_bar.shape == (512, 512, 4, 4)
    assert decoder.layer1[0].conv1.module.weight_v.shape == (512 * 16,)
    assert decoder.layer1[1].upsample is None
