"""Trimaps for the page: painted ones fitted to the photo, and automatic ones.

The page paints on a preview at most ``preview_size`` pixels long; a trimap of the preview's
size is scaled up to the photo's with nearest neighbour, so it keeps exactly the values 0,
128 and 255.

Automatic trimaps (a starting point the user refines with the brushes) come from a *source*
in :data:`SOURCES`:

* ``mask``: a rough mask (a selection or segmentation exported from another tool);
* ``model``: the alpha of a trimap-free model (``ModelInfo.needs_trimap=False``); the page
  offers it only when such a model is installed.

Both go through matting-data's shared trimap module, the one ``matting trimap`` uses
(:func:`matting_data.trimap_from_mask`): what the mask or alpha is sure of (>= 0.95, <= 0.05)
stays known except within ``band / 2`` pixels of anything it is not sure of, which leaves an
unknown band ``band`` pixels wide along the boundary.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SOURCES",
    "fit_to_image",
    "preview_shape",
    "trimap_from_soft_mask",
]

#: Automatic trimap sources the server knows (``POST /trimap`` ``source=``, or a job).
SOURCES: tuple[str, ...] = ("mask", "model")


def preview_shape(height: int, width: int, preview_size: int) -> tuple[int, int]:
    """(height, width) of the preview of a photo: its longest side at most ``preview_size``."""
    scale = min(1.0, preview_size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit_to_image(
    array: np.ndarray,
    height: int,
    width: int,
    preview_size: int,
    *,
    what: str,
    interpolation: str = "nearest",
) -> np.ndarray:
    """``array`` at the photo's size: as it is, or scaled up from the preview's size.

    :param what: the array's role and name for the error message (``"trimap t.png"``).
    :param interpolation: ``"nearest"`` (trimaps: values stay 0/128/255) or ``"linear"``.
    :raises matting_core.InputError: any other size.
    """
    import cv2

    from matting_core import InputError

    got = array.shape[:2]
    if got == (height, width):
        return array
    preview = preview_shape(height, width, preview_size)
    if got != preview:
        size = f"{got[1]}x{got[0]}"
        expected = f"{width}x{height}"
        if preview != (height, width):
            expected += f" (or its preview's {preview[1]}x{preview[0]})"
        raise InputError(f"{what} is {size}, but the photo is {expected}")
    flag = cv2.INTER_NEAREST if interpolation == "nearest" else cv2.INTER_LINEAR
    return cv2.resize(array, (width, height), interpolation=flag)


def trimap_from_soft_mask(mask: np.ndarray, band: int) -> np.ndarray:
    """A trimap from a mask or alpha in [0, 1]: confident pixels known, an unknown band between.

    :param mask: (H, W) float in [0, 1]: a rough binary mask, a soft segmentation, or the
        alpha of a trimap-free model.
    :param band: width in pixels of the unknown band at the boundary (>= 1), half on each side.
    :returns: (H, W) uint8 trimap {0, 128, 255}.
    :raises matting_core.InputError: a band below 1 pixel.
    :raises matting_data.TrimapSourceError: a mask (or alpha) with no sure foreground or no sure
        background.
    """
    from matting_core import InputError
    from matting_data import trimap_from_mask

    if band < 1:
        raise InputError(f"the unknown band must be at least 1 pixel wide, got {band}")
    return trimap_from_mask(mask, band)
