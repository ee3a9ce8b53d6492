"""``matting predict --model hop`` end to end on a real photo, with every option it offers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from matting_core import load_model, predict
from matting_core.cli import main
from matting_data import read_alpha, read_image, read_trimap, write_image

CROP = (slice(120, 376), slice(250, 570))  # 256 x 320 around GT01's unknown region


@pytest.fixture(scope="module")
def photo(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real photo (alphamatting.com GT01, cropped) with its trimap, in a folder layout."""
    root = shared_data / "alphamatting_training_lowres"
    out = tmp_path_factory.mktemp("photo")
    (out / "image").mkdir()
    (out / "trimap").mkdir()
    image = read_image(root / "image" / "GT01.png")[CROP]
    trimap = read_trimap(root / "trimap" / "GT01.png")[CROP]
    assert np.count_nonzero(trimap == 128) > 4000
    write_image(out / "image" / "GT01.png", image)
    cv2.imwrite(str(out / "trimap" / "GT01.png"), trimap)
    return {"dir": out, "image": out / "image" / "GT01.png", "trimap": out / "trimap" / "GT01.png"}


def _predict_cli(photo, checkpoint, out: Path, *extra: str) -> np.ndarray:
    argv = [
        "predict",
        str(photo["image"]),
        str(photo["trimap"]),
        "-o",
        str(out),
        "--model",
        "hop",
        "--checkpoint",
        str(checkpoint),
        *extra,
    ]
    assert main(argv) == 0
    return read_alpha(out)


def test_predict_a_real_photo_matches_the_api_and_keeps_known_pixels(
    photo, official_checkpoint, tmp_path
):
    alpha = _predict_cli(photo, official_checkpoint, tmp_path / "alpha.png")
    trimap = read_trimap(photo["trimap"])
    assert alpha.shape == trimap.shape == (256, 320)
    assert np.all(alpha[trimap == 0] == 0) and np.all(alpha[trimap == 255] == 1)
    unknown = alpha[trimap == 128]
    assert unknown.std() > 0 and unknown.min() >= 0 and unknown.max() <= 1
    loaded = load_model("hop", official_checkpoint)
    expected = predict(loaded.model, read_image(photo["image"]), trimap, info=loaded.info)
    assert np.abs(alpha - expected).max() <= 0.5 / 255 + 1e-6  # 8-bit rounding only


def test_tta_dilation_rate_and_margin_options_change_the_result(
    photo, official_checkpoint, tmp_path
):
    plain = _predict_cli(photo, official_checkpoint, tmp_path / "plain.png")
    tta = _predict_cli(photo, official_checkpoint, tmp_path / "tta.png", "--tta")
    assert np.abs(tta - plain).max() > 2 / 255
    demo = _predict_cli(
        photo,
        official_checkpoint,
        tmp_path / "demo.png",
        "--set",
        "global_hop_rate=1",
        "--pad-margin",
        "32",
        "--dilate-unknown",
        "11",
    )
    trimap = read_trimap(photo["trimap"])
    grown = cv2.dilate(
        (trimap == 128).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
    ).astype(bool)
    assert grown.sum() > (trimap == 128).sum()
    # pixels that became unknown are predicted, no longer copied from the trimap
    newly = grown & (trimap != 128)
    assert np.count_nonzero((demo[newly] > 0) & (demo[newly] < 1)) > 0.5 * newly.sum()
    assert np.all(demo[~grown & (trimap == 255)] == 1)


def test_predict_a_folder_with_resume(photo, official_checkpoint, tmp_path, capsys):
    argv = [
        "predict",
        "--model",
        "hop",
        "--checkpoint",
        str(official_checkpoint),
        "--images",
        str(photo["dir"] / "image"),
        "--trimaps",
        str(photo["dir"] / "trimap"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(argv) == 0
    assert (tmp_path / "out" / "GT01.png").is_file()
    assert main([*argv, "--resume"]) == 0
    assert "already exist" in capsys.readouterr().err


def test_predict_without_weights_is_one_clear_error(photo, tmp_path, capsys):
    out = tmp_path / "alpha.png"
    code = main(
        ["predict", str(photo["image"]), str(photo["trimap"]), "-o", str(out), "--model", "hop"]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "no bundled weights" in err and len(err.strip().splitlines()) == 1


def test_predict_rejects_a_bad_rate(photo, official_checkpoint, tmp_path, capsys):
    out = tmp_path / "alpha.png"
    code = main(
        [
            "predict",
            str(photo["image"]),
            str(photo["trimap"]),
            "-o",
            str(out),
            "--model",
            "hop",
            "--checkpoint",
            str(official_checkpoint),
            "--set",
            "global_hop_rate=4",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists() and "global_hop_rate" in err
    assert len(err.strip().splitlines()) == 1


def test_save_extras_draws_the_global_offsets_and_the_propagation_maps(
    photo, official_checkpoint, tmp_path
):
    import json

    extras = tmp_path / "extras"
    _predict_cli(photo, official_checkpoint, tmp_path / "alpha.png", "--save-extras", str(extras))
    folder = extras / "GT01"
    summary = json.loads((folder / "extras.json").read_text())
    names = ["offset", "propagation_1", "propagation_2", "propagation_3"]
    assert list(summary["outputs"]) == names
    # 256 x 320, no padding (a multiple of 32, pad_margin 0): the global grid at 1/32
    # (rate 2), the local blocks at 1/8, 1/4 and 1/2
    cells = {"offset": 32, "propagation_1": 8, "propagation_2": 4, "propagation_3": 2}
    for name, cell in cells.items():
        record = summary["outputs"][name]
        assert record["kind"] == "flow" and record["cell_pixels"] == cell
        assert record["grid"] == [256 // cell, 320 // cell]
        picture = read_image(folder / f"{name}.png")
        assert picture.shape == (256, 320, 3)
        assert picture.std() > 0.01  # not a blank field
    # a local block's mean offset stays inside its 9 x 9 window
    for level in (1, 2, 3):
        assert 0 < summary["outputs"][f"propagation_{level}"]["max_radius"] <= 4 * 2**0.5
    assert (extras / "flow-colour-key.png").is_file()
