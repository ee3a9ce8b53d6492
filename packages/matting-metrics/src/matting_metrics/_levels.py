"""Connectivity levels: how many leading thresholds each unknown pixel survives (internal).

Input is a "passes" map k (uint8, 0..10): the number of thresholds t_1..t_10 that
min(p, g) reaches, so that mask_i = {k ≥ i} is the thresholded intersection of step i.
Ω_i is the largest 4-connected component of mask_i; ties go to the component whose first
pixel comes first in *scan order* (column-major for DIM, row-major for mmagic). The output
is, for each requested pixel, the number c of leading steps i = 1..c with pixel ∈ Ω_i
(its level is c/10, or mmagic's c-th threshold).

Two exact algorithms, chosen by the size of the "band" {1 ≤ k ≤ 9}:

* **merging** (band ≤ 1/5 of the box, i.e. real mattes): one OpenCV labelling of
  {k = 10}, whose components become single nodes; band pixels are nodes too. Going down
  from i = 10 to 1, the band pixels with k = i and the 4-neighbour links entering at level i
  are added and merged with ``scipy.sparse.csgraph.connected_components`` on the
  contracted graph, so every level costs time proportional to what changes, not to the
  image area.
* **labelling** (noisy inputs): one OpenCV labelling of {k ≥ i} per step, on the bounding
  box of {k ≥ 1}, skipping steps whose mask did not change and stopping once no
  requested pixel can change.

Both work in scan-order coordinates (the transposed map for column-major order), so
"first in scan order" is "smallest flat index".
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

__all__ = ["survival_counts"]

_N_STEPS = 10
#: The merging algorithm is used when the band holds at most this fraction of the box.
_MERGING_MAX_BAND_FRACTION = 0.2
_NO_POSITION = np.iinfo(np.int64).max


def survival_counts(
    passes: NDArray[np.uint8],
    index: NDArray[np.intp],
    *,
    column_major: bool,
    method: str = "auto",
) -> NDArray[np.uint8]:
    """For each pixel of ``index``: the number of leading steps i = 1, 2, ... with it in Ω_i.

    Args:
        passes: (H, W) uint8 in 0..10; mask_i = {passes ≥ i}.
        index: (N,) flat row-major indices of the pixels to report (e.g. the unknown region).
        column_major: break ties between equally large components by first pixel in
            column-major order (DIM, MATLAB ``bwconncomp``); otherwise row-major (mmagic).
        method: ``"auto"``, ``"merging"`` or ``"labelling"`` (the last two for tests).

    Returns:
        (N,) uint8 in 0..10, aligned with ``index``.
    """
    width = passes.shape[1]
    counts = np.zeros(index.size, dtype=np.uint8)
    reach = passes.ravel()[index]
    ids = np.flatnonzero(reach)  # pixels that reach t_1; all others keep count 0
    if ids.size == 0:
        return counts
    reach = reach[ids]
    rows, cols = np.divmod(index[ids], width)
    if column_major:
        # Raster order of the transposed map is column-major order of the original.
        passes = cv2.transpose(passes)
        rows, cols = cols, rows
    # Nothing outside the bounding box of {passes ≥ 1} belongs to any mask: work inside it.
    x0, y0, box_w, box_h = cv2.boundingRect(passes)
    region = np.ascontiguousarray(passes[y0 : y0 + box_h, x0 : x0 + box_w])
    pos = (rows - y0) * box_w + (cols - x0)  # flat scan-order index inside the box
    histogram = cv2.calcHist([region], [0], None, [_N_STEPS + 1], [0, _N_STEPS + 1]).ravel()
    if method == "auto":
        band = histogram[1:_N_STEPS].sum()
        use_merging = band <= _MERGING_MAX_BAND_FRACTION * region.size
    else:
        use_merging = method == "merging"
    if use_merging:
        counts[ids] = _by_merging(region, pos, reach)
    else:
        counts[ids] = _by_labelling(region, pos, reach, present=histogram > 0)
    return counts


def _label_sizes(labels: NDArray[np.int32], n_labels: int) -> NDArray[np.int64]:
    """Pixel count of each label 0..n−1 of a label image (the count of label 0 is not exact).

    An OpenCV uint16 histogram is several times faster than ``np.bincount`` on int32.
    Viewed as uint16 pairs, little-endian int32 labels put the label in the low half and 0 in
    the high half, so the counts of labels ≥ 1 are exact when all labels fit in 16 bits;
    OpenCV's float32 counts are exact below 2**24 pixels.
    """
    if sys.byteorder == "little" and n_labels <= 0xFFFF and labels.size < 2**24:
        halves = labels.view(np.uint16)
        hist = cv2.calcHist([halves], [0], None, [n_labels], [0, n_labels])
        return hist.ravel().astype(np.int64)
    return np.bincount(labels.ravel(), minlength=n_labels)


def _earliest(
    candidates: NDArray[np.intp], groups: NDArray[np.intp], positions: NDArray[np.intp], n: int
) -> int:
    """Among ``candidates`` (group ids), the one with the smallest member position.

    ``groups[j]`` is the group of member j and ``positions[j]`` its scan-order position.
    """
    wanted = np.zeros(n, dtype=bool)
    wanted[candidates] = True
    keep = wanted[groups]
    first = np.full(n, _NO_POSITION, dtype=np.int64)
    np.minimum.at(first, groups[keep], positions[keep])
    return int(candidates[np.argmin(first[candidates])])


def _by_labelling(
    region: NDArray[np.uint8],
    pos: NDArray[np.intp],
    reach: NDArray[np.uint8],
    *,
    present: NDArray[np.bool_],
) -> NDArray[np.uint8]:
    """Survival counts with one image labelling per step.

    Args:
        region: (h, w) C-contiguous passes map in scan order.
        pos: (n,) flat positions of the requested pixels in ``region``.
        reach: (n,) their passes (≥ 1).
        present: (11,) whether any pixel of ``region`` has exactly that many passes.

    Returns:
        (n,) uint8 counts aligned with ``pos``.
    """
    counts = np.zeros(pos.size, dtype=np.uint8)
    # Alive pixels, most passes first: those not in mask_i are then a tail.
    alive = np.argsort(reach, kind="stable")[::-1]
    alive_pos, alive_reach = pos[alive], reach[alive]
    buffer = np.empty(region.shape, dtype=np.int32)  # reused by every labelling
    for i in range(1, _N_STEPS + 1):
        n_in_mask = alive.size - int(np.searchsorted(alive_reach[::-1], i, side="left"))
        if n_in_mask < alive.size:
            counts[alive[n_in_mask:]] = i - 1
            alive, alive_pos, alive_reach = (
                alive[:n_in_mask],
                alive_pos[:n_in_mask],
                alive_reach[:n_in_mask],
            )
        if alive.size == 0:
            return counts  # no requested pixel can change any more
        if i > 1 and not present[i - 1]:
            continue  # no pixel has exactly i − 1 passes: mask_i = mask_{i−1}, Ω_i = Ω_{i−1}
        _, mask = cv2.threshold(region, i - 1, 1, cv2.THRESH_BINARY)
        n_labels, labels = cv2.connectedComponents(mask, buffer, connectivity=4, ltype=cv2.CV_32S)
        label_flat = labels.ravel()
        sizes = _label_sizes(labels, n_labels)
        sizes[0] = -1  # background is not a component
        tied = np.flatnonzero(sizes == sizes.max())
        if tied.size == 1:
            best = int(tied[0])
        else:
            on = np.flatnonzero(label_flat)
            best = _earliest(tied, label_flat[on], on, n_labels)
        keep = label_flat[alive_pos] == best
        if not keep.all():
            counts[alive[~keep]] = i - 1
            alive, alive_pos, alive_reach = alive[keep], alive_pos[keep], alive_reach[keep]
    counts[alive] = _N_STEPS
    return counts


def _links(
    region_flat: NDArray[np.uint8],
    width: int,
    band: NDArray[np.intp],
    node_flat: NDArray[np.int32],
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.uint8]]:
    """4-neighbour links with at least one band end, as node pairs with their entry level.

    A link between neighbours with k_a, k_b ≥ 1 exists from level min(k_a, k_b) down.
    Links between two {k = 10} pixels are already inside a component node, so every link
    needed has a band end: band–band links are taken from their left/upper end,
    band–interior links from the band end in all four directions.

    Returns:
        ``(a, b, level)``: node ids of both ends and the entry level (1..9), sorted by
        decreasing level.
    """
    size = region_flat.size
    col = band % width
    k_band = region_flat[band]
    parts: list[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.uint8]]] = []
    for step, ok in ((1, col < width - 1), (width, band < size - width)):
        here = band[ok]
        there = here + step
        k_there = region_flat[there]
        linked = k_there >= 1  # band or interior: every such neighbour, once
        parts.append((here[linked], there[linked], np.minimum(k_band[ok][linked], k_there[linked])))
    for step, ok in ((1, col > 0), (width, band >= width)):
        here = band[ok]
        there = here - step
        linked = region_flat[there] == _N_STEPS  # interior only; band ones were taken above
        parts.append((here[linked], there[linked], k_band[ok][linked]))
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    level = np.concatenate([p[2] for p in parts])
    order = np.argsort(level, kind="stable")[::-1]
    return node_flat[a[order]], node_flat[b[order]], level[order]


def _count_at_least(values: NDArray[np.uint8]) -> NDArray[np.intp]:
    """``out[i]`` = number of ``values`` (each ≤ 10) that are ≥ i, for i = 0..11."""
    hist = np.bincount(values, minlength=_N_STEPS + 2)
    return np.cumsum(hist[::-1])[::-1]


def _by_merging(
    region: NDArray[np.uint8], pos: NDArray[np.intp], reach: NDArray[np.uint8]
) -> NDArray[np.uint8]:
    """Survival counts by merging components from level 10 down to level 1.

    Args:
        region: (h, w) C-contiguous passes map in scan order.
        pos: (n,) flat positions of the requested pixels in ``region``.
        reach: (n,) their passes (≥ 1).

    Returns:
        (n,) uint8 counts aligned with ``pos``.
    """
    region_flat = region.ravel()
    # Nodes: 0 is a dummy of size 0 (OpenCV's background label), 1..n_interior the
    # components of {k = 10} (labelled once), then one node per band pixel (1 ≤ k ≤ 9) by
    # decreasing k, so that the nodes present at level i are a prefix of the numbering.
    interior = (region == _N_STEPS).view(np.uint8)
    n_labels, node = cv2.connectedComponents(interior, connectivity=4, ltype=cv2.CV_32S)
    interior_sizes = _label_sizes(node, n_labels)  # before band ids are written into node
    node_flat = node.ravel()
    band = np.flatnonzero((region - np.uint8(1)) < _N_STEPS - 1)
    band = band[np.argsort(region_flat[band], kind="stable")[::-1]]
    node_flat[band] = n_labels + np.arange(band.size, dtype=np.int32)
    n_nodes = n_labels + band.size
    nodes_at = n_labels + _count_at_least(region_flat[band])
    link_a, link_b, link_level = _links(region_flat, region.shape[1], band, node_flat)
    links_at = _count_at_least(link_level)

    # Requested pixels by decreasing reach: those in mask_i are a prefix. A pixel fails at
    # reach + 1 at the latest (it leaves mask_{reach+1}); earlier if it is outside some Ω_i.
    order = np.argsort(reach, kind="stable")[::-1]
    req_node = node_flat[pos[order]]
    req_at = _count_at_least(reach[order])
    first_fail = reach[order] + np.uint8(1)

    # comp[:present]: component of each present node; sizes[:n_comp]: their pixel counts
    # (float64, exact for integers, as np.bincount's weighted sums come back).
    comp = np.arange(n_nodes, dtype=np.int32)
    sizes = np.ones(n_nodes, dtype=np.float64)
    sizes[:n_labels] = interior_sizes
    sizes[0] = 0.0
    n_comp = present = n_labels
    node_first: NDArray[np.int64] | None = None  # scan position of each node, on ties only
    for i in range(_N_STEPS, 0, -1):
        n_new = nodes_at[i] - present
        e0, e1 = links_at[i + 1], links_at[i]
        if n_new:
            comp[present : present + n_new] = np.arange(n_comp, n_comp + n_new)
            sizes[n_comp : n_comp + n_new] = 1.0
            present += n_new
            n_comp += n_new
        if e1 > e0:
            u, v = comp[link_a[e0:e1]], comp[link_b[e0:e1]]
            # Weak components of the directed link graph are the components of the
            # undirected one; this form is the fastest in SciPy.
            graph = csr_array((np.ones(u.size), (u, v)), shape=(n_comp, n_comp))
            n_merged, merged = connected_components(graph, directed=True, connection="weak")
            comp[:present] = merged[comp[:present]]
            sizes[:n_merged] = np.bincount(merged, weights=sizes[:n_comp], minlength=n_merged)
            n_comp = n_merged
        current = sizes[:n_comp]
        tied = np.flatnonzero(current == current.max())
        if tied.size == 1:
            best = int(tied[0])
        else:
            if node_first is None:
                node_first = _node_positions(region_flat, node_flat, n_labels, band)
            best = _earliest(tied, comp[:present], node_first[:present], n_comp)
        n_req = req_at[i]
        failed = comp[req_node[:n_req]] != best
        first_fail[:n_req][failed] = i

    counts = np.empty(pos.size, dtype=np.uint8)
    counts[order] = first_fail - np.uint8(1)
    return counts


def _node_positions(
    region_flat: NDArray[np.uint8],
    node_flat: NDArray[np.int32],
    n_labels: int,
    band: NDArray[np.intp],
) -> NDArray[np.int64]:
    """First scan position of every node: dummy (never first), interior components, band."""
    inside = np.flatnonzero(region_flat == _N_STEPS)
    first = np.full(n_labels, _NO_POSITION, dtype=np.int64)
    np.minimum.at(first, node_flat[inside], inside)
    return np.concatenate((first, band))
