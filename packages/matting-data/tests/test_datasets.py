"""Tests of the dataset layouts in :mod:`matting_data.datasets` (tiny generated folders + real data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from matting_data.bundled import samples_dir
from matting_data.datasets import (
    AlphaMattingDataset,
    Composition1kTest,
    Composition1kTrain,
    Distinctions646Test,
    Distinctions646Train,
    FolderDataset,
    ForegroundBackgroundFolders,
    Layout,
)
from matting_data.errors import DataError, MissingFileError, SizeMismatchError

H, W = 12, 16  # default size of generated images


# --------------------------------------------------------------------------- helpers


def shared_data() -> Path:
    """The project's shared real data: ``$MATTING_SHARED_DATA``, else ``<ancestor>/../shared/data``."""
    env = os.environ.get("MATTING_SHARED_DATA")
    if env:
        if not Path(env).is_dir():
            pytest.fail(f"MATTING_SHARED_DATA={env} is not a folder.")
        return Path(env)
    for ancestor in Path(__file__).resolve().parents:
        candidate = ancestor.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    pytest.fail("shared real data not found: set MATTING_SHARED_DATA or add ../shared/data.")


def write_rgb(path: Path, h: int = H, w: int = W, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)
    return path


def write_alpha(path: Path, h: int = H, w: int = W, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)
    return path


