"""The local HOP block: opacity propagated within a window around every position.

Li, Xu & Lu, "Hierarchical Opacity Propagation for Image Matting", 2020, Eq. 3, Fig. 3(a) and
Sec. 3.2 ("Local Relative Position Encoding").  Like the global block, the attention comes
from the appearance features and the opacity features are what is propagated, but each query
only attends to the ``s x s`` neighbourhood ``N((i, j), s)`` (``s = 9`` in the released
HOP-9x9 models), with a direction-invariant relative positional encoding:

    n_p = W_QK f^A_p / max(|W_QK f^A_p|, 1e-4),
    a(p, o) = softmax_o( scale * <n_p, n_(p + o) + e_|o_y| + e_|o_x|> ),   o != 0,
    g_p = W_out( sum_o a(p, o) f^O_(p + o) ) + f^O_p,

with ``e_d = W_PE r_d`` (rows of :func:`~matting_hop.positional_encoding.sinusoid_table` with
``R = s // 2 + 1``).  Details fixed by the release (``networks/ops.py``, ``LocalHOPBlock``):
appearance and opacity maps are reflect-padded by ``s // 2``; the centre of the window gets the
score ``-1e4`` (before the scale), so a position never propagates to itself; the positional
vectors are added to the normalised *key* before the dot product, so ``W_PE``'s bias counts
twice; the learnable scale multiplies the whole score.

Memory.  The window is walked offset by offset (``s^2`` shifted views of the padded maps)
instead of unfolding ``C s^2`` channels per position (about 10 GiB at the 1/2 resolution block
of a 2048 x 2048 image), and the output is computed a band of rows at a time, so the
``s^2`` score maps only ever exist for one band (:data:`BAND_ELEMENTS`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_hop.positional_encoding import sinusoid_table, window_distances
from matting_nn import SpectralNorm
from matting_nn.contextual_attention import NORM_EPS, SELF_SIMILARITY, attention_softmax

__all__ = ["LocalHOPBlock", "local_hop_attention"]


#: Score entries (batch x window^2 x rows x width) per band of output rows: bounds the
#: block's working memory (64 MiB of float32 scores) whatever the image size.
BAND_ELEMENTS = 1 << 24


def local_hop_attention(
    guidance: Tensor,
    opacity: Tensor,
    *,
    window: int = 9,
    scale: Tensor | float = 1.0,
    embedding: Tensor | None = None,
    displacement: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The parameter-free core of the local HOP block (propagation before ``W_out``).

    Args:
        guidance: (B, D, H, W) ``W_QK f^A``, not yet normalised.
        opacity: (B, C, H, W) the opacity features ``f^O``.
        window: s, the odd window side.
        scale: the learnable softmax scale.
        embedding: (s // 2 + 2, D) ``W_PE r_d`` by distance row, or None for no positional
            encoding.
        displacement: also return where the opacity comes from.

    Returns:
        (B, C, H, W): ``sum_o a(p, o) f^O_(p + o)`` over the window without its centre; with
        ``displacement``, also (B, 2, H, W) ``sum_o a(p, o) o``, the attention-weighted mean
        (row, column) offset of the propagated opacity, in feature pixels (for display: no
        gradient).
    """
    if window < 3 or window % 2 == 0:
        raise ValueError(f"the window must be odd and >= 3, got {window}")
    radius = window // 2
    batch, _, height, width = opacity.shape
    if min(height, width) <= radius:
        raise ValueError(
            f"a {window}x{window} window needs feature maps larger than {radius} px, "
            f"got {height}x{width}"
        )
    normed = guidance / torch.clamp(guidance.norm(dim=1, keepdim=True), min=NORM_EPS)
    keys = F.pad(normed, (radius,) * 4, mode="reflect")
    values = F.pad(opacity, (radius,) * 4, mode="reflect")
    pos = None
    if embedding is not None:
        rows = embedding[window_distances(window).to(embedding.device)]  # (s, D)
        pos = rows[:, None, :] + rows[None, :, :]  # (s, s, D): e_|o_y| + e_|o_x|
    # Every output position depends only on its own window, so bands of rows are exact.
    band = max(1, BAND_ELEMENTS // (batch * window * window * width))
    outputs, displacements = [], []
    for top in range(0, height, band):
        out, moved = _band(
            normed[:, :, top : top + band],
            keys[:, :, top : top + band + 2 * radius],
            values[:, :, top : top + band + 2 * radius],
            window,
            scale,
            pos,
            displacement,
        )
        outputs.append(out)
        displacements.append(moved)
    out = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
    if not displacement:
        return out
    return out, torch.cat(displacements, dim=2)


def _band(
    normed: Tensor,
    keys: Tensor,
    values: Tensor,
    window: int,
    scale: Tensor | float,
    pos: Tensor | None,
    displacement: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Rows of the output: normed (B, D, n, W), keys / values padded by ``window // 2``
    (B, D | C, n + 2r, W + 2r), pos (s, s, D) or None -> (B, C, n, W), and with
    ``displacement`` the (B, 2, n, W) attention-weighted mean offset."""
    radius = window // 2
    batch, _, rows, width = normed.shape
    scores = normed.new_empty(batch, window * window, rows, width)
    for i in range(window):
        for j in range(window):
            o = i * window + j
            if i == radius and j == radius:
                scores[:, o] = SELF_SIMILARITY
                continue
            key = keys[:, :, i : i + rows, j : j + width]
            if pos is not None:
                key = key + pos[i, j].view(1, -1, 1, 1)
            scores[:, o] = (normed * key).sum(dim=1)
    # float32, without subnormal weights (matting_nn.contextual_attention.attention_softmax)
    attention = attention_softmax(scores * scale, dim=1, overwrite=True).to(
        values.dtype
    )  # (B, s^2, n, W)
    out = values.new_zeros(batch, values.shape[1], rows, width)
    for i in range(window):
        for j in range(window):
            if i == radius and j == radius:
                continue
            o = i * window + j
            out = out + values[:, :, i : i + rows, j : j + width] * attention[:, o : o + 1]
    if not displacement:
        return out, None
    with torch.no_grad():
        steps = torch.arange(window, device=out.device, dtype=attention.dtype) - radius
        weights = attention.detach().view(batch, window, window, rows, width)
        moved = torch.stack(
            [
                (weights.sum(dim=2) * steps.view(1, -1, 1, 1)).sum(dim=1),  # rows
                (weights.sum(dim=1) * steps.view(1, -1, 1, 1)).sum(dim=1),  # columns
            ],
            dim=1,
        )
    return out, moved


class LocalHOPBlock(nn.Module):
    """The local HOP block: ``W_QK``, the learnable ``scale``, ``W_out`` and ``W_PE`` around
    :func:`local_hop_attention`, plus the residual sum.

    Args:
        out_channels: C, channels of the opacity features (128, 64, 32 for blocks 1-3).
        guidance_channels: channels of the appearance features (64, 32, 16); ``W_QK`` halves
            them.
        window: s, the neighbourhood side (9 in the released models, 5 in HOP-5x5).
        positional_encoding: use the local relative positional encoding (PosE).
        bn_eps: eps of ``W_out``'s BatchNorm.

    Shape:
        - appearance: (B, guidance_channels, H, W) ``f^A``
        - opacity: (B, C, H, W) ``f^O``
        - returns ``(g (B, C, H, W), propagation (B, 2, H, W))``; the propagation is the
          attention-weighted mean (row, column) offset of the opacity each position receives,
          in feature pixels (for display, no gradient).
    """

    def __init__(
        self,
        out_channels: int,
        guidance_channels: int,
        *,
        window: int = 9,
        positional_encoding: bool = True,
        bn_eps: float = 1e-3,
    ) -> None:
        super().__init__()
        dim = guidance_channels // 2
        self.window = window
        # Module order = the release's state-dict order (scale, guidance conv, W, positional
        # linear).
        self.scale = nn.Parameter(torch.ones(1))
        self.w_qk = nn.Conv2d(guidance_channels, dim, kernel_size=1)
        self.w_out = nn.Sequential(
            SpectralNorm(nn.Conv2d(out_channels, out_channels, kernel_size=1, bias=False)),
            nn.BatchNorm2d(out_channels, eps=bn_eps),
        )
        self.w_pe = nn.Linear(dim, dim) if positional_encoding else None
        sinusoid = sinusoid_table(window // 2 + 1, dim) if positional_encoding else torch.empty(0)
        self.register_buffer("sinusoid", sinusoid, persistent=False)
        # Release initialisation: xavier W_QK, W_PE and W_out conv, zero biases, W_out's BN
        # gain 0.1, scale 1.
        nn.init.xavier_uniform_(self.w_qk.weight)
        nn.init.zeros_(self.w_qk.bias)
        if self.w_pe is not None:
            nn.init.xavier_uniform_(self.w_pe.weight)
            nn.init.zeros_(self.w_pe.bias)
        nn.init.xavier_uniform_(self.w_out[0].module.weight_bar)
        nn.init.constant_(self.w_out[1].weight, 0.1)
        nn.init.zeros_(self.w_out[1].bias)

    def forward(self, appearance: Tensor, opacity: Tensor) -> tuple[Tensor, Tensor]:
        guidance = self.w_qk(appearance)
        embedding = None if self.w_pe is None else self.w_pe(self.sinusoid.to(guidance))
        propagated, propagation = local_hop_attention(
            guidance,
            opacity,
            window=self.window,
            scale=self.scale,
            embedding=embedding,
            displacement=True,
        )
        return self.w_out(propagated) + opacity, propagation

    def extra_repr(self) -> str:
        return f"window={self.window}"
