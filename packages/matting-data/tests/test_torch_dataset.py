"""Tests of :mod:`matting_data.torch_dataset`: tensor conversion and worker-independent randomness."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from matting_data.bundled import samples_dir
from matting_data.datasets import AlphaMattingDataset, ForegroundBackgroundFolders
from matting_data.errors import TrimapValueError
from matting_data.torch_dataset import MattingDataset, sample_rng, sample_to_tensors

CROP = 64


def random_crop(sample: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Crop every image array to CROP x CROP; arrays of the same size share one offset."""
    offsets: dict[tuple[int, int], tuple[int, int]] = {}
    out: dict[str, Any] = {}
    for key, value in sample.items():
        if isinstance(value, np.ndarray) and value.ndim >= 2:
            h, w = value.shape[:2]
            if (h, w) not in offsets:
                offsets[h, w] = (int(rng.integers(h - CROP + 1)), int(rng.integers(w - CROP + 1)))
            top, left = offsets[h, w]
            value = value[top : top + CROP, left : left + CROP]
        out[key] = value
    return out


def record_draw(sample: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Store the transform's first random draw, to see which generator it got."""
    return {**random_crop(sample, rng), "draw": float(rng.random())}


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels)


@pytest.fixture
def fg_bg_layout(tmp_path: Path) -> ForegroundBackgroundFolders:
    """5 foregrounds (80x96) with alphas, 7 backgrounds (70x90); 3 backgrounds per foreground."""
    rng = np.random.default_rng(0)
    for n in range(5):
        write_png(tmp_path / "fg" / f"f{n}.png", rng.integers(0, 256, (80, 96, 3), np.uint8))
        write_png(tmp_path / "alpha" / f"f{n}.png", rng.integers(0, 256, (80, 96), np.uint8))
    for n in range(7):
        write_png(tmp_path / "bg" / f"b{n}.jpg", rng.integers(0, 256, (70, 90, 3), np.uint8))
    return ForegroundBackgroundFolders(
        tmp_path / "fg", tmp_path / "alpha", tmp_path / "bg", bg_per_fg=3, second_fg=True
    )


def collect(dataset: MattingDataset, **loader_args: Any) -> list[dict[str, Any]]:
    loader = DataLoader(dataset, batch_size=4, **loader_args)
    return list(loader)


def assert_same_batches(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for batch_a, batch_b in zip(a, b, strict=True):
        assert batch_a.keys() == batch_b.keys()
        for key, value in batch_a.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, batch_b[key]), key
            else:
                assert value == batch_b[key], key


# --------------------------------------------------------------------------- conversion


def test_sample_to_tensors_layouts_and_dtypes() -> None:
    rng = np.random.default_rng(0)
    trimap = np.array([[0, 128, 255], [255, 0, 128]], dtype=np.uint8)
    sample = {
        "name": "x",
        "image": rng.random((2, 3, 3), dtype=np.float32),
        "alpha": rng.random((2, 3), dtype=np.float32),
        "trimap": trimap,
        "fg": rng.random((2, 3, 3))[:, ::-1],  # float64, negative strides
        "mask": np.ones((2, 3), dtype=np.uint8),
        "weight": 0.5,
        "box": np.arange(4),
    }
    out = sample_to_tensors(sample)
    assert out["name"] == "x" and out["weight"] == 0.5
    assert out["image"].shape == (3, 2, 3) and out["image"].dtype == torch.float32
    assert torch.equal(out["image"], torch.from_numpy(sample["image"]).permute(2, 0, 1))
    assert out["alpha"].shape == (1, 2, 3) and out["alpha"].dtype == torch.float32
    assert out["fg"].shape == (3, 2, 3) and out["fg"].dtype == torch.float32
    assert out["mask"].shape == (1, 2, 3) and out["mask"].dtype == torch.uint8
    assert torch.equal(out["box"], torch.arange(4))
    expected = torch.tensor([[[0.0, 0.5, 1.0], [1.0, 0.0, 0.5]]])
    assert out["trimap"].dtype == torch.float32 and torch.equal(out["trimap"], expected)
    onehot = out["trimap_onehot"]
    assert onehot.shape == (3, 2, 3) and torch.equal(onehot.sum(0), torch.ones(2, 3))
    assert torch.equal(onehot.argmax(0), torch.tensor([[0, 1, 2], [2, 0, 1]]))  # bg, unknown, fg


def test_sample_to_tensors_refuses_bad_trimaps() -> None:
    with pytest.raises(TrimapValueError, match=r"trimap of sample 'y' has 1 pixels outside"):
        sample_to_tensors({"name": "y", "trimap": np.array([[0, 64]], dtype=np.uint8)})
    with pytest.raises(TrimapValueError, match="dtype float32"):
        sample_to_tensors({"trimap": np.zeros((2, 2), dtype=np.float32)})


# --------------------------------------------------------------------------- dataset


