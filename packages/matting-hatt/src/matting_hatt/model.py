"""HAttMatting: the network, its config and the ModelInfo objects ``plugin.py`` registers.

Qiao, Liu, Yang, Zhou, Xu, Zhang & Wei, "Attention-Guided Hierarchical Structure Aggregation
for Image Matting", CVPR 2020.  The authors released no model code and no weights (their
repository has said "coming soon" since 2020), so everything here is built from the paper's
text and Fig. 2; the choices the paper leaves open are named in comments and listed in the
package README's decisions table.

Reads top to bottom: config, the network (sub-modules named after Fig. 2: ``backbone``,
``aspp``, ``pfd``, ``acf``, ``aggregation``, ``head``), the discriminator, the infos.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_core import ExtraOutput, ModelInfo
from matting_core.errors import ConfigError
from matting_core.inference import check_model_inputs
from matting_hatt.attention import (
    AppearanceCuesFiltration,
    PyramidalFeaturesDistillation,
    conv_bn_relu,
)
from matting_nn import (
    ASPP,
    Bottleneck,
    PatchGANDiscriminator,
    PretrainedBackbone,
    ResNet,
    load_backbone_option,
)

__all__ = [
    "BUNDLED_WEIGHTS",
    "HATT_EXTRA_OUTPUTS",
    "HATT_INFO",
    "HATT_SMALL_INFO",
    "PAPER",
    "HAttConfig",
    "HAttMatting",
    "HAttSmallConfig",
    "build_discriminator",
]

PAPER = (
    "Yu Qiao, Yuhao Liu, Xin Yang, Dongsheng Zhou, Mingliang Xu, Qiang Zhang and Xiaopeng Wei, "
    "Attention-Guided Hierarchical Structure Aggregation for Image Matting, CVPR 2020"
)

#: The backbone's output stride: layer4's stride is traded for dilation 2 (the paper's
#: "parameter adjustments ... to obtain a larger receptive field"), so the ASPP output at 1/16
#: upsampled "with factor 4" meets block 1 at 1/4 ("sharing the same spatial resolution as
#: the first upsampling").  Inputs must be multiples of 16.
OUTPUT_STRIDE = 16
SIZE_MULTIPLE = 16

#: The ResNeXt flavours (torchvision's names): groups and width per group, and their depth.
_RESNEXT = {
    "resnext101_32x8d": (32, 8, (3, 4, 23, 3)),
    "resnext50_32x4d": (32, 4, (3, 4, 6, 3)),
}
#: Bounds checked before anything is built (a typo of 1000 blocks is refused, not allocated).
MAX_BLOCKS_PER_STAGE = 64
MAX_CHANNELS = 2048


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HAttConfig(PretrainedBackbone):
    """Options of :class:`HAttMatting`; the defaults are the paper's network.

    :param backbone: ``resnext101_32x8d`` (the paper, Sec. 3.4) or ``resnext50_32x4d``.
    :param blocks: residual blocks per stage, or None for the backbone's own depth
        ((3, 4, 23, 3) for ResNeXt-101); fewer blocks make a CPU-sized network that no longer
        takes ImageNet weights.
    :param channels: C, the channels of the ASPP output, both attentions and the aggregation
        (256, DeepLabv3's ASPP width).
    :param aspp_rates: atrous rates of the ASPP (DeepLabv3 at output stride 16: 6, 12, 18).
    :param reduction: PFD's MLP hidden layer has C / reduction units (CBAM's 16).
    :param pool: PFD's global pooling: ``avgmax`` (average and max through the shared MLP,
        CBAM) or ``avg`` (squeeze-and-excitation).
    :param channel_attention: use PFD's attention (False: the ablation without CA).
    :param spatial_attention: use ACF's attention (False: cues aggregated unfiltered, "Low").
    :param appearance_cues: aggregate block 1's appearance cues at all (False: "Basic").
    :param working_size: None (the paper: the network sees the photo at full resolution), or
        the longest side, in pixels, the network works at in eval mode: a larger photo is
        downscaled (area) for the network and its matte upsampled (bilinear) back, so a small
        network trained on small views sees a photo at the scale it was trained at.
    """

    backbone: str = "resnext101_32x8d"
    blocks: tuple[int, int, int, int] | None = None
    channels: int = 256
    aspp_rates: tuple[int, int, int] = (6, 12, 18)
    reduction: int = 16
    pool: str = "avgmax"
    channel_attention: bool = True
    spatial_attention: bool = True
    appearance_cues: bool = True
    working_size: int | None = None

    def __post_init__(self) -> None:
        if self.backbone not in _RESNEXT:
            raise ConfigError(
                f"backbone must be one of {', '.join(_RESNEXT)}, got {self.backbone!r}"
            )
        if self.blocks is not None:
            blocks = tuple(self.blocks)
            if len(blocks) != 4 or any(not 1 <= int(n) <= MAX_BLOCKS_PER_STAGE for n in blocks):
                raise ConfigError(
                    f"blocks must be 4 block counts from 1 to {MAX_BLOCKS_PER_STAGE}, got {blocks}"
                )
            object.__setattr__(self, "blocks", tuple(int(n) for n in blocks))
        if not 2 <= self.channels <= MAX_CHANNELS:
            raise ConfigError(f"channels must be from 2 to {MAX_CHANNELS}, got {self.channels}")
        rates = tuple(self.aspp_rates)
        if len(rates) != 3 or any(not 1 <= int(r) <= 64 for r in rates):
            raise ConfigError(f"aspp_rates must be 3 rates from 1 to 64, got {rates}")
        object.__setattr__(self, "aspp_rates", tuple(int(r) for r in rates))
        if not 1 <= self.reduction <= self.channels:
            raise ConfigError(
                f"reduction must be from 1 to channels ({self.channels}), got {self.reduction}"
            )
        if self.pool not in ("avgmax", "avg"):
            raise ConfigError(f"pool must be 'avgmax' or 'avg', got {self.pool!r}")
        if self.working_size is not None and not 64 <= self.working_size <= 8192:
            raise ConfigError(
                f"working_size must be from 64 to 8192 pixels or none, got {self.working_size}"
            )

    @property
    def depth(self) -> tuple[int, int, int, int]:
        """The blocks per stage actually built."""
        return self.blocks if self.blocks is not None else _RESNEXT[self.backbone][2]


@dataclass(frozen=True)
class HAttSmallConfig(HAttConfig):
    """The CPU-sized network (model ``hattmatting-small``): ResNeXt 32×4d with one block per
    stage (a ResNeXt-14; the 2048-channel block 4 stays) and a 64-channel ASPP and head, about
    11 M parameters instead of the paper's ~100 M.  Every block of Fig. 2 is kept.  It works
    at 320 pixels on the longest side (``working_size``): the bundled weights were trained on
    views of that scale."""

    backbone: str = "resnext50_32x4d"
    blocks: tuple[int, int, int, int] | None = (1, 1, 1, 1)
    channels: int = 64
    reduction: int = 8
    working_size: int | None = 320


# --------------------------------------------------------------------------------------------
# The network (Fig. 2)
# --------------------------------------------------------------------------------------------


class AlphaHead(nn.Module):
    """The output: 3×3 conv to one channel at 1/4, bilinear ×4 to the input size, sigmoid
    (the paper's losses compare α in [0, 1]; it names no output activation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        logits = F.interpolate(self.conv(x), size=size, mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)


class HAttMatting(nn.Module):
    """Hierarchical Attention Matting Network (Fig. 2): an alpha matte from an RGB image alone.

    - ``backbone``: ResNeXt, layer4 dilated (output stride 16); block 1 (``layer1``, 1/4,
      256 channels) gives the appearance cues, block 4 (``layer4``) the semantics.
    - ``aspp``: DeepLabv3's ASPP on block 4 → the pyramidal features (C channels, 1/16).
    - ``pfd``: pyramidal features distillation, channel-wise attention after ×4 upsampling.
    - ``acf``: appearance cues filtration, spatial attention from the distilled features
      (1×7 / 7×1 branches) multiplied into block 1.
    - ``aggregation``: concatenation of the filtered cues and the distilled features → two
      3×3 conv-BN-ReLU.
    - ``head``: :class:`AlphaHead`.

    Args:
        config: the options; the paper's network (ResNeXt-101 32×8d) when None.

    Shape:
        - image: (B, 3, H, W) float32 RGB normalised with the ImageNet mean/std; H and W
          multiples of 16.
        - trimap: None (trimap-free; a trimap given is ignored).
        - returns a dict: ``alpha`` (B, 1, H, W) in [0, 1]; ``spatial_attention`` (B, 1, H/4,
          W/4) ACF's map in [0, 1]; ``channel_attention`` (B, C) PFD's weights in [0, 1].

    Example:
        >>> model = HAttMatting(HAttSmallConfig(channels=8, reduction=2)).eval()
        >>> model(torch.zeros(1, 3, 64, 64))["alpha"].shape
        torch.Size([1, 1, 64, 64])
    """

    def __init__(self, config: HAttConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else HAttConfig()
        c = self.config
        groups, width_per_group, _ = _RESNEXT[c.backbone]
        self.backbone = ResNet(
            Bottleneck,
            c.depth,
            groups=groups,
            width_per_group=width_per_group,
            output_stride=OUTPUT_STRIDE,
        )
        blocks4 = self.backbone.feature_channels["layer4"]
        cues = self.backbone.feature_channels["layer1"]
        self.aspp = ASPP(blocks4, c.channels, c.aspp_rates, image_pooling=True)
        self.pfd = PyramidalFeaturesDistillation(
            c.channels, c.reduction, c.pool, enabled=c.channel_attention
        )
        self.acf = (
            AppearanceCuesFiltration(c.channels, cues, enabled=c.spatial_attention)
            if c.appearance_cues
            else None
        )
        aggregated = 2 * c.channels if c.appearance_cues else c.channels
        self.aggregation = nn.Sequential(
            conv_bn_relu(aggregated, c.channels, 3), conv_bn_relu(c.channels, c.channels, 3)
        )
        self.head = AlphaHead(c.channels)
        self._init_decoder()
        # ImageNet weights, when the option names them (after the random initialisation)
        load_backbone_option(self.backbone, c)

    def _init_decoder(self) -> None:
        # "the other layers are randomly initialized from a Gaussian distribution" (Sec. 3.4):
        # He-normal for convolutions and linear layers, the usual Gaussian for ReLU networks.
        for name, module in self.named_modules():
            if name.startswith("backbone"):
                continue
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, image: Tensor, trimap: Tensor | None = None) -> dict[str, Tensor]:
        check_model_inputs(
            image, trimap, model="HAttMatting", needs_trimap=False, multiple=SIZE_MULTIPLE
        )
        size = tuple(image.shape[-2:])
        working = self._working_shape(size)
        if working is None:
            return self._forward(image)
        small = F.interpolate(image, size=working, mode="area")
        out = self._forward(small)
        quarter = (size[0] // 4, size[1] // 4)
        return {
            "alpha": F.interpolate(out["alpha"], size=size, mode="bilinear", align_corners=False),
            "spatial_attention": F.interpolate(
                out["spatial_attention"], size=quarter, mode="bilinear", align_corners=False
            ),
            "channel_attention": out["channel_attention"],
        }

    def _working_shape(self, size: tuple[int, int]) -> tuple[int, int] | None:
        """The (H, W), multiples of 16, the network runs at in eval mode; None: as given."""
        limit = self.config.working_size
        if self.training or limit is None or max(size) <= limit:
            return None
        scale = limit / max(size)
        return tuple(
            max(SIZE_MULTIPLE, round(side * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE) for side in size
        )  # type: ignore[return-value]

    def _forward(self, image: Tensor) -> dict[str, Tensor]:
        features = self.backbone(image)
        pyramidal = self.aspp(features.layer4)
        distilled = self.pfd(pyramidal)
        if self.acf is not None:
            filtered = self.acf(distilled.features, features.layer1)
            aggregated = torch.cat([filtered.features, distilled.features], dim=1)
            spatial = filtered.attention
        else:
            aggregated = distilled.features
            spatial = distilled.features.new_ones(
                (image.shape[0], 1, *distilled.features.shape[2:])
            )
        alpha = self.head(self.aggregation(aggregated), tuple(image.shape[-2:]))
        return {
            "alpha": alpha,
            "spatial_attention": spatial,
            "channel_attention": distilled.attention,
        }


# --------------------------------------------------------------------------------------------
# The discriminator (Sec. 3.2: "the discriminator network refer to PatchGAN")
# --------------------------------------------------------------------------------------------


def build_discriminator(
    in_channels: int = 4, base_channels: int = 64, n_layers: int = 3, norm: str = "batch"
) -> PatchGANDiscriminator:
    """pix2pix's 70×70 PatchGAN judging ``image ‖ alpha`` (Eq. 3's ``D(I, A)``: 4 channels)."""
    return PatchGANDiscriminator(
        in_channels=in_channels, base_channels=base_channels, n_layers=n_layers, norm=norm
    )


# --------------------------------------------------------------------------------------------
# Infos (registered by plugin.py)
# --------------------------------------------------------------------------------------------

#: ACF's spatial attention, drawn by ``matting predict --save-extras`` (the paper's Fig. 3
#: shows the block-1 cues it filters).
HATT_EXTRA_OUTPUTS = (
    ExtraOutput(
        "spatial_attention",
        "map",
        "appearance cues filtration: where block 1's cues are kept (1) or erased (0)",
    ),
)

#: Weights trained here on real photos (a hattmatting-small; see weights/MODEL_CARD.md), used
#: by ``matting predict --model hattmatting-small`` when no --checkpoint is given.
BUNDLED_WEIGHTS = "matting_hatt:weights/hattmatting-small-alphamatting.safetensors"


def _hatt_recipe():
    from matting_hatt.training import HAttRecipe

    return HAttRecipe()


HATT_INFO = ModelInfo(
    paper=PAPER,
    needs_trimap=False,
    input_channels=3,
    config_class=HAttConfig,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    pad_multiple=SIZE_MULTIPLE,
    pad_mode="reflect",
    training_recipe=_hatt_recipe,
    description="HAttMatting (ResNeXt-101 32x8d, ASPP, channel + spatial attention); "
    "trimap-free; no official weights exist (train it, or use hattmatting-small)",
    extra_outputs=HATT_EXTRA_OUTPUTS,
)

HATT_SMALL_INFO = dataclasses.replace(
    HATT_INFO,
    config_class=HAttSmallConfig,
    default_weights=BUNDLED_WEIGHTS,
    description="HAttMatting, CPU-sized (ResNeXt-14 32x4d, 64-channel heads), trimap-free, "
    "trained here on real photos",
    # `--precision auto` may run bf16: with the bundled weights on the bundled photos (given
    # their trimaps) it changed the mean SAD from 16.360 to 16.361 (+0.01%, MSE -0.08%) for
    # 1.2x less CPU time on a 2-core AVX512-BF16 CPU (benchmarks/bench_real_photos.py)
    auto_precisions=("bf16",),
)
