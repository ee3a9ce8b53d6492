"""Pictures of what a model sees and where it fails: flow fields, heat maps, contact sheets.

Pure functions from numpy arrays to (H, W, 3) uint8 RGB images (write them with
:func:`matting_data.write_image`):

* :func:`flow_to_colour` -- a displacement field in the Middlebury colour coding (Baker,
  Scharstein, Lewis, Roth, Black & Szeliski, "A Database and Evaluation Methodology for
  Optical Flow", IJCV 2011): hue is the direction, saturation the length relative to the
  longest vector, white no displacement. It is the coding the GCA paper (Fig. 1) and its release
  use for the attention offset maps (the release takes it from the generative-inpainting code,
  which has it from the Middlebury ``flowToColor``). :func:`flow_colour_key` draws the key.
* :func:`heat_map` -- scalar values through the perceptually uniform "inferno" colour map.
* :func:`error_heat_map` -- ``|prediction - ground truth|`` over a trimap's unknown region,
  on a fixed 0..1 scale so that maps of different images compare.
* :func:`contact_sheet` -- rows of equally tall tiles with a label above each row.

Displacements follow the models' output contract (``ModelInfo.extra_outputs``): a (2, h, w)
array of (row, column) offsets, so ``v = flow[0]`` (down) and ``u = flow[1]`` (right).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "COLOUR_WHEEL",
    "as_rgb8",
    "contact_sheet",
    "error_heat_map",
    "flow_colour_key",
    "flow_to_colour",
    "heat_map",
    "label_strip",
]


def _colour_wheel() -> np.ndarray:
    """The 55 Middlebury hues, (55, 3) float64 in 0..255: red, yellow, green, cyan, blue,
    magenta, back to red, with 15, 6, 4, 11, 13 and 6 steps between them."""
    segments = (
        (15, (255, 0, 0), (1, 1)),  # red -> yellow: green rises
        (6, (255, 255, 0), (0, -1)),  # yellow -> green: red falls
        (4, (0, 255, 0), (2, 1)),  # green -> cyan: blue rises
        (11, (0, 255, 255), (1, -1)),  # cyan -> blue: green falls
        (13, (0, 0, 255), (0, 1)),  # blue -> magenta: red rises
        (6, (255, 0, 255), (2, -1)),  # magenta -> red: blue falls
    )
    rows = []
    for steps, start, (channel, direction) in segments:
        for i in range(steps):
            colour = list(start)
            ramp = np.floor(255 * i / steps)
            colour[channel] = ramp if direction > 0 else 255 - ramp
            rows.append(colour)
    return np.asarray(rows, dtype=np.float64)


#: (55, 3) the Middlebury colour wheel, RGB levels.
COLOUR_WHEEL = _colour_wheel()


def flow_to_colour(flow: np.ndarray, *, max_radius: float | None = None) -> np.ndarray:
    """Colour a displacement field with the Middlebury coding.

    For ``u = flow[1]``, ``v = flow[0]`` and ``r = |(u, v)| / max_radius``: the angle
    ``atan2(-v, -u) / pi`` picks a position on :data:`COLOUR_WHEEL` (linear between its two
    nearest hues); within the radius the colour is ``1 - r (1 - hue)`` (white at rest, the full
    hue at ``max_radius``), beyond it ``0.75 hue``; the levels are ``floor(255 colour)``. So a
    rightward vector is red, a downward one orange-yellow, leftward cyan-blue, upward violet.

    Args:
        flow: (2, H, W) float or integer (row, column) displacements.
        max_radius: the length drawn at full saturation; default the longest vector of
            ``flow`` (1 when all are zero).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise ValueError(f"flow must be (2, H, W) row/column displacements, got {flow.shape}")
    v, u = flow[0], flow[1]
    length = np.hypot(u, v)
    if max_radius is None:
        max_radius = float(length.max()) if length.size and length.max() > 0 else 1.0
    if not max_radius > 0:
        raise ValueError(f"max_radius must be > 0, got {max_radius!r}")
    radius = length / max_radius
    count = len(COLOUR_WHEEL)
    position = (np.arctan2(-v, -u) / np.pi + 1.0) / 2.0 * (count - 1)
    k0 = np.floor(position).astype(np.int64)
    k1 = k0 + 1
    k1[k1 == count] = 0
    fraction = (position - k0)[..., None]
    hue = ((1.0 - fraction) * COLOUR_WHEEL[k0] + fraction * COLOUR_WHEEL[k1]) / 255.0
    inside = (radius <= 1.0)[..., None]
    colour = np.where(inside, 1.0 - radius[..., None] * (1.0 - hue), hue * 0.75)
    return np.floor(255.0 * colour).astype(np.uint8)


