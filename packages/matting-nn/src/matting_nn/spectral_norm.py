"""Spectral normalisation with the semantics of the official GCA-Matting and HOP-Matting releases.

GCA Matting (Li & Lu, AAAI 2020, "Baseline Structure") and HOP Matting (Li, Xu & Lu, 2020,
Sec. 3.3) normalise their training "by both batch normalization and spectral normalization"
(Miyato et al. 2018) on every convolution.  Which variant, and how it behaves at test time,
is only fixed by the authors' releases (Yaoyi-Li/GCA-Matting and Yaoyi-Li/HOP-Matting share
``networks/ops.py``, ``SpectralNorm``); to load their checkpoints and reproduce their output we
follow it exactly:

* A wrapped convolution has no ``weight``.  It holds ``weight_u`` ``(shape[0],)``,
  ``weight_v`` ``(prod(shape[1:]),)`` and ``weight_bar`` ``(shape)``, under the wrapper's
  child ``module``, so the state-dict keys are ``<path>.module.weight_{u,v,bar}``.
* The effective weight is ``weight_bar / sigma`` with
  ``sigma = u . (weight_bar.view(shape[0], -1) @ v)``.
* The matrix is always ``weight_bar.view(shape[0], -1)`` -- dim 0, also for
  ``ConvTranspose2d``, where dim 0 is the *input* channels.  (``torch.nn.utils.spectral_norm``
  would use dim 1 there; with the released u/v that changes the output completely.)
* In training mode every forward runs one power iteration, ``v = n(W^T u)``, ``u = n(W v)``
  with ``n(x) = x / (|x| + 1e-12)``, and writes u and v in place (even under ``no_grad``).
  In eval mode the stored u and v are used as they are: no iteration, no state change.
  sigma is therefore *not* the exact top singular value, and must not be recomputed.
* Gradients flow through ``weight_bar`` (and sigma), never through u and v.

We keep ``weight_u`` and ``weight_v`` as buffers (the release made them Parameters with
``requires_grad=False``): the state-dict keys and values are the same, and optimisers never
see them.

The official wrapper replaced ``module.weight`` by an attribute on every forward; here the
wrapper calls the functional convolution with the normalised weight instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SpectralNorm", "l2_normalize", "settle_spectral_norms", "spectral_sigma"]

_EPS = 1e-12


def l2_normalize(x: Tensor, eps: float = _EPS) -> Tensor:
    """``x / (||x||_2 + eps)`` -- the release's ``l2normalize`` (eps added, not clamped)."""
    return x / (x.norm() + eps)


def spectral_sigma(weight_bar: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """``u . (weight_bar.view(weight_bar.shape[0], -1) @ v)``, a 0-dim tensor.

    Args:
        weight_bar: (O, ...) the unnormalised weight; dim 0 is the matrix's rows, also for a
            ``ConvTranspose2d`` weight (I, O, kH, kW).
        u: (O,) left vector.
        v: (prod(shape[1:]),) right vector.
    """
    return torch.dot(u, weight_bar.reshape(weight_bar.shape[0], -1).mv(v))


class SpectralNorm(nn.Module):
    """Wrap a ``Conv2d`` or ``ConvTranspose2d`` so that its weight is spectrally normalised.

    Args:
        module: the convolution; its ``weight`` parameter becomes ``weight_bar`` (and u, v are
            initialised from a normal distribution and normalised, as in the release).
        power_iterations: power iterations per training-mode forward (the release uses 1).

    Shape:
        - input: whatever ``module`` accepts, e.g. (B, C_in, H, W).
        - output: what ``module`` returns.

    Example:
        >>> conv = SpectralNorm(nn.Conv2d(3, 8, 3, padding=1, bias=False))
        >>> sorted(k for k in conv.state_dict())
        ['module.weight_bar', 'module.weight_u', 'module.weight_v']
        >>> conv.eval()(torch.zeros(1, 3, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, module: nn.Conv2d | nn.ConvTranspose2d, power_iterations: int = 1) -> None:
        super().__init__()
        if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            raise TypeError(
                f"SpectralNorm wraps Conv2d or ConvTranspose2d, got {type(module).__name__}"
            )
        if power_iterations < 1:
            raise ValueError(f"power_iterations must be >= 1, got {power_iterations}")
        self.power_iterations = power_iterations
        weight = module.weight.detach()
        del module._parameters["weight"]
        rows = weight.shape[0]
        cols = weight[0].numel()
        with torch.no_grad():
            u = l2_normalize(weight.new_empty(rows).normal_(0, 1))
            v = l2_normalize(weight.new_empty(cols).normal_(0, 1))
        # Registration order follows the release's state dict: u, v, bar.
        module.register_buffer("weight_u", u)
        module.register_buffer("weight_v", v)
        module.register_parameter("weight_bar", nn.Parameter(weight.clone()))
        self.module = module

    @torch.no_grad()
    def power_iteration(self, iterations: int | None = None) -> None:
        """Update ``weight_u`` and ``weight_v`` in place (``power_iterations`` steps by default).

        Training-mode forwards call this once each; call it by hand to bring a freshly
        initialised (random u, v) network to a sensible sigma before an eval forward.
        """
        w = self.module.weight_bar.reshape(self.module.weight_bar.shape[0], -1)
        u, v = self.module.weight_u, self.module.weight_v
        for _ in range(self.power_iterations if iterations is None else iterations):
            v.copy_(l2_normalize(w.t().mv(u)))
            u.copy_(l2_normalize(w.mv(v)))

    def normalized_weight(self) -> Tensor:
        """``weight_bar / sigma`` with the stored u and v (no power iteration)."""
        m = self.module
        # Clones keep autograd's saved copies intact if a later power iteration runs
        # before backward (the module used twice in one step).
        u, v = (m.weight_u.clone(), m.weight_v.clone()) if m.training else (m.weight_u, m.weight_v)
        return m.weight_bar / spectral_sigma(m.weight_bar, u, v)

    def forward(self, x: Tensor) -> Tensor:
        m = self.module
        # The release gates on the wrapped module's mode, not on grad mode.
        if m.training:
            self.power_iteration()
        weight = self.normalized_weight()
        if isinstance(m, nn.ConvTranspose2d):
            if m.padding_mode != "zeros":
                raise ValueError("only zero padding is supported for ConvTranspose2d")
            return F.conv_transpose2d(
                x, weight, m.bias, m.stride, m.padding, m.output_padding, m.groups, m.dilation
            )
        return m._conv_forward(x, weight, m.bias)

    def extra_repr(self) -> str:
        return f"power_iterations={self.power_iterations}"


def settle_spectral_norms(model: nn.Module, iterations: int = 3) -> None:
    """Run ``iterations`` power iterations in every :class:`SpectralNorm` of ``model``.

    The releases leave u and v random until the first training step, which makes an untrained
    network in eval mode meaningless (sigma near 0, exploding activations); a few iterations on
    the initial weights fix that.  Loading weights overwrites u and v anyway.
    """
    for module in model.modules():
        if isinstance(module, SpectralNorm):
            module.power_iteration(iterations)
