"""Crop-and-stitch inference (``matting_core.tiling``) and the model's output contract."""

from __future__ import annotations

import dataclasses
import itertools
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from matting_core import ModelInfo, create_model, hookimpl, predict
from matting_core.cli import main
from matting_core.errors import InputError, PluginError
from matting_core.evaluation import trimap_baseline_alpha
from matting_core.inference import check_model_output, dilate_unknown_trimap
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.strategy import CropAndStitch, WholeImage
from matting_core.tiling import PatchSource, TileGrid, linear_blend_weights, tile_starts
from matting_data import read_image, read_trimap

# --------------------------------------------------------------------------------------------
# Geometry and weights, by hand
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length, tile, overlap, expected",
    [
        # n = ceil((1000 - 512) / 384) + 1 = 3; starts floor(i * 488 / 2)
        (1000, 512, 128, [0, 244, 488]),
        (512, 512, 128, [0]),
        (300, 512, 128, [0]),  # the tile is clamped to the side: one tile
        (513, 512, 128, [0, 1]),
        (1280, 512, 0, [0, 384, 768]),  # ceil(768 / 512) + 1 = 3 tiles of stride 384
        (100, 40, 10, [0, 30, 60]),  # ceil(60 / 30) + 1 = 3
        (101, 40, 10, [0, 20, 40, 61]),  # ceil(61 / 30) + 1 = 4; floor(i * 61 / 3)
    ],
)
def test_tile_starts_by_hand(length, tile, overlap, expected):
    assert tile_starts(length, tile, overlap) == expected


@pytest.mark.parametrize("seed", range(20))
def test_tiles_cover_the_side_and_overlap_at_least_as_asked(seed):
    rng = np.random.default_rng(seed)
    tile = int(rng.integers(8, 200))
    overlap = int(rng.integers(0, tile))
    length = int(rng.integers(1, 2000))
    starts = tile_starts(length, tile, overlap)
    side = min(tile, length)
    assert starts[0] == 0 and starts[-1] + side == length
    for a, b in itertools.pairwise(starts):
        assert a + side - b >= overlap  # the overlap of consecutive tiles
    if len(starts) > 2:  # no more tiles than the overlap needs
        assert len(starts) == int(np.ceil((length - side) / (side - overlap))) + 1


def test_linear_blend_weights_by_hand():
    expected = np.array(
        [
            [1, 1, 1, 1, 1],
            [1, 2, 2, 2, 1],
            [1, 2, 2, 2, 1],
            [1, 1, 1, 1, 1],
        ],
        np.float32,
    )
    np.testing.assert_array_equal(linear_blend_weights(4, 5), expected)
    # Top and left on the image's border: only the distances to the bottom and right count.
    # Pixel (0, 0) is 2 rows from the bottom and 5 columns from the right: 1 + 2.
    expected = np.array(
        [
            [3, 3, 3, 3, 2, 1],
            [2, 2, 2, 2, 2, 1],
            [1, 1, 1, 1, 1, 1],
        ],
        np.float32,
    )
    np.testing.assert_array_equal(linear_blend_weights(3, 6, top=False, left=False), expected)
    np.testing.assert_array_equal(
        linear_blend_weights(2, 3, top=False, bottom=False, left=False, right=False),
        np.ones((2, 3), np.float32),
    )
    # A 1-D ramp: HDMatt's "proportional to the distance to the patch boundaries", + 1.
    ramp = linear_blend_weights(1, 9, top=False, bottom=False)
    np.testing.assert_array_equal(ramp[0], [1, 2, 3, 4, 5, 4, 3, 2, 1])
    assert linear_blend_weights(37, 53).min() == 1.0


def test_grid_blends_only_sides_between_tiles():
    grid = TileGrid.cover(100, 150, 64, 16)
    assert [t.top for t in grid][:: len(tile_starts(150, 64, 16))] == tile_starts(100, 64, 16)
    first, last = grid[0], grid[len(grid) - 1]
    assert grid.blended_sides(first) == {
        "top": False,
        "bottom": True,
        "left": False,
        "right": True,
    }
    assert grid.blended_sides(last) == {"top": True, "bottom": False, "left": True, "right": False}
    one = TileGrid.cover(40, 50, 64, 16)
    assert len(one) == 1 and one[0].height == 40 and one[0].width == 50


