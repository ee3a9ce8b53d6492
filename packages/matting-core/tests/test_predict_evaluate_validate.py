"""``matting predict`` + ``matting evaluate`` and training's validation give the same scores;
trimap-free models end to end (predict without a trimap, evaluate over the whole image,
validation without trimaps); ``matting predict --tile``.

The models come from the example plugin (``example-tiny``, ``example-free``), reached through
its entry point; the photos are crops of the alphamatting.com training images.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from matting_core import create_model, get_model_info, predict, save_weights
from matting_core.cli import main
from matting_core.evaluation import METRIC_NAMES, alpha_to_uint8, score_alpha
from matting_core.model_loading import load_model
from matting_core.plugins import reset_plugins
from matting_core.strategy import CropAndStitch
from matting_core.testing import write_unknown_band_crops
from matting_core.training.validation import validate
from matting_data import (
    FolderDataset,
    encode_alpha,
    read_alpha,
    read_image,
)
from matting_data.torch_dataset import MattingDataset

CASES = ("GT01", "GT05", "GT13")


@pytest.fixture(autouse=True)
def entry_points(monkeypatch):
    monkeypatch.delenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def crops(request, tmp_path: Path) -> Path:
    """image/, alpha/, trimap/: 120 x 150 crops of real photos around their unknown band."""
    return write_unknown_band_crops(
        tmp_path / "crops", CASES, 120, 150, start=request.config.rootpath
    )


def _checkpoint(name: str, path: Path) -> Path:
    torch.manual_seed(3)
    model = create_model(name, width=6)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    return save_weights(model, path, model_name=name, config=model.config)


def _cli_scores(tmp: Path, model: str, ckpt: Path, crops: Path, trimaps: bool, extra=()) -> dict:
    preds = tmp / f"pred-{model}-{trimaps}-{len(extra)}"
    argv = [
        "predict",
        "--model",
        model,
        "--checkpoint",
        str(ckpt),
        "--images",
        str(crops / "image"),
    ]
    argv += ["--trimaps", str(crops / "trimap")] if trimaps else []
    assert main([*argv, "--out", str(preds), "--no-progress", *extra]) == 0
    table = tmp / f"{preds.name}.csv"
    argv = ["evaluate", "--pred", str(preds), "--gt", str(crops / "alpha"), "--csv", str(table)]
    argv += ["--trimap", str(crops / "trimap")] if trimaps else []
    assert main([*argv, "--workers", "1", "--no-progress"]) == 0
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == len(CASES)
    protocol = {row["protocol"] for row in rows}
    assert protocol == {"unknown-region" if trimaps else "whole-image"}
    return {m: float(np.mean([float(row[m]) for row in rows])) for m in METRIC_NAMES}


def _validation_scores(model: str, ckpt: Path, crops: Path, trimaps: bool, info=None) -> dict:
    loaded = load_model(model, ckpt)
    layout = FolderDataset(
        crops / "image", trimaps=crops / "trimap" if trimaps else None, alphas=crops / "alpha"
    )
    loader = DataLoader(MattingDataset(layout), batch_size=1)
    return validate(loaded.model, info or loaded.info, loader, torch.device("cpu"), name=model)


def _assert_same(validation: dict, cli: dict) -> None:
    assert validation["images"] == len(CASES)
    for metric in METRIC_NAMES:
        assert validation[metric] == pytest.approx(cli[metric], rel=1e-9, abs=1e-12), metric


def test_validation_scores_what_predict_and_evaluate_give(example_plugin, crops, tmp_path, capsys):
    ckpt = _checkpoint("example-tiny", tmp_path / "tiny.safetensors")
    cli = _cli_scores(tmp_path, "example-tiny", ckpt, crops, trimaps=True)
    assert "unknown region" in capsys.readouterr().out
    _assert_same(_validation_scores("example-tiny", ckpt, crops, trimaps=True), cli)
    # a model that declares crop-and-stitch is tiled in both; --tile asks the CLI for it
    tiled_cli = _cli_scores(
        tmp_path, "example-tiny", ckpt, crops, True, ("--tile", "64", "--overlap", "16")
    )
    info = dataclasses.replace(get_model_info("example-tiny"), inference=CropAndStitch(64, 16))
    tiled = _validation_scores("example-tiny", ckpt, crops, trimaps=True, info=info)
    _assert_same(tiled, tiled_cli)
    assert tiled["sad"] != pytest.approx(cli["sad"], rel=1e-6)  # the tiles did change something


def test_trimap_free_end_to_end_scores_the_whole_image(example_plugin, crops, tmp_path, capsys):
    ckpt = _checkpoint("example-free", tmp_path / "free.safetensors")
    cli = _cli_scores(tmp_path, "example-free", ckpt, crops, trimaps=False)
    out = capsys.readouterr().out
    assert "whole image: every pixel scored, no trimap" in out
    _assert_same(_validation_scores("example-free", ckpt, crops, trimaps=False), cli)

    # SAD over the whole image, by hand, for the first case
    loaded = load_model("example-free", ckpt)
    image = read_image(crops / "image" / "GT01.png")
    gt = np.rint(read_alpha(crops / "alpha" / "GT01.png") * 255)
    pred = alpha_to_uint8(predict(loaded.model, image, None, info=loaded.info))
    by_hand = np.abs(pred.astype(np.float64) - gt).sum() / 255 / 1000
    whole = score_alpha(pred, gt.astype(np.uint8), None)
    assert whole["sad"] == pytest.approx(by_hand, rel=1e-12)
    assert whole["mse"] == pytest.approx((((pred - gt) / 255) ** 2).mean(), rel=1e-9)

    # With trimaps a trimap-free model's result keeps the trimap's known pixels and is scored
    # over the unknown region.
    with_trimaps = _cli_scores(tmp_path, "example-free", ckpt, crops, trimaps=True)
    _assert_same(_validation_scores("example-free", ckpt, crops, trimaps=True), with_trimaps)


def test_alpha_to_uint8_is_what_predict_writes():
    alpha = np.random.default_rng(0).random((37, 41), dtype=np.float32)
    alpha[0, :4] = [0.5 / 255, 1.5 / 255, 2.5 / 255, 1.0]  # halves round to even
    import cv2

    written = cv2.imdecode(np.frombuffer(encode_alpha(alpha), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(alpha_to_uint8(alpha), written)


def test_predict_without_a_trimap(example_plugin, crops, tmp_path, capsys):
    free = _checkpoint("example-free", tmp_path / "free.safetensors")
    tiny = _checkpoint("example-tiny", tmp_path / "tiny.safetensors")
    image = crops / "image" / "GT05.png"
    out = tmp_path / "alpha.png"
    argv = ["predict", "--model", "example-free", "--checkpoint", str(free), str(image)]
    assert main([*argv, "-o", str(out)]) == 0
    loaded = load_model("example-free", free)
    expected = predict(loaded.model, read_image(image), None, info=loaded.info)
    np.testing.assert_array_equal(read_alpha(out), alpha_to_uint8(expected) / np.float32(255))
    # tiles work for trimap-free models too
    assert main([*argv, "-o", str(tmp_path / "tiled.png"), "--tile", "48"]) == 0
    assert np.abs(read_alpha(tmp_path / "tiled.png") - read_alpha(out)).mean() < 0.02

    capsys.readouterr()
    argv = ["predict", "--model", "example-tiny", "--checkpoint", str(tiny), str(image)]
    assert main([*argv, "-o", str(tmp_path / "no.png")]) == 2
    err = capsys.readouterr().err
    assert "model 'example-tiny' needs a trimap" in err and "trimap-free" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no.png").exists()


@pytest.mark.parametrize(
    "extra, phrase",
    [
        (["--tile", "64", "--overlap", "64"], "must be smaller than the tile"),
        (["--overlap", "16"], "need --tile N"),
        (["--tile-batch", "2"], "need --tile N"),
        (["--tile", "0"], "must be >= 1"),
    ],
)
def test_cli_tile_options_refused(extra, phrase, shared_data, tmp_path, capsys):
    root = shared_data / "alphamatting_training_lowres"
    argv = ["predict", "--model", "trimap-baseline", str(root / "image" / "GT01.png")]
    argv += [str(root / "trimap" / "GT01.png"), "-o", str(tmp_path / "a.png"), *extra]
    try:
        code = main(argv)
    except SystemExit as usage_error:  # argparse's own checks exit with 2 as well
        code = usage_error.code
    assert code == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "a.png").exists()


def test_cli_tile_equals_whole_for_the_trimap_baseline(shared_data, tmp_path):
    root = shared_data / "alphamatting_training_lowres"
    image, trimap = root / "image" / "GT02.png", root / "trimap" / "GT02.png"
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    argv = ["predict", "--model", "trimap-baseline", str(image), str(trimap), "--no-progress"]
    assert main([*argv, "-o", str(whole)]) == 0
    assert main([*argv, "-o", str(tiled), "--tile", "200", "--tile-batch", "3"]) == 0
    np.testing.assert_array_equal(read_alpha(tiled), read_alpha(whole))


def test_evaluate_without_trimaps_refuses_the_baseline_and_no_mask(crops, capsys):
    gt = crops / "alpha"
    for extra, phrase in (
        (["--baseline"], "--baseline needs --trimap"),
        (
            ["--pred", str(gt), "--no-mask"],
            "--no-mask needs --trimap",
        ),
    ):
        assert main(["evaluate", "--gt", str(gt), *extra]) == 2
        err = capsys.readouterr().err
        assert phrase in err and len(err.strip().splitlines()) == 1, err


def test_training_validates_a_trimap_free_model_without_trimaps(example_plugin, crops, tmp_path):
    """The engine's validation of a trimap-free model on data without trimaps, then the best
    weights through ``matting predict`` + ``matting evaluate``: the same whole-image scores."""
    import training_support as support

    from matting_core.training import config_from_dict, train
    from matting_core.training.logger import read_metrics

    support.ensure_plugin()
    cfg = config_from_dict(
        support.base_config(
            run={"steps": 4, "val_every": 4},
            model={"name": "example-free", "options": {"width": 6}},
            data={
                "val": "folder",
                "val_root": str(crops / "image"),
                "val_options": {"alphas": str(crops / "alpha")},
            },
        )
    )
    run_dir = tmp_path / "run"
    with support.single_thread():
        train(cfg, run_dir, progress=False)
    (row,) = read_metrics(run_dir, "val")
    assert row["images"] == len(CASES)
    best = run_dir / "checkpoints" / "best.safetensors"
    cli = _cli_scores(tmp_path, "example-free", best, crops, trimaps=False)
    for metric in METRIC_NAMES:
        assert row[metric] == pytest.approx(cli[metric], rel=1e-9), metric


def _rows(table: Path) -> dict[tuple[str, str], dict[str, float]]:
    return {
        (row["method"], row["image"]): {m: float(row[m]) for m in METRIC_NAMES}
        for row in csv.DictReader(table.open())
    }


def test_evaluate_model_scores_what_predict_then_evaluate_give(example_plugin, crops, tmp_path):
    ckpt = _checkpoint("example-tiny", tmp_path / "tiny.safetensors")
    two_steps = _cli_scores(tmp_path, "example-tiny", ckpt, crops, trimaps=True)
    table = tmp_path / "direct.csv"
    argv = ["evaluate", "--model", "example-tiny", "--checkpoint", str(ckpt), "--images",
            str(crops / "image"), "--gt", str(crops / "alpha"), "--trimap", str(crops / "trimap"),
            "--csv", str(table), "--workers", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    rows = _rows(table)
    assert {method for method, _ in rows} == {"example-tiny (tiny.safetensors)"}
    direct = {m: float(np.mean([r[m] for r in rows.values()])) for m in METRIC_NAMES}
    for metric in METRIC_NAMES:
        assert direct[metric] == pytest.approx(two_steps[metric], rel=1e-9, abs=1e-12), metric

    # a model without weights beside the --baseline rows it reproduces, and a --pred folder
    table = tmp_path / "baseline.csv"
    argv = ["evaluate", "--model", "trimap-baseline", "--baseline", "--images",
            str(crops / "image"), "--pred", str(crops / "alpha"), "--gt", str(crops / "alpha"),
            "--trimap", str(crops / "trimap"), "--csv", str(table), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    rows = _rows(table)
    for case in CASES:
        model, baseline = rows["trimap-baseline", case], rows["trimap-only baseline", case]
        # the model's 0.5 is written as an 8-bit PNG (128/255), the baseline's is exact
        assert model == pytest.approx(baseline, rel=0.01)
        assert rows["alpha", case]["sad"] == 0.0  # ground truth scored against itself
    assert sum(rows["trimap-baseline", case]["sad"] for case in CASES) > 1.0


def test_evaluate_model_without_trimaps_scores_whole_images(example_plugin, crops, tmp_path):
    ckpt = _checkpoint("example-free", tmp_path / "free.safetensors")
    two_steps = _cli_scores(tmp_path, "example-free", ckpt, crops, trimaps=False)
    table = tmp_path / "direct.csv"
    argv = ["evaluate", "--model", "example-free", "--checkpoint", str(ckpt), "--images",
            str(crops / "image"), "--gt", str(crops / "alpha"), "--csv", str(table),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    rows = list(csv.DictReader(table.open()))
    assert {row["protocol"] for row in rows} == {"whole-image"} and len(rows) == len(CASES)
    for metric in METRIC_NAMES:
        mean = float(np.mean([float(row[metric]) for row in rows]))
        assert mean == pytest.approx(two_steps[metric], rel=1e-9, abs=1e-12), metric


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--checkpoint", "{t}/w.safetensors", "--pred", "{c}/alpha"], "give --model NAME"),
        (["--model", "example-tiny", "--images", "{c}/image", "--no-trimap"], "needs a trimap"),
        (["--model", "example-tiny"], "give --images DIR"),
        (["--model", "no-such-model", "--images", "{c}/image"], "no-such-model"),
        (
            [
                "--model",
                "example-tiny",
                "--model",
                "trimap-baseline",
                "--images",
                "{c}/image",
                "--checkpoint",
                "{t}/w.safetensors",
            ],
            "belongs to one model",
        ),
        (["--model", "trimap-baseline", "--images", "{c}/missing"], "does not exist"),
        (
            ["--model", "trimap-baseline", "--images", "{c}/image", "--precision", "fp16"],
            "not supported",
        ),
        (["--model", "trimap-baseline", "--images", "{c}/image", "--refine", "nope"], "nope"),
    ],
)
def test_evaluate_model_refuses_bad_options(
    extra, message, example_plugin, crops, tmp_path, capsys, monkeypatch
):
    import matting_core.precision as precision

    monkeypatch.setattr(precision, "_cpu_has", lambda feature: False)
    extra = [e.format(t=tmp_path, c=crops) for e in extra]
    trimaps = [] if "--no-trimap" in extra else ["--trimap", str(crops / "trimap")]
    extra = [e for e in extra if e != "--no-trimap"]
    argv = ["evaluate", "--gt", str(crops / "alpha"), *trimaps, *extra]
    argv += ["--csv", str(tmp_path / "rows.csv"), "--no-progress"]
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "rows.csv").exists()
