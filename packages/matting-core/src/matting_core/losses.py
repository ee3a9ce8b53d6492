"""Matting losses, named after the papers that use them.

Each loss is a function on tensors with documented shapes, plus a thin ``nn.Module`` that the
loss registry builds (``create_loss(name, **options)``).  The modules share one calling
convention, :class:`MattingLoss`: ``loss(outputs, batch) -> scalar``, where ``outputs`` is the
generator's result (``outputs["alpha"]``) and ``batch`` the training batch (``alpha``,
``trimap``, and ``fg`` / ``bg`` for the composition loss), so a training recipe can sum any
configured set of them without knowing what each one reads.

Conventions for every function here:

- ``pred``, ``gt``: (B, 1, H, W) alpha mattes in [0, 1].
- ``trimap``: (B, 1, H, W) with values {0 = background, 0.5 = unknown, 1 = foreground}.
- ``weight``: optional (B, 1, H, W) non-negative per-pixel weights (e.g. the unknown region,
  or HDMatt's blending mask); the loss is the weighted mean ``Σ w·l / Σ w``.  None means
  every pixel counts once.  An all-zero weight gives 0, not NaN.

GAN losses work on discriminator *logits* (any shape) so that the sigmoid is fused into the
numerically stable ``binary_cross_entropy_with_logits``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_core.errors import ConfigError, ShapeError

__all__ = [
    "GAN_LOSSES",
    "LOSS_INFOS",
    "AlphaMSELoss",
    "AlphaPredictionLoss",
    "CompositionLoss",
    "GANLoss",
    "L1UnknownLoss",
    "MattingLoss",
    "SSIMLoss",
    "alpha_prediction_loss",
    "composition_loss",
    "gan_bce_discriminator_loss",
    "gan_bce_generator_loss",
    "gaussian_window",
    "l1_unknown",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "mse_loss",
    "ssim",
    "ssim_loss",
    "unknown_mask",
]

#: Trimap value of the unknown region in the (B, 1, H, W) float trimap.
TRIMAP_UNKNOWN_VALUE = 0.5

_DIM = "Xu, Price, Cohen, Huang, Deep Image Matting, CVPR 2017"
_GCA = "Li & Lu, Natural Image Matting via Guided Contextual Attention, AAAI 2020"
_HOP = "Li, Xu & Lu, Hierarchical Opacity Propagation for Image Matting, 2020"
_ALPHAGAN = "Lutz, Amplianitis, Smolic, AlphaGAN: Generative adversarial networks for natural image matting, BMVC 2018"
_HDMATT = "Yu, Xu, Huang, Zhou & Shi, High-Resolution Deep Image Matting, AAAI 2021"
_HATT = (
    "Qiao et al., Attention-Guided Hierarchical Structure Aggregation for Image Matting, CVPR 2020"
)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _check_alpha_pair(pred: Tensor, gt: Tensor, where: str) -> None:
    if pred.dim() != 4 or pred.shape[1] != 1:
        raise ShapeError(f"{where}: pred must be (B, 1, H, W), got {tuple(pred.shape)}")
    if gt.shape != pred.shape:
        raise ShapeError(f"{where}: gt {tuple(gt.shape)} does not match pred {tuple(pred.shape)}")


def _weighted_mean(loss: Tensor, weight: Tensor | None, channels: int = 1) -> Tensor:
    """``Σ w·l / (channels·Σ w)`` with ``weight`` broadcast over ``loss``'s channels.

    :param loss: (B, C, H, W) per-pixel loss.
    :param weight: (B, 1, H, W) weights, or None for the plain mean.
    :param channels: C; the denominator counts each pixel once per channel, as in DIM.
    """
    if weight is None:
        return loss.mean()
    if weight.dim() != 4 or weight.shape[1] != 1 or weight.shape[2:] != loss.shape[2:]:
        raise ShapeError(f"weight must be (B, 1, H, W) like the alpha, got {tuple(weight.shape)}")
    weight = weight.to(loss.dtype)
    # clamp: an all-zero mask (no unknown pixels in the batch) gives 0 rather than NaN
    return (loss * weight).sum() / (weight.sum() * channels).clamp_min(1e-8)


def unknown_mask(trimap: Tensor) -> Tensor:
    """The trimap's unknown region as a float mask.

    :param trimap: (B, 1, H, W) with values {0, 0.5, 1}.
    :returns: (B, 1, H, W) float, 1 where the trimap is unknown, else 0.
    """
    return (trimap - TRIMAP_UNKNOWN_VALUE).abs().lt(0.25).to(trimap.dtype)


# --------------------------------------------------------------------------------------------
# Alpha losses
# --------------------------------------------------------------------------------------------


def l1_unknown(pred: Tensor, gt: Tensor, trimap: Tensor) -> Tensor:
    """GCA / HOP alpha loss: mean |α_p − α_g| over the trimap's unknown pixels.

    ``L = 1/|U| Σ_{i∈U} |α̂_i − α_i|`` (GCA eq. 2, HOP eq. 5), where U are the unknown pixels
    of the whole batch.

    :param pred: (B, 1, H, W) predicted alpha.
    :param gt: (B, 1, H, W) ground-truth alpha.
    :param trimap: (B, 1, H, W) trimap {0, 0.5, 1}.
    :returns: scalar; 0 when the batch has no unknown pixel.
    """
    _check_alpha_pair(pred, gt, "l1_unknown")
    return _weighted_mean((pred - gt).abs(), unknown_mask(trimap))


def alpha_prediction_loss(
    pred: Tensor, gt: Tensor, weight: Tensor | None = None, eps: float = 1e-6
) -> Tensor:
    """DIM's alpha-prediction loss, used by AlphaGAN and HDMatt: ``sqrt((α_p − α_g)² + ε²)``.

    The ε (1e-6, so ε² = 1e-12 as in HDMatt) keeps the gradient finite where Δ = 0; the loss
    is a smooth L1.

    :param pred: (B, 1, H, W) predicted alpha.
    :param gt: (B, 1, H, W) ground-truth alpha.
    :param weight: optional (B, 1, H, W) per-pixel weights (DIM: the unknown region).
    :param eps: ε.
    :returns: scalar weighted mean.
    """
    _check_alpha_pair(pred, gt, "alpha_prediction_loss")
    return _weighted_mean(torch.sqrt((pred - gt).square() + eps * eps), weight)


def composition_loss(
    pred: Tensor,
    gt: Tensor,
    fg: Tensor,
    bg: Tensor,
    weight: Tensor | None = None,
    eps: float = 1e-6,
) -> Tensor:
    """DIM's compositional loss (AlphaGAN, HDMatt): ``sqrt((c_p − c_g)² + ε²)`` per RGB value.

    ``c_p = α_p·F + (1 − α_p)·B`` is the image composited with the predicted alpha and
    ``c_g = α_g·F + (1 − α_g)·B`` the one composited with the ground truth, both from the
    ground-truth foreground F and background B.

    :param pred: (B, 1, H, W) predicted alpha.
    :param gt: (B, 1, H, W) ground-truth alpha.
    :param fg: (B, 3, H, W) foreground RGB in [0, 1].
    :param bg: (B, 3, H, W) background RGB in [0, 1].
    :param weight: optional (B, 1, H, W) per-pixel weights, shared by the three channels.
    :param eps: ε.
    :returns: scalar; the mean over pixels and the three channels.
    """
    _check_alpha_pair(pred, gt, "composition_loss")
    for name, value in (("fg", fg), ("bg", bg)):
        if value.dim() != 4 or value.shape[0] != pred.shape[0] or value.shape[2:] != pred.shape[2:]:
            raise ShapeError(
                f"composition_loss: {name} must be (B, 3, H, W) like pred {tuple(pred.shape)}, "
                f"got {tuple(value.shape)}"
            )
    # c_p − c_g = (α_p − α_g)(F − B): one product instead of two composites.
    diff = (pred - gt) * (fg - bg)
    return _weighted_mean(torch.sqrt(diff.square() + eps * eps), weight, channels=diff.shape[1])


def mse_loss(pred: Tensor, gt: Tensor, weight: Tensor | None = None) -> Tensor:
    """HAttMatting's L_MSE (eq. 4): mean (α_p − α_g)² over all pixels (or weighted).

    :param pred: (B, 1, H, W) predicted alpha.
    :param gt: (B, 1, H, W) ground-truth alpha.
    :param weight: optional (B, 1, H, W) per-pixel weights.
    :returns: scalar.
    """
    _check_alpha_pair(pred, gt, "mse_loss")
    return _weighted_mean((pred - gt).square(), weight)


# --------------------------------------------------------------------------------------------
# SSIM
# --------------------------------------------------------------------------------------------


def gaussian_window(
    size: int = 11, sigma: float = 1.5, *, dtype: torch.dtype = torch.float32
) -> Tensor:
    """The normalised 2-D Gaussian window of SSIM (Wang et al. 2004).

    :param size: window side, odd.
    :param sigma: standard deviation in pixels.
    :returns: (1, 1, size, size), summing to 1.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"window size must be odd and positive, got {size}")
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma * sigma))
    g = g / g.sum()
    return torch.outer(g, g).to(dtype)[None, None]