# --------------------------------------------------------------------------------------------
# Stitching with small models of known behaviour
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoConfig:
    pass


class PixelNet(nn.Module):
    """alpha = sigmoid(2 * channel 0 + unknown): each pixel from itself only."""

    def forward(self, image: torch.Tensor, trimap: torch.Tensor | None) -> dict[str, torch.Tensor]:
        unknown = trimap[:, 1:2] if trimap is not None else 0.0
        return {"alpha": torch.sigmoid(2 * image[:, :1] + unknown)}


class CallCounter(nn.Module):
    """A constant alpha per call: ``values[k]`` for the k-th forward; records input sizes."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = values
        self.calls: list[tuple[int, ...]] = []

    def forward(self, image: torch.Tensor, trimap: torch.Tensor | None) -> dict[str, torch.Tensor]:
        value = self.values[len(self.calls)]
        self.calls.append(tuple(image.shape))
        return {"alpha": torch.full_like(image[:, :1], value)}


FREE_INFO = ModelInfo(
    paper="-", needs_trimap=False, input_channels=3, config_class=NoConfig, pad_multiple=8
)


def _photo(shared_data: Path, case: str = "GT02") -> tuple[np.ndarray, np.ndarray]:
    root = shared_data / "alphamatting_training_lowres"
    return read_image(root / "image" / f"{case}.png"), read_trimap(root / "trimap" / f"{case}.png")


def test_blend_of_two_tiles_by_hand():
    # 32 x 80, tiles 48 wide with overlap 16: starts 0 and 32.  Tile 0 weighs 1 + (47 - x)
    # (its right side only), tile 1 weighs 1 + (x - 32) (its left side only).
    image = np.zeros((32, 80, 3), np.uint8)
    model = CallCounter([0.25, 0.75])
    strategy = CropAndStitch(tile=48, overlap=16, batch_size=1)
    alpha = predict(model, image, None, info=FREE_INFO, strategy=strategy)
    assert model.calls == [(1, 3, 32, 48), (1, 3, 32, 48)]
    np.testing.assert_allclose(alpha[:, :32], 0.25, atol=1e-7)
    np.testing.assert_allclose(alpha[:, 48:], 0.75, atol=1e-7)
    for x in (32, 40, 47):
        w0, w1 = 1 + (47 - x), 1 + (x - 32)
        np.testing.assert_allclose(alpha[:, x], (0.25 * w0 + 0.75 * w1) / (w0 + w1), atol=1e-6)
    assert alpha[0, 40] == pytest.approx(8.75 / 17, abs=1e-6)


def test_image_of_exactly_one_tile_equals_the_whole_image_forward(shared_data):
    image, trimap = _photo(shared_data)
    image, trimap = image[100:196, 300:396], trimap[100:196, 300:396]  # 96 x 96
    info = dataclasses.replace(FREE_INFO, needs_trimap=True, pad_margin=8, pad_multiple=32)
    model = RampConv()
    whole = predict(model, image, trimap, info=info)
    for tile in (96, 200):  # exactly one tile, and a tile larger than the image
        tiled = predict(model, image, trimap, info=info, strategy=CropAndStitch(tile, 16))
        np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-6)


class RampConv(nn.Module):
    """Seeded 5x5 convolutions with zero padding: the output depends on context and on the
    position relative to the input's border, so windows must be exactly right."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.conv1 = nn.Conv2d(6, 4, 5, padding=2)
        self.conv2 = nn.Conv2d(4, 1, 5, padding=2)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        x = torch.relu(self.conv1(torch.cat([image, trimap], 1)))
        return {"alpha": torch.sigmoid(self.conv2(x))}


