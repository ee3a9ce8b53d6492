"""From a photo to a cutout with the bundled GCA model, and pictures of its attention."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import matting_data as md
from matting_core import load_model
from matting_core.cli import main
from matting_core.inference import Padding, prepare_inputs
from matting_gca.model import GCA_EXTRA_OUTPUTS, GCA_INFO


def test_cutout_of_a_real_photo_has_no_halo(shared_data: Path, tmp_path: Path):
    """The mmagic sample is a real composite whose foreground and background are known: the
    cutout's colours match the photo where it is opaque and leave the old background out at
    the edges, which the photo's own pixels do not."""
    root = shared_data / "mmagic_matting_sample"
    image_path, trimap_path = root / "image" / "GT05.jpg", root / "trimap" / "GT05.png"
    cutout_path = tmp_path / "cutout.png"
    argv = ["predict", "--model", "gca", str(image_path), str(trimap_path), "-o",
            str(tmp_path / "alpha.png"), "--cutout", str(cutout_path)]  # fmt: skip
    assert main(argv) == 0
    bgra = cv2.imread(str(cutout_path), cv2.IMREAD_UNCHANGED)
    rgba = bgra[:, :, [2, 1, 0, 3]].astype(np.float64) / 255.0
    colours, alpha = rgba[:, :, :3], rgba[:, :, 3]
    photo = md.read_image(image_path)
    trimap = md.read_trimap(trimap_path)
    known_fg = trimap == 255
    assert (alpha[known_fg] == 1.0).all()
    # the estimator smooths the colours across the edge of the known region: only its first
    # row of pixels may differ from the photo (by a few levels); every other one is the photo
    inner = known_fg & (cv2.distanceTransform(known_fg.astype(np.uint8), cv2.DIST_L2, 5) > 1)
    for level in (0.0, 1.0):  # over black, over white
        over = colours * alpha[..., None] + level * (1.0 - alpha[..., None])
        error = np.abs(over - photo)
        assert error[known_fg].mean() < 0.2 / 255
        assert error[inner].max() < 0.51 / 255  # 8-bit rounding
    truth = {
        "foreground": md.read_image(root / "fg" / "GT05.jpg"),
        "background": md.read_image(root / "bg" / "GT26r.jpg"),
        "alpha": md.read_alpha(root / "alpha" / "GT05.jpg"),
    }
    naive = md.background_leak(photo, **truth)
    ours = md.background_leak(colours, **truth)
    # measured: the photo's pixels hold 29 % of the old background, the cutout about 9 %
    assert naive > 0.25 and ours < 0.4 * naive, (ours, naive)


@pytest.fixture(scope="module")
def extras(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("extras")
    paths = md.sample_paths("GT19")
    argv = ["predict", "--model", "gca", str(paths["image"]), str(paths["trimap"]), "-o",
            str(out / "alpha.png"), "--save-extras", str(out / "extras")]  # fmt: skip
    assert main(argv) == 0
    folder = out / "extras" / "GT19"
    return folder, json.loads((folder / "extras.json").read_text())


def test_save_extras_draws_the_papers_offset_maps(extras):
    folder, summary = extras
    assert GCA_INFO.extra_outputs == GCA_EXTRA_OUTPUTS
    assert set(summary["outputs"]) == {"scale_1", "scale_2", "offset_1", "offset_2", "scale_map"}
    # 800 x 580 padded by the demo's 32 px margin to 864 x 672: grids at 1/16
    for name in ("offset_1", "offset_2", "scale_map"):
        record = summary["outputs"][name]
        assert record["cell_pixels"] == 16 and record["grid"] == [672 // 16, 864 // 16]
        picture = md.read_image(folder / record["file"])
        assert picture.shape == (580, 800, 3)
    # the offsets are absolute positions: the map is far from uniform
    offsets = md.read_image(folder / "offset_1.png")
    assert offsets.reshape(-1, 3).std(axis=0).mean() > 0.05


def test_saved_scales_are_the_models(extras):
    """The numbers written are those of the model's own forward on the padded photo."""
    _, summary = extras
    paths = md.sample_paths("GT19")
    loaded = load_model("gca")
    image, trimap = md.read_image(paths["image"]), md.read_trimap(paths["trimap"])
    image_t, trimap_t, _ = prepare_inputs(image, trimap, loaded.info)
    padding = Padding.for_size(580, 800, 32, 32)
    with torch.inference_mode():
        out = loaded.model(padding.apply(image_t, "reflect"), padding.apply(trimap_t, "reflect"))
    unknown, known = out["scale_1"][0].tolist()
    assert summary["outputs"]["scale_1"]["values"] == pytest.approx(
        {"unknown": unknown, "known": known}, rel=1e-6
    )
    # the map holds exactly the two weights of Eq. 5
    assert summary["outputs"]["scale_map"]["range"] == pytest.approx(
        sorted([unknown, known]), rel=1e-6
    )
    np.testing.assert_allclose(
        np.unique(out["scale_map"].numpy()), sorted([unknown, known]), rtol=1e-6
    )


def test_scale_map_marks_unknown_sources(extras):
    """Eq. 5: unknown patches get sqrt(|U| / |K|), known ones sqrt(|K| / |U|); GT19's unknown
    band is a small part of the photo, so its patches weigh less and are drawn darker."""
    folder, summary = extras
    unknown, known = (summary["outputs"]["scale_1"]["values"][k] for k in ("unknown", "known"))
    assert unknown < 1 < known
    assert unknown * known == pytest.approx(1.0, rel=1e-5)
    heat = md.read_image(folder / "scale_map.png").sum(axis=2)
    trimap = md.read_trimap(md.sample_paths("GT19")["trimap"])
    assert heat[trimap == 128].max() < 0.1  # the darkest colour of the map
    assert heat[trimap == 0].mean() > 2.0
