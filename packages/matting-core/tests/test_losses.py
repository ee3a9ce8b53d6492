"""The matting losses against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from matting_core.errors import ConfigError, ShapeError
from matting_core.losses import (
    GAN_LOSSES,
    LOSS_INFOS,
    AlphaMSELoss,
    AlphaPredictionLoss,
    CompositionLoss,
    L1UnknownLoss,
    SSIMLoss,
    alpha_prediction_loss,
    composition_loss,
    gan_bce_discriminator_loss,
    gan_bce_generator_loss,
    gaussian_window,
    l1_unknown,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    mse_loss,
    ssim,
    ssim_loss,
    unknown_mask,
)


def t(rows, dtype=torch.float64) -> torch.Tensor:
    """(1, 1, H, W) tensor from nested lists."""
    return torch.tensor(rows, dtype=dtype)[None, None]


class TestL1Unknown:
    def test_mean_over_unknown_pixels_only(self):
        pred = t([[0.2, 0.5], [0.9, 0.0]])
        gt = t([[0.0, 1.0], [1.0, 0.0]])
        trimap = t([[0.5, 0.5], [1.0, 0.0]])
        # unknown: (0,0) |0.2| and (0,1) |0.5|; the fg pixel's error 0.1 does not count
        assert l1_unknown(pred, gt, trimap).item() == pytest.approx(0.35)

    def test_batch_mean_is_over_all_unknown_pixels(self):
        pred = torch.cat([t([[0.2, 0.5], [0.0, 0.0]]), t([[0.1, 0.0], [0.0, 0.0]])])
        gt = torch.zeros_like(pred)
        trimap = torch.cat([t([[0.5, 0.5], [0.0, 0.0]]), t([[0.5, 0.0], [0.0, 1.0]])])
        assert l1_unknown(pred, gt, trimap).item() == pytest.approx((0.2 + 0.5 + 0.1) / 3)

    def test_no_unknown_pixel_gives_zero_with_finite_gradient(self):
        pred = t([[0.3, 0.7]]).requires_grad_(True)
        loss = l1_unknown(pred, t([[0.0, 1.0]]), t([[0.0, 1.0]]))
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(pred.grad).all()

    def test_module_reads_outputs_and_batch(self):
        pred, gt, trimap = t([[0.2, 0.5]]), t([[0.0, 1.0]]), t([[0.5, 0.5]])
        value = L1UnknownLoss()({"alpha": pred}, {"alpha": gt, "trimap": trimap})
        assert value.item() == pytest.approx(0.35)

    def test_unknown_mask(self):
        assert unknown_mask(t([[0.0, 0.5, 1.0]])).tolist() == [[[[0.0, 1.0, 0.0]]]]


class TestAlphaPrediction:
    def test_zero_difference_is_epsilon(self):
        alpha = t([[0.3, 0.6]])
        assert alpha_prediction_loss(alpha, alpha).item() == pytest.approx(1e-6, rel=1e-9)

    def test_values(self):
        # sqrt(0.3² + 1e-12) and sqrt(0.4² + 1e-12), averaged
        loss = alpha_prediction_loss(t([[0.3, 0.0]]), t([[0.0, 0.4]]))
        assert loss.item() == pytest.approx(0.35, abs=1e-9)

    def test_weight_mask(self):
        loss = alpha_prediction_loss(t([[0.3, 0.0]]), t([[0.0, 0.4]]), weight=t([[1.0, 0.0]]))
        assert loss.item() == pytest.approx(0.3, abs=1e-9)
        loss = alpha_prediction_loss(t([[0.3, 0.0]]), t([[0.0, 0.4]]), weight=t([[1.0, 3.0]]))
        assert loss.item() == pytest.approx((0.3 + 3 * 0.4) / 4, abs=1e-9)

    def test_gradient_is_finite_where_prediction_is_exact(self):
        pred = t([[0.5, 0.2]]).requires_grad_(True)
        alpha_prediction_loss(pred, t([[0.5, 0.0]])).backward()
        assert torch.isfinite(pred.grad).all()
        assert pred.grad[0, 0, 0, 0].item() == 0.0

    def test_gradcheck(self):
        pred = torch.rand(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
        gt = torch.rand(1, 1, 3, 3, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda p: alpha_prediction_loss(p, gt), (pred,))

    def test_module_unknown_region(self):
        batch = {"alpha": t([[0.0, 0.4]]), "trimap": t([[0.5, 1.0]])}
        value = AlphaPredictionLoss(region="unknown")({"alpha": t([[0.3, 0.0]])}, batch)
        assert value.item() == pytest.approx(0.3, abs=1e-9)

    def test_bad_region_is_config_error(self):
        with pytest.raises(ConfigError, match="region"):
            AlphaPredictionLoss(region="known")


class TestComposition:
    def test_white_foreground_black_background(self):
        # c_p = 0.5·1 + 0.5·0 = 0.5, c_g = 1: |Δ| = 0.5 in each channel
        pred, gt = t([[0.5]]), t([[1.0]])
        fg, bg = (
            torch.ones(1, 3, 1, 1, dtype=torch.float64),
            torch.zeros(1, 3, 1, 1, dtype=torch.float64),
        )
        assert composition_loss(pred, gt, fg, bg).item() == pytest.approx(0.5, abs=1e-9)

    def test_per_channel_mean(self):
        pred, gt = t([[0.25]]), t([[0.75]])
        fg = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).view(1, 3, 1, 1)
        bg = torch.zeros(1, 3, 1, 1, dtype=torch.float64)
        # red differs by 0.5, green and blue only by ε
        expected = (0.5 + 1e-6 + 1e-6) / 3
        assert composition_loss(pred, gt, fg, bg).item() == pytest.approx(expected, abs=1e-12)

    def test_same_foreground_and_background_gives_epsilon(self):
        colour = torch.full((1, 3, 2, 2), 0.3, dtype=torch.float64)
        loss = composition_loss(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2), colour, colour)
        assert loss.item() == pytest.approx(1e-6, rel=1e-6)

    def test_weight_shared_by_channels(self):
        pred, gt = t([[0.5, 0.0]]), t([[1.0, 1.0]])
        fg, bg = (
            torch.ones(1, 3, 1, 2, dtype=torch.float64),
            torch.zeros(1, 3, 1, 2, dtype=torch.float64),
        )
        loss = composition_loss(pred, gt, fg, bg, weight=t([[1.0, 0.0]]))
        assert loss.item() == pytest.approx(0.5, abs=1e-9)

    def test_module_needs_fg_and_bg(self):
        with pytest.raises(ConfigError, match="'fg'"):
            CompositionLoss()({"alpha": t([[0.5]])}, {"alpha": t([[1.0]]), "trimap": t([[0.5]])})

    def test_shape_error(self):
        with pytest.raises(ShapeError, match="fg"):
            composition_loss(
                t([[0.5]]), t([[1.0]]), torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 1, 1)
            )


class TestMSE:
    def test_value(self):
        assert mse_loss(t([[0.1, 0.3]]), t([[0.0, 0.0]])).item() == pytest.approx(0.05)

    def test_module(self):
        value = AlphaMSELoss()({"alpha": t([[0.1, 0.3]])}, {"alpha": t([[0.0, 0.0]])})
        assert value.item() == pytest.approx(0.05)

    def test_shape_mismatch(self):
        with pytest.raises(ShapeError):
            mse_loss(t([[0.1, 0.3]]), t([[0.0]]))


class TestSSIM:
    def test_gaussian_window(self):
        window = gaussian_window(11, 1.5, dtype=torch.float64)
        assert window.shape == (1, 1, 11, 11)
        assert window.sum().item() == pytest.approx(1.0)
        # 1-D centre 1 / Σ_k exp(-k²/4.5), k = -5..5
        centre_1d = 1 / sum(math.exp(-(k**2) / 4.5) for k in range(-5, 6))
        assert centre_1d == pytest.approx(0.26601, abs=1e-5)
        assert window[0, 0, 5, 5].item() == pytest.approx(centre_1d**2)

    def test_identical_images(self):
        x = torch.rand(
            2, 1, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        assert ssim(x, x).item() == pytest.approx(1.0)
        assert ssim_loss(x, x).item() == pytest.approx(0.0, abs=1e-12)

    def test_constant_images(self):
        # σ = 0: SSIM = (2ab + C1) / (a² + b² + C1)
        a, b, c1 = 0.2, 0.6, 0.01**2
        pred = torch.full((1, 1, 12, 12), a, dtype=torch.float64)
        gt = torch.full((1, 1, 12, 12), b, dtype=torch.float64)
        expected = (2 * a * b + c1) / (a * a + b * b + c1)
        assert ssim(pred, gt).item() == pytest.approx(expected, rel=1e-9)
        assert ssim_loss(pred, gt).item() == pytest.approx(1 - expected, rel=1e-9)

    def test_one_window_against_explicit_sums(self):
        rng = np.random.default_rng(1)
        p, g = rng.random((11, 11)), rng.random((11, 11))
        w = gaussian_window(11, 1.5, dtype=torch.float64)[0, 0].numpy()
        mu_p, mu_g = (w * p).sum(), (w * g).sum()
        var_p = (w * (p - mu_p) ** 2).sum()
        var_g = (w * (g - mu_g) ** 2).sum()
        cov = (w * (p - mu_p) * (g - mu_g)).sum()
        c1, c2 = 0.01**2, 0.03**2
        expected = ((2 * mu_p * mu_g + c1) * (2 * cov + c2)) / (
            (mu_p**2 + mu_g**2 + c1) * (var_p + var_g + c2)
        )
        got = ssim(torch.from_numpy(p)[None, None], torch.from_numpy(g)[None, None])
        assert got.item() == pytest.approx(expected, rel=1e-9)

    def test_too_small_input(self):
        with pytest.raises(ShapeError, match="at least 11"):
            ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))

    def test_module_and_gradient(self):
        pred = torch.rand(1, 1, 16, 16, requires_grad=True)
        loss = SSIMLoss()({"alpha": pred}, {"alpha": torch.rand(1, 1, 16, 16)})
        loss.backward()
        assert 0.0 < loss.item() < 2.0
        assert torch.isfinite(pred.grad).all()

    def test_even_window_is_config_error(self):
        with pytest.raises(ConfigError, match="odd"):
            SSIMLoss(window_size=10)


class TestGAN:
    def test_bce_at_zero_logits(self):
        zero = torch.zeros(2, 1, 3, 3)
        assert gan_bce_generator_loss(zero).item() == pytest.approx(math.log(2))
        assert gan_bce_discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))

    def test_bce_confident_discriminator(self):
        real, fake = torch.full((4,), 20.0), torch.full((4,), -20.0)
        assert gan_bce_discriminator_loss(real, fake).item() == pytest.approx(0.0, abs=1e-8)
        # the fooled generator: −log σ(−20) ≈ 20
        assert gan_bce_generator_loss(fake).item() == pytest.approx(20.0, abs=1e-6)

    def test_lsgan(self):
        ones, zeros = torch.ones(3), torch.zeros(3)
        assert lsgan_discriminator_loss(ones, zeros).item() == 0.0
        assert lsgan_discriminator_loss(zeros, ones).item() == pytest.approx(1.0)
        assert lsgan_generator_loss(zeros).item() == pytest.approx(0.5)
        assert lsgan_generator_loss(ones).item() == 0.0

    @pytest.mark.parametrize(
        "name, generator, discriminator",
        [
            ("gan_bce", gan_bce_generator_loss, gan_bce_discriminator_loss),
            ("lsgan", lsgan_generator_loss, lsgan_discriminator_loss),
        ],
    )
    def test_table_sides_add_up(self, name, generator, discriminator):
        gan = GAN_LOSSES[name]
        assert gan.generator is generator
        real, fake = torch.randn(2, 1, 5, 5), torch.randn(2, 1, 5, 5)
        whole = discriminator(real, fake)
        assert (gan.real(real) + gan.fake(fake)).item() == pytest.approx(whole.item())
        assert gan.discriminator(real, fake).item() == pytest.approx(whole.item())

    def test_scores(self):
        logits = torch.tensor([0.0, 20.0, -20.0])
        assert GAN_LOSSES["gan_bce"].score(logits).item() == pytest.approx(0.5, abs=1e-6)
        assert GAN_LOSSES["lsgan"].score(torch.tensor([1.0, 0.0])).item() == 0.5


def test_registry_infos_build_modules():
    for name, (factory, papers, description) in LOSS_INFOS.items():
        assert papers and description, name
        loss = factory()
        pred = torch.rand(1, 1, 16, 16)
        batch = {
            "alpha": torch.rand(1, 1, 16, 16),
            "trimap": torch.full((1, 1, 16, 16), 0.5),
            "fg": torch.rand(1, 3, 16, 16),
            "bg": torch.rand(1, 3, 16, 16),
        }
        value = loss({"alpha": pred}, batch)
        assert value.dim() == 0 and torch.isfinite(value), name
        # what it reads is what it declares: without any other key it fails naming one
        assert set(loss.required_keys()) <= set(batch), name
        if set(loss.required_keys()) - {"alpha"}:
            with pytest.raises(ConfigError, match="needs"):
                loss({"alpha": pred}, {"alpha": batch["alpha"]})
