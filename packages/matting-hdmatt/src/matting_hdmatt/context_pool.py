"""HDMatt's test-time context pool: each query patch's candidate context patches.

The paper crops the whole image into overlapping patches; for each query patch the CPC
samples the top-K of N candidate patches of the same image ("When input image is of
ultra-high resolution, we set the candidate context patches number N = 30").  Core's
crop-and-stitch strategy runs the query patches and blends them
(:mod:`matting_core.tiling`); this module is the model's own patch forward:

* the *pool*: at most N patches of the image's grid, spread evenly over it in grid order
  (:func:`context_pool`), so that far-away patches take part (the paper's Fig. 7);
* their keys, values and trimap regions are computed once per image, a mini-batch at a time,
  and kept in ``source.cache`` (N · (Ck + Cv) · (h/8) · (w/8) floats: 49 MB for the paper's
  network with 320 patches), so every query reuses them: memory is bounded by N and the patch
  size, not by the image;
* a query never takes itself as context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from torch import nn

    from matting_core.tiling import PatchBatch, PatchSource

__all__ = ["context_pool", "hdmatt_patch_forward"]

_CACHE_KEY = "hdmatt_context_pool"


def context_pool(count: int, limit: int) -> list[int]:
    """Indices of at most ``limit`` of ``count`` patches, spread evenly in grid order.

    >>> context_pool(5, 30)
    [0, 1, 2, 3, 4]
    >>> context_pool(10, 4)
    [0, 3, 6, 9]
    """
    if count <= limit:
        return list(range(count))
    return sorted({round(x) for x in np.linspace(0, count - 1, limit)})


def _pool_memory(model: nn.Module, source: PatchSource, batch: int):
    """The pool's indices and its (P, ...) keys, values and regions, computed once per image."""
    cached = source.cache.get(_CACHE_KEY)
    if cached is not None:
        return cached
    from matting_hdmatt.model import ContextMemory

    indices = context_pool(len(source), model.config.candidates)
    parts = []
    for start in range(0, len(indices), batch):
        patches = source.load(indices[start : start + batch])
        parts.append(model.encode_context(patches.image, patches.trimap))
    memory = ContextMemory(*(torch.cat(t) for t in zip(*parts, strict=True)))
    source.cache[_CACHE_KEY] = (indices, memory)
    return indices, memory


def hdmatt_patch_forward(model: nn.Module, patches: PatchBatch, source: PatchSource) -> dict:
    """``CropAndStitch.patch_forward`` of HDMatt: the query patches with their context.

    Every query gets the whole pool as its N candidates, minus itself (masked as invalid);
    the CPC keeps the top K of them.  An image of one patch has no context: the result is the
    whole-image forward's.
    """
    batch = patches.image.shape[0]
    indices, memory = _pool_memory(model, source, batch)
    pool = torch.tensor(indices, device=patches.image.device)
    queries = torch.tensor(patches.indices, device=patches.image.device)
    valid = pool[None, :] != queries[:, None]  # (B, N)
    expanded = type(memory)(*(t.unsqueeze(0).expand(batch, *t.shape) for t in memory))
    return model.forward_with_memory(patches.image, patches.trimap, expanded, valid)