def test_windows_are_the_image_read_around_each_tile_and_reflected_at_its_border(shared_data):
    image, trimap = _photo(shared_data, "GT05")
    image, trimap = image[:70, :90], trimap[:70, :90]
    info = dataclasses.replace(FREE_INFO, needs_trimap=True, pad_margin=8, pad_multiple=16)
    grid = TileGrid.cover(70, 90, 40, 12)
    source = PatchSource(
        image, trimap, grid, info=info, padding=(16, "reflect", 8, 0), device=torch.device("cpu")
    )
    # 40 + 2 * 8 = 56 -> 64: 8 on top/left, 16 on bottom/right.
    assert (source.padding.top, source.padding.bottom) == (8, 16)
    mean, std = np.float32(info.mean), np.float32(info.std)
    reflected = np.pad((image - mean) / std, ((40, 40), (40, 40), (0, 0)), mode="reflect")
    tri_reflected = np.pad(trimap, 40, mode="reflect")
    batch = source.load(range(len(grid)))
    assert batch.image.shape == (len(grid), 3, 64, 64)
    for k, tile in enumerate(grid):
        rows = slice(40 + tile.top - 8, 40 + tile.top + 40 + 16)
        cols = slice(40 + tile.left - 8, 40 + tile.left + 40 + 16)
        np.testing.assert_allclose(
            batch.image[k].permute(1, 2, 0).numpy(), reflected[rows, cols], atol=1e-6
        )
        one_hot = batch.trimap[k].argmax(0).numpy()
        np.testing.assert_array_equal(
            np.array([0, 128, 255], np.uint8)[one_hot], tri_reflected[rows, cols]
        )
        np.testing.assert_array_equal(source.trimap_tile(k), trimap[tile.slices])
        assert source.unknown_count(k) == np.count_nonzero(trimap[tile.slices] == 128)


def test_a_pixelwise_model_gives_the_whole_image_result_through_any_tiling(shared_data):
    image, trimap = _photo(shared_data, "GT04")
    image, trimap = image[:150, :230], trimap[:150, :230]
    whole = predict(PixelNet(), image, trimap, keep_known=False)
    for tile, overlap in ((64, 0), (64, 16), (100, 60), (37, 5)):
        strategy = CropAndStitch(tile, overlap, batch_size=3)
        tiled = predict(PixelNet(), image, trimap, keep_known=False, strategy=strategy)
        np.testing.assert_allclose(tiled, whole, rtol=0, atol=2e-6)


def test_tiles_without_unknown_pixels_are_not_run_and_change_nothing(shared_data):
    image, trimap = _photo(shared_data, "GT01")
    image, trimap = image[:192, :256], trimap[:192, :256]
    strategy = CropAndStitch(64, 16, batch_size=1)
    grid = TileGrid.cover(192, 256, 64, 16)
    with_unknown = sum(np.any(trimap[t.slices] == 128) for t in grid)
    assert 0 < with_unknown < len(grid)
    counter = CallCounter([0.5] * len(grid))
    predict(
        counter,
        image,
        trimap,
        info=dataclasses.replace(FREE_INFO, needs_trimap=True),
        strategy=strategy,
    )
    assert len(counter.calls) == with_unknown
    model = RampConv()
    skipped = predict(model, image, trimap, strategy=strategy)
    every = predict(model, image, trimap, strategy=strategy, keep_known=False)
    every[trimap == 0], every[trimap == 255] = 0.0, 1.0
    np.testing.assert_allclose(skipped, every, rtol=0, atol=1e-6)


def test_tiled_dilate_unknown_restores_the_dilated_trimap(shared_data):
    image, trimap = _photo(shared_data, "GT03")
    image, trimap = image[200:330, 150:300], trimap[200:330, 150:300]
    baseline = create_model("trimap-baseline")
    strategy = CropAndStitch(64, 16)
    alpha = predict(baseline, image, trimap, strategy=strategy, dilate_unknown=11)
    grown = dilate_unknown_trimap(trimap, 11)
    assert np.count_nonzero(grown == 128) > np.count_nonzero(trimap == 128)
    np.testing.assert_array_equal(alpha, trimap_baseline_alpha(grown))


