"""HAttMatting's two attention boxes of Fig. 2: pyramidal features distillation (PFD, channel
attention, the orange box) and appearance cues filtration (ACF, spatial attention, the gray box).

Qiao et al., "Attention-Guided Hierarchical Structure Aggregation for Image Matting", CVPR
2020, Sec. 3.2.  The authors released no model code; where the text leaves a detail open the
choice is named in a comment and in the package README's decisions table.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "AppearanceCuesFiltration",
    "Distilled",
    "Filtered",
    "PyramidalFeaturesDistillation",
    "conv_bn_relu",
]


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel: int | tuple[int, int] = 3
) -> nn.Sequential:
    """conv (same padding, no bias) → BatchNorm → ReLU."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, k, padding=(k[0] // 2, k[1] // 2), bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Distilled(NamedTuple):
    """What :class:`PyramidalFeaturesDistillation` returns.

    - ``features``: (B, C, 4h, 4w) the upsampled pyramidal features times the attention.
    - ``attention``: (B, C) the channel-wise attention in [0, 1].
    """

    features: Tensor
    attention: Tensor


class PyramidalFeaturesDistillation(nn.Module):
    """Channel-wise attention on the ASPP output (the orange box of Fig. 2).

    The paper: "we upsample pyramidal features with factor 4, and then utilize global pooling
    to generalize the feature maps. Then a shared MLP is employed to distill semantic
    attributes. We use a sigmoid layer to compute channel-wise attention map, and multiply it
    times upsampled pyramidal features".  A *shared* MLP implies more than one pooled
    descriptor going through it: as in CBAM (Woo et al. 2018) the global average and the
    global max go through the same MLP and their outputs are summed (``pool="avgmax"``);
    ``pool="avg"`` is the squeeze-and-excitation reading.

    :param channels: C, the ASPP's output channels.
    :param reduction: the MLP's hidden layer has ``C / reduction`` units (CBAM: 16).
    :param pool: ``"avgmax"`` or ``"avg"``.
    :param enabled: False replaces the attention by ones (the paper's ablation without CA).

    Shape:
        (B, C, h, w) → :class:`Distilled` with features (B, C, 4h, 4w) and attention (B, C).
    """

    def __init__(
        self, channels: int, reduction: int = 16, pool: str = "avgmax", enabled: bool = True
    ) -> None:
        super().__init__()
        if pool not in ("avgmax", "avg"):
            raise ValueError(f"pool must be 'avgmax' or 'avg', got {pool!r}")
        hidden = max(1, channels // reduction)
        self.pool = pool
        self.enabled = enabled
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )

    def forward(self, pyramidal: Tensor) -> Distilled:
        # "upsample with factor 4" to block 1's resolution (bilinear, as DeepLabv3+'s decoder)
        up = F.interpolate(pyramidal, scale_factor=4, mode="bilinear", align_corners=False)
        if not self.enabled:
            ones = up.new_ones(up.shape[:2])
            return Distilled(up, ones)
        logits = self.mlp(up.mean(dim=(2, 3)))
        if self.pool == "avgmax":
            logits = logits + self.mlp(up.amax(dim=(2, 3)))
        attention = torch.sigmoid(logits)
        return Distilled(up * attention[:, :, None, None], attention)


class Filtered(NamedTuple):
    """What :class:`AppearanceCuesFiltration` returns.

    - ``features``: (B, C, H, W) the filtered appearance cues, projected to C channels.
    - ``attention``: (B, 1, H, W) the spatial attention in [0, 1].
    """

    features: Tensor
    attention: Tensor


class AppearanceCuesFiltration(nn.Module):
    """Spatial attention that filters block 1's appearance cues (the gray box of Fig. 2).

    The paper: "we use kernel size 1 * 7 and 7 * 1 to execute horizontal and vertical
    direction attention respectively ... The attended pyramidal semantics are further
    disposed of via two parallel convolutions with the above two filter kernels. Then their
    concatenation serves as attention mechanism to handle initial appearance cues".  The
    attention is computed from the *distilled pyramidal features* (not from the cues), as the
    text says.  Each branch is a separable pair as in the salient-object spatial attention
    the design follows (a 1×7 then 7×1 branch and a 7×1 then 1×7 branch, C/2 hidden channels,
    one output channel each); the two maps are concatenated and fused by a 1×1 convolution
    into one map, through a sigmoid.  The filtered cues (block 1, 256 channels) are projected
    to C channels by a 3×3 conv → BN → ReLU before aggregation.

    :param channels: C, the distilled features' channels.
    :param cue_channels: block 1's channels (256 for every ResNeXt).
    :param kernel: the long side of the separable kernels (7).
    :param enabled: False passes the cues unfiltered (attention of ones; the ablation "Low").

    Shape:
        pyramidal (B, C, H, W), cues (B, cue_channels, H, W) → :class:`Filtered`.
    """

    def __init__(
        self, channels: int, cue_channels: int = 256, kernel: int = 7, enabled: bool = True
    ) -> None:
        super().__init__()
        half = max(1, channels // 2)
        self.enabled = enabled
        self.branch_horizontal = nn.Sequential(
            conv_bn_relu(channels, half, (1, kernel)),
            nn.Conv2d(half, 1, (kernel, 1), padding=(kernel // 2, 0)),
        )
        self.branch_vertical = nn.Sequential(
            conv_bn_relu(channels, half, (kernel, 1)),
            nn.Conv2d(half, 1, (1, kernel), padding=(0, kernel // 2)),
        )
        self.fuse = nn.Conv2d(2, 1, 1)
        self.project = conv_bn_relu(cue_channels, channels, 3)

    def attention_map(self, pyramidal: Tensor) -> Tensor:
        """(B, 1, H, W) in [0, 1] from the distilled pyramidal features (B, C, H, W)."""
        both = torch.cat([self.branch_horizontal(pyramidal), self.branch_vertical(pyramidal)], 1)
        return torch.sigmoid(self.fuse(both))

    def forward(self, pyramidal: Tensor, cues: Tensor) -> Filtered:
        if self.enabled:
            attention = self.attention_map(pyramidal)
        else:
            attention = cues.new_ones((cues.shape[0], 1, *cues.shape[2:]))
        return Filtered(self.project(cues * attention), attention)
