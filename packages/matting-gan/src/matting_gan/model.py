"""AlphaGAN's generator: its config, the network of the paper's Table 4, and its ModelInfo.

Lutz, S., Amplianitis, K. & Smolić, A. "AlphaGAN: Generative adversarial networks for natural
image matting", BMVC 2018.  The authors released no code; everything here is from the paper
(Sec. 3.2.1 and the supplementary Table 4), built from matting-nn's blocks.

Reads top to bottom: config, the trimap channel, the encoder (dilated ResNet-50 + ASPP), the
decoder (the rows of Table 4's right half), the generator, the
:class:`~matting_core.ModelInfo` objects that ``plugin.py`` registers.  The discriminator and
the training recipe are in :mod:`matting_gan.training`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from matting_core import ModelInfo
from matting_core.errors import CheckpointError, ConfigError
from matting_core.inference import check_model_inputs
from matting_nn import (
    ASPP,
    Bottleneck,
    MaxUnpool,
    PretrainedBackbone,
    PretrainedWeightsError,
    ResNet,
    ResNetFeatures,
    conv_norm_relu,
    load_backbone_option,
)

__all__ = [
    "ALPHAGAN_INFO",
    "ALPHAGAN_SMALL_INFO",
    "PAPER",
    "AlphaGAN",
    "AlphaGANConfig",
    "AlphaGANDecoder",
    "AlphaGANEncoder",
    "AlphaGANSmallConfig",
    "ScaledResNet",
    "trimap_channel",
]

PAPER = (
    "Sebastian Lutz, Konstantinos Amplianitis and Aljosa Smolic, AlphaGAN: Generative "
    "adversarial networks for natural image matting, BMVC 2018"
)

#: Input sizes must be multiples of this: the encoder's output stride is 8, and the decoder
#: doubles 1/8 -> 1/4 (bilinear), 1/4 -> 1/2 (unpooling), 1/2 -> 1 (transposed convolution).
SIZE_MULTIPLE = 8

#: Bound on the channel multiplier, checked before anything is built (a sidecar asking for
#: more is refused instead of allocating without end): 2x the paper's channels.
MAX_WIDTH = 2.0
MAX_BLOCKS_PER_STAGE = 64


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaGANConfig(PretrainedBackbone):
    """Options of :class:`AlphaGAN`; the defaults are the paper's generator (Table 4).

    :param width: channel multiplier of every layer, encoder and decoder (1.0 = Table 4;
        ``alphagan-small`` = 0.25).  ImageNet weights fit only 1.0.
    :param aspp_rates: atrous rates of the ASPP's three 3x3 branches (Table 4: 6, 12, 18).
    :param backbone_layers: bottleneck blocks per ResNet stage, conv2_x to conv5_x
        ((3, 4, 6, 3): ResNet-50).
    """

    width: float = 1.0
    aspp_rates: tuple[int, int, int] = (6, 12, 18)
    backbone_layers: tuple[int, int, int, int] = (3, 4, 6, 3)

    def __post_init__(self) -> None:
        if not 0 < self.width <= MAX_WIDTH:
            raise ConfigError(f"width must be > 0 and <= {MAX_WIDTH}, got {self.width}")
        if round(32 * self.width) < 1:
            raise ConfigError(f"width {self.width} leaves layers without channels")
        rates = tuple(self.aspp_rates)
        if len(rates) != 3 or any(not isinstance(r, int) or not 1 <= r <= 64 for r in rates):
            raise ConfigError(f"aspp_rates must be 3 integers from 1 to 64, got {rates}")
        object.__setattr__(self, "aspp_rates", rates)
        layers = tuple(self.backbone_layers)
        if len(layers) != 4 or any(
            not isinstance(n, int) or not 1 <= n <= MAX_BLOCKS_PER_STAGE for n in layers
        ):
            raise ConfigError(
                f"backbone_layers must be 4 block counts from 1 to {MAX_BLOCKS_PER_STAGE}, "
                f"got {layers}"
            )
        object.__setattr__(self, "backbone_layers", layers)
        if self.pretrained_backbone and self.width != 1.0:
            raise ConfigError(
                f"pretrained_backbone needs width 1.0 (ImageNet's ResNet-50), got {self.width}"
            )


@dataclass(frozen=True)
class AlphaGANSmallConfig(AlphaGANConfig):
    """:class:`AlphaGANConfig` with a quarter of the channels (model ``alphagan-small``), for
    training and running on a CPU: the same layers, strides, dilations and skips."""

    width: float = 0.25


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


# --------------------------------------------------------------------------------------------
# Trimap
# --------------------------------------------------------------------------------------------


def trimap_channel(trimap_onehot: Tensor) -> Tensor:
    """The generator's 4th input channel from core's one-hot trimap: 0 background, 0.5
    unknown, 1 foreground (Sec. 3.2: "appended with the trimap as 4th-channel").

    Built from the one-hot codes (``0.5 · unknown + foreground``), so no pixel is classified by
    comparing floats (a port's ``trimap * 255 == 128`` missed unknown pixels).

    :param trimap_onehot: (B, 3, H, W) one-hot [bg, unknown, fg].
    :returns: (B, 1, H, W) with values in {0, 0.5, 1}, the dtype of the input.
    """
    return 0.5 * trimap_onehot[:, 1:2] + trimap_onehot[:, 2:3]


# --------------------------------------------------------------------------------------------
# Encoder: Table 4's left half
# --------------------------------------------------------------------------------------------


class ScaledResNet(ResNet):
    """matting-nn's bottleneck ResNet (torchvision's names) with every channel count times
    ``width``; ``width=1`` is exactly :func:`matting_nn.resnet50` (same keys and shapes).

    Used for ``alphagan-small``: the layers, strides and dilations of ResNet-50 with a
    quarter of its channels.  Only the channel counts change, so the module tree stays
    Table 4's.
    """

    def __init__(
        self,
        width: float = 1.0,
        layers: Sequence[int] = (3, 4, 6, 3),
        *,
        in_channels: int = 4,
        output_stride: int = 8,
    ) -> None:
        # read by _make_layer while ResNet.__init__ builds the stages
        self._width = float(width)
        super().__init__(
            Bottleneck, tuple(layers), in_channels=in_channels, output_stride=output_stride
        )
        if self._width != 1.0:
            stem = _scaled(64, self._width)
            # ResNet builds a 64-channel stem; replace it in place (the module order, and so
            # the state-dict order, is unchanged) and re-initialise everything as torchvision
            self.conv1 = nn.Conv2d(in_channels, stem, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(stem)
            e = Bottleneck.expansion
            self.feature_channels = {
                "stem": stem,
                "pool_indices": stem,
                "layer1": _scaled(64, self._width) * e,
                "layer2": _scaled(128, self._width) * e,
                "layer3": _scaled(256, self._width) * e,
                "layer4": _scaled(512, self._width) * e,
            }
            self._init_weights(False)

    def _make_layer(
        self, planes: int, blocks: int, stride: int = 1, dilate: bool = False
    ) -> nn.Sequential:
        if planes == 64:  # conv2_x follows the stem, whose width is scaled as well
            self.inplanes = _scaled(64, self._width)
        return super()._make_layer(_scaled(planes, self._width), blocks, stride, dilate)


class AlphaGANEncoder(nn.Module):
    """ResNet-50 with conv4_x/conv5_x dilated 2/4 (output stride 8, Sec. 3.2.1), a 4-channel
    stem (RGB + trimap), and ASPP (Table 4: 1x1, 3x3 at rates 6/12/18, image pooling, 256 each).

    Modules: ``resnet`` (torchvision names: ``conv1`` = Table 4's conv1, ``layer1``…``layer4``
    = conv2_x…conv5_x; the max-pool of conv2_x is ``resnet.maxpool``) and ``aspp``.

    Shape: (B, 4, H, W) → (:class:`matting_nn.ResNetFeatures`, ASPP output
    (B, 256·w, H/8, W/8)).
    """

    def __init__(self, config: AlphaGANConfig) -> None:
        super().__init__()
        w = config.width
        self.resnet = ScaledResNet(w, config.backbone_layers, in_channels=4, output_stride=8)
        self.aspp = ASPP(
            self.resnet.feature_channels["layer4"], _scaled(256, w), rates=config.aspp_rates
        )

    def forward(self, x: Tensor) -> tuple[ResNetFeatures, Tensor]:
        features = self.resnet(x)
        return features, self.aspp(features.layer4)


# --------------------------------------------------------------------------------------------
# Decoder: Table 4's right half
# --------------------------------------------------------------------------------------------


class _Deconv1(nn.Module):
    """deconv1_x: the conv2_x skip reduced by 1x1 to 48, concatenated with the upsampled ASPP
    features, then 3x3 convolutions to 256, 128, 64."""

    def __init__(self, aspp_channels: int, skip_channels: int, w: float) -> None:
        super().__init__()
        self.skip = conv_norm_relu(skip_channels, _scaled(48, w), 1)
        self.convs = nn.Sequential(
            conv_norm_relu(aspp_channels + _scaled(48, w), _scaled(256, w)),
            conv_norm_relu(_scaled(256, w), _scaled(128, w)),
            conv_norm_relu(_scaled(128, w), _scaled(64, w)),
        )

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.convs(torch.cat([x, self.skip(skip)], dim=1))


class _Deconv2(nn.Module):
    """deconv2_x: the conv1 skip reduced by 1x1 to 32, concatenated with the unpooled map;
    3x3 conv 64; 3x3 conv 64 with stride 1/2 (a transposed convolution, x2); 3x3 conv 32."""

    def __init__(self, unpooled_channels: int, stem_channels: int, w: float) -> None:
        super().__init__()
        c64, c32 = _scaled(64, w), _scaled(32, w)
        self.skip = conv_norm_relu(stem_channels, c32, 1)
        self.conv1 = conv_norm_relu(unpooled_channels + c32, c64)
        # "fractionally-strided convolution": 3x3, stride 2, output exactly twice the input
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(c64, c64, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(c64),
            nn.ReLU(inplace=True),
        )
        self.conv2 = conv_norm_relu(c64, c32)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.conv1(torch.cat([x, self.skip(skip)], dim=1))
        return self.conv2(self.deconv(x))


class AlphaGANDecoder(nn.Module):
    """Table 4's decoder, one module per row.

    - ``bilinear``: ASPP output x2 (1/8 → 1/4, the resolution of conv2_x);
    - ``deconv1_x``: conv2_x skip 1x1 → 48, concat, 3x3 256, 128, 64;
    - ``unpooling``: max-unpooling with the indices of the stem's max-pool (1/4 → 1/2);
    - ``deconv2_x``: conv1 skip 1x1 → 32, concat, 3x3 64, 3x3 64 stride 1/2 (1/2 → 1), 3x3 32;
    - ``deconv3_x``: the RGB image concatenated (no parameters: a skip, as Table 4 says);
    - ``deconv4_x``: 3x3 32, 3x3 32, then the last 3x3 convolution to 1 channel (with a bias,
      no batch norm) → sigmoid.

    Every convolution but the last is followed by batch norm and ReLU (Table 4's caption).
    The unpooling's 64 channels are those of the stem (conv1), as the indices require.
    """

    def __init__(self, encoder: AlphaGANEncoder, w: float) -> None:
        super().__init__()
        channels = encoder.resnet.feature_channels
        aspp = encoder.aspp.project[0].out_channels
        self.bilinear = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.deconv1_x = _Deconv1(aspp, channels["layer1"], w)
        if _scaled(64, w) != channels["pool_indices"]:  # pragma: no cover - _scaled is shared
            raise ConfigError("deconv1_x must end with the stem's channels to unpool")
        self.unpooling = MaxUnpool(kernel_size=3, stride=2, padding=1)
        self.deconv2_x = _Deconv2(_scaled(64, w), channels["stem"], w)
        c32 = _scaled(32, w)
        self.deconv4_x = nn.Sequential(
            conv_norm_relu(c32 + 3, c32),
            conv_norm_relu(c32, c32),
            nn.Conv2d(c32, 1, 3, padding=1),
        )

    def forward(self, features: ResNetFeatures, aspp: Tensor, image: Tensor) -> Tensor:
        x = self.bilinear(aspp)
        x = self.deconv1_x(x, features.layer1)
        x = self.unpooling(x, features.pool_indices, features.stem.shape[-2:])
        x = self.deconv2_x(x, features.stem)
        x = torch.cat([x, image], dim=1)  # deconv3_x: "skip from RGB image"
        return torch.sigmoid(self.deconv4_x(x))


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


class AlphaGAN(nn.Module):
    """AlphaGAN's generator G (Fig. 1, Table 4).

    Args:
        config: the options; the paper's generator when None.  With
            ``pretrained_backbone`` the ImageNet ResNet-50 is loaded into ``encoder.resnet``
            at construction: the RGB filters of conv1 are ImageNet's and the trimap channel's
            start at zero (Sec. 3.2.1), every other key must match (strict).

    Shape:
        - image: (B, 3, H, W) float32 RGB normalised with the ImageNet mean/std; H and W
          multiples of 8.
        - trimap: (B, 3, H, W) float32 one-hot [bg, unknown, fg] (turned into the paper's
          single trimap channel by :func:`trimap_channel`).
        - returns ``{"alpha": (B, 1, H, W)}`` float32 in [0, 1], the raw network output
          (known trimap regions are not overwritten here; inference does that).

    Example:
        >>> model = AlphaGAN(AlphaGANConfig(width=0.125)).eval()
        >>> trimap = torch.zeros(1, 3, 64, 64); trimap[:, 1] = 1
        >>> model(torch.zeros(1, 3, 64, 64), trimap)["alpha"].shape
        torch.Size([1, 1, 64, 64])
    """

    def __init__(self, config: AlphaGANConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else AlphaGANConfig()
        self.encoder = AlphaGANEncoder(self.config)
        self.decoder = AlphaGANDecoder(self.encoder, self.config.width)
        try:
            #: what loading the ImageNet weights did (None without ``pretrained_backbone``)
            self.pretrained_report = load_backbone_option(self.encoder.resnet, self.config)
        except PretrainedWeightsError as exc:
            # core's command line turns its own errors into one sentence and exit code 2
            raise CheckpointError(str(exc)) from None

    def forward(self, image: Tensor, trimap: Tensor | None) -> dict[str, Tensor]:
        check_model_inputs(image, trimap, model="AlphaGAN", multiple=SIZE_MULTIPLE)
        x = torch.cat([image, trimap_channel(trimap.to(image.dtype))], dim=1)
        features, aspp = self.encoder(x)
        return {"alpha": self.decoder(features, aspp, image)}


# --------------------------------------------------------------------------------------------
# Infos (registered by plugin.py)
# --------------------------------------------------------------------------------------------


#: Weights trained here, adversarially, on real photos (an alphagan-small; see
#: weights/MODEL_CARD.md), used by `matting predict --model alphagan-small` (and `--model
#: alphagan`, which then runs the small network and says so) when no --checkpoint is given.
BUNDLED_WEIGHTS = "matting_gan:weights/alphagan-small-alphamatting.safetensors"


def _alphagan_recipe():
    from matting_gan.training import AlphaGANRecipe

    return AlphaGANRecipe()


ALPHAGAN_INFO = ModelInfo(
    paper=PAPER,
    needs_trimap=True,
    input_channels=4,
    config_class=AlphaGANConfig,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    pad_multiple=SIZE_MULTIPLE,
    # reflect, never a resize: a port resized image AND trimap to a multiple of 32 with a
    # bilinear filter, which invents trimap values that are neither 0, 128 nor 255
    pad_mode="reflect",
    # no weights of the paper's size exist (the authors released none); with no
    # --checkpoint, `--model alphagan` runs the bundled alphagan-small, as matting-gca does
    default_weights=BUNDLED_WEIGHTS,
    training_recipe=_alphagan_recipe,
    description="AlphaGAN generator (dilated ResNet-50 OS8 + ASPP, unpooling decoder, Table 4); "
    "trained adversarially against a 70x70 PatchGAN",
)

ALPHAGAN_SMALL_INFO = dataclasses.replace(
    ALPHAGAN_INFO,
    config_class=AlphaGANSmallConfig,
    description="AlphaGAN generator with a quarter of the channels (width 0.25), trained here",
    # `--precision auto` may run bf16: with the bundled weights on the bundled photos it
    # changed the mean SAD from 6.631 to 6.633 (+0.03%, MSE -0.28%) for 1.6x less CPU time
    # on a 2-core AVX512-BF16 CPU (benchmarks/bench_real_photos.py --threads 1 --clock cpu)
    auto_precisions=("bf16",),
)
