"""GCA Matting: the network, its config, the official-checkpoint key remap and its ModelInfo.

Li, Y. & Lu, H. "Natural Image Matting via Guided Contextual Attention", AAAI 2020,
pp. 11450-11457 (arXiv:2001.04069).  Official release: github.com/Yaoyi-Li/GCA-Matting.

Reads top to bottom: config, model, the pure key remap for the release's checkpoints, the
:class:`~matting_core.ModelInfo` objects that ``plugin.py`` registers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from matting_core import ExtraOutput, Measured, ModelInfo
from matting_core.checkpoints import remap_release_keys
from matting_core.errors import ConfigError
from matting_core.inference import check_model_inputs
from matting_gca.decoder import GCADecoder
from matting_gca.encoder import GCAEncoder
from matting_nn import settle_spectral_norms
from matting_nn.contextual_attention import downsample_nearest, source_unknown_mask

__all__ = [
    "GCA_EXTRA_OUTPUTS",
    "GCA_INFO",
    "GCA_SMALL_INFO",
    "PAPER",
    "GCAConfig",
    "GCAMatting",
    "GCASmallConfig",
    "remap_official_keys",
]

PAPER = (
    "Yaoyi Li and Hongtao Lu, Natural Image Matting via Guided Contextual Attention, "
    "AAAI 2020 (arXiv:2001.04069)"
)

#: Input sizes must be multiples of this (the bottleneck is at 1/32).
SIZE_MULTIPLE = 32

#: Bounds of the size options, checked before anything is built: a config (or a checkpoint's
#: sidecar) asking for more is refused instead of allocating without end. 4x the paper's
#: channels is 16x its weights; the paper's stages have at most 4 residual blocks.
MAX_WIDTH = 4.0
MAX_BLOCKS_PER_STAGE = 64


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GCAConfig:
    """Options of :class:`GCAMatting`; the defaults are the release's ``gca-dist`` network.

    :param width: channel multiplier for every layer (1.0 = the paper; ``gca-small`` = 0.5).
        Official weights only fit 1.0.
    :param rate: even downsampling rate of the attention's matching (the release uses 2).
    :param attention_chunk: queries per chunk in the two GCA blocks (rounded to whole rows
        of the 1/16 feature map, at least one row): peak attention memory is about
        ``8 * L * attention_chunk`` bytes (two float32 blocks) with ``L = (H/16) (W/16)``.  None builds the full
        ``L x L`` matrix like the release (memory quadratic in the image area).
    :param encoder_layers: residual blocks per encoder stage (release ``(3, 4, 4, 2)``).
    :param decoder_layers: residual blocks per decoder stage (release ``(2, 3, 3, 2)``).
    """

    width: float = 1.0
    rate: int = 2
    attention_chunk: int | None = 1024
    encoder_layers: tuple[int, int, int, int] = (3, 4, 4, 2)
    decoder_layers: tuple[int, int, int, int] = (2, 3, 3, 2)

    def __post_init__(self) -> None:
        if not 0 < self.width <= MAX_WIDTH:
            raise ConfigError(f"width must be > 0 and <= {MAX_WIDTH}, got {self.width}")
        if self.rate < 2 or self.rate % 2:
            raise ConfigError(f"rate must be an even number >= 2, got {self.rate}")
        if self.attention_chunk is not None and self.attention_chunk < 1:
            raise ConfigError(f"attention_chunk must be >= 1 or None, got {self.attention_chunk}")
        for name in ("encoder_layers", "decoder_layers"):
            layers = tuple(getattr(self, name))
            if len(layers) != 4 or any(not 1 <= n <= MAX_BLOCKS_PER_STAGE for n in layers):
                raise ConfigError(
                    f"{name} must be 4 block counts from 1 to {MAX_BLOCKS_PER_STAGE}, got {layers}"
                )
            object.__setattr__(self, name, layers)
        if round(self.width * 128) < 2:
            raise ConfigError(f"width {self.width} is too small for the attention blocks")


@dataclass(frozen=True)
class GCASmallConfig(GCAConfig):
    """:class:`GCAConfig` with half the channels (model ``gca-small``)."""

    width: float = 0.5


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class GCAMatting(nn.Module):
    """GCA Matting (the release's ``Generator`` with ``resnet_gca_encoder_29`` and
    ``res_gca_decoder_22``).

    Args:
        config: the options; the default config (the release's network) when None.

    Shape:
        - image: (B, 3, H, W) float32 RGB normalised with the ImageNet mean/std; H and W
          multiples of 32.
        - trimap: (B, 3, H, W) float32 one-hot [bg, unknown, fg].
        - returns a dict:

          - ``alpha``: (B, 1, H, W) float32 in [0, 1], the raw network output (known trimap
            regions are *not* overwritten here; inference does that);
          - ``offset_1``, ``offset_2``: (B, 2, H/16, W/16) int64, the encoder's and decoder's
            attention maps as (row, col) of the most attended patch minus the map centre
            (the release's visualisation);
          - ``scale_1``, ``scale_2``: (B, 2) the [unknown, known] softmax weights of Eq. 5;
          - ``scale_map``: (B, 1, H/16, W/16) the weight of Eq. 5 each source patch gets in the
            softmax of both blocks (``scale_1[0]`` where the patch is unknown, ``scale_1[1]``
            where it is known; the two blocks share the unknown map, so the scales are equal).

          Everything but ``alpha`` is for display (``GCA_EXTRA_OUTPUTS``, drawn by ``matting
          predict --save-extras``) and carries no gradient.

    Example:
        >>> model = GCAMatting(GCAConfig(width=0.25)).eval()
        >>> trimap = torch.zeros(1, 3, 64, 64); trimap[:, 1] = 1
        >>> model(torch.zeros(1, 3, 64, 64), trimap)["alpha"].shape
        torch.Size([1, 1, 64, 64])
    """

    def __init__(self, config: GCAConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else GCAConfig()
        c = self.config
        self.encoder = GCAEncoder(c.encoder_layers, c.width, c.rate, c.attention_chunk)
        self.decoder = GCADecoder(c.decoder_layers, c.width, c.rate, c.attention_chunk)
        settle_spectral_norms(self)

    def set_attention_chunk(self, chunk: int | None) -> None:
        """Change the queries per chunk of both GCA blocks (None: full matrix)."""
        if chunk is not None and chunk < 1:
            raise ConfigError(f"attention_chunk must be >= 1 or None, got {chunk}")
        self.encoder.gca.chunk = chunk
        self.decoder.gca.chunk = chunk
        self.config = dataclasses.replace(self.config, attention_chunk=chunk)

    def forward(self, image: Tensor, trimap: Tensor | None) -> dict[str, Tensor]:
        check_model_inputs(image, trimap, model="GCA Matting", multiple=SIZE_MULTIPLE)
        embedding, features = self.encoder(torch.cat((image, trimap), dim=1))
        alpha, offset_2, scale_2 = self.decoder(embedding, features)
        return {
            "alpha": alpha,
            "offset_1": features.offset,
            "offset_2": offset_2,
            "scale_1": features.scale,
            "scale_2": scale_2,
            "scale_map": _scale_map(features.unknown, features.scale.detach(), self.config.rate),
        }


def _scale_map(unknown: Tensor, scales: Tensor, rate: int) -> Tensor:
    """(B, 1, h, w) Eq. 5's weight of every source patch: unknown ``scales[:, 0]``, known
    ``scales[:, 1]``, with the blocks' own rule for which patches are unknown."""
    small = downsample_nearest(unknown.detach(), rate)
    is_unknown = source_unknown_mask(small).view(small.shape)
    return torch.where(is_unknown, scales[:, 0, None, None, None], scales[:, 1, None, None, None])


# --------------------------------------------------------------------------------------------
# Official checkpoints
# --------------------------------------------------------------------------------------------


def remap_official_keys(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map a state dict of the official release to :class:`GCAMatting`'s names.

    Our module names are the release's (``encoder.layer1.0.conv1.module.weight_bar`` …), so
    the mapping is :func:`matting_core.checkpoints.remap_release_keys` without renames: a
    leading ``module.`` (DistributedDataParallel) is removed and a float
    ``num_batches_tracked`` (the release's loader casts every value with ``.float()``) is cast
    back to int64.  Pure: returns a new dict, never changes the tensors or the input.

    Args:
        state_dict: key -> tensor, with or without the ``module.`` prefix.

    Returns:
        A new dict with our key names.
    """
    return remap_release_keys(state_dict)


# --------------------------------------------------------------------------------------------
# Infos (registered by plugin.py)
# --------------------------------------------------------------------------------------------


#: What ``forward`` returns besides alpha, for ``matting predict --save-extras``: the paper's
#: Fig. 1 (the offset maps coloured as optical flow, the softmax weights of unknown and known
#: patches written in the corner, as the release's demo.py writes them) and the weight map.
GCA_EXTRA_OUTPUTS = (
    ExtraOutput(
        "scale_1",
        "scalars",
        "encoder GCA block: softmax weights of unknown and known source patches (Eq. 5)",
        labels=("unknown", "known"),
    ),
    ExtraOutput(
        "scale_2",
        "scalars",
        "decoder GCA block: softmax weights of unknown and known source patches (Eq. 5)",
        labels=("unknown", "known"),
    ),
    ExtraOutput(
        "offset_1",
        "flow",
        "encoder GCA block: position of the most attended patch, relative to the map's centre",
        annotate="scale_1",
    ),
    ExtraOutput(
        "offset_2",
        "flow",
        "decoder GCA block: position of the most attended patch, relative to the map's centre",
        annotate="scale_2",
    ),
    ExtraOutput(
        "scale_map",
        "map",
        "weight of each source patch in the attention softmax (unknown vs known, Eq. 5)",
    ),
)


#: Weights trained here on real photos (a gca-small; see weights/MODEL_CARD.md), used by
#: `matting predict --model gca` / `--model gca-small` when no --checkpoint is given.
BUNDLED_WEIGHTS = "matting_gca:weights/gca-small-alphamatting.safetensors"


def _gca_recipe():
    from matting_gca.training import GCARecipe

    return GCARecipe()


GCA_INFO = ModelInfo(
    paper=PAPER,
    needs_trimap=True,
    input_channels=6,
    config_class=GCAConfig,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    pad_multiple=SIZE_MULTIPLE,
    pad_mode="reflect",
    # The release's demo.py (its path for real photos) adds a 32 px reflect border on every
    # side before rounding up to 32; its Composition-1k tester pads bottom/right only.
    pad_margin=32,
    # The bundled weights are a gca-small's (the full network's were not trained here): with
    # no --checkpoint, `--model gca` runs gca-small, and `matting list` / `matting predict`
    # say so. The full network runs with --checkpoint (the official gca-dist.pth).
    default_weights=BUNDLED_WEIGHTS,
    training_recipe=_gca_recipe,
    remap_official=remap_official_keys,
    description="GCA Matting (ResNet-34 U-Net + 2 guided contextual attention blocks); "
    "loads the official gca-dist.pth",
    extra_outputs=GCA_EXTRA_OUTPUTS,
    # The bundled weights' mean on GT17-GT20, both trimaps (weights/MODEL_CARD.md): alone
    # SAD 5.15 / 5.80, MSE 0.0617 / 0.0390 (Trimap1 / Trimap2); with --refine closed-form
    # SAD 1.70 / 2.38, MSE 0.0059 / 0.0054.  `matting predict` without --model ranks by them.
    measured=(
        Measured(sad=5.475, mse=0.05035),
        Measured(sad=2.04, mse=0.00565, refine="closed-form"),
    ),
)

GCA_SMALL_INFO = dataclasses.replace(
    GCA_INFO,
    config_class=GCASmallConfig,
    remap_official=None,
    description="GCA Matting with half the channels (width 0.5), trained here; no official weights",
    extra_outputs=GCA_EXTRA_OUTPUTS,
    # `--precision auto` may run bf16: with the bundled weights on the bundled photos it
    # changed the mean SAD from 5.153 to 5.141 (-0.23%, MSE -0.34%) and ran 1.9x faster on
    # a 2-core AVX512-BF16 CPU (benchmarks/bench_real_photos.py, MODEL_CARD.md).  Not declared
    # for the full network: no weights of it were measured here.
    auto_precisions=("bf16",),
)