def test_trimap_free_model_tiles_without_a_trimap(shared_data):
    image, _ = _photo(shared_data, "GT06")
    image = image[:120, :200]
    model = PixelNet()
    whole = predict(model, image, None, info=FREE_INFO)
    tiled = predict(model, image, None, info=FREE_INFO, strategy=CropAndStitch(48, 16))
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=2e-6)
    # info.inference is the default: a model may declare crop-and-stitch for itself.
    counter = CallCounter([0.3] * 100)
    declared = dataclasses.replace(FREE_INFO, inference=CropAndStitch(48, 16, batch_size=2))
    out = predict(counter, image, None, info=declared)
    assert len(TileGrid.cover(120, 200, 48, 16)) == 4 * 6
    assert counter.calls == [(2, 3, 48, 48)] * 12
    np.testing.assert_allclose(out, 0.3, atol=1e-6)
    forced = CallCounter([0.3])
    predict(forced, image, None, info=declared, strategy=WholeImage())
    assert forced.calls == [(1, 3, 120, 200)]


def test_a_trimap_free_model_never_sees_the_trimap_but_its_known_pixels_are_kept(shared_data):
    image, trimap = _photo(shared_data, "GT07")
    image, trimap = image[:96, :96], trimap[:96, :96]

    class NoTrimap(PixelNet):
        def forward(self, image, trimap):
            assert trimap is None
            return super().forward(image, None)

    for strategy in (WholeImage(), CropAndStitch(48, 16)):
        alpha = predict(NoTrimap(), image, trimap, info=FREE_INFO, strategy=strategy)
        assert np.all(alpha[trimap == 0] == 0) and np.all(alpha[trimap == 255] == 1)


# --------------------------------------------------------------------------------------------
# A model's own patch forward (HDMatt's context patches)
# --------------------------------------------------------------------------------------------


def test_patch_forward_gets_queries_and_reads_context_patches(shared_data):
    image, trimap = _photo(shared_data, "GT08")
    image, trimap = image[:160, :224], trimap[:160, :224]
    seen: list[tuple[int, ...]] = []

    def with_context(model, patches, source):
        # HDMatt's pattern: K context patches per query, chosen among the image's other
        # patches (here: the two with the most known pixels), their features cached.
        seen.append(patches.indices)
        if "ranking" not in source.cache:
            known = [
                t.height * t.width - source.unknown_count(i) for i, t in enumerate(source.grid)
            ]
            source.cache["ranking"] = np.argsort(known)[::-1].tolist()
        context = source.load(source.cache["ranking"][:2])
        assert context.image.shape[1:] == patches.image.shape[1:]
        again = source.load(patches.indices)
        torch.testing.assert_close(again.image, patches.image, rtol=0, atol=0)
        out = model(patches.image, patches.trimap)["alpha"]
        # the context's mean alpha nudges the query: a function of other patches
        return {"alpha": 0.9 * out + 0.1 * model(context.image, context.trimap)["alpha"].mean()}

    model = RampConv()
    strategy = CropAndStitch(64, 16, batch_size=2, patch_forward=with_context)
    own = predict(model, image, trimap, strategy=strategy)
    plain = predict(
        model, image, trimap, strategy=dataclasses.replace(strategy, patch_forward=None)
    )
    grid = TileGrid.cover(160, 224, 64, 16)
    queried = [i for i, t in enumerate(grid) if np.any(trimap[t.slices] == 128)]
    assert [i for batch in seen for i in batch] == queried
    assert all(len(batch) <= 2 for batch in seen)
    unknown = trimap == 128
    assert 0 < np.abs(own - plain)[unknown].max() < 0.2
    with pytest.raises(InputError, match="own patch forward"):
        predict(model, image, trimap, strategy=strategy, tta=True)


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"tile": 0}, "tile must be an integer >= 1"),
        ({"tile": 64, "overlap": 64}, "smaller than the tile"),
        ({"overlap": -1}, "overlap must be"),
        ({"batch_size": 0}, "batch_size"),
        ({"patch_forward": 3}, "callable"),
    ],
)
def test_crop_and_stitch_refuses_bad_options(kwargs, phrase):
    with pytest.raises(InputError, match=phrase):
        CropAndStitch(**kwargs)


def test_model_info_refuses_an_unknown_inference_strategy():
    with pytest.raises(PluginError, match=r"ModelInfo\.inference"):
        dataclasses.replace(FREE_INFO, inference="tiles")


# --------------------------------------------------------------------------------------------
# The model contract
# --------------------------------------------------------------------------------------------


