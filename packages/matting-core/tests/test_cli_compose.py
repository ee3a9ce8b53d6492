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


def _d646_argv(fg: Path, alpha: Path, bg: Path, out: Path, *extra: str) -> list[str]:
    return [
        "compose",
        "--layout",
        "distinctions-646",
        "--fg",
        str(fg),
        "--alpha",
        str(alpha),
        "--bg",
        str(bg),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_compose_distinctions_646_names_by_running_index(shared_data, tmp_path, capsys):
    """The official script's rules (as DIM's) with its names: <fg up to '_'>_<n>, n over the
    whole set, foregrounds and backgrounds in the lists' order."""
    fg, alpha, bg = _folders(shared_data, tmp_path)
    for folder in (fg, alpha):  # D646's test foregrounds are test_0.png ... test_49.png
        (folder / "GT01.png").rename(folder / "test_0.png")
        (folder / "GT02.png").rename(folder / "test_1.png")
    fg_names = tmp_path / "fg_test.txt"
    fg_names.write_text("test_1.png\ntest_0.png\n")
    bg_names = tmp_path / "bg_test.txt"
    bg_names.write_text("GT13.png\nGT12.png\nGT11.png\nGT10.png\n")
    out = tmp_path / "out"
    argv = _d646_argv(fg, alpha, bg, out, "--fg-names", str(fg_names), "--bg-names", str(bg_names))
    assert main([*argv, "--bg-per-fg", "2"]) == 0
    merged = sorted(p.name for p in (out / "merged").iterdir())
    assert merged == ["test_0.png", "test_1.png", "test_2.png", "test_3.png"]
    assert sorted(p.name for p in (out / "alpha").iterdir()) == merged
    # composite 3 is the second listed foreground (test_0) over the fourth listed background
    f = cv2.imread(str(fg / "test_0.png"))[:, :, ::-1]
    a = cv2.imread(str(alpha / "test_0.png"), cv2.IMREAD_GRAYSCALE)
    b = resize_background_to_cover(cv2.imread(str(bg / "GT10.png"))[:, :, ::-1], *a.shape)
    expected = composite_over(f, a, b, rounding="floor")
    written = cv2.imread(str(out / "merged" / "test_3.png"))[:, :, ::-1]
    assert np.array_equal(written, expected)
    assert np.array_equal(cv2.imread(str(out / "alpha" / "test_3.png"), cv2.IMREAD_GRAYSCALE), a)


def test_compose_distinctions_646_with_the_official_lists(shared_data, tmp_path, capsys):
    """The published test lists (50 foregrounds, 1,000 VOC names) give test_0 ... test_999."""
    lists = shared_data / "distinctions-646-lists" / "test"
    fg, alpha, bg = (tmp_path / n for n in ("fg", "alpha", "bg"))
    for folder in (fg, alpha, bg):
        folder.mkdir()
    rng = np.random.default_rng(0)
    for name in (lists / "fg_test.txt").read_text().split():
        cv2.imwrite(str(fg / name), rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
        cv2.imwrite(str(alpha / name), rng.integers(0, 256, (6, 5), dtype=np.uint8))
    bg_list = (lists / "bg_test.txt").read_text().split()
    assert len(bg_list) == 1000
    for name in bg_list:
        cv2.imwrite(str(bg / name), rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    out = tmp_path / "out"
    argv = _d646_argv(fg, alpha, bg, out, "--fg-names", str(lists / "fg_test.txt"))
    assert main([*argv, "--bg-names", str(lists / "bg_test.txt")]) == 0
    merged = {p.name for p in (out / "merged").iterdir()}
    assert merged == {f"test_{n}.png" for n in range(1000)}
    assert "1000 composites (50 foregrounds x 20 backgrounds)" in capsys.readouterr().out