def flow_colour_key(size: int = 151) -> np.ndarray:
    """The key of :func:`flow_to_colour`: a disc whose every pixel is coloured by its own
    displacement from the centre (radius ``size // 2`` at full saturation), white outside."""
    if size < 3:
        raise ValueError(f"size must be >= 3, got {size}")
    centre = size // 2
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) - centre
    key = flow_to_colour(np.stack([rows, cols]), max_radius=float(centre))
    key[np.hypot(rows, cols) > centre] = 255
    return key


def heat_map(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """(H, W) scalars as an "inferno" colour map (black-purple low, yellow high), RGB uint8.

    Args:
        values: (H, W) finite numbers.
        lo, hi: the values drawn darkest and brightest (default the minimum and maximum);
            values outside are clipped.
    """
    import cv2

    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be (H, W), got {values.shape}")
    lo = float(values.min()) if lo is None else float(lo)
    hi = float(values.max()) if hi is None else float(hi)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    levels = np.clip(np.rint((values - lo) * scale), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO)[:, :, ::-1])


def error_heat_map(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """``|pred - gt|`` where the trimap is unknown, as :func:`heat_map` on the scale 0..1
    (black: no error, yellow: an error of 1); the known region is drawn dark gray.

    Args:
        pred, gt: (H, W) float in [0, 1] or uint8 alphas.
        trimap: (H, W) uint8 {0, 128, 255}.
    """
    error = np.abs(_unit(pred) - _unit(gt))
    picture = heat_map(error, 0.0, 1.0)
    picture[np.asarray(trimap) != 128] = 48
    return picture


def as_rgb8(array: np.ndarray) -> np.ndarray:
    """An image, alpha or trimap as (H, W, 3) uint8 RGB: gray arrays get three channels, float
    [0, 1] is scaled by 255."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8:
        array = np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected (H, W), (H, W, 1) or (H, W, 3), got {array.shape}")
    return array


def label_strip(text: str, width: int, height: int = 24) -> np.ndarray:
    """A dark strip ``width`` x ``height`` with ``text`` in white (ASCII; others shown as '?')."""
    import cv2

    strip = np.full((height, width, 3), 32, np.uint8)
    printable = text.encode("ascii", "replace").decode("ascii")
    scale = 0.5 * height / 24
    cv2.putText(
        strip,
        printable,
        (6, int(height * 0.7)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return strip


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray]],
    labels: Sequence[str],
    *,
    tile_height: int = 200,
    titles: Sequence[str] = (),
    gap: int = 4,
) -> np.ndarray:
    """Rows of tiles in aligned columns, a label above each row.

    Every tile is scaled to ``tile_height`` (aspect kept) and centred in its column, as wide as
    the column's widest tile, so that a column holds the same kind of picture in every row.

    Args:
        rows: for each row, its tiles as images, alphas or trimaps (:func:`as_rgb8`).
        labels: one line of text per row.
        tile_height: height of every tile in pixels.
        titles: optional column titles, drawn once at the top.
        gap: pixels between tiles and between rows.

    Returns:
        (H, W, 3) uint8 RGB on a dark background.
    """
    import cv2

    if len(rows) != len(labels):
        raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
    if not rows:
        raise ValueError("a contact sheet needs at least one row")
    scaled_rows = []
    for tiles in rows:
        scaled = []
        for tile in tiles:
            rgb = as_rgb8(tile)
            width = max(1, round(rgb.shape[1] * tile_height / rgb.shape[0]))
            flag = cv2.INTER_AREA if tile_height < rgb.shape[0] else cv2.INTER_NEAREST
            scaled.append(cv2.resize(rgb, (width, tile_height), interpolation=flag))
        scaled_rows.append(scaled)
    columns = max(len(tiles) for tiles in scaled_rows)
    widths = [
        max((tiles[c].shape[1] for tiles in scaled_rows if c < len(tiles)), default=0)
        for c in range(columns)
    ]
    lefts = [gap + sum(widths[:c]) + gap * c for c in range(columns)]
    width = gap + sum(widths) + gap * columns
    parts = []
    if titles:
        header = np.full((24, width, 3), 32, np.uint8)
        for title, left, column_width in zip(titles, lefts, widths, strict=False):
            header[:, left : left + column_width] = label_strip(title, column_width)
        parts.append(header)
    for label, tiles in zip(labels, scaled_rows, strict=True):
        parts.append(label_strip(label, width))
        row = np.full((tile_height + 2 * gap, width, 3), 32, np.uint8)
        for tile, left, column_width in zip(tiles, lefts, widths, strict=False):
            x = left + (column_width - tile.shape[1]) // 2
            row[gap : gap + tile_height, x : x + tile.shape[1]] = tile
        parts.append(row)
    return np.ascontiguousarray(np.concatenate(parts, axis=0))


def _unit(alpha: np.ndarray) -> np.ndarray:
    alpha = np.asarray(alpha)
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float64) / 255.0
    return alpha.astype(np.float64)
