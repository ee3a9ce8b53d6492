"""The bundled real samples are installed, readable and consistent."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import matting_data as md


def test_samples_listed() -> None:
    assert md.list_samples() == ["GT17", "GT18", "GT19", "GT20"]
    root = md.samples_dir()
    assert (root / "PROVENANCE.md").is_file()
    for role in md.SAMPLE_ROLES:
        assert sorted(p.name for p in md.list_images(root / role)) == [
            f"{n}.png" for n in md.list_samples()
        ]


@pytest.mark.parametrize("name", ["GT17", "GT18", "GT19", "GT20"])
def test_sample_reads_and_sizes_match(name: str) -> None:
    paths = md.sample_paths(name)
    sample = md.read_sample(paths["image"], paths["trimap"], paths["alpha"])
    trimap2 = md.read_trimap(paths["trimap2"])
    h, w = sample["alpha"].shape
    assert max(h, w) == 800
    assert sample["image"].shape == (h, w, 3)
    assert sample["trimap"].shape == trimap2.shape == (h, w)
    for tri in (sample["trimap"], trimap2):
        assert set(np.unique(tri).tolist()) == {0, 128, 255}
    assert np.mean(trimap2 == 128) > np.mean(sample["trimap"] == 128)


def test_samples_identical_to_shared_data_and_provenance(lowres: Path) -> None:
    root = md.samples_dir()
    provenance = (root / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"\| `(\w+/GT\d\d\.png)` \|.*\| (\d+) \| `([0-9a-f]{16})` \|", provenance)
    assert len(rows) == 16
    for rel, size, sha in rows:
        data = (root / rel).read_bytes()
        assert data == (lowres / rel).read_bytes(), rel
        assert len(data) == int(size)
        assert hashlib.sha256(data).hexdigest()[:16] == sha, rel


def test_unknown_sample() -> None:
    with pytest.raises(md.MissingFileError, match="available: GT17, GT18, GT19, GT20"):
        md.sample_paths("GT99")


def test_bundled_background_is_a_real_photo():
    photo = md.read_image(md.sample_background())
    assert photo.shape == (872, 1000, 3)
    assert photo.std() > 0.05  # a photograph, not a flat fill
