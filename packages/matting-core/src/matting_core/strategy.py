"""How a model meets a whole image: one forward, or crop-and-stitch.

``ModelInfo.inference`` holds one of the two strategies below; ``matting predict --tile N
--overlap M`` (and ``predict(..., strategy=...)``) replaces it for one run.  They are plain
frozen dataclasses without torch, so :mod:`matting_core.registry` can hold them; the
crop-and-stitch machinery itself is :mod:`matting_core.tiling`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matting_core.errors import InputError

if TYPE_CHECKING:
    from torch import Tensor, nn

    from matting_core.tiling import PatchBatch, PatchSource

__all__ = ["CropAndStitch", "InferenceStrategy", "PatchForward", "WholeImage"]

#: A model's own per-patch forward (see :class:`CropAndStitch`):
#: ``patch_forward(model, patches, source) -> {"alpha": (B, 1, h, w), ...}``.
PatchForward = Callable[["nn.Module", "PatchBatch", "PatchSource"], Mapping[str, "Tensor"]]


@dataclass(frozen=True)
class WholeImage:
    """One forward over the whole image, padded as ``ModelInfo`` says (the default)."""

    def describe(self) -> str:
        """One line for ``matting list``."""
        return "whole image"


@dataclass(frozen=True)
class CropAndStitch:
    """Overlapping patches, each run like a small whole image, blended back together.

    :param tile: side of the square patches in image pixels (clamped to the image's sides);
        each patch's window adds the model's padding (``ModelInfo.pad_margin`` on every side,
        then up to ``pad_multiple``), read from the image where it lies inside it.
    :param overlap: the least overlap of neighbouring patches, in pixels, ``0 <= overlap <
        tile``; HDMatt's blending weights fall linearly towards each patch's border.
    :param batch_size: patches per forward; with ``tile`` it bounds the memory a forward
        needs, whatever the image's size.
    :param patch_forward: the model's own per-patch forward, or None for
        ``model(patches.image, patches.trimap)``.  Called as
        ``patch_forward(model, patches, source)`` with a :class:`matting_core.tiling.PatchBatch`
        of query patches and the :class:`matting_core.tiling.PatchSource` that reads any
        other patch of the same image (HDMatt's context patches); returns the model contract's
        dict with ``"alpha"`` (B, 1, h, w) over the query windows.
    :raises InputError: sizes out of range, or ``patch_forward`` not callable.
    """

    tile: int = 512
    overlap: int = 128
    batch_size: int = 4
    patch_forward: PatchForward | None = None

    def __post_init__(self) -> None:
        for field, low in (("tile", 1), ("overlap", 0), ("batch_size", 1)):
            value: Any = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(
                    f"crop-and-stitch {field} must be an integer >= {low}, got {value!r}"
                )
        if self.overlap >= self.tile:
            raise InputError(
                f"crop-and-stitch overlap ({self.overlap}) must be smaller than the tile "
                f"({self.tile})"
            )
        if self.patch_forward is not None and not callable(self.patch_forward):
            raise InputError("crop-and-stitch patch_forward must be callable or None")

    def describe(self) -> str:
        """One line for ``matting list``."""
        own = ", own patch forward" if self.patch_forward is not None else ""
        return f"tiles {self.tile}, overlap {self.overlap}{own}"


#: What ``ModelInfo.inference`` holds.
InferenceStrategy = WholeImage | CropAndStitch
