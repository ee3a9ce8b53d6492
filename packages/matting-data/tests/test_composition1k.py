"""Tests of matting_data.composition1k.build_composition_test_set on a tiny generated set
(3 foregrounds x 2 backgrounds, backgrounds smaller than the foregrounds) and on the real
mmagic composite."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from matting_data.compositing import composite_over
from matting_data.composition1k import (
    CompositionReport,
    build_composition_test_set,
    composite_name,
)
from matting_data.errors import DataError, MissingFileError, SizeMismatchError
from matting_data.image_io import read_alpha, read_image, read_trimap
from matting_data.trimap_generation import trimap_from_alpha_fixed

FG_SIZES = {"bird": (24, 32), "cup": (30, 20), "net": (16, 16)}  # (H, W)
BG_SIZES = [(10, 12), (12, 9), (8, 8), (11, 14), (9, 10), (7, 13)]


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = array[:, :, ::-1] if array.ndim == 3 else array  # RGB -> BGR for OpenCV
    assert cv2.imwrite(str(path), np.ascontiguousarray(data))


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    """3 fg (PNG) with alphas, 6 JPEG/PNG backgrounds smaller than every fg."""
    rng = np.random.default_rng(0)
    root = tmp_path / "src"
    for name, (h, w) in FG_SIZES.items():
        _write(root / "fg" / f"{name}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        xx = np.mgrid[0:h, 0:w][1]
        alpha = np.clip((xx - w / 4) / (w / 2), 0, 1)  # bg | ramp | fg
        _write(root / "alpha" / f"{name}.png", np.rint(alpha * 255).astype(np.uint8))
    for i, (h, w) in enumerate(BG_SIZES):
        ext = ".jpg" if i % 2 else ".png"
        _write(root / "bg" / f"bg{i}{ext}", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return {"fg": root / "fg", "alpha": root / "alpha", "bg": root / "bg", "root": root}


def _build(tiny: dict[str, Path], out: Path, **kwargs) -> CompositionReport:
    kwargs.setdefault("bg_per_fg", 2)
    return build_composition_test_set(tiny["fg"], tiny["alpha"], tiny["bg"], out, **kwargs)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _levels(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 255).astype(np.uint8)


def test_names_counts_order_and_pixels(tiny, tmp_path):
    out = tmp_path / "out"
    report = _build(tiny, out)
    names = [f"{fg}_{k}.png" for fg in sorted(FG_SIZES) for k in range(2)]
    assert [p.name for p in report.pairs] == names
    assert report.total == 6 and report.written == 6 and report.skipped == 0
    assert report.unused_backgrounds == 0 and "generated" in report.trimaps
    for sub in ("merged", "alpha", "trimaps"):
        assert sorted(p.name for p in (out / sub).iterdir()) == sorted(names)
    # DIM order: sorted fg names, backgrounds consumed consecutively (sorted bg folder)
    bgs = sorted(tiny["bg"].iterdir(), key=lambda p: p.name)
    assert [p.bg for p in report.pairs] == bgs
    for pair in report.pairs:
        fg = _levels(read_image(pair.fg))
        alpha = _levels(read_alpha(tiny["alpha"] / pair.fg.name))
        merged = cv2.imread(str(out / "merged" / pair.name))[:, :, ::-1]
        expected = composite_over(fg, alpha, _levels(read_image(pair.bg)), rounding="floor")
        assert merged.shape == fg.shape  # background scaled up to cover the foreground
        np.testing.assert_array_equal(merged, expected)
        # alpha copied byte for byte; trimap generated deterministically
        assert (out / "alpha" / pair.name).read_bytes() == (
            tiny["alpha"] / pair.fg.name
        ).read_bytes()
        np.testing.assert_array_equal(
            read_trimap(out / "trimaps" / pair.name), trimap_from_alpha_fixed(alpha, 15)
        )


def test_build_twice_gives_identical_bytes(tiny, tmp_path):
    _build(tiny, tmp_path / "a")
    _build(tiny, tmp_path / "b")
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(first) == 18 and first == second
    assert not [n for n in first if Path(n).name.startswith(".")]  # no temporary files left


def test_resume_skips_existing_and_restores_missing(tiny, tmp_path):
    out = tmp_path / "out"
    _build(tiny, out)
    before = _files(out)
    (out / "merged" / "cup_1.png").unlink()
    (out / "trimaps" / "net_0.png").unlink()
    kept = out / "merged" / "bird_0.png"
    stamp = kept.stat().st_mtime_ns
    calls: list[tuple[int, int]] = []
    report = _build(
        tiny, out, resume=True, progress=lambda done, total: calls.append((done, total))
    )
    assert report.written == 2 and report.skipped == 4
    assert _files(out) == before
    assert kept.stat().st_mtime_ns == stamp  # not rewritten
    assert calls[-1] == (6, 6) and all(total == 6 for _, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # without resume everything is written again
    assert _build(tiny, out).written == 6


def test_tqdm_like_progress(tiny, tmp_path):
    class Bar:
        def __init__(self) -> None:
            self.total = None
            self.n = 0

        def update(self, n: int = 1) -> None:
            self.n += n

        def refresh(self) -> None:
            pass

    bar = Bar()
    _build(tiny, tmp_path / "out", progress=bar)
    assert bar.total == 6 and bar.n == 6


def test_background_names_file_sets_the_order(tiny, tmp_path):
    names = [*sorted(p.name for p in tiny["bg"].iterdir())[::-1], "  ", ""]
    names_file = tmp_path / "test_bg_names.txt"
    names_file.write_text("\n".join(names) + "\n", encoding="utf-8")
    report = _build(tiny, tmp_path / "out", bg_names=names_file)
    assert [p.bg.name for p in report.pairs] == [n for n in names if n.strip()]
    # a list works the same, extra backgrounds are reported as unused
    report = _build(tiny, tmp_path / "out2", bg_names=names[:6], bg_per_fg=1)
    assert report.total == 3 and report.unused_backgrounds == 3
    assert [p.name for p in report.pairs] == ["bird_0.png", "cup_0.png", "net_0.png"]


def test_foreground_names_file_sets_the_order(tiny, tmp_path):
    report = _build(tiny, tmp_path / "out", fg_names=["net.png", "bird.png"], bg_per_fg=3)
    assert [p.name for p in report.pairs][:4] == [
        "net_0.png",
        "net_1.png",
        "net_2.png",
        "bird_0.png",
    ]
    assert report.pairs[3].bg.name == sorted(p.name for p in tiny["bg"].iterdir())[3]


def test_official_trimaps_are_copied(tiny, tmp_path):
    trimaps = tmp_path / "trimaps"
    rng = np.random.default_rng(3)
    for name, (h, w) in FG_SIZES.items():
        for k in range(2):
            values = rng.choice(np.array([0, 128, 255], np.uint8), size=(h, w))
            _write(trimaps / f"{name}_{k}.png", values)
    report = _build(tiny, tmp_path / "out", trimap_dir=trimaps)
    assert "copied" in report.trimaps
    for pair in report.pairs:
        assert (tmp_path / "out" / "trimaps" / pair.name).read_bytes() == (
            trimaps / pair.name
        ).read_bytes()
    # one trimap per foreground is accepted too
    per_fg = tmp_path / "per_fg"
    for name, (h, w) in FG_SIZES.items():
        _write(per_fg / f"{name}.png", np.full((h, w), 128, np.uint8))
    _build(tiny, tmp_path / "out2", trimap_dir=per_fg)
    assert (tmp_path / "out2" / "trimaps" / "cup_1.png").read_bytes() == (
        per_fg / "cup.png"
    ).read_bytes()


def test_too_few_backgrounds(tiny, tmp_path):
    (sorted(tiny["bg"].iterdir())[-1]).unlink()
    out = tmp_path / "out"
    with pytest.raises(
        DataError, match=r"6 backgrounds are needed \(3 foregrounds x 2 each\), but 5 were found"
    ):
        _build(tiny, out)
    assert not out.exists()  # validated before writing anything


def test_foreground_alpha_size_mismatch_names_both_files(tiny, tmp_path):
    _write(tiny["alpha"] / "cup.png", np.zeros((29, 20), np.uint8))
    with pytest.raises(SizeMismatchError) as info:
        _build(tiny, tmp_path / "out")
    message = str(info.value)
    assert str(tiny["fg"] / "cup.png") in message and str(tiny["alpha"] / "cup.png") in message
    assert not (tmp_path / "out").exists()


def test_missing_inputs(tiny, tmp_path):
    out = tmp_path / "out"
    (tiny["alpha"] / "net.png").unlink()
    with pytest.raises(MissingFileError, match=r"net\.png"):
        _build(tiny, out)
    _write(tiny["alpha"] / "net.jpg", np.zeros((16, 16), np.uint8))  # same stem is accepted
    _build(tiny, out)
    assert (out / "alpha" / "net_0.png").is_file()
    with pytest.raises(MissingFileError, match=r"nope\.png"):
        _build(tiny, tmp_path / "o2", bg_names=["nope.png"] * 6)
    with pytest.raises(MissingFileError):
        _build(tiny, tmp_path / "o3", trimap_dir=tmp_path / "no_such_folder")
    with pytest.raises(MissingFileError):
        build_composition_test_set(tmp_path / "nofg", tiny["alpha"], tiny["bg"], tmp_path / "o4")
    with pytest.raises(ValueError):
        _build(tiny, tmp_path / "o5", bg_per_fg=0)
    with pytest.raises(DataError, match="no foreground"):
        build_composition_test_set(tmp_path, tiny["alpha"], tiny["bg"], tmp_path / "o6")


def test_trimap_folder_missing_some(tiny, tmp_path):
    trimaps = tmp_path / "trimaps"
    _write(trimaps / "bird.png", np.zeros((24, 32), np.uint8))
    with pytest.raises(MissingFileError, match=r"4 trimap\(s\) are missing"):
        _build(tiny, tmp_path / "out", trimap_dir=trimaps)
    _write(trimaps / "cup.png", np.zeros((24, 32), np.uint8))
    _write(trimaps / "net.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(SizeMismatchError, match=r"cup\.png"):
        _build(tiny, tmp_path / "out", trimap_dir=trimaps)


def test_composite_name_follows_dim():
    assert composite_name("1-1252426161dfXY.jpg", 0) == "1-1252426161dfXY_0.png"
    assert composite_name("cat.png", 19) == "cat_19.png"


def test_real_mmagic_composite_is_reproduced(tmp_path, shared_data: Path):
    """The mmagic fixture is GT05 composited over GT26r (same size: no scaling)."""
    sample = shared_data / "mmagic_matting_sample"
    if not sample.is_dir():
        pytest.fail(f"real test data missing: {sample}")
    report = build_composition_test_set(
        sample / "fg", sample / "alpha", sample / "bg", tmp_path / "out", bg_per_fg=1
    )
    assert [p.name for p in report.pairs] == ["GT05_0.png"]
    merged = read_image(tmp_path / "out" / "merged" / "GT05_0.png")
    reference = read_image(sample / "image" / "GT05.jpg")
    assert float(np.abs(merged - reference).mean()) < 1 / 255
    # the JPEG alpha is re-encoded losslessly as PNG
    np.testing.assert_array_equal(
        read_alpha(tmp_path / "out" / "alpha" / "GT05_0.png"),
        read_alpha(sample / "alpha" / "GT05.jpg"),
    )
