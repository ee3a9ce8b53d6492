"""HOP Matting: the network, its config, the official-checkpoint key remap and its ModelInfos.

Li, Y., Xu, Q. & Lu, H. "Hierarchical Opacity Propagation for Image Matting", 2020
(arXiv:2004.03249).  Official release (inference only): github.com/Yaoyi-Li/HOP-Matting.

Reads top to bottom: config, model, the pure key remap for the release's checkpoints, the
:class:`~matting_core.ModelInfo` objects that ``plugin.py`` registers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from matting_core import ExtraOutput, ModelInfo
from matting_core.checkpoints import remap_release_keys
from matting_core.errors import ConfigError, ShapeError
from matting_core.inference import check_model_inputs
from matting_hop.decoder import HOPDecoder
from matting_hop.encoder import AppearanceEncoder, OpacityEncoder, init_encoders
from matting_nn import scaled_channels, settle_spectral_norms

__all__ = [
    "HOP_ALL_DATA_INFO",
    "HOP_EXTRA_OUTPUTS",
    "HOP_INFO",
    "PAPER",
    "HOPAllDataConfig",
    "HOPConfig",
    "HOPMatting",
    "remap_official_keys",
]

PAPER = (
    "Yaoyi Li, Qingyao Xu and Hongtao Lu, Hierarchical Opacity Propagation for Image Matting, "
    "2020 (arXiv:2004.03249)"
)

#: Input sizes must be multiples of this (the bottleneck is at 1/32).
SIZE_MULTIPLE = 32
#: The smallest input side: the 9x9 local block at 1/8 needs more than 4 feature pixels and
#: the global block's reflect padding needs a matching grid of at least 2 at rate 2.
MIN_SIZE = 64


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


#: Bounds of the size options, checked before anything is built: a config (or a checkpoint's
#: sidecar) asking for more is refused instead of allocating without end. 4x the paper's
#: channels is 16x its weights; the paper's stages have at most 4 residual blocks.
MAX_WIDTH = 4.0
MAX_BLOCKS_PER_STAGE = 64


@dataclass(frozen=True)
class HOPConfig:
    """Options of :class:`HOPMatting`; the defaults are the release's ``HOP-9x9-RI`` network
    (the paper's "HOP-9x9 + PosE + TriE + RI", Table 2) evaluated as in the paper.

    :param global_hop_rate: downsampling of the global HOP block's matching grid relative to
        the 1/16 features.  2 is the paper's Composition-1k evaluation (the release's
        tester.py); 1 is the release's demo.py for real photos ("larger global affinity
        graph"), with 4x as many positions.
    :param local_window: side s of the local HOP blocks' neighbourhood (9 in the released
        models, 5 in the paper's HOP-5x5).
    :param pe_radius: radius s of the scale-insensitive positional encoding (7, Sec. 3.2).
    :param positional_encoding: the positional encodings of every HOP block (PosE).
    :param trimap_embedding: the global block's trimap embedding (TriE); without it the
        release uses GCA's unknown/known softmax weights.
    :param batchnorm_eps: eps of every BatchNorm.  The release's default is 1e-3 ("large BN eps
        for FP16 training"), which ``HOP-9x9-RI`` keeps; ``HOP-9x9-RI-all-data`` sets 1e-5.
    :param attention_chunk: queries per band in the global HOP block: peak attention memory
        is about ``12 * L * attention_chunk`` bytes with ``L`` the grid positions.  None builds
        the full ``L x L`` tensors like the release (memory quadratic in the image area).
    :param width: channel multiplier for every layer (official weights only fit 1.0).
    :param encoder_layers: residual blocks per opacity-encoder stage (``(3, 4, 4, 2)``).
    :param decoder_layers: residual blocks per decoder stage (``(2, 3, 3, 2)``).
    """

    global_hop_rate: Literal[1, 2] = 2
    local_window: int = 9
    pe_radius: int = 7
    positional_encoding: bool = True
    trimap_embedding: bool = True
    batchnorm_eps: float = 1e-3
    attention_chunk: int | None = 1024
    width: float = 1.0
    encoder_layers: tuple[int, int, int, int] = (3, 4, 4, 2)
    decoder_layers: tuple[int, int, int, int] = (2, 3, 3, 2)

    def __post_init__(self) -> None:
        if self.global_hop_rate not in (1, 2):
            raise ConfigError(f"global_hop_rate must be 1 or 2, got {self.global_hop_rate!r}")
        if self.local_window < 3 or self.local_window % 2 == 0:
            raise ConfigError(f"local_window must be odd and >= 3, got {self.local_window}")
        if self.pe_radius < 1:
            raise ConfigError(f"pe_radius must be >= 1, got {self.pe_radius}")
        if not self.batchnorm_eps > 0:
            raise ConfigError(f"batchnorm_eps must be > 0, got {self.batchnorm_eps}")
        if self.attention_chunk is not None and self.attention_chunk < 1:
            raise ConfigError(f"attention_chunk must be >= 1 or None, got {self.attention_chunk}")
        if not 0 < self.width <= MAX_WIDTH:
            raise ConfigError(f"width must be > 0 and <= {MAX_WIDTH}, got {self.width}")
        for guidance in (16, 32, 64):
            dim = scaled_channels(guidance, self.width) // 2
            if dim < 2 or dim % 2:
                raise ConfigError(
                    f"width {self.width} gives a HOP block an attention width of {dim}; the "
                    "sinusoidal encoding needs an even width >= 2 (try 0.25, 0.5 or 1)"
                )
        for name in ("encoder_layers", "decoder_layers"):
            layers = tuple(getattr(self, name))
            if len(layers) != 4 or any(not 1 <= n <= MAX_BLOCKS_PER_STAGE for n in layers):
                raise ConfigError(
                    f"{name} must be 4 block counts from 1 to {MAX_BLOCKS_PER_STAGE}, got {layers}"
                )
            object.__setattr__(self, name, layers)


@dataclass(frozen=True)
class HOPAllDataConfig(HOPConfig):
    """:class:`HOPConfig` with the BatchNorm eps of the release's ``HOP-9x9-RI-all-data``
    (model ``hop-all-data``; trained on Adobe Image Matting plus the Composition-1k test set,
    the release's model for real photos)."""

    batchnorm_eps: float = 1e-5


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class HOPMatting(nn.Module):
    """HOP Matting (the release's ``Generator`` with ``resnet_localHOP_posEmb_encoder_29`` and
    ``res_localHOP_posEmb_decoder_22``), Fig. 2(a) of the paper.

    Sub-modules: ``opacity_encoder`` (ResNet-34 on image + trimap), ``appearance_encoder``
    (stride convolutions on the image), ``decoder`` with ``global_hop`` and ``local_hop1`` ..
    ``local_hop3``.

    Args:
        config: the options; :class:`HOPConfig` defaults when None.

    Shape:
        - image: (B, 3, H, W) float32 RGB normalised with the ImageNet mean/std; H and W
          multiples of 32, at least 64.
        - trimap: (B, 3, H, W) float32 one-hot [bg, unknown, fg].
        - returns a dict:

          - ``alpha``: (B, 1, H, W) float32 in [0, 1], the raw network output (known trimap
            regions are *not* overwritten here; inference does that);
          - ``offset``: (B, 2, H/16/rate, W/16/rate) int64, the global HOP block's most
            attended position minus the grid centre (the release's visualisation);
          - ``propagation_1``, ``propagation_2``, ``propagation_3``: (B, 2, H/8, W/8),
            (B, 2, H/4, W/4), (B, 2, H/2, W/2) float, the local HOP blocks' attention-weighted
            mean (row, column) offset of the opacity each position receives, in that level's
            pixels: which way opacity flows at each level of the hierarchy.

          Everything but ``alpha`` is for display (``HOP_EXTRA_OUTPUTS``, drawn by ``matting
          predict --save-extras``) and carries no gradient.

    Example:
        >>> model = HOPMatting(HOPConfig(width=0.25)).eval()
        >>> trimap = torch.zeros(1, 3, 64, 64); trimap[:, 1] = 1
        >>> model(torch.zeros(1, 3, 64, 64), trimap)["alpha"].shape
        torch.Size([1, 1, 64, 64])
    """

    def __init__(self, config: HOPConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else HOPConfig()
        c = self.config
        self.opacity_encoder = OpacityEncoder(c.encoder_layers, c.width, c.batchnorm_eps)
        self.appearance_encoder = AppearanceEncoder(c.width, c.batchnorm_eps)
        init_encoders(self.opacity_encoder, self.appearance_encoder)
        self.decoder = HOPDecoder(
            c.decoder_layers,
            c.width,
            c.batchnorm_eps,
            global_rate=c.global_hop_rate,
            local_window=c.local_window,
            pe_radius=c.pe_radius,
            positional_encoding=c.positional_encoding,
            trimap_embedding=c.trimap_embedding,
            attention_chunk=c.attention_chunk,
        )
        settle_spectral_norms(self)

    def set_attention_chunk(self, chunk: int | None) -> None:
        """Change the queries per band of the global HOP block (None: full tensors)."""
        if chunk is not None and chunk < 1:
            raise ConfigError(f"attention_chunk must be >= 1 or None, got {chunk}")
        self.decoder.global_hop.chunk = chunk
        self.config = dataclasses.replace(self.config, attention_chunk=chunk)

    def forward(self, image: Tensor, trimap: Tensor | None) -> dict[str, Tensor]:
        check_model_inputs(image, trimap, model="HOP Matting", multiple=SIZE_MULTIPLE)
        height, width = image.shape[2:]
        if min(height, width) < MIN_SIZE:
            raise ShapeError(
                f"HOP Matting needs inputs of at least {MIN_SIZE}x{MIN_SIZE}, got "
                f"{height}x{width}; pad the input (matting_core.predict does)"
            )
        embedding, shortcuts = self.opacity_encoder(torch.cat((image, trimap), dim=1))
        appearance = self.appearance_encoder(image)
        # Legacy nearest: trimap pixel (16i, 16j), as the release.
        trimap16 = F.interpolate(trimap, scale_factor=1 / 16, mode="nearest")
        alpha, offset, propagations = self.decoder(embedding, shortcuts, appearance, trimap16)
        outputs = {"alpha": alpha, "offset": offset}
        for level, propagation in enumerate(propagations, start=1):
            outputs[f"propagation_{level}"] = propagation
        return outputs


# --------------------------------------------------------------------------------------------
# Official checkpoints
# --------------------------------------------------------------------------------------------


def _release_renames() -> tuple[tuple[str, str], ...]:
    """(release prefix, our prefix): the release's names -> the paper's terms."""
    renames: list[tuple[str, str]] = [
        (f"encoder.guidance_head{n}.", f"appearance_encoder.block{n}.") for n in range(1, 5)
    ]
    renames.append(("encoder.", "opacity_encoder."))
    blocks = [("decoder.gca.", "decoder.global_hop.")] + [
        (f"decoder.localgca{n}.", f"decoder.local_hop{n}.") for n in range(1, 4)
    ]
    parts = (
        ("guidance_conv.", "w_qk."),
        ("pos_embed_linear.", "w_pe."),
        ("trimap_embed_conv.", "w_t."),
        ("W.", "w_out."),
    )
    for old_block, new_block in blocks:
        renames += [(old_block + old, new_block + new) for old, new in parts]
        renames.append((old_block, new_block))
    return tuple(renames)


RELEASE_RENAMES = _release_renames()


def remap_official_keys(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map a state dict of the official release to :class:`HOPMatting`'s names.

    The release names modules after the GCA code it grew from; ours follow the paper:

    ============================================  ==========================================
    release                                        here
    ============================================  ==========================================
    ``encoder.guidance_head{1-4}.*``               ``appearance_encoder.block{1-4}.*``
    ``encoder.*`` (ResNet, shortcuts)              ``opacity_encoder.*``
    ``decoder.gca.*``                              ``decoder.global_hop.*``
    ``decoder.localgca{1-3}.*``                    ``decoder.local_hop{1-3}.*``
    ``….guidance_conv`` / ``pos_embed_linear``     ``….w_qk`` / ``w_pe`` (W_QK, W_PE)
    ``….trimap_embed_conv`` / ``W``                ``….w_t`` / ``w_out`` (W_T, W_out)
    ============================================  ==========================================

    plus what :func:`matting_core.checkpoints.remap_release_keys` does for every release (a
    leading ``module.`` removed, float ``num_batches_tracked`` cast back to int64).  The
    sinusoidal tables are not in the release's state dict (rebuilt at construction), nor in
    ours.  Pure: returns a new dict, never changes the tensors or the input.
    """
    return remap_release_keys(state_dict, RELEASE_RENAMES)


# --------------------------------------------------------------------------------------------
# Infos (registered by plugin.py)
# --------------------------------------------------------------------------------------------


def _hop_recipe():
    from matting_hop.training import HOPRecipe

    return HOPRecipe()


#: What ``forward`` returns besides alpha, for ``matting predict --save-extras``: the global
#: block's offset map (coloured as optical flow, like GCA's) and the three local blocks'
#: propagation maps, from the coarsest level to the finest.
HOP_EXTRA_OUTPUTS = (
    ExtraOutput(
        "offset",
        "flow",
        "global HOP block: position of the most attended patch, relative to the map's centre",
    ),
    *(
        ExtraOutput(
            f"propagation_{level}",
            "flow",
            f"local HOP block {level} (1/{scale} resolution): mean offset of the opacity "
            "propagated into each position, weighted by its attention",
        )
        for level, scale in ((1, 8), (2, 4), (3, 2))
    ),
)

HOP_INFO = ModelInfo(
    paper=PAPER,
    needs_trimap=True,
    input_channels=6,
    config_class=HOPConfig,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    pad_multiple=SIZE_MULTIPLE,
    pad_mode="reflect",
    # The release's Composition-1k tester (the paper's evaluation, rate 2) pads bottom/right
    # only; its demo.py (rate 1, real photos) adds a 32 px border first: --pad-margin 32.
    pad_margin=0,
    min_size=MIN_SIZE,
    training_recipe=_hop_recipe,
    remap_official=remap_official_keys,
    extra_outputs=HOP_EXTRA_OUTPUTS,
    description="HOP Matting (ResNet-34 U-Net, global + 3 local HOP blocks, PosE, TriE); "
    "loads the official HOP-9x9-RI.pth",
)

HOP_ALL_DATA_INFO = dataclasses.replace(
    HOP_INFO,
    config_class=HOPAllDataConfig,
    description="HOP Matting with BatchNorm eps 1e-5; loads the official HOP-9x9-RI-all-data.pth",
)
