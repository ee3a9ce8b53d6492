"""HDMatt: the network, its config and the ModelInfo objects ``plugin.py`` registers.

Yu, Xu, Huang, Zhou & Shi, "High-Resolution Deep Image Matting", AAAI 2021 (arXiv:2009.06613).
No official code or weights exist; every choice the paper leaves open is listed, with its
reason, in the package README.

Reads top to bottom: config, encoder E (Fig. 2), the model (E → CPC → decoder), the
``ModelInfo`` objects.  Whole images meet the model through crop-and-stitch with its own patch
forward (:mod:`matting_hdmatt.context_pool`), which gives each query patch its context patches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from matting_core import ModelInfo
from matting_core.errors import ConfigError, ShapeError
from matting_core.inference import check_model_inputs
from matting_core.strategy import CropAndStitch
from matting_hdmatt.context_pool import hdmatt_patch_forward
from matting_hdmatt.cross_patch_context import CrossPatchContext, trimap_regions
from matting_hdmatt.decoder import HDMattDecoder
from matting_nn import ASPP, BasicBlock, PretrainedBackbone, ResNet, load_backbone_option

__all__ = [
    "HDMATT_INFO",
    "HDMATT_SMALL_INFO",
    "PAPER",
    "HDMatt",
    "HDMattConfig",
    "HDMattSmallConfig",
]

PAPER = (
    "Haichao Yu, Ning Xu, Zilong Huang, Yuqian Zhou and Humphrey Shi, High-Resolution Deep "
    "Image Matting, AAAI 2021 (arXiv:2009.06613)"
)

#: The encoder's output stride: ResNet-34 with its last two stages dilated (DeepLabv3, OS 8);
#: patch sides must be multiples of it.
STRIDE = 8


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HDMattConfig(PretrainedBackbone):
    """Options of :class:`HDMatt`; the defaults are the paper's network.

    :param backbone_layers: basic blocks per ResNet stage ((3, 4, 6, 3): ResNet-34).
    :param aspp_channels: channels of the ASPP branches and output (DeepLabv3: 256).
    :param aspp_rates: atrous rates (DeepLabv3 at output stride 8: (12, 24, 36)).
    :param key_channels: channels of the keys of θ and ϕ (non-local convention: half the
        encoder's).
    :param value_channels: channels of the values of δ.
    :param decoder_width: channel multiplier of the decoder (1.0: AlphaGAN's Table 4).
    :param context_patches: K, context patches kept per query (the paper: 3); 0 runs without
        context (f_U = f_F = f_B = q̃_U).
    :param candidates: N, candidate context patches per image at inference (the paper: 30
        for ultra-high-resolution images).
    :param scaled_attention: divide TGNL's dot products by sqrt(key_channels) (not in the
        paper; keeps the softmax out of saturation at random initialisation).
    :param attention_chunk: query cells per block in TGNL (bounds its memory); None: all.
    :param train_candidates: N during training: context crops drawn per training crop from
        the same composited image (the paper does not say; 4).
    :param context_encoder_grad: back-propagate through E for the context patches in training
        (the paper trains end to end; False trains E on the query patches only, which makes a
        CPU step about twice as fast).
    """

    backbone_layers: tuple[int, int, int, int] = (3, 4, 6, 3)
    aspp_channels: int = 256
    aspp_rates: tuple[int, int, int] = (12, 24, 36)
    key_channels: int = 128
    value_channels: int = 128
    decoder_width: float = 1.0
    context_patches: int = 3
    candidates: int = 30
    scaled_attention: bool = True
    attention_chunk: int | None = 1024
    train_candidates: int = 4
    context_encoder_grad: bool = True

    def __post_init__(self) -> None:
        layers = tuple(int(n) for n in self.backbone_layers)
        if len(layers) != 4 or any(not 1 <= n <= 64 for n in layers):
            raise ConfigError(f"backbone_layers must be 4 block counts from 1 to 64, got {layers}")
        object.__setattr__(self, "backbone_layers", layers)
        rates = tuple(int(r) for r in self.aspp_rates)
        if not rates or any(r < 1 for r in rates):
            raise ConfigError(f"aspp_rates must be integers >= 1, got {rates}")
        object.__setattr__(self, "aspp_rates", rates)
        for name in ("aspp_channels", "key_channels", "value_channels"):
            if not 1 <= getattr(self, name) <= 4096:
                raise ConfigError(f"{name} must be from 1 to 4096, got {getattr(self, name)}")
        if not 0 < self.decoder_width <= 4:
            raise ConfigError(f"decoder_width must be > 0 and <= 4, got {self.decoder_width}")
        if not 0 <= self.context_patches <= 64:
            raise ConfigError(f"context_patches must be from 0 to 64, got {self.context_patches}")
        if not 1 <= self.candidates <= 1024:
            raise ConfigError(f"candidates must be from 1 to 1024, got {self.candidates}")
        if self.attention_chunk is not None and self.attention_chunk < 1:
            raise ConfigError(f"attention_chunk must be >= 1 or None, got {self.attention_chunk}")
        if not 0 <= self.train_candidates <= 64:
            raise ConfigError(f"train_candidates must be from 0 to 64, got {self.train_candidates}")


@dataclass(frozen=True)
class HDMattSmallConfig(HDMattConfig):
    """:class:`HDMattConfig` for CPU (model ``hdmatt-small``): one basic block per stage
    (ResNet-10 depth) and a quarter of the ASPP, CPC and decoder channels."""

    backbone_layers: tuple[int, int, int, int] = (1, 1, 1, 1)
    aspp_channels: int = 64
    key_channels: int = 32
    value_channels: int = 32
    decoder_width: float = 0.25


# --------------------------------------------------------------------------------------------
# Encoder E
# --------------------------------------------------------------------------------------------


class Encoded(NamedTuple):
    """Encoder E's output for a batch of patches.

    :param embedding: (B, C, H/8, W/8) ASPP output (q^E or c_i^E).
    :param stem: (B, 64, H/2, W/2) the stem's output (decoder skip).
    :param pool_indices: (B, 64, H/4, W/4) the stem max-pool's indices (unpooling).
    :param layer1: (B, 64, H/4, W/4) the first stage's output (decoder skip).
    """

    embedding: Tensor
    stem: Tensor
    pool_indices: Tensor
    layer1: Tensor


class HDMattEncoder(nn.Module):
    """E: ResNet-34 on image ‖ one-hot trimap, last two stages dilated (output stride 8),
    then ASPP; shared by the query and the context patches."""

    def __init__(self, config: HDMattConfig) -> None:
        super().__init__()
        self.backbone = ResNet(BasicBlock, config.backbone_layers, in_channels=6, output_stride=8)
        self.aspp = ASPP(512, config.aspp_channels, config.aspp_rates)

    def forward(self, image: Tensor, trimap: Tensor) -> Encoded:
        f = self.backbone(torch.cat([image, trimap], dim=1))
        return Encoded(self.aspp(f.layer4), f.stem, f.pool_indices, f.layer1)


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class ContextMemory(NamedTuple):
    """Keys, values and regions of candidate context patches (B, N, ...), see
    :meth:`HDMatt.encode_context`."""

    key: Tensor
    value: Tensor
    regions: Tensor


class HDMatt(nn.Module):
    """HDMatt (Fig. 2): encoder E on the query patch and on the candidate context patches,
    the Cross-Patch Contextual module, the unpooling decoder.

    Shape:
        - image: (B, 3, h, w) normalised RGB query patches (h, w multiples of 8).
        - trimap: (B, 3, h, w) one-hot [bg, unknown, fg].
        - context_image, context_trimap: optional (B, N, 3, h', w') candidate context patches
          of the same image and their trimaps; without them (a whole-image forward) the CPC
          has no context and f_U = f_F = f_B = q̃_U.
        - returns ``{"alpha": (B, 1, h, w) in [0, 1]}``.

    Example:
        >>> model = HDMatt(HDMattSmallConfig()).eval()
        >>> trimap = torch.zeros(1, 3, 64, 64); trimap[:, 1] = 1
        >>> model(torch.zeros(1, 3, 64, 64), trimap)["alpha"].shape
        torch.Size([1, 1, 64, 64])
    """

    def __init__(self, config: HDMattConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else HDMattConfig()
        c = self.config
        self.encoder = HDMattEncoder(c)
        self.cpc = CrossPatchContext(
            c.aspp_channels,
            c.key_channels,
            c.value_channels,
            c.context_patches,
            scaled=c.scaled_attention,
            chunk=c.attention_chunk,
        )
        self.decoder = HDMattDecoder(3 * c.value_channels, c.decoder_width)
        load_backbone_option(self.encoder.backbone, c)

    def encode_context(self, image: Tensor, trimap: Tensor) -> ContextMemory:
        """Keys c_i, values c̃_i and regions of patches (P, 3, h, w) → (P, C, h/8, w/8)."""
        if self.training and not self.config.context_encoder_grad:
            with torch.no_grad():
                encoded = self.encoder(image, trimap)
        else:
            encoded = self.encoder(image, trimap)
        key, value = self.cpc.embed_context(encoded.embedding)
        return ContextMemory(key, value, trimap_regions(trimap, STRIDE))

    def forward_with_memory(
        self,
        image: Tensor,
        trimap: Tensor,
        memory: ContextMemory,
        valid: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """The query patches with candidates already encoded: ``memory`` (B, N, ...)."""
        check_model_inputs(image, trimap, model="HDMatt", multiple=STRIDE)
        query = self.encoder(image, trimap)
        key, value = self.cpc.embed_query(query.embedding)
        unknown = trimap_regions(trimap, STRIDE)[:, 0:1]
        cpc = self.cpc(key, value, unknown, memory.key, memory.value, memory.regions, valid)
        alpha = self.decoder(cpc.features, query.stem, query.pool_indices, query.layer1, image)
        return {"alpha": alpha}

    def forward(
        self,
        image: Tensor,
        trimap: Tensor | None,
        context_image: Tensor | None = None,
        context_trimap: Tensor | None = None,
    ) -> dict[str, Tensor]:
        check_model_inputs(image, trimap, model="HDMatt", multiple=STRIDE)
        assert trimap is not None
        b = image.shape[0]
        if context_image is None:
            c = self.config
            h, w = (s // STRIDE for s in image.shape[-2:])
            memory = ContextMemory(
                image.new_zeros(b, 0, c.key_channels, h, w),
                image.new_zeros(b, 0, c.value_channels, h, w),
                torch.zeros(b, 0, 3, h, w, dtype=torch.bool, device=image.device),
            )
        else:
            if context_trimap is None or context_image.dim() != 5:
                raise ShapeError(
                    "HDMatt: context_image must be (B, N, 3, h, w) with a context_trimap of "
                    f"the same shape, got {tuple(context_image.shape)}"
                )
            if context_trimap.shape != context_image.shape or context_image.shape[0] != b:
                raise ShapeError(
                    f"HDMatt: context_trimap {tuple(context_trimap.shape)} does not fit "
                    f"context_image {tuple(context_image.shape)} (batch {b})"
                )
            n = context_image.shape[1]
            flat = self.encode_context(context_image.flatten(0, 1), context_trimap.flatten(0, 1))
            memory = ContextMemory(*(t.unflatten(0, (b, n)) for t in flat))
        return self.forward_with_memory(image, trimap, memory)


# --------------------------------------------------------------------------------------------
# Infos (registered by plugin.py)
# --------------------------------------------------------------------------------------------

#: Weights trained here on real photos (an hdmatt-small; weights/MODEL_CARD.md).
BUNDLED_WEIGHTS = "matting_hdmatt:weights/hdmatt-small-alphamatting.safetensors"

#: The paper's test-time crop-and-stitch: 320 patches (the size of its ablations and of its
#: Fig. 6 comparison), neighbours overlapping by a quarter (80 px), linear blending, each query
#: patch with its context from the image's other patches.
HDMATT_INFERENCE = CropAndStitch(
    tile=320, overlap=80, batch_size=4, patch_forward=hdmatt_patch_forward
)


def _hdmatt_recipe():
    from matting_hdmatt.training import HDMattRecipe

    return HDMattRecipe()


HDMATT_INFO = ModelInfo(
    paper=PAPER,
    needs_trimap=True,
    input_channels=6,
    config_class=HDMattConfig,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    pad_multiple=STRIDE,
    pad_mode="reflect",  # the paper: "we utilize reflective padding to fill up the pixels"
    training_recipe=_hdmatt_recipe,
    description="HDMatt (ResNet-34 OS8 + ASPP, Cross-Patch Context with TGNL, unpooling "
    "decoder), crop-and-stitch with context patches; no official weights exist",
    inference=HDMATT_INFERENCE,
)

HDMATT_SMALL_INFO = dataclasses.replace(
    HDMATT_INFO,
    config_class=HDMattSmallConfig,
    # trained here on real photos (weights/MODEL_CARD.md); `hdmatt` itself has no weights
    default_weights=BUNDLED_WEIGHTS,
    description="HDMatt for CPU (ResNet-10 depth, a quarter of the channels), trained here",
    # `--precision auto` may run bf16: with the bundled weights on the bundled photos it
    # changed the mean SAD from 7.445 to 7.455 (+0.13%, MSE +0.17%) for 2.6x less CPU time
    # on a 2-core AVX512-BF16 CPU (benchmarks/bench_real_photos.py --threads 1 --clock cpu)
    auto_precisions=("bf16",),
)