def test_items_use_their_own_generator(fg_bg_layout: ForegroundBackgroundFolders) -> None:
    dataset = MattingDataset(fg_bg_layout, record_draw, seed=7)
    dataset.set_epoch(3)
    item = dataset[4]
    rng = sample_rng(7, 3, 4)
    expected_sample = random_crop(fg_bg_layout.load(4, rng), rng)
    assert item["draw"] == float(rng.random())
    assert item["fg2_name"] == expected_sample["fg2_name"]
    assert torch.equal(item["fg"], torch.from_numpy(expected_sample["fg"]).permute(2, 0, 1))
    assert item["fg"].shape == (3, CROP, CROP) and item["bg"].shape == (3, CROP, CROP)
    assert item["alpha"].shape == (1, CROP, CROP) and item["alpha2"].shape == (1, CROP, CROP)
    assert dataset[-1]["name"] == fg_bg_layout.names[-1]
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_same_seed_and_epoch_same_items_other_epoch_or_seed_different(
    fg_bg_layout: ForegroundBackgroundFolders,
) -> None:
    a = MattingDataset(fg_bg_layout, record_draw, seed=1)
    b = MattingDataset(fg_bg_layout, record_draw, seed=1)
    assert [a[i]["draw"] for i in range(len(a))] == [b[i]["draw"] for i in range(len(b))]
    first = [a[i]["draw"] for i in range(len(a))]
    a.set_epoch(1)
    assert a.epoch == 1
    assert all(x != y for x, y in zip(first, (a[i]["draw"] for i in range(len(a))), strict=True))
    other_seed = MattingDataset(fg_bg_layout, record_draw, seed=2)
    assert other_seed[0]["draw"] != b[0]["draw"]


def test_dataloader_workers_do_not_change_the_batches(
    fg_bg_layout: ForegroundBackgroundFolders,
) -> None:
    dataset = MattingDataset(fg_bg_layout, random_crop, seed=5)
    dataset.set_epoch(2)
    single = collect(dataset, num_workers=0)
    assert len(single) == 4 and single[0]["fg"].shape == (4, 3, CROP, CROP)
    assert single[0]["alpha"].shape == (4, 1, CROP, CROP)
    assert_same_batches(single, collect(dataset, num_workers=2))

    # Shuffled order (another process order too): every item is still the same.
    by_name = {name: batch["fg"][n] for batch in single for n, name in enumerate(batch["name"])}
    shuffled = collect(
        dataset, num_workers=2, shuffle=True, generator=torch.Generator().manual_seed(9)
    )
    assert [n for batch in shuffled for n in batch["name"]] != fg_bg_layout.names
    for batch in shuffled:
        for n, name in enumerate(batch["name"]):
            assert torch.equal(batch["fg"][n], by_name[name])

    dataset.set_epoch(3)
    later = collect(dataset, num_workers=2)
    assert not torch.equal(later[0]["fg"], single[0]["fg"])  # new epoch, new crops
    assert [b["fg2_name"] for b in later] != [b["fg2_name"] for b in single]


def test_dataloader_on_real_samples_with_trimaps() -> None:
    layout = AlphaMattingDataset.from_folders(samples_dir())
    dataset = MattingDataset(layout, random_crop, seed=0)
    loader_0 = list(DataLoader(dataset, batch_size=2, num_workers=0))
    loader_2 = list(DataLoader(dataset, batch_size=2, num_workers=2))
    assert_same_batches(loader_0, loader_2)
    batch = loader_0[0]
    assert batch["image"].shape == (2, 3, CROP, CROP)
    assert batch["trimap"].shape == (2, 1, CROP, CROP)
    assert batch["trimap_onehot"].shape == (2, 3, CROP, CROP)
    assert set(batch["trimap"].unique().tolist()) <= {0.0, 0.5, 1.0}
    assert batch["name"] == ["GT17", "GT18"]


def test_layout_without_load_and_no_transform() -> None:
    class Plain:
        @property
        def names(self) -> list[str]:
            return ["only"]

        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: int) -> dict[str, Any]:
            return {"name": "only", "alpha": np.zeros((4, 5), dtype=np.float32)}

    item = MattingDataset(Plain())[0]  # type: ignore[arg-type]
    assert item["alpha"].shape == (1, 4, 5) and item["name"] == "only"


def test_arguments_and_pickling(fg_bg_layout: ForegroundBackgroundFolders) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        MattingDataset(fg_bg_layout, seed=-1)
    dataset = MattingDataset(fg_bg_layout, random_crop, seed=3)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer"):
        dataset.set_epoch(1.5)  # type: ignore[arg-type]
    copy = pickle.loads(pickle.dumps(MattingDataset(fg_bg_layout, seed=3)))
    assert len(copy) == len(dataset) == 15
    assert torch.equal(copy[2]["bg"], MattingDataset(fg_bg_layout, seed=3)[2]["bg"])
    assert "seed=3" in repr(dataset)
