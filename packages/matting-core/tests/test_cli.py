"""The ``matting`` command line, run in-process through ``main(argv)``."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_metrics
from matting_core.cli import COMMANDS, main
from matting_data import read_alpha, read_trimap

CASES = ("GT01", "GT02", "GT03")


@pytest.fixture
def dataset(tmp_path: Path, shared_data: Path) -> dict[str, Path]:
    """Three real cases copied to ``tmp_path``: alpha/, trimap/ folders."""
    folders = {}
    for kind in ("alpha", "trimap"):
        folder = tmp_path / kind
        folder.mkdir()
        for case in CASES:
            shutil.copy(shared_data / "alphamatting_training_lowres" / kind / f"{case}.png", folder)
        folders[kind] = folder
    return folders


def _blurred_predictions(alpha_dir: Path, out_dir: Path, ksize: int = 9) -> Path:
    out_dir.mkdir(exist_ok=True)
    for path in sorted(alpha_dir.iterdir()):
        alpha = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(out_dir / path.name), cv2.GaussianBlur(alpha, (ksize, ksize), 0))
    return out_dir


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "error" in lines[0]
    assert "Traceback" not in err


def test_version_names_every_package(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for dist in ("matting-core", "matting-data", "matting-metrics"):
        assert dist in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"matting {command}" in capsys.readouterr().out


def test_unknown_command_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    _assert_one_line_error(capsys.readouterr().err)


def test_list_shows_builtin_model_and_provider(capsys):
    code, out, _ = _run(["list", "models", "--json"], capsys)
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)["models"]}
    assert rows["trimap-baseline"]["trimap"] == "yes"
    assert rows["trimap-baseline"]["provider"] == "matting_core.default_plugin"


def test_list_pattern_filters(capsys):
    code, out, _ = _run(["list", "models", "--pattern", "trimap-*", "--json"], capsys)
    assert code == 0
    assert [row["name"] for row in json.loads(out)["models"]] == ["trimap-baseline"]


def test_plugins_lists_builtin(capsys):
    code, out, _ = _run(["plugins"], capsys)
    assert code == 0
    assert "matting_register_models" in out


def test_samples_path_holds_real_cases(capsys):
    code, out, _ = _run(["samples", "--path"], capsys)
    assert code == 0
    root = Path(out.strip())
    assert sorted(p.stem for p in (root / "alpha").glob("*.png")) == [
        "GT17",
        "GT18",
        "GT19",
        "GT20",
    ]


def test_evaluate_baseline_matches_metrics_by_hand(dataset, tmp_path, capsys):
    csv_path = tmp_path / "scores.csv"
    code, out, err = _run(
        [
            "evaluate",
            "--baseline",
            "--gt",
            str(dataset["alpha"]),
            "--trimap",
            str(dataset["trimap"]),
            "--csv",
            str(csv_path),
            "--workers",
            "1",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    assert "trimap-only baseline" in out
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["image"] for row in rows] == list(CASES)

    # Recompute GT02's baseline SAD directly: trimap -> {0, 0.5, 1}, scored over U.
    gt = np.rint(read_alpha(dataset["alpha"] / "GT02.png") * 255).astype(np.uint8)
    trimap = read_trimap(dataset["trimap"] / "GT02.png")
    pred = np.where(trimap == 255, 1.0, np.where(trimap == 128, 0.5, 0.0))
    unknown = trimap == 128
    expected_sad = np.abs(pred[unknown] * 255 - gt[unknown].astype(float)).sum() / 255 / 1000
    row = next(r for r in rows if r["image"] == "GT02")
    assert float(row["sad"]) == pytest.approx(expected_sad, rel=1e-9)
    assert float(row["mse"]) == pytest.approx(matting_metrics.mse(pred, gt, trimap), rel=1e-9)


def test_evaluate_perfect_prediction_scores_zero(dataset, tmp_path, capsys):
    csv_path = tmp_path / "scores.csv"
    code, _, err = _run(
        [
            "evaluate",
            "--pred",
            str(dataset["alpha"]),
            "--gt",
            str(dataset["alpha"]),
            "--trimap",
            str(dataset["trimap"]),
            "--csv",
            str(csv_path),
            "--no-mask",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            assert all(float(row[m]) == 0.0 for m in ("sad", "mse", "grad", "conn"))


def test_evaluate_parallel_equals_serial_and_beats_baseline(dataset, tmp_path, capsys):
    pred = _blurred_predictions(dataset["alpha"], tmp_path / "blurred")
    results = {}
    for workers in ("1", "2"):
        csv_path = tmp_path / f"scores-{workers}.csv"
        code, _, err = _run(
            [
                "evaluate",
                "--pred",
                str(pred),
                "--baseline",
                "--gt",
                str(dataset["alpha"]),
                "--trimap",
                str(dataset["trimap"]),
                "--csv",
                str(csv_path),
                "--workers",
                workers,
                "--no-progress",
            ],
            capsys,
        )
        assert code == 0, err
        with open(csv_path, newline="") as f:
            results[workers] = list(csv.DictReader(f))
    assert results["1"] == results["2"]
    by_method: dict[str, float] = {}
    for row in results["1"]:
        by_method[row["method"]] = by_method.get(row["method"], 0.0) + float(row["sad"])
    assert by_method["blurred"] < by_method["trimap-only baseline"]


def test_evaluate_reports_missing_files_and_goes_on(dataset, tmp_path, capsys):
    pred = _blurred_predictions(dataset["alpha"], tmp_path / "pred")
    (pred / "GT03.png").unlink()
    code, out, err = _run(
        [
            "evaluate",
            "--pred",
            str(pred),
            "--gt",
            str(dataset["alpha"]),
            "--trimap",
            str(dataset["trimap"]),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0
    assert "GT03" in err and "missing" in err
    assert "  2  " in out  # two images evaluated


def test_evaluate_corrupt_prediction_is_one_line_and_writes_no_csv(dataset, tmp_path, capsys):
    pred = _blurred_predictions(dataset["alpha"], tmp_path / "pred")
    (pred / "GT02.png").write_bytes(b"not a png at all")
    csv_path = tmp_path / "scores.csv"
    code, _, err = _run(
        [
            "evaluate",
            "--pred",
            str(pred),
            "--gt",
            str(dataset["alpha"]),
            "--trimap",
            str(dataset["trimap"]),
            "--csv",
            str(csv_path),
            "--workers",
            "2",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 2
    _assert_one_line_error(err)
    assert "GT02.png" in err
    assert not csv_path.exists()


def test_evaluate_size_mismatch_names_both_files(dataset, tmp_path, capsys):
    pred = tmp_path / "pred"
    pred.mkdir()
    for case in CASES:
        cv2.imwrite(str(pred / f"{case}.png"), np.zeros((20, 30), np.uint8))
    code, _, err = _run(
        [
            "evaluate",
            "--pred",
            str(pred),
            "--gt",
            str(dataset["alpha"]),
            "--trimap",
            str(dataset["trimap"]),
            "--workers",
            "1",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 2
    _assert_one_line_error(err)
    assert "30x20" in err and str(pred) in err


@pytest.mark.parametrize(
    "argv_tail, phrase",
    [
        (
            ["--gt", "/nonexistent/alpha", "--trimap", "/nonexistent/trimap", "--baseline"],
            "does not exist",
        ),
        (["--gt", "{alpha}", "--trimap", "{trimap}"], "nothing to evaluate"),
        (["--gt", "{alpha}", "--trimap", "{trimap}", "--baseline", "--workers", "0"], "--workers"),
    ],
)
def test_evaluate_bad_arguments(argv_tail, phrase, dataset, capsys):
    argv = ["evaluate", *(a.format(**{k: str(v) for k, v in dataset.items()}) for a in argv_tail)]
    code, _, err = _run(argv, capsys)
    assert code == 2
    _assert_one_line_error(err)
    assert phrase in err


def test_evaluate_bad_trimap_values(dataset, capsys):
    bad = np.full((497, 800), 60, np.uint8)
    cv2.imwrite(str(dataset["trimap"] / "GT01.png"), bad)
    code, _, err = _run(
        [
            "evaluate",
            "--baseline",
            "--gt",
            str(dataset["alpha"]),
            "--trimap",
            str(dataset["trimap"]),
            "--workers",
            "1",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 2
    _assert_one_line_error(err)
    assert "GT01.png" in err
