"""``matting evaluate --sheet / --worst / --images / --html``: where a model fails, on the
bundled real photos with the trimap-only baseline's mattes as the predictions."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import numpy as np
import pytest

import matting_data as md
from matting_core.cli import main
from matting_core.evaluation import score_alpha, trimap_baseline_alpha
from matting_core.visualise import error_heat_map


@pytest.fixture(scope="module")
def predictions(tmp_path_factory) -> Path:
    """A prediction folder: the trimap-only baseline of each sample (0.5 over the unknown
    region), whose SAD differs from image to image."""
    folder = tmp_path_factory.mktemp("pred")
    for name in md.list_samples():
        trimap = md.read_trimap(md.samples_dir() / "trimap" / f"{name}.png")
        md.write_alpha(folder / f"{name}.png", trimap_baseline_alpha(trimap))
    return folder


def _argv(predictions: Path, *extra) -> list[str]:
    samples = md.samples_dir()
    return [
        "evaluate", "--pred", str(predictions), "--gt", str(samples / "alpha"), "--trimap",
        str(samples / "trimap"), "--workers", "1", "--no-progress", *map(str, extra),
    ]  # fmt: skip


def _sad(name: str) -> float:
    samples = md.samples_dir()
    trimap = md.read_trimap(samples / "trimap" / f"{name}.png")
    gt = np.rint(md.read_alpha(samples / "alpha" / f"{name}.png") * 255).astype(np.uint8)
    pred = np.rint(trimap_baseline_alpha(trimap) * 255).astype(np.uint8)
    return score_alpha(pred, gt, trimap)["sad"]


def test_sheet_shows_the_worst_images_first(predictions, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    argv = _argv(
        predictions, "--sheet", sheet, "--worst", 2, "--images", md.samples_dir() / "image"
    )
    assert main(argv) == 0
    assert "contact sheet of the 2 worst image(s) written" in capsys.readouterr().out
    picture = np.rint(md.read_image(sheet) * 255).astype(np.uint8)
    # titles 24 + 2 rows of (label 24 + tile 200 + 2 x 4 gap)
    assert picture.shape[0] == 24 + 2 * (24 + 208)
    # the worst case by SAD is the first row; its error map is the last tile of the row
    worst = max(md.list_samples(), key=_sad)
    samples = md.samples_dir()
    trimap = md.read_trimap(samples / "trimap" / f"{worst}.png")
    truth = md.read_alpha(samples / "alpha" / f"{worst}.png")
    errors = error_heat_map(trimap_baseline_alpha(trimap), truth, trimap)
    height, width = trimap.shape
    tile_width = round(width * 200 / height)
    # columns are as wide as their widest tile: here the wider of the two cases shown
    shown = sorted(md.list_samples(), key=_sad, reverse=True)[:2]
    sizes = [md.read_trimap(samples / "trimap" / f"{n}.png").shape for n in shown]
    column = max(round(w * 200 / h) for h, w in sizes)
    row_top = 24 + 24 + 4  # column titles, the row's label, a gap
    x0 = 4 + 4 * (column + 4) + (column - tile_width) // 2  # fifth column, centred
    tile = picture[row_top : row_top + 200, x0 : x0 + tile_width]
    import cv2

    expected = cv2.resize(errors, (tile_width, 200), interpolation=cv2.INTER_AREA)
    assert np.abs(tile.astype(int) - expected.astype(int)).mean() < 1.0


def test_html_report_holds_the_tables_and_the_sheet(predictions, tmp_path, capsys):
    report = tmp_path / "report.html"
    assert main(_argv(predictions, "--html", report, "--baseline")) == 0
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    assert "trimap-only baseline" in page  # the baseline is in the tables, not in the sheet
    rows = re.findall(r"<tr><td>(GT\d\d)</td><td>([^<]+)</td><td>([0-9.]+)</td>", page)
    ours = [
        (name, float(sad))
        for name, method, sad in rows
        if html.unescape(method) == predictions.name
    ]
    assert [name for name, _ in ours] == sorted(md.list_samples(), key=_sad, reverse=True)
    for name, sad in ours:
        assert sad == pytest.approx(_sad(name), abs=0.005)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sheet", "{t}/sheet.jpg"], "must end in .png"),
        (["--html", "{t}/report.txt"], "must end in .html"),
        (["--worst", "3"], "--worst goes with --sheet"),
        (["--images", "{t}"], "--images goes with --model, --sheet or --html"),
        (["--sheet", "{pred}/GT17.png"], "would replace the input"),
        (["--sheet", "{t}/s.png", "--images", "{t}/missing"], "does not exist"),
        (["--sheet", "{t}/s.png", "--html", "{t}/s.png"], "must end in .html"),
    ],
)
def test_bad_options(extra, message, predictions, tmp_path, capsys):
    before = _digest(predictions)
    names = {"t": tmp_path, "pred": predictions}
    code = main(_argv(predictions, *(e.format(**names) for e in extra)))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[-1], err
    assert _digest(predictions) == before
    assert not (tmp_path / "sheet.jpg").exists() and not (tmp_path / "s.png").exists()


def test_sheet_needs_predictions(tmp_path, capsys):
    samples = md.samples_dir()
    argv = ["evaluate", "--baseline", "--gt", str(samples / "alpha"), "--trimap",
            str(samples / "trimap"), "--sheet", str(tmp_path / "s.png")]  # fmt: skip
    assert main(argv) == 2
    assert "give --pred DIR" in capsys.readouterr().err
