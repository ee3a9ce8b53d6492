"""Loop-by-loop float64 transcriptions of the HOP blocks, independent of the implementation.

Written from the paper's Eq. 3-4 and the release's conventions as restated in
``shared/fixtures/hop-official/README.md``; imported by the block tests and the parity test
(``conftest.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import numpy as np


def reflect_index(i: int, n: int) -> int:
    return -i if i < 0 else (2 * (n - 1) - i if i >= n else i)


def global_hop_reference(query, key, opacity, unknown, scale, embedding, weights, rate):
    """float64 loops over Eq. 4 with the release's details (see global_hop's docstring),
    for one sample: ``(propagated (C, H, W), attention (L, L) [query, source])``."""
    q, k = query[0].double().numpy(), key[0].double().numpy()
    a, u = opacity[0].double().numpy(), unknown[0, 0].double().numpy()
    e = None if embedding is None else embedding.double().numpy()
    _, h, w = q.shape
    channels = a.shape[0]
    qp = np.pad(q, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    kp = np.pad(k, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    up = np.pad(u, 1, mode="reflect")
    positions = [(y, x) for y in range(h) for x in range(w)]
    key_patches = [kp[:, y : y + 3, x : x + 3] for y, x in positions]
    key_patches = [p / max(np.linalg.norm(p), 1e-4) for p in key_patches]
    unknown_src = [up[y : y + 3, x : x + 3].mean() > 0 for y, x in positions]
    radius = None if e is None else e.shape[0] - 1
    attention = np.zeros((len(positions), len(positions)))  # [query, source]
    for p, (py, px) in enumerate(positions):
        query_patch = qp[:, py : py + 3, px : px + 3]
        logits = []
        for s, (sy, sx) in enumerate(positions):
            c = (query_patch * key_patches[s]).sum()
            if weights is not None:
                c *= weights[0] if unknown_src[s] else weights[1]
            c *= scale
            if s == p and unknown_src[s]:
                c += -1e4
            if e is not None:
                c += q[:, py, px] @ e[min(abs(py - sy), radius)]
                c += q[:, py, px] @ e[min(abs(px - sx), radius)]
            logits.append(c)
        logits = np.array(logits)
        attention[p] = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    if rate == 2:
        ap = np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="reflect")
        out = np.zeros((channels, 2 * h + 2, 2 * w + 2))
        for p, (py, px) in enumerate(positions):
            for s, (sy, sx) in enumerate(positions):
                patch = ap[:, 2 * sy : 2 * sy + 4, 2 * sx : 2 * sx + 4]
                out[:, 2 * py : 2 * py + 4, 2 * px : 2 * px + 4] += attention[p, s] * patch
        return out[:, 1:-1, 1:-1] / 4, attention
    out = np.zeros((channels, h, w))
    for py in range(h):
        for px in range(w):
            for s, (sy, sx) in enumerate(positions):
                for da in (0, 1):
                    for db in (0, 1):
                        qy, qx = reflect_index(py + da - 1, h), reflect_index(px + db - 1, w)
                        value = a[:, reflect_index(sy + da - 1, h), reflect_index(sx + db - 1, w)]
                        out[:, py, px] += attention[qy * w + qx, s] * value
    return out / 4, attention


def local_hop_reference(guidance, opacity, window, scale, embedding, displacement=False):
    """float64 loops over Eq. 3 with the release's details, for one sample: (C, H, W); with
    ``displacement`` also (2, H, W), the attention-weighted mean (row, column) offset."""
    g, a = guidance[0].double().numpy(), opacity[0].double().numpy()
    e = None if embedding is None else embedding.double().numpy()
    _, h, w = g.shape
    r = window // 2
    n = g / np.maximum(np.linalg.norm(g, axis=0, keepdims=True), 1e-4)
    npad = np.pad(n, ((0, 0), (r, r), (r, r)), mode="reflect")
    apad = np.pad(a, ((0, 0), (r, r), (r, r)), mode="reflect")
    out = np.zeros_like(a)
    moved = np.zeros((2, h, w))
    offsets = np.array([(i - r, j - r) for i in range(window) for j in range(window)], float)
    for y in range(h):
        for x in range(w):
            logits, values = [], []
            for i in range(window):
                for j in range(window):
                    if i == r and j == r:
                        logits.append(-1e4 * scale)
                        values.append(np.zeros(a.shape[0]))
                        continue
                    key = npad[:, y + i, x + j].copy()
                    if e is not None:
                        key += e[abs(i - r)] + e[abs(j - r)]
                    logits.append(scale * (n[:, y, x] @ key))
                    values.append(apad[:, y + i, x + j])
            logits = np.array(logits)
            weights = np.exp(logits - logits.max())
            weights /= weights.sum()
            out[:, y, x] = weights @ np.array(values)
            moved[:, y, x] = weights @ offsets
    return (out, moved) if displacement else out