def write_trimap(path: Path, h: int = H, w: int = W, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    levels = np.array([0, 128, 255], dtype=np.uint8)
    pixels = levels[np.random.default_rng(seed).integers(0, 3, (h, w))]
    assert cv2.imwrite(str(path), pixels)
    return path


def make_triplets(
    root: Path, names: list[str], roles: tuple[str, ...] = ("image", "trimap", "alpha")
) -> Path:
    """``root/image|trimap|alpha/<name>.png`` for each name; returns ``root``."""
    writers = {"image": write_rgb, "trimap": write_trimap, "alpha": write_alpha}
    for n, name in enumerate(names):
        for role in roles:
            writers[role](root / role / f"{name}.png", seed=n)
    return root


def make_fg_bg(
    root: Path, fgs: list[str], bgs: list[str], *, bg_size: tuple[int, int] = (20, 24)
) -> tuple[Path, Path, Path]:
    for n, name in enumerate(fgs):
        write_rgb(root / "fg" / f"{name}.png", seed=n)
        write_alpha(root / "alpha" / f"{name}.png", seed=n)
    for n, name in enumerate(bgs):
        write_rgb(root / "bg" / f"{name}.jpg", *bg_size, seed=100 + n)
    return root / "fg", root / "alpha", root / "bg"


def check_common(layout: Layout) -> None:
    """Everything every layout promises: len, names, getitem == load, describe, IndexError."""
    assert isinstance(layout, Layout)
    assert len(layout.names) == len(layout) > 0
    assert len(set(layout.names)) == len(layout)
    first = layout[0]
    assert first["name"] == layout.names[0]
    assert layout[-1]["name"] == layout.names[-1]
    with pytest.raises(IndexError):
        layout[len(layout)]
    with pytest.raises(TypeError):
        layout["0"]  # type: ignore[index]
    summary = layout.describe()
    assert type(layout).__name__ in summary and str(len(layout)) in summary


def check_matting_sample(sample: dict, keys: set[str]) -> None:
    assert set(sample) == keys
    h, w = sample["image"].shape[:2]
    assert sample["image"].shape == (h, w, 3) and sample["image"].dtype == np.float32
    if "alpha" in sample:
        assert sample["alpha"].shape == (h, w) and sample["alpha"].dtype == np.float32
        assert sample["alpha"].min() >= 0.0 and sample["alpha"].max() <= 1.0
    if "trimap" in sample:
        assert sample["trimap"].shape == (h, w) and sample["trimap"].dtype == np.uint8
        assert set(np.unique(sample["trimap"])) <= {0, 128, 255}


# --------------------------------------------------------------------------- FolderDataset


def test_folder_dataset_reads_matched_triplets(tmp_path: Path) -> None:
    root = make_triplets(tmp_path, ["b", "a", "c"])
    ds = FolderDataset(root / "image", root / "trimap", root / "alpha")
    check_common(ds)
    assert ds.names == ["a", "b", "c"] and ds.skipped == []
    check_matting_sample(ds[1], {"name", "image", "trimap", "alpha"})
    assert ds.paths(0) == {
        "image": root / "image" / "a.png",
        "trimap": root / "trimap" / "a.png",
        "alpha": root / "alpha" / "a.png",
    }
    expected = cv2.imread(str(root / "image" / "b.png"))[:, :, ::-1].astype(np.float32) / 255
    np.testing.assert_allclose(ds.load(1)["image"], expected, atol=1e-6)
    assert [s["name"] for s in ds] == ["a", "b", "c"]
    assert str(root / "trimap") in ds.describe()


def test_folder_dataset_images_only_and_mixed_extensions(tmp_path: Path) -> None:
    write_rgb(tmp_path / "image" / "x.jpg")
    write_alpha(tmp_path / "alpha" / "x.png")
    (tmp_path / "image" / "notes.txt").write_text("not an image")
    only = FolderDataset(tmp_path / "image")
    assert set(only[0]) == {"name", "image"}
    both = FolderDataset(tmp_path / "image", alphas=tmp_path / "alpha")
    check_matting_sample(both[0], {"name", "image", "alpha"})


def test_folder_dataset_missing_folder(tmp_path: Path) -> None:
    make_triplets(tmp_path, ["a"])
    with pytest.raises(MissingFileError, match=r"trimap folder .*nope does not exist"):
        FolderDataset(tmp_path / "image", tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="image folder"):
        FolderDataset(tmp_path / "missing")


def test_folder_dataset_empty_folder(tmp_path: Path) -> None:
    make_triplets(tmp_path, ["a"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"alpha folder .*empty holds no images"):
        FolderDataset(tmp_path / "image", alphas=tmp_path / "empty")


def test_folder_dataset_missing_partner_names_first_file(tmp_path: Path) -> None:
    root = make_triplets(tmp_path, ["a", "b", "c", "d"])
    (root / "alpha" / "d.png").unlink()
    (root / "alpha" / "b.png").unlink()
    with pytest.raises(MissingFileError) as info:
        FolderDataset(root / "image", root / "trimap", root / "alpha")
    message = str(info.value)
    assert str(root / "image" / "b.png") in message and "d.png" not in message
    assert str(root / "alpha") in message and "\n" not in message and message.endswith(".")


def test_folder_dataset_partner_without_image_is_an_error(tmp_path: Path) -> None:
    root = make_triplets(tmp_path, ["a"])
    write_trimap(root / "trimap" / "zz.png")
    with pytest.raises(DataError, match=r"trimap .*zz\.png has no matching image"):
        FolderDataset(root / "image", root / "trimap")


def test_folder_dataset_non_strict_records_skipped(tmp_path: Path) -> None:
    root = make_triplets(tmp_path, ["a", "b", "c"])
    (root / "alpha" / "b.png").unlink()
    write_trimap(root / "trimap" / "extra.png")
    ds = FolderDataset(root / "image", root / "trimap", root / "alpha", strict=False)
    assert ds.names == ["a", "c"]
    assert ds.skipped == ["b", "extra"]
    assert "skipped (2)" in ds.describe()


def test_folder_dataset_size_mismatch(tmp_path: Path) -> None:
    root = make_triplets(tmp_path, ["a", "b"])
    write_alpha(root / "alpha" / "a.png", h=H + 1)
    with pytest.raises(SizeMismatchError, match=r"alpha .*a\.png is 16x13 but image .*a\.png"):
        FolderDataset(root / "image", root / "trimap", root / "alpha")
    lazy = FolderDataset(root / "image", root / "trimap", root / "alpha", check_first=False)
    assert lazy[1]["name"] == "b"
    with pytest.raises(SizeMismatchError):
        lazy[0]


def test_folder_dataset_duplicate_stems(tmp_path: Path) -> None:
    write_rgb(tmp_path / "image" / "a.png")
    write_rgb(tmp_path / "image" / "a.jpg")
    with pytest.raises(DataError, match="same name 'a'"):
        FolderDataset(tmp_path / "image")


# --------------------------------------------------------------------------- alphamatting.com


def make_alphamatting(root: Path, resolution: str = "lowres") -> Path:
    for n, name in enumerate(["GT01", "GT02"]):
        write_rgb(root / f"input_training_{resolution}" / f"{name}.png", seed=n)
        write_alpha(root / f"gt_training_{resolution}" / f"{name}.png", seed=n)
        for trimap in ("Trimap1", "Trimap2"):
            write_trimap(root / f"trimap_training_{resolution}" / trimap / f"{name}.png", seed=n)
    for n, name in enumerate(["doll", "troll"]):
        write_rgb(root / f"input_{resolution}" / f"{name}.png", seed=n)
        for trimap in ("Trimap1", "Trimap2", "Trimap3"):
            write_trimap(root / f"trimap_{resolution}" / trimap / f"{name}.png", seed=n + 1)
    return root


@pytest.mark.parametrize("resolution", ["lowres", "highres"])
def test_alphamatting_official_layout(tmp_path: Path, resolution: str) -> None:
    root = make_alphamatting(tmp_path, resolution)
    train = AlphaMattingDataset(root, resolution=resolution, trimap="Trimap2")
    check_common(train)
    assert train.names == ["GT01", "GT02"]
    assert train.folders["trimap"] == root / f"trimap_training_{resolution}" / "Trimap2"
    check_matting_sample(train[0], {"name", "image", "trimap", "alpha"})
    test = AlphaMattingDataset(root, split="test", resolution=resolution, trimap="Trimap3")
    check_common(test)
    assert test.names == ["doll", "troll"]
    check_matting_sample(test[1], {"name", "image", "trimap"})
    bare = AlphaMattingDataset(root, split="test", resolution=resolution, trimap=None)
    assert set(bare[0]) == {"name", "image"}
    assert "test" in test.describe() and "Trimap3" in test.describe()


def test_alphamatting_bad_arguments_and_missing_folders(tmp_path: Path) -> None:
    root = make_alphamatting(tmp_path)
    with pytest.raises(ValueError, match="split must be one of"):
        AlphaMattingDataset(root, split="val")
    with pytest.raises(ValueError, match="resolution must be one of"):
        AlphaMattingDataset(root, resolution="midres")
    with pytest.raises(ValueError, match="trimap must be one of"):
        AlphaMattingDataset(root, trimap="Trimap4")
    with pytest.raises(MissingFileError, match=r"Trimap3 does not exist"):
        AlphaMattingDataset(root, trimap="Trimap3")  # the training set has no Trimap3
    with pytest.raises(MissingFileError, match="input_training_highres"):
        AlphaMattingDataset(root, resolution="highres")
    with pytest.raises(MissingFileError, match=r"alphamatting\.com folder"):
        AlphaMattingDataset(tmp_path / "absent")


def test_alphamatting_from_plain_folders(tmp_path: Path) -> None:
    root = make_triplets(tmp_path, ["GT01", "GT02"], roles=("image", "alpha", "trimap"))
    for n, name in enumerate(["GT01", "GT02"]):
        write_trimap(root / "trimap2" / f"{name}.png", seed=10 + n)
    one = AlphaMattingDataset.from_folders(root)
    two = AlphaMattingDataset.from_folders(root, trimap="Trimap2")
    check_common(two)
    assert one.folders["trimap"] == root / "trimap" and two.folders["trimap"] == root / "trimap2"
    assert not np.array_equal(one[0]["trimap"], two[0]["trimap"])
    with pytest.raises(MissingFileError, match="trimap3"):
        AlphaMattingDataset.from_folders(root, trimap="Trimap3")


def test_alphamatting_bundled_samples() -> None:
    ds = AlphaMattingDataset.from_folders(samples_dir(), trimap="Trimap2")
    assert ds.names == ["GT17", "GT18", "GT19", "GT20"]
    check_matting_sample(ds[0], {"name", "image", "trimap", "alpha"})


# --------------------------------------------------------------------------- foreground/background


def test_fg_bg_mapping_is_dim_style_and_deterministic(tmp_path: Path) -> None:
    fg, alpha, bg = make_fg_bg(tmp_path, ["f0", "f1", "f2"], [f"b{n:02d}" for n in range(10)])
    ds = ForegroundBackgroundFolders(fg, alpha, bg, bg_per_fg=3)
    check_common(ds)
    assert len(ds) == 9 and ds.bgs_per_fg == 3
    assert [ds.pair(i) for i in range(9)] == [(i // 3, i) for i in range(9)]
    assert ds.names[:4] == ["f0_0", "f0_1", "f0_2", "f1_0"]
    again = ForegroundBackgroundFolders(fg, alpha, bg, bg_per_fg=3, check_first=False)
    assert [again.pair(i) for i in range(9)] == [ds.pair(i) for i in range(9)]
    sample = ds[4]
    assert set(sample) == {"name", "fg", "alpha", "bg", "bg_name"}
    assert sample["name"] == "f1_1" and sample["bg_name"] == "b04"
    assert sample["fg"].shape == (H, W, 3) and sample["alpha"].shape == (H, W)
    assert sample["bg"].shape == (20, 24, 3)  # background at its own size, not composited
    np.testing.assert_array_equal(ds[4]["bg"], sample["bg"])


def test_fg_bg_limited_by_available_backgrounds(tmp_path: Path) -> None:
    fg, alpha, bg = make_fg_bg(tmp_path, ["f0", "f1", "f2"], ["b0", "b1"])
    ds = ForegroundBackgroundFolders(fg, alpha, bg, bg_per_fg=5)
    assert ds.bgs_per_fg == 2 and len(ds) == 6
    pairs = [ds.pair(i) for i in range(6)]
    for fg_index in range(3):
        bgs = [b for f, b in pairs if f == fg_index]
        assert len(set(bgs)) == 2  # a foreground never gets the same background twice
    assert "3 foregrounds x 2 backgrounds (of 2; asked 5)" in ds.describe()


def test_fg_bg_exclude_same_name(tmp_path: Path) -> None:
    names = ["p0", "p1", "p2", "p3"]
    fg, alpha, _ = make_fg_bg(tmp_path, names, [])
    for n, name in enumerate(names):
        write_rgb(tmp_path / "photos" / f"{name}.png", seed=50 + n)
    ds = ForegroundBackgroundFolders(fg, alpha, tmp_path / "photos", exclude_same_name=True)
    assert ds.bgs_per_fg == 3 and len(ds) == 12
    for index in range(len(ds)):
        fg_index, bg_index = ds.pair(index)
        assert ds.fg_names[fg_index] != ds.bg_names[bg_index]
    plain = ForegroundBackgroundFolders(fg, alpha, tmp_path / "photos")
    assert plain.bgs_per_fg == 4
    assert any(plain.fg_names[f] == plain.bg_names[b] for f, b in map(plain.pair, range(16)))


def test_fg_bg_nothing_left_after_exclusion(tmp_path: Path) -> None:
    fg, alpha, _ = make_fg_bg(tmp_path, ["only"], [])
    write_rgb(tmp_path / "bgs" / "only.png")
    with pytest.raises(DataError, match=r"no background is left for foreground .*only\.png"):
        ForegroundBackgroundFolders(fg, alpha, tmp_path / "bgs", exclude_same_name=True)


def test_fg_bg_second_foreground(tmp_path: Path) -> None:
    fg, alpha, bg = make_fg_bg(tmp_path, ["f0", "f1", "f2", "f3"], ["b0", "b1"])
    ds = ForegroundBackgroundFolders(fg, alpha, bg, bg_per_fg=2, second_fg=True)
    seen = set()
    for seed in range(20):
        sample = ds.load(2, np.random.default_rng(seed))
        assert sample["fg2_name"] != "f1" and sample["fg2"].shape == (H, W, 3)
        assert sample["alpha2"].shape == (H, W)
        again = ds.load(2, np.random.default_rng(seed))
        assert again["fg2_name"] == sample["fg2_name"]
        seen.add(sample["fg2_name"])
    assert seen == {"f0", "f2", "f3"}
    assert ds[2]["fg2_name"] == ds[2]["fg2_name"]  # rng=None: derived from the index
    single = ForegroundBackgroundFolders(fg, alpha, bg, second_fg=True)
    assert single.bgs_per_fg == 2


def test_fg_bg_errors(tmp_path: Path) -> None:
    fg, alpha, bg = make_fg_bg(tmp_path, ["f0", "f1", "f2"], ["b0"])
    (alpha / "f1.png").unlink()
    with pytest.raises(MissingFileError, match=r"alpha for foreground .*f1\.png is missing"):
        ForegroundBackgroundFolders(fg, alpha, bg)
    write_alpha(alpha / "f1.png")
    write_alpha(alpha / "f0.png", w=W + 2)
    with pytest.raises(SizeMismatchError, match=r"alpha .*f0\.png is 18x12 but foreground"):
        ForegroundBackgroundFolders(fg, alpha, bg)
    with pytest.raises(ValueError, match="bg_per_fg"):
        ForegroundBackgroundFolders(fg, alpha, bg, bg_per_fg=0)
    with pytest.raises(MissingFileError, match="background folder"):
        ForegroundBackgroundFolders(fg, alpha, tmp_path / "no_bg")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"background folder .* holds no images"):
        ForegroundBackgroundFolders(fg, alpha, tmp_path / "empty")
    with pytest.raises(ValueError, match="same number of folders"):
        ForegroundBackgroundFolders([fg, fg], alpha, bg)


# --------------------------------------------------------------------------- Composition-1k


def test_composition1k_train_plain_layout(tmp_path: Path) -> None:
    make_fg_bg(tmp_path, ["f0", "f1"], [f"b{n}" for n in range(5)])
    ds = Composition1kTrain(tmp_path, bg_per_fg=2)
    check_common(ds)
    assert len(ds) == 4 and [ds.pair(i) for i in range(4)] == [(0, 0), (0, 1), (1, 2), (1, 3)]
    sample = ds.load(3, np.random.default_rng(0))
    assert set(sample) == {"name", "fg", "alpha", "bg", "bg_name", "fg2", "alpha2", "fg2_name"}
    assert sample["fg2_name"] == "f0"
    assert f"root: {tmp_path}" in ds.describe()


def test_composition1k_train_dim_release_layout(tmp_path: Path) -> None:
    train = tmp_path / "Combined_Dataset" / "Training_set"
    for subset, names in (("Adobe-licensed images", ["a1", "a2"]), ("Other", ["o1"])):
        for n, name in enumerate(names):
            write_rgb(train / subset / "fg" / f"{name}.jpg", seed=n)
            write_alpha(train / subset / "alpha" / f"{name}.jpg", seed=n)
    for n in range(4):
        write_rgb(tmp_path / "coco" / "train2014" / f"COCO_{n}.jpg", seed=n)
    ds = Composition1kTrain(
        tmp_path / "Combined_Dataset", bg_dir=tmp_path / "coco" / "train2014", bg_per_fg=1
    )
    assert ds.fg_names == ["a1", "a2", "o1"] and len(ds) == 3
    assert [ds.bg_names[ds.pair(i)[1]] for i in range(3)] == ["COCO_0", "COCO_1", "COCO_2"]
    assert len(ds.fg_dirs) == 2
    with pytest.raises(MissingFileError, match=r"no foreground folder .*Other/fg"):
        Composition1kTrain(tmp_path / "coco")


def make_comp1k_test(root: Path, layout: str) -> Path:
    fgs = ["dog", "net"]
    for n, fg in enumerate(fgs):
        for k in range(3):
            name = f"{fg}_{k}"
            if layout == "gca":  # Test_set/merged, alpha_copy, trimaps: one file per composite
                write_rgb(root / "Test_set" / "merged" / f"{name}.png", seed=k)
                write_alpha(root / "Test_set" / "alpha_copy" / f"{name}.png", seed=n)
                write_trimap(root / "Test_set" / "trimaps" / f"{name}.png", seed=n)
            elif layout == "mmagic":  # alpha per foreground, trimaps per composite
                write_rgb(root / "merged" / f"{name}.png", seed=k)
                write_alpha(root / "Adobe-licensed images" / "alpha" / f"{fg}.png", seed=n)
                write_trimap(root / "Adobe-licensed images" / "trimaps" / f"{name}.png", seed=n)
            else:  # Test_set/comp/image, alpha, trimap
                write_rgb(root / "Test_set" / "comp" / "image" / f"{name}.png", seed=k)
                write_alpha(root / "Test_set" / "comp" / "alpha" / f"{name}.png", seed=n)
                write_trimap(root / "Test_set" / "comp" / "trimap" / f"{name}.png", seed=n)
    return root


@pytest.mark.parametrize("layout", ["gca", "mmagic", "comp"])
def test_composition1k_test_layouts(tmp_path: Path, layout: str) -> None:
    root = make_comp1k_test(tmp_path, layout)
    ds = Composition1kTest(root)
    check_common(ds)
    assert ds.names == ["dog_0", "dog_1", "dog_2", "net_0", "net_1", "net_2"]
    check_matting_sample(ds[4], {"name", "image", "alpha", "trimap"})
    if layout == "mmagic":
        assert ds.paths(4)["alpha"].name == "net.png"
        assert ds.paths(4)["trimap"].name == "net_1.png"
    np.testing.assert_array_equal(ds[3]["alpha"], ds[5]["alpha"])


def test_composition1k_test_errors(tmp_path: Path) -> None:
    root = make_comp1k_test(tmp_path, "gca")
    (root / "Test_set" / "alpha_copy" / "net_1.png").unlink()
    with pytest.raises(MissingFileError, match=r"alpha for image .*net_1\.png is missing"):
        Composition1kTest(root)
    with pytest.raises(MissingFileError, match=r"no Composition-1k test image folder .*merged"):
        Composition1kTest(root / "Test_set" / "trimaps")
    write_alpha(root / "Test_set" / "alpha_copy" / "net_1.png", h=H + 3)
    write_alpha(root / "Test_set" / "alpha_copy" / "dog_0.png", h=H + 3)
    with pytest.raises(SizeMismatchError, match=r"dog_0\.png is 16x15"):
        Composition1kTest(root)
    explicit = Composition1kTest(
        root, image_dir="Test_set/merged", alpha_dir="Test_set/alpha_copy",
        trimap_dir="Test_set/trimaps", check_first=False,
    )  # fmt: skip
    assert len(explicit) == 6


# --------------------------------------------------------------------------- Distinctions-646


def test_distinctions646_train_and_test(tmp_path: Path) -> None:
    root = tmp_path / "Distinctions-646"
    for n, name in enumerate(["f0", "f1"]):
        write_rgb(root / "Train" / "FG" / f"{name}.png", seed=n)
        write_alpha(root / "Train" / "GT" / f"{name}.png", seed=n)
        write_rgb(root / "Test" / "FG" / f"t{n}.png", seed=n)
        write_alpha(root / "Test" / "GT" / f"t{n}.png", seed=n)
    for n in range(3):
        write_rgb(tmp_path / "bg" / f"{n}.jpg", seed=n)
    train = Distinctions646Train(root, bg_dir=tmp_path / "bg", bg_per_fg=3)
    check_common(train)
    assert len(train) == 6 and "fg2" in train[0]
    with pytest.raises(MissingFileError, match=r"no Distinctions-646 test image folder"):
        Distinctions646Test(root)  # the release ships FG/GT only: composites must be made
    for n in range(2):
        for k in range(2):
            write_rgb(root / "Test" / "Image" / f"t{n}_{k}.png", seed=k)
            write_trimap(root / "Test" / "Trimap" / f"t{n}_{k}.png", seed=k)
    test = Distinctions646Test(root)
    check_common(test)
    assert test.folders["alpha"] == root / "Test" / "GT"
    assert test.paths(3)["alpha"].name == "t1.png"
    check_matting_sample(test[3], {"name", "image", "alpha", "trimap"})


# --------------------------------------------------------------------------- real data


def test_real_alphamatting_through_folder_dataset() -> None:
    root = shared_data() / "alphamatting_training_lowres"
    ds = FolderDataset(root / "image", root / "trimap", root / "alpha")
    assert ds.names == [f"GT{n:02d}" for n in range(1, 21)]
    for index in (0, 19):
        sample = ds[index]
        check_matting_sample(sample, {"name", "image", "trimap", "alpha"})
        assert max(sample["image"].shape[:2]) == 800
        known = sample["trimap"] != 128
        assert np.mean(np.abs(sample["alpha"][known] - sample["trimap"][known] / 255)) < 0.01
    wide = AlphaMattingDataset.from_folders(root, trimap="Trimap2")
    assert wide.names == ds.names and wide.folders["trimap"] == root / "trimap2"


def test_real_foregrounds_and_backgrounds() -> None:
    sample_dir = shared_data() / "mmagic_matting_sample"
    ds = ForegroundBackgroundFolders(sample_dir / "fg", sample_dir / "alpha", sample_dir / "bg")
    assert len(ds) == 1 and ds.names == ["GT05_0"]
    sample = ds[0]
    assert sample["bg_name"] == "GT26r" and sample["fg"].shape == (552, 800, 3)
    a = sample["alpha"][:, :, None]
    merged = a * sample["fg"] + (1 - a) * sample["bg"]  # mmagic's composite of these files
    image = cv2.imread(str(sample_dir / "image" / "GT05.jpg"))[:, :, ::-1] / 255.0
    assert np.mean(np.abs(merged - image)) < 2 / 255

    photos = shared_data() / "alphamatting_training_lowres"
    pool = ForegroundBackgroundFolders(
        photos / "image", photos / "alpha", photos / "image",
        bg_per_fg=4, exclude_same_name=True, second_fg=True,
    )  # fmt: skip
    assert len(pool) == 80
    pairs = [pool.pair(i) for i in range(len(pool))]
    assert all(pool.fg_names[f] != pool.bg_names[b] for f, b in pairs)
    item = pool.load(5, np.random.default_rng(1))
    assert item["name"] == "GT02_1" and item["fg2_name"] != "GT02"


# --------------------------------------------------------------------------- no torch


def test_importing_layouts_does_not_import_torch() -> None:
    code = "import sys, matting_data, matting_data.datasets; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
