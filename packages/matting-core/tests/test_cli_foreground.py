"""``matting foreground``: foreground colours of real photos, and composites."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from matting_core.cli import main
from matting_data import read_alpha, read_image, resize_background_to_cover


def test_foreground_recomposes_the_photo(shared_data: Path, tmp_path: Path, capsys):
    root = shared_data / "alphamatting_training_lowres"
    images, alphas = tmp_path / "images", tmp_path / "alphas"
    images.mkdir(), alphas.mkdir()
    shutil.copy(root / "image" / "GT07.png", images)
    shutil.copy(root / "alpha" / "GT07.png", alphas)
    background = root / "image" / "GT12.png"
    argv = [
        "foreground",
        "--images",
        str(images),
        "--alphas",
        str(alphas),
        "--out",
        str(tmp_path / "fg"),
        "--method",
        "blur_fusion",
        "--background",
        str(background),
        "--composites",
        str(tmp_path / "comp"),
        "--no-progress",
    ]
    assert main(argv) == 0
    fg = read_image(tmp_path / "fg" / "GT07.png")
    photo, alpha = read_image(images / "GT07.png"), read_alpha(alphas / "GT07.png")
    # Where the object is opaque, the foreground is the photo (up to 8-bit rounding).
    opaque = alpha > 0.99
    assert np.abs(fg[opaque] - photo[opaque]).mean() < 2 / 255
    composite = read_image(tmp_path / "comp" / "GT07.png")
    new_bg = resize_background_to_cover(read_image(background), *alpha.shape)
    clear = alpha < 0.01
    assert np.abs(composite[clear] - new_bg[clear]).mean() < 2 / 255

    before = (tmp_path / "fg" / "GT07.png").stat().st_mtime_ns
    assert main([*argv, "--resume"]) == 0
    assert (tmp_path / "fg" / "GT07.png").stat().st_mtime_ns == before


def test_foreground_errors(tmp_path: Path, capsys):
    assert (
        main(
            [
                "foreground",
                "--images",
                str(tmp_path / "x"),
                "--alphas",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert main(["foreground", "--images", str(tmp_path), "--alphas", str(tmp_path)]) == 2
    assert "nothing to write" in capsys.readouterr().err
