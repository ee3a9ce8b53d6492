"""matting-data's layouts, registered by core's built-in plugin, built by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matting_core import create_dataset, list_datasets
from matting_core.errors import ConfigError, UnknownDatasetError
from matting_data import DataError

LAYOUTS = (
    "alphamatting",
    "composition-1k-test",
    "composition-1k-train",
    "distinctions-646-test",
    "distinctions-646-train",
    "folder",
    "foreground-background",
)


def test_every_layout_is_registered():
    assert set(LAYOUTS) <= set(list_datasets())


def test_folder_layout_reads_real_cases(shared_data: Path):
    root = shared_data / "alphamatting_training_lowres"
    dataset = create_dataset(
        "folder", root / "image", trimaps=root / "trimap", alphas=root / "alpha"
    )
    assert len(dataset) == 20
    sample = dataset[0]
    assert sample["image"].shape == (497, 800, 3)
    assert set(np.unique(sample["trimap"])) <= {0, 128, 255}


def test_foreground_background_layout_pairs_real_photos(shared_data: Path):
    root = shared_data / "alphamatting_training_lowres"
    dataset = create_dataset(
        "foreground-background",
        root / "image",
        alpha_dir=root / "alpha",
        bg_dir=root / "image",
        bg_per_fg=3,
        exclude_same_name=True,
    )
    assert len(dataset) == 20 * 3
    sample = dataset.load(4, np.random.default_rng(0))
    assert sample["fg"].shape[:2] == sample["alpha"].shape


def test_missing_folder_is_a_data_error(tmp_path: Path):
    with pytest.raises(DataError):
        create_dataset("composition-1k-test", tmp_path / "nowhere")


def test_unknown_option_and_unknown_name(tmp_path: Path):
    with pytest.raises(ConfigError, match="colour"):
        create_dataset("folder", tmp_path, colour="red")
    with pytest.raises(UnknownDatasetError, match="folder"):
        create_dataset("foldr", tmp_path)
