"""The GCA/HOP family's spectral-normalised ResNet-34 U-Net pieces."""

from __future__ import annotations

import torch
from torch import nn

from matting_nn import ResNetUNetDecoder, ResNetUNetEncoder, SpectralNorm, settle_spectral_norms


def test_encoder_stages_and_shortcuts_have_the_release_shapes():
    encoder = ResNetUNetEncoder(width=0.25).eval()
    x = torch.randn(2, 6, 64, 96)
    with torch.no_grad():
        x1, quarter = encoder.stem(x)
        x2 = encoder.layer1(quarter)
        x3 = encoder.layer2(x2)
        x4 = encoder.layer3(x3)
        emb = encoder.layer_bottleneck(x4)
        fea = [s(t) for s, t in zip(encoder.shortcut, (x, x1, x2, x3, x4), strict=True)]
    assert x1.shape == (2, 8, 32, 48) and quarter.shape == (2, 16, 16, 24)
    assert emb.shape == (2, 128, 2, 3)
    assert [f.shape[1] for f in fea] == [8, 8, 16, 32, 64]
    assert [f.shape[-1] for f in fea] == [96, 48, 24, 12, 6]


def test_bn_eps_reaches_every_batchnorm():
    encoder, decoder = ResNetUNetEncoder(bn_eps=1e-3), ResNetUNetDecoder(bn_eps=1e-3)
    eps = {
        m.eps for net in (encoder, decoder) for m in net.modules() if isinstance(m, nn.BatchNorm2d)
    }
    assert eps == {1e-3}


def test_decoder_output_head_doubles_the_size_and_stays_in_0_1():
    decoder = ResNetUNetDecoder(width=0.25).eval()
    with torch.no_grad():
        alpha = decoder.output(torch.randn(1, 8, 16, 20) * 10, torch.randn(1, 8, 32, 40))
    assert alpha.shape == (1, 1, 32, 40)
    assert alpha.min() >= 0 and alpha.max() <= 1


def test_settle_spectral_norms_brings_sigma_near_the_top_singular_value():
    net = nn.Sequential(SpectralNorm(nn.Conv2d(4, 8, 3, bias=False)))
    settle_spectral_norms(net, iterations=50)
    m = net[0].module
    w = m.weight_bar.reshape(8, -1)
    sigma = torch.dot(m.weight_u, w.mv(m.weight_v))
    torch.testing.assert_close(sigma, torch.linalg.matrix_norm(w, 2), rtol=1e-4, atol=0)
