"""The network and its crop-and-stitch inference on real photos."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from matting_core import get_model_info, predict
from matting_core.errors import ShapeError
from matting_core.inference import normalise_rgb, trimap_one_hot
from matting_core.strategy import CropAndStitch, WholeImage
from matting_data import read_alpha, read_image, read_trimap
from matting_hdmatt import HDMatt, context_pool, hdmatt_patch_forward


def _photo(shared_data: Path, case: str = "GT01"):
    root = shared_data / "alphamatting_training_lowres"
    return (
        read_image(root / "image" / f"{case}.png"),
        read_trimap(root / "trimap" / f"{case}.png"),
        read_alpha(root / "alpha" / f"{case}.png"),
    )


def _tensors(image: np.ndarray, trimap: np.ndarray):
    info = get_model_info("hdmatt")
    return normalise_rgb(image, info), trimap_one_hot(trimap)


def _batch(image: np.ndarray, trimap: np.ndarray, corners) -> tuple[torch.Tensor, torch.Tensor]:
    """64 x 64 crops at ``corners`` as one normalised batch and its one-hot trimaps."""
    crops = [
        _tensors(image[y : y + 64, x : x + 64], trimap[y : y + 64, x : x + 64]) for y, x in corners
    ]
    return torch.cat([c[0] for c in crops]), torch.cat([c[1] for c in crops])


def _calibrate(model: HDMatt, image: np.ndarray, trimap: np.ndarray) -> None:
    """BatchNorm statistics of real patches instead of the initial (0, 1), so that the random
    network's activations have the size a trained one's have (else the context's effect on
    alpha is lost in the untrained decoder)."""
    crops = [(100, 300), (200, 50), (300, 600), (40, 650)]
    x, t = _batch(image, trimap, crops)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a cumulative average over this one batch
    with torch.no_grad():
        model.train()(x, t)
    model.eval()


def test_context_pool_spreads_over_the_grid():
    assert context_pool(3, 30) == [0, 1, 2]
    assert context_pool(625, 30)[:3] == [0, 22, 43] and context_pool(625, 30)[-1] == 624
    assert len(context_pool(625, 30)) == 30


def test_an_image_of_one_patch_is_the_whole_image_forward(tiny_model, shared_data):
    image, trimap, _ = _photo(shared_data)
    image, trimap = image[100:196, 300:420], trimap[100:196, 300:420]  # 96 x 120 < one tile
    info = get_model_info("hdmatt")
    assert isinstance(info.inference, CropAndStitch) and info.inference.tile > 120
    stitched = predict(tiny_model, image, trimap, info=info)
    whole = predict(tiny_model, image, trimap, info=info, strategy=WholeImage())
    np.testing.assert_allclose(stitched, whole, atol=1e-6)


def test_context_patches_change_the_output_and_their_order_does_not(tiny_model, shared_data):
    image, trimap, _ = _photo(shared_data)
    crops = [(100, 300), (200, 50), (300, 600), (40, 650)]
    patches = [
        _tensors(image[y : y + 64, x : x + 64], trimap[y : y + 64, x : x + 64]) for y, x in crops
    ]
    query_image, query_trimap = patches[0]
    ctx_image = torch.stack([p[0][0] for p in patches[1:]])[None]
    ctx_trimap = torch.stack([p[1][0] for p in patches[1:]])[None]
    _calibrate(tiny_model, image, trimap)
    with torch.no_grad():
        alone = tiny_model(query_image, query_trimap)["alpha"]
        with_context = tiny_model(query_image, query_trimap, ctx_image, ctx_trimap)["alpha"]
        order = torch.tensor([2, 0, 1])
        reordered = tiny_model(
            query_image, query_trimap, ctx_image[:, order], ctx_trimap[:, order]
        )["alpha"]
    assert (with_context - alone).abs().max() > 1e-3
    torch.testing.assert_close(reordered, with_context, atol=1e-5, rtol=1e-5)


def test_crop_and_stitch_uses_the_images_other_patches(tiny_model, shared_data):
    image, trimap, _ = _photo(shared_data)
    _calibrate(tiny_model, image, trimap)
    image, trimap = image[60:188, 200:360], trimap[60:188, 200:360]  # 128 x 160: 3 x 3 tiles
    info = get_model_info("hdmatt")
    tiled = CropAndStitch(tile=64, overlap=16, batch_size=2, patch_forward=hdmatt_patch_forward)
    with_context = predict(tiny_model, image, trimap, info=info, strategy=tiled)
    no_context = HDMatt(dataclasses.replace(tiny_model.config, context_patches=0))
    no_context.load_state_dict(tiny_model.state_dict())
    alone = predict(no_context, image, trimap, info=info, strategy=tiled)
    assert with_context.shape == trimap.shape and np.isfinite(with_context).all()
    unknown = trimap == 128
    assert np.abs(with_context - alone)[unknown].max() > 1e-3
    np.testing.assert_array_equal(with_context[trimap == 255], 1.0)
    np.testing.assert_array_equal(with_context[trimap == 0], 0.0)


def test_context_shapes_are_checked(tiny_model):
    image, trimap = torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32)
    with pytest.raises(ShapeError, match="context_trimap"):
        tiny_model(image, trimap, torch.zeros(1, 2, 3, 32, 32), torch.zeros(1, 1, 3, 32, 32))
    with pytest.raises(ShapeError, match="multiple"):
        tiny_model(torch.zeros(1, 3, 30, 32), torch.zeros(1, 3, 30, 32))


def test_a_tiny_real_batch_overfits(tiny_model, shared_data):
    image, trimap, alpha = _photo(shared_data)
    crops = [(100, 300), (150, 420)]
    x, t = _batch(image, trimap, crops)
    gt = torch.stack([torch.from_numpy(alpha[y : y + 64, c : c + 64].copy()) for y, c in crops])[
        :, None
    ]
    ctx = [
        _tensors(image[y : y + 64, c : c + 64], trimap[y : y + 64, c : c + 64])
        for y, c in ((300, 600), (40, 650))
    ]
    cx = torch.cat([p[0] for p in ctx])[None].expand(2, -1, -1, -1, -1)
    ct = torch.cat([p[1] for p in ctx])[None].expand(2, -1, -1, -1, -1)
    torch.manual_seed(0)
    model = HDMatt(tiny_model.config).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    unknown = t[:, 1:2]
    losses = []
    for _ in range(30):
        pred = model(x, t, cx, ct)["alpha"]
        loss = ((pred - gt).abs() * unknown).sum() / unknown.sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], (losses[0], losses[-1])
