"""Spectral norm with the release's semantics: stored u/v in eval, dim 0 for ConvTranspose."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from matting_nn.spectral_norm import SpectralNorm, l2_normalize, spectral_sigma


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_keys_and_shapes_follow_the_release():
    conv = SpectralNorm(nn.Conv2d(6, 32, 3, bias=False))
    assert {k: tuple(v.shape) for k, v in conv.state_dict().items()} == {
        "module.weight_bar": (32, 6, 3, 3),
        "module.weight_u": (32,),
        "module.weight_v": (54,),
    }
    assert not hasattr(conv.module, "weight")
    assert [n for n, _ in conv.named_parameters()] == ["module.weight_bar"]


def test_conv_transpose_uses_dim_0():
    # Release: weight_bar.view(shape[0], -1) also for ConvTranspose2d (shape[0] = in channels).
    deconv = SpectralNorm(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, bias=False))
    assert deconv.module.weight_u.shape == (8,)
    assert deconv.module.weight_v.shape == (4 * 16,)
    x = torch.randn(1, 8, 5, 5)
    m = deconv.module
    sigma = torch.dot(m.weight_u, m.weight_bar.reshape(8, -1) @ m.weight_v)
    expected = F.conv_transpose2d(x, m.weight_bar / sigma, stride=2, padding=1)
    torch.testing.assert_close(deconv.eval()(x), expected)


def test_eval_uses_stored_vectors_and_changes_nothing():
    conv = SpectralNorm(nn.Conv2d(3, 5, 3, padding=1, bias=True)).eval()
    before = _state(conv)
    x = torch.randn(2, 3, 6, 6)
    m = conv.module
    sigma = torch.dot(m.weight_u, m.weight_bar.reshape(5, -1) @ m.weight_v)
    expected = F.conv2d(x, m.weight_bar / sigma, m.bias, padding=1)
    for _ in range(3):
        torch.testing.assert_close(conv(x), expected)
    for k, v in conv.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_train_mode_runs_one_power_iteration_in_place_even_without_grad():
    conv = SpectralNorm(nn.Conv2d(3, 5, 3, bias=False)).train()
    m = conv.module
    w = m.weight_bar.detach().reshape(5, -1)
    v = l2_normalize(w.t() @ m.weight_u)
    u = l2_normalize(w @ v)
    x = torch.randn(1, 3, 5, 5)
    with torch.no_grad():
        out = conv(x)
    torch.testing.assert_close(m.weight_v, v)
    torch.testing.assert_close(m.weight_u, u)
    torch.testing.assert_close(out, F.conv2d(x, m.weight_bar / torch.dot(u, w @ v)))


def test_sigma_is_not_recomputed_from_an_svd():
    torch.manual_seed(0)
    conv = SpectralNorm(nn.Conv2d(4, 4, 1, bias=False)).eval()
    m = conv.module
    exact = torch.linalg.matrix_norm(m.weight_bar.detach().reshape(4, -1), ord=2)
    sigma = spectral_sigma(m.weight_bar, m.weight_u, m.weight_v)
    assert not torch.isclose(sigma, exact)  # random u, v: far from converged


def test_gradients_reach_weight_bar_only():
    conv = SpectralNorm(nn.Conv2d(3, 4, 3, bias=False)).train()
    conv(torch.randn(2, 3, 5, 5)).square().sum().backward()
    assert conv.module.weight_bar.grad is not None
    assert conv.module.weight_u.grad is None and conv.module.weight_v.grad is None


def test_rejects_other_modules():
    with pytest.raises(TypeError):
        SpectralNorm(nn.Linear(3, 4))
