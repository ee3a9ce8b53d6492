"""Trimaps from what a person has: a rough mask, a few scribbles (or a model's alpha).

Convention of this package: (H, W) uint8, 0 = background, 128 = unknown, 255 = foreground.
Every route ends in the same unknown band (:func:`band_trimap`), so a trimap made from a mask,
from scribbles or from a trimap-free model's alpha means the same thing.

Routes:

* **A rough mask** -- a binary or soft segmentation, a selection exported from an editor:
  :func:`trimap_from_mask`. What the mask is sure of (>= ``confidence`` foreground,
  <= ``1 - confidence`` background) stays known except within ``band_fg`` / ``band_bg`` pixels
  (Euclidean distance) of anything it is not sure of; between the two is unknown. The default
  asymmetry is none: half the band on each side of the mask's edge.
* **A trimap-free model's alpha** (``matting trimap --from-model``): the same function, the
  alpha being a soft mask -- ``trimap_from_mask(alpha, band, confidence=...)``. The model
  route runs the model (core's business) and calls exactly this; nothing else is needed here.
* **Scribbles**: :func:`trimap_from_scribbles`. A person paints a few white (foreground) and
  black (background) strokes on a gray canvas (:func:`scribble_masks` reads them); the strokes
  are grown into a segmentation of the photo (:func:`segment_scribbles`) and the band is laid
  around its edge. Two classical methods:

  - ``"geodesic"`` -- Bai & Sapiro, "A Geodesic Framework for Fast Interactive Image and Video
    Segmentation and Matting", ICCV 2007 (IJCV 2009): the foreground likelihood ``P_F(x) =
    p(c_x | F) / (p(c_x | F) + p(c_x | B))`` from kernel density estimates of the strokes'
    colours, then the geodesic distance from each label's strokes with the weight
    ``|grad P_F . dp|``; every pixel takes the label of the nearer strokes. Here the densities
    are binned Gaussian kernel estimates (32 bins per RGB channel, a one-bin kernel), the
    distances are Dijkstra's on the 8-connected pixel grid with edge cost
    ``|P_F(p) - P_F(q)| + 0.01 |p - q|`` (the small length term, a choice of this package,
    breaks ties inside flat regions).
  - ``"grabcut"`` (default) -- Rother, Kolmogorov & Blake, "GrabCut: Interactive Foreground
    Extraction using Iterated Graph Cuts", SIGGRAPH 2004, through OpenCV's ``cv2.grabCut``:
    colour GMMs and a contrast-sensitive graph cut, iterated. The strokes are hard
    constraints, every other pixel starts as "probably" the label the geodesic segmentation
    gave it (GrabCut needs an initial labelling; a rectangle is the paper's). On the four
    bundled photos with strokes derived from the ground truth it is much closer to the
    ground truth than the geodesic segmentation alone (README: "Trimaps from scribbles").

  Large photos are segmented at most ``max_pixels`` at a time (downscaled; the segmentation is
  scaled back up and the band laid at full resolution, where the strokes are restored). The
  person's own strokes stay known even inside the band: they said so.

From an alpha matte, the papers' recipes are :func:`~matting_data.trimap_from_alpha` (seeded)
and :func:`~matting_data.trimap_from_alpha_fixed`.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from matting_data.errors import SizeMismatchError, TrimapSourceError, UnsupportedImageError
from matting_data.foreground_estimation import _unit_float32

__all__ = [
    "DEFAULT_BAND",
    "MASK_CONFIDENCE",
    "SCRIBBLE_METHODS",
    "ScribbleMethod",
    "band_trimap",
    "scribble_masks",
    "segment_scribbles",
    "trimap_from_mask",
    "trimap_from_scribbles",
]

#: Width in pixels of the unknown band laid around an edge when none is given (half on each
#: side). On the bundled 800 px photos, scribble trimaps with 24 px gave GCA a lower SAD
#: than 16 px (README, "Trimaps from scribbles").
DEFAULT_BAND = 24

#: A mask (or a model's alpha) counts as sure where it is at least this close to 0 or 1.
MASK_CONFIDENCE = 0.95

#: A scribble pixel is foreground at >= 0.75 (192 of 255), background at <= 0.25 (63 of 255);
#: between is unpainted (the gray canvas, anti-aliased stroke edges).
SCRIBBLE_FOREGROUND_MIN = 0.75
SCRIBBLE_BACKGROUND_MAX = 0.25

ScribbleMethod = Literal["grabcut", "geodesic"]
SCRIBBLE_METHODS: tuple[str, ...] = ("grabcut", "geodesic")

#: Largest band side in pixels (a typo of 10x the photo is refused, not computed).
MAX_BAND = 4096

_BACKGROUND, _UNKNOWN, _FOREGROUND = np.uint8(0), np.uint8(128), np.uint8(255)
#: Geodesic segmentation: bins per RGB channel of the colour densities, the kernel's width in
#: bins, and the length term of the edge cost.
_BINS = 32
_KERNEL_BINS = 1.0
_LENGTH_COST = 0.01


def band_trimap(
    foreground: np.ndarray,
    background: np.ndarray,
    band_fg: float,
    band_bg: float,
) -> np.ndarray:
    """The trimap of two disjoint sure regions, each shrunk away from everything else.

    A pixel of ``foreground`` is known foreground when its Euclidean distance to the nearest
    pixel outside ``foreground`` is more than ``band_fg``; the same for the background; the
    rest is unknown. The image border is not an edge: a region touching it is not shrunk
    from there.

    Args:
        foreground, background: (H, W) bool, disjoint.
        band_fg, band_bg: >= 0, pixels of each region given to the unknown band.

    Returns:
        (H, W) uint8 trimap {0, 128, 255}.
    """
    trimap = np.full(foreground.shape, _UNKNOWN, dtype=np.uint8)
    for region, band, value in (
        (foreground, band_fg, _FOREGROUND),
        (background, band_bg, _BACKGROUND),
    ):
        inside = region.astype(np.uint8)
        if not inside.any():
            continue
        distance = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        trimap[(inside > 0) & (distance > band)] = value
    return trimap


def trimap_from_mask(
    mask: np.ndarray,
    band: float = DEFAULT_BAND,
    *,
    band_fg: float | None = None,
    band_bg: float | None = None,
    confidence: float = MASK_CONFIDENCE,
) -> np.ndarray:
    """A trimap from a rough mask: what it is sure of stays known, an unknown band between.

    Also the route from a trimap-free model: its alpha is a soft mask.

    Args:
        mask: (H, W) or (H, W, 1) float in [0, 1], uint8 (0..255) or bool; 1 = foreground.
        band: width in pixels of the unknown band at the mask's edge, half on each side.
        band_fg: pixels of the foreground side given to the band (default ``band / 2``).
        band_bg: pixels of the background side (default ``band / 2``).
        confidence: in (0.5, 1]; foreground where ``mask >= confidence``, background where
            ``mask <= 1 - confidence``, unknown between (a soft mask's uncertain zone).

    Returns:
        (H, W) uint8 trimap {0, 128, 255}.

    Raises:
        TrimapSourceError: the mask is sure of no foreground, or of no background.
        UnsupportedImageError: bad shape, dtype or values.
        ValueError: a band < 0 or > :data:`MAX_BAND`, or ``confidence`` outside (0.5, 1].
    """
    values = _unit_mask(mask, "mask")
    band_fg, band_bg = _bands(band, band_fg, band_bg)
    if not 0.5 < confidence <= 1.0:
        raise ValueError(f"confidence must be in (0.5, 1], got {confidence!r}.")
    sure_fg = values >= confidence
    sure_bg = values <= 1.0 - confidence
    if not sure_fg.any():
        raise TrimapSourceError(
            f"the mask has no foreground: no pixel is >= {confidence:g} (white = foreground)."
        )
    if not sure_bg.any():
        raise TrimapSourceError(
            f"the mask has no background: no pixel is <= {1.0 - confidence:g} (black = background)."
        )
    return band_trimap(sure_fg, sure_bg, band_fg, band_bg)


def scribble_masks(scribbles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background strokes of a scribble image.

    Args:
        scribbles: (H, W) or (H, W, 1), float in [0, 1] or uint8: white (>= 0.75) strokes on
            the foreground, black (<= 0.25) on the background, anything between (the gray
            canvas) unpainted.

    Returns:
        ``(foreground, background)``: (H, W) bool each, disjoint.

    Raises:
        UnsupportedImageError: bad shape, dtype or values.
    """
    values = _unit_mask(scribbles, "scribbles")
    return values >= SCRIBBLE_FOREGROUND_MIN, values <= SCRIBBLE_BACKGROUND_MAX


def segment_scribbles(
    image: np.ndarray,
    foreground: np.ndarray,
    background: np.ndarray,
    *,
    method: ScribbleMethod = "grabcut",
    iterations: int = 5,
    max_pixels: int = 1_000_000,
) -> np.ndarray:
    """Grow foreground and background strokes into a segmentation of the photo.

    Args:
        image: (H, W, 3) RGB, float in [0, 1] or uint8.
        foreground, background: (H, W) bool strokes (:func:`scribble_masks`), both non-empty.
        method: ``"grabcut"`` (default) or ``"geodesic"``, see the module docstring.
        iterations: GrabCut's iterations (>= 1); ignored by ``"geodesic"``.
        max_pixels: the segmentation runs on a copy downscaled to at most this many pixels
            (>= 4096); the result is scaled back up.

    Returns:
        (H, W) bool, True on the foreground; the strokes keep their own labels.

    Raises:
        TrimapSourceError: no foreground or no background stroke (also after downscaling).
        SizeMismatchError: strokes and image differ in size.
        UnsupportedImageError: a bad image.
        ValueError: unknown ``method``, ``iterations`` < 1, ``max_pixels`` < 4096.
    """
    if method not in SCRIBBLE_METHODS:
        raise ValueError(f"method must be one of {SCRIBBLE_METHODS}, got {method!r}.")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}.")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 4096:
        raise ValueError(f"max_pixels must be an integer >= 4096, got {max_pixels!r}.")
    rgb = _rgb8(image)
    height, width = rgb.shape[:2]
    for name, strokes in (("foreground", foreground), ("background", background)):
        if strokes.shape != (height, width):
            raise SizeMismatchError(
                f"the {name} strokes are {strokes.shape[1]}x{strokes.shape[0]} but the image "
                f"is {width}x{height}."
            )
    _require_strokes(foreground, background)
    scale = min(1.0, math.sqrt(max_pixels / (height * width)))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        # a thin stroke must survive: any coverage of a small pixel counts, both kinds none
        fg_small = _shrink_strokes(foreground, size)
        bg_small = _shrink_strokes(background, size)
        fg_small, bg_small = fg_small & ~bg_small, bg_small & ~fg_small
        _require_strokes(fg_small, bg_small, downscaled=True)
    else:
        small, fg_small, bg_small = rgb, foreground, background
    labels = _geodesic_labels(small, fg_small, bg_small)
    if method == "grabcut":
        labels = _grabcut_labels(small, fg_small, bg_small, labels, iterations)
    if scale < 1.0:
        soft = cv2.resize(
            labels.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
        labels = soft >= 0.5
    labels = labels.copy()
    labels[foreground] = True
    labels[background] = False
    return labels


def trimap_from_scribbles(
    image: np.ndarray,
    scribbles: np.ndarray,
    band: float = DEFAULT_BAND,
    *,
    band_fg: float | None = None,
    band_bg: float | None = None,
    method: ScribbleMethod = "grabcut",
    iterations: int = 5,
    max_pixels: int = 1_000_000,
) -> np.ndarray:
    """A trimap from a photo and a few scribbles: segment, then an unknown band at the edge.

    Args:
        image: (H, W, 3) RGB, float in [0, 1] or uint8.
        scribbles: (H, W) white foreground / black background strokes on gray
            (:func:`scribble_masks`).
        band, band_fg, band_bg: the unknown band, as :func:`trimap_from_mask`.
        method, iterations, max_pixels: as :func:`segment_scribbles`.

    Returns:
        (H, W) uint8 trimap {0, 128, 255}; every stroke pixel is known with its own label.

    Raises:
        TrimapSourceError: no foreground or no background stroke.
        SizeMismatchError, UnsupportedImageError, ValueError: as :func:`segment_scribbles`.
    """
    band_fg, band_bg = _bands(band, band_fg, band_bg)
    foreground, background = scribble_masks(scribbles)
    segmentation = segment_scribbles(
        image,
        foreground,
        background,
        method=method,
        iterations=iterations,
        max_pixels=max_pixels,
    )
    trimap = band_trimap(segmentation, ~segmentation, band_fg, band_bg)
    trimap[foreground] = _FOREGROUND
    trimap[background] = _BACKGROUND
    return trimap


# --------------------------------------------------------------------------- segmentation


def _geodesic_labels(rgb: np.ndarray, foreground: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Bai & Sapiro's labelling: the nearer strokes in the geodesic distance of ``P_F``."""
    from scipy.sparse.csgraph import dijkstra

    likelihood = _foreground_likelihood(rgb, foreground, background)
    graph = _grid_graph(likelihood)
    shape = foreground.shape
    to_fg = dijkstra(graph, directed=False, indices=np.flatnonzero(foreground), min_only=True)
    to_bg = dijkstra(graph, directed=False, indices=np.flatnonzero(background), min_only=True)
    return (to_fg < to_bg).reshape(shape)


def _foreground_likelihood(
    rgb: np.ndarray, foreground: np.ndarray, background: np.ndarray
) -> np.ndarray:
    """``P_F = p(c | F) / (p(c | F) + p(c | B))`` per pixel, float64 (H, W)."""
    from scipy.ndimage import gaussian_filter

    levels = (rgb.astype(np.int64) * _BINS) // 256
    index = (levels[..., 0] * _BINS + levels[..., 1]) * _BINS + levels[..., 2]

    def density(strokes: np.ndarray) -> np.ndarray:
        counts = np.bincount(index[strokes], minlength=_BINS**3).astype(np.float64)
        smooth = gaussian_filter(counts.reshape((_BINS,) * 3), _KERNEL_BINS, mode="constant")
        return smooth.ravel() / smooth.sum()

    p_fg, p_bg = density(foreground)[index], density(background)[index]
    total = p_fg + p_bg
    return np.divide(p_fg, total, out=np.full(total.shape, 0.5), where=total > 0)


def _grid_graph(likelihood: np.ndarray):
    """The 8-connected pixel grid with edge cost ``|dP_F| + 0.01 * length`` (scipy CSR)."""
    from scipy.sparse import coo_matrix

    height, width = likelihood.shape
    ids = np.arange(height * width).reshape(height, width)
    sources, targets, costs = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        rows = slice(0, height - dy)
        cols = slice(max(0, -dx), width - max(0, dx))
        rows2 = slice(dy, height)
        cols2 = slice(max(0, dx), width - max(0, -dx))
        step = np.abs(likelihood[rows, cols] - likelihood[rows2, cols2])
        sources.append(ids[rows, cols].ravel())
        targets.append(ids[rows2, cols2].ravel())
        costs.append((step + _LENGTH_COST * math.hypot(dy, dx)).ravel())
    n = height * width
    return coo_matrix(
        (np.concatenate(costs), (np.concatenate(sources), np.concatenate(targets))), shape=(n, n)
    ).tocsr()


def _grabcut_labels(
    rgb: np.ndarray,
    foreground: np.ndarray,
    background: np.ndarray,
    initial: np.ndarray,
    iterations: int,
) -> np.ndarray:
    """GrabCut from an initial labelling, the strokes as hard constraints."""
    mask = np.where(initial, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    mask[foreground] = cv2.GC_FGD
    mask[background] = cv2.GC_BGD
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # the GMMs start from k-means: the same strokes give the same trimap
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    cv2.grabCut(
        bgr, mask, None, background_model, foreground_model, iterations, cv2.GC_INIT_WITH_MASK
    )
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


# --------------------------------------------------------------------------- helpers


def _bands(band: float, band_fg: float | None, band_bg: float | None) -> tuple[float, float]:
    for name, value in (("band", band), ("band_fg", band_fg), ("band_bg", band_bg)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"{name} must be a number of pixels, got {value!r}.")
        if not 0 <= value <= MAX_BAND:
            raise ValueError(f"{name} must be from 0 to {MAX_BAND} pixels, got {value!r}.")
    half = float(band) / 2.0
    return (
        float(band_fg) if band_fg is not None else half,
        float(band_bg) if band_bg is not None else half,
    )


def _unit_mask(array: np.ndarray, name: str) -> np.ndarray:
    """(H, W) float in [0, 1] from a float, uint8 or bool (H, W) / (H, W, 1) array."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.size == 0:
        raise UnsupportedImageError(
            f"{name} has shape {array.shape}, but a non-empty (H, W) array is expected."
        )
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    return _unit_float32(array, name)


def _rgb8(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB from float [0, 1] or uint8."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise UnsupportedImageError(
            f"image has shape {image.shape}, but a non-empty (H, W, 3) array is expected."
        )
    if image.dtype == np.uint8:
        return image
    return np.rint(_unit_float32(image, "image") * 255.0).astype(np.uint8)


def _shrink_strokes(strokes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    coverage = cv2.resize(strokes.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return coverage > 0


def _require_strokes(
    foreground: np.ndarray, background: np.ndarray, *, downscaled: bool = False
) -> None:
    where = " after downscaling (paint wider strokes)" if downscaled else ""
    if not foreground.any():
        raise TrimapSourceError(
            f"the scribbles have no foreground stroke{where}: paint white (>= 192) on the object."
        )
    if not background.any():
        raise TrimapSourceError(
            f"the scribbles have no background stroke{where}: paint black (<= 63) around it."
        )
