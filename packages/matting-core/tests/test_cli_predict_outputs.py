"""``matting predict --cutout / --composite / --background / --save-extras`` on real photos."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import matting_data as md
from matting_core import ExtraOutput, ModelInfo, hookimpl
from matting_core.cli import main
from matting_core.plugins import register_plugin, reset_plugins
from matting_core.visualise import flow_to_colour, heat_map


def _run(argv: list, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def mmagic(shared_data: Path) -> dict[str, Path]:
    root = shared_data / "mmagic_matting_sample"
    return {
        "image": root / "image" / "GT05.jpg",
        "trimap": root / "trimap" / "GT05.png",
        "alpha": root / "alpha" / "GT05.jpg",
    }


# --------------------------------------------------------------------------- cutouts


def test_cutout_and_composites_of_a_real_photo(mmagic, tmp_path, capsys):
    alpha_path, cutout = tmp_path / "alpha.png", tmp_path / "cutout.png"
    white, photo_bg = tmp_path / "white.png", tmp_path / "over-photo.jpg"
    base = ["predict", "--model", "trimap-baseline", mmagic["image"], mmagic["trimap"]]
    argv = [*base, "-o", alpha_path, "--cutout", cutout, "--composite", white]
    code, out, err = _run(
        [*argv, "--background", "white", "--foreground-method", "blur_fusion"], capsys
    )
    assert code == 0, err
    assert f"cutout written to {cutout}" in out and f"composite written to {white}" in out
    photo, alpha, trimap = (
        md.read_image(mmagic["image"]),
        md.read_alpha(alpha_path),
        md.read_trimap(mmagic["trimap"]),
    )
    rgba = _read_rgba(cutout)
    assert np.array_equal(rgba[:, :, 3], alpha)
    fg = trimap == 255
    for level in (0.0, 1.0):  # over black and over white: the photo where it is foreground
        over = rgba[:, :, :3] * rgba[:, :, 3:] + level * (1 - rgba[:, :, 3:])
        assert np.abs(over[fg] - photo[fg]).mean() < 0.5 / 255
    composite = md.read_image(white)
    assert (composite[trimap == 0] == 1.0).all()  # the background is the colour
    assert np.abs(composite[fg] - photo[fg]).mean() < 0.5 / 255
    # over a photo: the background photo, scaled to cover the image and centred
    background = md.sample_background()
    argv = [*base, "-o", alpha_path, "--composite", photo_bg, "--background", background]
    assert _run(argv, capsys)[0] == 0
    fitted = md.fit_background(md.read_image(background), *alpha.shape)
    over_photo = md.read_image(photo_bg)
    assert np.abs(over_photo[trimap == 0] - fitted[trimap == 0]).mean() < 3 / 255  # JPEG


def _read_rgba(path: Path) -> np.ndarray:
    import cv2

    bgra = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert bgra.shape[2] == 4
    return bgra[:, :, [2, 1, 0, 3]].astype(np.float32) / 255.0


def test_folder_cutouts_and_resume(tmp_path, capsys):
    samples = md.samples_dir()
    out, cutouts, composites = tmp_path / "a", tmp_path / "c", tmp_path / "comp"
    argv = [
        "predict", "--model", "trimap-baseline", "--images", samples / "image", "--trimaps",
        samples / "trimap", "--out", out, "--cutout", cutouts, "--composite", composites,
        "--background", "#00ff00", "--foreground-method", "blur_fusion", "--no-progress",
    ]  # fmt: skip
    code, stdout, err = _run(argv, capsys)
    assert code == 0, err
    names = [f"{n}.png" for n in md.list_samples()]
    for folder in (out, cutouts, composites):
        assert sorted(p.name for p in folder.iterdir()) == names
    # --resume redoes an image only when one of its outputs is missing
    (cutouts / "GT18.png").unlink()
    stamp = (out / "GT17.png").stat().st_mtime_ns
    code, stdout, err = _run([*argv, "--resume"], capsys)
    assert code == 0 and "3 output(s) already exist" in err and "1 alpha matte(s)" in stdout
    assert (cutouts / "GT18.png").exists() and (out / "GT17.png").stat().st_mtime_ns == stamp


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--background", "white"], "--background goes with --composite"),
        (["--composite", "{t}/c.png"], "--composite needs --background"),
        (["--composite", "{t}/c.png", "--background", "blurple"], "neither an image file nor"),
        (["--composite", "{t}/c.png", "--background", "{t}/none.jpg"], "does not exist"),
        (["--cutout", "{t}/c.jpg"], "must end in .png"),
        (["--cutout", "{t}/a.png"], "would both be written"),
        (["--cutout", "{in}/image.jpg"], "must end in .png"),
        (["--cutout", "{in}/trimap.png"], "would replace the input"),
        (["--composite", "{in}/image.jpg", "--background", "black"], "would replace the input"),
        (["--foreground-method", "blur_fusion"], "goes with --cutout"),
        (["--save-extras", "{t}/x"], "declares no outputs besides alpha"),
        (["--save-extras", "{in}/image.jpg"], "would replace the input"),
    ],
)
def test_bad_options_are_one_sentence_and_write_nothing(extra, message, mmagic, tmp_path, capsys):
    work = tmp_path / "in"
    work.mkdir()
    shutil.copy(mmagic["image"], work / "image.jpg")
    shutil.copy(mmagic["trimap"], work / "trimap.png")
    before = _digest(work)
    names = {"t": tmp_path, "in": work}
    argv = ["predict", "--model", "trimap-baseline", work / "image.jpg", work / "trimap.png"]
    argv += ["-o", tmp_path / "a.png", *(e.format(**names) for e in extra)]
    code, _, err = _run(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert _digest(work) == before
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "c.png").exists()


# --------------------------------------------------------------------------- extras


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
    pass


class ExtrasProbe(nn.Module):
    """alpha from the trimap; a flow, a map and scalars on an 8-pixel grid whose values say
    where each cell is: flow = (row - h // 2, column - w // 2), map = row."""

    def __init__(self, config: ProbeConfig) -> None:
        super().__init__()

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, _, height, width = image.shape
        rows, cols = height // 8, width // 8
        r = torch.arange(rows, dtype=torch.float32).view(rows, 1).expand(rows, cols)
        c = torch.arange(cols, dtype=torch.float32).view(1, cols).expand(rows, cols)
        flow = torch.stack([r - rows // 2, c - cols // 2]).expand(batch, 2, rows, cols)
        return {
            "alpha": trimap[:, 2:3] + 0.5 * trimap[:, 1:2],
            "where": flow,
            "row": r.expand(batch, 1, rows, cols),
            "weights": torch.tensor([[0.25, 4.0]]).expand(batch, 2),
        }


PROBE_INFO = ModelInfo(
    paper="test probe",
    needs_trimap=True,
    input_channels=6,
    config_class=ProbeConfig,
    pad_multiple=8,
    extra_outputs=(
        ExtraOutput("weights", "scalars", "two numbers", labels=("unknown", "known")),
        ExtraOutput("where", "flow", "cell position", annotate="weights"),
        ExtraOutput("row", "map", "cell row"),
    ),
)


@pytest.fixture
def probe():
    reset_plugins()
    plugin = types.SimpleNamespace(
        matting_register_models=hookimpl(
            lambda registry: registry.add("extras-probe", ExtrasProbe, PROBE_INFO)
        )
    )
    register_plugin(plugin, name="extras-probe")
    yield
    reset_plugins()


@pytest.mark.parametrize("margin", [0, 8])
def test_save_extras_draws_each_cell_where_it_lies(probe, mmagic, tmp_path, capsys, margin):
    extras = tmp_path / "extras"
    argv = ["predict", "--model", "extras-probe", mmagic["image"], mmagic["trimap"], "-o",
            tmp_path / "a.png", "--save-extras", extras, "--pad-margin", margin]  # fmt: skip
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    folder = extras / "GT05"
    summary = json.loads((folder / "extras.json").read_text())
    assert summary["outputs"]["weights"]["values"] == {"unknown": 0.25, "known": 4.0}
    assert (extras / "flow-colour-key.png").is_file()
    flow = md.read_image(folder / "where.png")
    assert flow.shape == (552, 800, 3)  # the photo's size, padding cropped away
    # 552 x 800 is a multiple of 8: 69 x 100 cells, plus one ring of cells for the margin
    rows, cols = (69 + 2 * margin // 8), (100 + 2 * margin // 8)
    record = summary["outputs"]["where"]
    assert record["grid"] == [rows, cols] and record["cell_pixels"] == 8
    shift = margin // 8  # the photo's first pixel lies in cell (shift, shift)
    visible_rows = np.arange(shift, shift + 69) - rows // 2
    visible_cols = np.arange(shift, shift + 100) - cols // 2
    longest = float(np.hypot(np.abs(visible_rows).max(), np.abs(visible_cols).max()))
    assert record["max_radius"] == pytest.approx(longest)
    for cell_row, cell_col in ((40, 10), (68, 99), (20, 55)):  # away from the corner's text
        expected = flow_to_colour(
            np.array([[[visible_rows[cell_row]]], [[visible_cols[cell_col]]]], float),
            max_radius=longest,
        )[0, 0]
        block = np.rint(
            flow[cell_row * 8 : cell_row * 8 + 8, cell_col * 8 : cell_col * 8 + 8] * 255
        )
        assert (block == expected).all(), (cell_row, cell_col)
    # the scalars are written in the top-left corner, in black
    assert (flow[:30, :300] == 0).all(axis=2).any()
    heat = np.rint(md.read_image(folder / "row.png") * 255)
    assert summary["outputs"]["row"]["range"] == [shift, shift + 68]
    assert (heat[:8] == heat_map(np.array([[0.0]]), 0.0, 1.0)[0, 0]).all()
    assert (heat[-8:] == heat_map(np.array([[1.0]]), 0.0, 1.0)[0, 0]).all()


def test_save_extras_refuses_a_model_that_hides_an_output(mmagic, tmp_path, capsys):
    class Forgetful(ExtrasProbe):
        def forward(self, image, trimap):
            outputs = super().forward(image, trimap)
            del outputs["row"]
            return outputs

    reset_plugins()
    plugin = types.SimpleNamespace(
        matting_register_models=hookimpl(
            lambda registry: registry.add("forgetful", Forgetful, PROBE_INFO)
        )
    )
    register_plugin(plugin, name="forgetful")
    try:
        argv = ["predict", "--model", "forgetful", mmagic["image"], mmagic["trimap"], "-o",
                tmp_path / "a.png", "--save-extras", tmp_path / "x"]  # fmt: skip
        code, _, err = _run(argv, capsys)
        assert code == 2 and "declares the extra output 'row' but its forward did not" in err
        assert not (tmp_path / "a.png").exists()  # the forward failed before anything was written
    finally:
        reset_plugins()