def ssim(
    pred: Tensor,
    gt: Tensor,
    window: Tensor | None = None,
    *,
    c1: float = 0.01**2,
    c2: float = 0.03**2,
) -> Tensor:
    """Mean structural similarity of two alpha mattes (Wang et al. 2004).

    Local means, variances and covariance are Gaussian-weighted (window 11, σ 1.5) over the
    *valid* positions only (no padding), as in the reference implementation;
    ``SSIM = (2μ_pμ_g + C1)(2σ_pg + C2) / ((μ_p² + μ_g² + C1)(σ_p² + σ_g² + C2))`` with the
    data range 1.

    :param pred: (B, 1, H, W) in [0, 1], with H, W at least the window size.
    :param gt: (B, 1, H, W) in [0, 1].
    :param window: (1, 1, k, k) window; default :func:`gaussian_window` (11, 1.5).
    :returns: scalar mean SSIM over the batch and the valid positions.
    """
    _check_alpha_pair(pred, gt, "ssim")
    if window is None:
        window = gaussian_window(dtype=pred.dtype).to(pred.device)
    k = window.shape[-1]
    if pred.shape[-2] < k or pred.shape[-1] < k:
        raise ShapeError(f"ssim needs H and W of at least {k}, got {tuple(pred.shape[-2:])}")
    window = window.to(device=pred.device, dtype=pred.dtype)
    # One conv over the five moment maps: [p, g, p², g², p·g].
    stack = torch.cat([pred, gt, pred * pred, gt * gt, pred * gt], dim=0)
    moments = F.conv2d(stack, window).split(pred.shape[0], dim=0)
    mu_p, mu_g, e_pp, e_gg, e_pg = moments
    var_p = e_pp - mu_p * mu_p
    var_g = e_gg - mu_g * mu_g
    cov = e_pg - mu_p * mu_g
    num = (2 * mu_p * mu_g + c1) * (2 * cov + c2)
    den = (mu_p * mu_p + mu_g * mu_g + c1) * (var_p + var_g + c2)
    return (num / den).mean()


