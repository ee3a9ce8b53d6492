"""The classical models through the ``matting`` command line, like any model."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matting_core import load_model, predict
from matting_core.cli import main
from matting_data import read_alpha, write_image


def _write(photo, folder: Path, name: str) -> tuple[Path, Path]:
    image = write_image(folder / "image" / f"{name}.png", photo.image)
    trimap = write_image(folder / "trimap" / f"{name}.png", photo.trimap)
    return image, trimap


def test_predict_one_photo(hair, tmp_path, capsys):
    image, trimap = _write(hair, tmp_path, "hair")
    out = tmp_path / "alpha.png"
    argv = [
        "predict",
        "--model",
        "closed-form",
        "--set",
        "epsilon=1e-6",
        str(image),
        str(trimap),
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    assert f"alpha matte written to {out}" in capsys.readouterr().out
    written = read_alpha(out)
    loaded = load_model("closed-form", epsilon=1e-6, progress=False)
    # the PNG holds 8 bits; the image went through 8 bits too (float32 -> PNG)
    expected = predict(
        loaded.model, np.rint(hair.image * 255).astype(np.uint8), hair.trimap, info=loaded.info
    )
    assert np.abs(written - expected).max() <= 0.5 / 255 + 1e-6
    assert written[hair.trimap == 128].std() > 0.1


def test_predict_with_cores_tiles(hair, tmp_path):
    """``matting predict --tile`` (core's crop-and-stitch) on closed-form: each patch is solved
    on its own, so the matte stays close to the whole solve, not equal to it."""
    image, trimap = _write(hair, tmp_path, "hair")
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    argv = ["predict", "--model", "closed-form", str(image), str(trimap), "--no-progress"]
    assert main([*argv, "-o", str(whole)]) == 0
    assert main([*argv, "-o", str(tiled), "--tile", "80", "--overlap", "24"]) == 0
    unknown = hair.trimap == 128
    difference = np.abs(read_alpha(tiled) - read_alpha(whole))[unknown]
    error = {p: np.abs(read_alpha(p) - hair.alpha)[unknown].mean() for p in (whole, tiled)}
    # measured: mean |difference| 0.0045; mean |error| 0.0283 tiled, 0.0263 whole
    assert 0 < difference.mean() < 0.05, difference.mean()
    assert error[tiled] < 1.25 * error[whole], error


def test_predict_a_folder_then_evaluate_beats_the_trimap_baseline(shared_data, tmp_path, capsys):
    """Closed-form on two whole real photos, predicted into a folder and scored by
    ``matting evaluate`` beside the trimap-only baseline: its SAD is far below."""
    root = shared_data / "alphamatting_training_lowres"
    data = tmp_path / "data"
    for folder in ("image", "trimap", "alpha"):
        (data / folder).mkdir(parents=True)
        for name in ("GT01", "GT18"):
            shutil.copy(root / folder / f"{name}.png", data / folder / f"{name}.png")
    pred = tmp_path / "closed-form"
    argv = [
        "predict",
        "--model",
        "closed-form",
        "--images",
        str(data / "image"),
        "--trimaps",
        str(data / "trimap"),
        "--out",
        str(pred),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "2 alpha matte(s) written" in capsys.readouterr().out

    scores = tmp_path / "scores.csv"
    argv = [
        "evaluate",
        "--pred",
        str(pred),
        "--baseline",
        "--gt",
        str(data / "alpha"),
        "--trimap",
        str(data / "trimap"),
        "--csv",
        str(scores),
        "--workers",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 0
    rows = list(csv.DictReader(scores.open()))
    sad = {(row["method"], row["image"]): float(row["sad"]) for row in rows}
    for name in ("GT01", "GT18"):
        assert sad[("closed-form", name)] < sad[("trimap-only baseline", name)] / 3, sad


@pytest.mark.parametrize(
    "argv_tail, message",
    [
        (["--model", "closed-form", "--set", "epsilon=0"], "epsilon must be > 0"),
        (["--model", "closed-form", "--set", "window=3"], "has no option 'window'"),
        (["--model", "knn", "--set", "kernel=gaussian"], "kernel"),
        (["--model", "closed-form", "--checkpoint", "{ckpt}"], "unexpected"),
    ],
)
def test_bad_options_are_one_sentence_exit_2(argv_tail, message, small_hair, tmp_path, capsys):
    image, trimap = _write(small_hair, tmp_path, "x")
    ckpt = tmp_path / "weights.safetensors"
    from safetensors.numpy import save_file

    save_file({"weight": np.zeros(3, np.float32)}, str(ckpt))
    out = tmp_path / "out.png"
    argv = [
        "predict",
        *(a.format(ckpt=ckpt) for a in argv_tail),
        str(image),
        str(trimap),
        "-o",
        str(out),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "model, trimap_value, size, message",
    [
        ("closed-form", 128, None, "every pixel unknown"),
        ("lkm", None, 30, "needs images of at least 41x41"),
    ],
)
def test_bad_input_is_one_sentence_exit_2(
    model, trimap_value, size, message, small_hair, tmp_path, capsys
):
    image, trimap = small_hair.image, small_hair.trimap
    if trimap_value is not None:
        trimap = np.full_like(trimap, trimap_value)
    if size is not None:
        image, trimap = image[:size], trimap[:size]
    image_path = write_image(tmp_path / "image.png", image)
    trimap_path = write_image(tmp_path / "trimap.png", trimap)
    out = tmp_path / "out.png"
    assert (
        main(["predict", "--model", model, str(image_path), str(trimap_path), "-o", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_convergence_warning_is_one_line(small_hair, tmp_path):
    # in a subprocess: pytest would capture the warning before the CLI formats it
    image, trimap = _write(small_hair, tmp_path, "x")
    out = tmp_path / "out.png"
    argv = [
        "predict",
        "--model",
        "closed-form",
        "--set",
        "max_iterations=2",
        str(image),
        str(trimap),
        "-o",
        str(out),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "matting_core.cli", *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "matting: warning: closed-form: conjugate gradient stopped at max_iterations=2"
    )
    assert out.exists()
