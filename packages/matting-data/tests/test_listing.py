"""list_images and match_by_stem."""

from __future__ import annotations

from pathlib import Path

import pytest

import matting_data as md


def test_list_images_real_folder(lowres: Path) -> None:
    files = md.list_images(lowres / "image")
    assert [f.name for f in files] == [f"GT{n:02d}.png" for n in range(1, 21)]


def test_list_images_filters_and_sorts(tmp_path: Path) -> None:
    for name in ["b.PNG", "a.jpeg", "c.JPG", "d.tiff", "e.webp", "f.bmp", "g.tif", "notes.txt",
                 ".hidden.png", "noext"]:  # fmt: skip
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    names = [p.name for p in md.list_images(tmp_path)]
    assert names == ["a.jpeg", "b.PNG", "c.JPG", "d.tiff", "e.webp", "f.bmp", "g.tif"]


def test_list_images_errors(tmp_path: Path) -> None:
    with pytest.raises(md.MissingFileError, match="nope does not exist"):
        md.list_images(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(md.DataError, match="is not a folder"):
        md.list_images(tmp_path / "file.png")


def test_match_real_folders(lowres: Path) -> None:
    result = md.match_by_stem(lowres / "image", lowres / "trimap", lowres / "alpha")
    assert result.missing == {}
    assert len(result.matched) == 20
    image, trimap, alpha = result.matched[0]
    assert (image.parent.name, trimap.parent.name, alpha.parent.name) == (
        "image",
        "trimap",
        "alpha",
    )
    assert image.stem == trimap.stem == alpha.stem == "GT01"


def test_match_reports_missing(tmp_path: Path) -> None:
    images, trimaps, alphas = (tmp_path / d for d in ("image", "trimap", "alpha"))
    for folder, stems in ((images, "abc"), (trimaps, "abd"), (alphas, "ab")):
        folder.mkdir()
        for s in stems:
            (folder / f"{s}.{'jpg' if folder is images else 'png'}").write_bytes(b"x")
    matched, missing = md.match_by_stem(images, str(trimaps), alphas)
    assert matched == [
        (images / "a.jpg", trimaps / "a.png", alphas / "a.png"),
        (images / "b.jpg", trimaps / "b.png", alphas / "b.png"),
    ]
    assert missing == {images: ["d"], trimaps: ["c"], alphas: ["c", "d"]}


def test_match_duplicate_stem(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"x")
    (tmp_path / "x.jpg").write_bytes(b"x")
    with pytest.raises(md.DataError, match="two images with stem 'x'"):
        md.match_by_stem(tmp_path)