def ssim_loss(pred: Tensor, gt: Tensor, window: Tensor | None = None) -> Tensor:
    """HAttMatting's L_SSIM (eq. 5): ``1 − SSIM(α_p, α_g)``.

    :param pred: (B, 1, H, W) predicted alpha, H, W ≥ 11.
    :param gt: (B, 1, H, W) ground-truth alpha.
    :param window: optional (1, 1, k, k) window; default Gaussian 11, σ 1.5.
    :returns: scalar in [0, 2].
    """
    return 1.0 - ssim(pred, gt, window)


# --------------------------------------------------------------------------------------------
# GAN losses (on discriminator logits)
# --------------------------------------------------------------------------------------------


def gan_bce_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D side of the standard GAN (AlphaGAN eq. 2, HAttMatting eq. 3), to minimise.

    ``−[log D(x) + log(1 − D(G(z)))]`` as binary cross-entropy on logits, each half averaged
    over its own elements (PatchGAN: over patches).

    :param real_logits: D's logits on real inputs, any shape.
    :param fake_logits: D's logits on generated inputs, any shape.
    :returns: scalar.
    """
    return _bce_real(real_logits) + _bce_fake(fake_logits)


def gan_bce_generator_loss(fake_logits: Tensor) -> Tensor:
    """G side of the standard GAN: the non-saturating ``−log D(G(z))``.

    The papers write the minimax form ``log(1 − D(G(z)))``; its gradient vanishes while D
    wins, so (as Goodfellow et al. 2014 advise) G maximises ``log D(G(z))`` instead.

    :param fake_logits: D's logits on generated inputs, any shape.
    :returns: scalar.
    """
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def lsgan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D side of the least-squares GAN (Mao et al. 2017): ``½(D(x) − 1)² + ½D(G(z))²``.

    :param real_logits: D's raw outputs on real inputs, any shape.
    :param fake_logits: D's raw outputs on generated inputs, any shape.
    :returns: scalar.
    """
    return _lsgan_real(real_logits) + _lsgan_fake(fake_logits)


def lsgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """G side of the least-squares GAN: ``½(D(G(z)) − 1)²``.

    :param fake_logits: D's raw outputs on generated inputs, any shape.
    :returns: scalar.
    """
    return 0.5 * (fake_logits - 1).square().mean()


@dataclass(frozen=True)
class GANLoss:
    """The two sides of a GAN objective, as the adversarial recipe uses them.

    :param generator: G's loss on D's logits for generated inputs.
    :param real: D's loss on its logits for real inputs.
    :param fake: D's loss on its logits for generated inputs; D minimises ``real + fake``.
    :param score: D's output as the number logged as ``d_real`` / ``d_fake``: the mean
        probability of "real" (sigmoid of the logits) for the log-loss, the mean raw output
        for the least-squares GAN (whose targets are 1 and 0).
    """

    generator: Callable[[Tensor], Tensor]
    real: Callable[[Tensor], Tensor]
    fake: Callable[[Tensor], Tensor]
    score: Callable[[Tensor], Tensor]

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's whole loss: ``real(real_logits) + fake(fake_logits)``."""
        return self.real(real_logits) + self.fake(fake_logits)


def _bce_real(logits: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _bce_fake(logits: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def _lsgan_real(logits: Tensor) -> Tensor:
    return 0.5 * (logits - 1).square().mean()


def _lsgan_fake(logits: Tensor) -> Tensor:
    return 0.5 * logits.square().mean()


#: GAN loss name → its :class:`GANLoss`; ``[adversarial] gan_loss`` picks one.
GAN_LOSSES: dict[str, GANLoss] = {
    "gan_bce": GANLoss(
        generator=gan_bce_generator_loss,
        real=_bce_real,
        fake=_bce_fake,
        score=lambda logits: torch.sigmoid(logits).mean(),
    ),
    "lsgan": GANLoss(
        generator=lsgan_generator_loss,
        real=_lsgan_real,
        fake=_lsgan_fake,
        score=lambda logits: logits.mean(),
    ),
}


# --------------------------------------------------------------------------------------------
# Modules: the registry's ``loss(outputs, batch) -> scalar`` convention
# --------------------------------------------------------------------------------------------


class MattingLoss(nn.Module):
    """Base of the registered losses: ``forward(outputs, batch) -> scalar tensor``.

    ``outputs`` is the generator's result dict (``"alpha"``: (B, 1, H, W)); ``batch`` the
    training batch (``"alpha"``, ``"trimap"`` (B, 1, H, W); ``"fg"``, ``"bg"`` (B, 3, H, W)
    where the dataset provides them).

    :param region: ``"all"`` (every pixel) or ``"unknown"`` (the trimap's unknown pixels);
        ignored by losses that fix their region.
    """

    #: Batch entries the loss reads besides ``alpha`` (and ``trimap`` for the unknown
    #: region); the training engine checks the dataset gives them before step 0.
    needs: tuple[str, ...] = ()

    def __init__(self, region: str = "all") -> None:
        super().__init__()
        if region not in ("all", "unknown"):
            raise ConfigError(f"loss region must be 'all' or 'unknown', got {region!r}")
        self.region = region

    def required_keys(self) -> tuple[str, ...]:
        """The batch entries this loss reads: ``alpha``, :attr:`needs`, and ``trimap`` when
        its region is the unknown one."""
        keys = ["alpha", *self.needs]
        if self.region == "unknown" and "trimap" not in keys:
            keys.append("trimap")
        return tuple(keys)

    def weight(self, batch: Mapping[str, Tensor]) -> Tensor | None:
        """The per-pixel weight: an optional ``batch["loss_weight"]`` times the region mask."""
        weight = batch.get("loss_weight")
        if self.region == "unknown":
            mask = unknown_mask(self.read(batch, "trimap"))
            weight = mask if weight is None else weight * mask
        return weight

    def read(self, batch: Mapping[str, Tensor], key: str) -> Tensor:
        """``batch[key]``, or a ConfigError naming the loss and what the batch holds."""
        try:
            return batch[key]
        except KeyError:
            raise ConfigError(
                f"loss {type(self).__name__} needs {key!r} in the batch; the dataset gives "
                f"{', '.join(sorted(batch))}"
            ) from None

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"region={self.region!r}"


class L1UnknownLoss(MattingLoss):
    """:func:`l1_unknown` (GCA, HOP)."""

    needs = ("trimap",)

    def __init__(self) -> None:
        super().__init__(region="unknown")

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        return l1_unknown(outputs["alpha"], self.read(batch, "alpha"), self.read(batch, "trimap"))


class AlphaPredictionLoss(MattingLoss):
    """:func:`alpha_prediction_loss` (DIM, AlphaGAN, HDMatt).

    :param region: ``"all"`` or ``"unknown"`` (DIM's choice).
    :param eps: ε.
    """

    def __init__(self, region: str = "all", eps: float = 1e-6) -> None:
        super().__init__(region)
        self.eps = float(eps)

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        gt = self.read(batch, "alpha")
        return alpha_prediction_loss(outputs["alpha"], gt, self.weight(batch), self.eps)


class CompositionLoss(MattingLoss):
    """:func:`composition_loss` (DIM, AlphaGAN, HDMatt); needs ``fg`` and ``bg`` in the batch.

    :param region: ``"all"`` or ``"unknown"``.
    :param eps: ε.
    """

    needs = ("fg", "bg")

    def __init__(self, region: str = "all", eps: float = 1e-6) -> None:
        super().__init__(region)
        self.eps = float(eps)

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        return composition_loss(
            outputs["alpha"],
            self.read(batch, "alpha"),
            self.read(batch, "fg"),
            self.read(batch, "bg"),
            self.weight(batch),
            self.eps,
        )


class AlphaMSELoss(MattingLoss):
    """:func:`mse_loss` (HAttMatting).

    :param region: ``"all"`` (HAttMatting's choice) or ``"unknown"``.
    """

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        return mse_loss(outputs["alpha"], self.read(batch, "alpha"), self.weight(batch))


class SSIMLoss(MattingLoss):
    """:func:`ssim_loss` (HAttMatting): 1 − SSIM with a Gaussian window.

    :param window_size: odd window side (11).
    :param sigma: the window's σ (1.5).
    """

    window: Tensor

    def __init__(self, window_size: int = 11, sigma: float = 1.5) -> None:
        super().__init__()
        try:
            window = gaussian_window(window_size, sigma)
        except ValueError as exc:
            raise ConfigError(f"ssim: {exc}") from None
        # a buffer follows the module to the training device; not part of any checkpoint
        self.register_buffer("window", window, persistent=False)

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        pred = outputs["alpha"]
        return ssim_loss(pred, self.read(batch, "alpha"), self.window.to(pred.dtype))

    def extra_repr(self) -> str:
        return f"window_size={self.window.shape[-1]}"


#: The losses core registers: name → (factory, papers, description).  The default plugin
#: turns each into ``registry.add(name, factory, LossInfo(papers, description))``.
LOSS_INFOS: dict[str, tuple[type[MattingLoss], tuple[str, ...], str]] = {
    "l1_unknown": (
        L1UnknownLoss,
        (_GCA, _HOP),
        "mean |alpha_p - alpha_g| over the trimap's unknown pixels",
    ),
    "alpha_prediction": (
        AlphaPredictionLoss,
        (_DIM, _ALPHAGAN, _HDMATT),
        "sqrt((alpha_p - alpha_g)^2 + eps^2), eps 1e-6; region all|unknown",
    ),
    "composition": (
        CompositionLoss,
        (_DIM, _ALPHAGAN, _HDMATT),
        "sqrt((c_p - c_g)^2 + eps^2) on the RGB composites with the true fg/bg",
    ),
    "mse": (AlphaMSELoss, (_HATT,), "mean (alpha_p - alpha_g)^2; region all|unknown"),
    "ssim": (SSIMLoss, (_HATT,), "1 - SSIM(alpha_p, alpha_g), Gaussian window 11, sigma 1.5"),
}
