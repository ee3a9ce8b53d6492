"""``matting compose``: the Composition-1k-style test set from real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from matting_core.cli import main
from matting_data import composite_over, resize_background_to_cover


def _folders(shared_data: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    root = shared_data / "alphamatting_training_lowres"
    fg, alpha, bg = tmp_path / "fg", tmp_path / "alpha", tmp_path / "bg"
    for folder in (fg, alpha, bg):
        folder.mkdir()
    for case in ("GT01", "GT02"):
        image = cv2.imread(str(root / "image" / f"{case}.png"))
        cv2.imwrite(str(fg / f"{case}.png"), cv2.resize(image, (200, 124)))
        matte = cv2.imread(str(root / "alpha" / f"{case}.png"), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(alpha / f"{case}.png"), cv2.resize(matte, (200, 124)))
    for case in ("GT10", "GT11", "GT12", "GT13"):
        image = cv2.imread(str(root / "image" / f"{case}.png"))
        cv2.imwrite(str(bg / f"{case}.png"), cv2.resize(image, (120, 80)))  # smaller: scaled up
    return fg, alpha, bg


def test_compose_writes_named_composites_and_resumes(shared_data, tmp_path, capsys):
    fg, alpha, bg = _folders(shared_data, tmp_path)
    out = tmp_path / "out"
    argv = [
        "compose",
        "--fg",
        str(fg),
        "--alpha",
        str(alpha),
        "--bg",
        str(bg),
        "--out",
        str(out),
        "--bg-per-fg",
        "2",
        "--no-progress",
    ]
    assert main(argv) == 0
    merged = sorted(p.name for p in (out / "merged").iterdir())
    assert merged == ["GT01_0.png", "GT01_1.png", "GT02_0.png", "GT02_1.png"]
    # GT02's second composite uses the fourth background, scaled to cover the foreground.
    # As the DIM release does it, on 8-bit values with a truncating composite.
    f = cv2.imread(str(fg / "GT02.png"))[:, :, ::-1]
    a = cv2.imread(str(alpha / "GT02.png"), cv2.IMREAD_GRAYSCALE)
    b = resize_background_to_cover(cv2.imread(str(bg / "GT13.png"))[:, :, ::-1], *a.shape)
    expected = composite_over(f, a, b, rounding="floor")
    written = cv2.imread(str(out / "merged" / "GT02_1.png"))[:, :, ::-1]
    assert written.dtype == expected.dtype == np.uint8
    assert np.abs(written.astype(int) - expected.astype(int)).max() == 0
    stamp = (out / "merged" / "GT01_0.png").stat().st_mtime_ns
    assert main([*argv, "--resume"]) == 0
    assert (out / "merged" / "GT01_0.png").stat().st_mtime_ns == stamp


def test_compose_too_few_backgrounds_is_one_line(shared_data, tmp_path, capsys):
    fg, alpha, bg = _folders(shared_data, tmp_path)
    shutil.rmtree(bg)
    bg.mkdir()
    code = main(
        [
            "compose",
            "--fg",
            str(fg),
            "--alpha",
            str(alpha),
            "--bg",
            str(bg),
            "--out",
            str(tmp_path / "out"),
            "--bg-per-fg",
            "2",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