class Broken(nn.Module):
    """Returns what its config's ``mode`` says: a contract break of each kind."""

    def __init__(self, config) -> None:
        super().__init__()
        self.mode = config.mode

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> object:
        b, _, h, w = image.shape
        good = torch.full((b, 1, h, w), 0.5)
        return {
            "tensor": good,
            "no-alpha": {"matte": good},
            "shape": {"alpha": good[..., : h // 2, :]},
            "channels": {"alpha": good.expand(b, 3, h, w)},
            "range": {"alpha": good * 3},
            "nan": {"alpha": good.masked_fill(good > 0, float("nan"))},
            "int": {"alpha": good.long()},
        }[self.mode]


@dataclass(frozen=True)
class BrokenConfig:
    mode: str = "no-alpha"


@pytest.fixture
def broken_registered():
    reset_plugins()
    info = ModelInfo(paper="-", needs_trimap=True, input_channels=6, config_class=BrokenConfig)
    plugin = types.SimpleNamespace(
        matting_register_models=hookimpl(lambda registry: registry.add("broken", Broken, info))
    )
    register_plugin(plugin, name="broken-plugin")
    yield info
    reset_plugins()


@pytest.mark.parametrize(
    "mode, phrase",
    [
        ("tensor", "forward returned a Tensor, not a dict"),
        ("no-alpha", "its output has no 'alpha' (keys: 'matte')"),
        ("shape", "'alpha' has shape (1, 1, 16, 32)"),
        ("channels", "'alpha' has shape (1, 3, 32, 32)"),
        ("range", "'alpha' spans [1.5, 1.5], outside [0, 1]"),
        ("nan", "'alpha' holds NaN or infinite values"),
        ("int", "'alpha' is a torch.int64 tensor, not a floating-point tensor"),
    ],
)
def test_contract_breaks_name_the_model_and_its_plugin(broken_registered, mode, phrase):
    model = create_model("broken", mode=mode)
    image = np.zeros((32, 32, 3), np.uint8)
    trimap = np.full((32, 32), 128, np.uint8)
    who = "model 'broken' (plugin 'broken-plugin') broke the model contract: "
    with pytest.raises(PluginError) as caught:
        predict(model, image, trimap, info=broken_registered, name="broken")
    assert who + phrase in str(caught.value)
    assert "(B, 1, H, W) = (1, 1, 32, 32)" in str(caught.value)
    # The same check on every mini-batch of patches: 9 tiles of 16 in batches of 4, each
    # window padded to 32.
    strategy = CropAndStitch(16, 4, batch_size=4)
    with pytest.raises(PluginError) as caught:
        predict(model, image, trimap, info=broken_registered, name="broken", strategy=strategy)
    assert who in str(caught.value)
    assert "(B, 1, H, W) = (4, 1, 32, 32)" in str(caught.value)


def test_contract_check_by_hand():
    good = torch.rand(2, 1, 8, 8)
    assert check_model_output({"alpha": good}, batch=2, size=(8, 8), model="m") is good
    near = torch.full((1, 1, 4, 4), 1.0005)  # half-precision rounding is tolerated
    check_model_output({"alpha": near}, batch=1, size=(4, 4), model="m")
    with pytest.raises(PluginError, match=r"m broke the model contract: 'alpha' has shape"):
        check_model_output({"alpha": good}, batch=1, size=(8, 8), model="m")
    with pytest.raises(PluginError, match="spans"):
        check_model_output({"alpha": good + 1}, batch=2, size=(8, 8), model="m")
    check_model_output({"alpha": good + 1}, batch=2, size=(8, 8), model="m", values=False)


def test_cli_contract_break_is_one_line_exit_2(broken_registered, tmp_path, capsys, shared_data):
    root = shared_data / "alphamatting_training_lowres"
    out = tmp_path / "alpha.png"
    argv = [
        "predict",
        "--model",
        "broken",
        "--set",
        "mode=range",
        str(root / "image" / "GT09.png"),
        str(root / "trimap" / "GT09.png"),
        "-o",
        str(out),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "model 'broken' (plugin 'broken-plugin') broke the model contract" in err
    assert not out.exists()
