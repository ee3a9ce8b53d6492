"""``matting trimap``: a mask, an alpha or scribbles to a trimap, on the bundled real photos."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import matting_data as md
from matting_core.cli import main


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def gt17() -> dict[str, Path]:
    return md.sample_paths("GT17")


def test_mask_route_is_the_shared_module(gt17, tmp_path, capsys):
    out = tmp_path / "t.png"
    code, stdout, _ = _run(["trimap", gt17["masks"], "-o", out, "--band", 10], capsys)
    assert code == 0 and "% unknown" in stdout
    expected = md.trimap_from_mask(md.read_mask(gt17["masks"]), band=10)
    assert np.array_equal(md.read_trimap(out), expected)
    code, _, _ = _run(["trimap", gt17["masks"], "-o", out, "--band-fg", 2, "--band-bg", 8], capsys)
    assert code == 0
    expected = md.trimap_from_mask(md.read_mask(gt17["masks"]), band_fg=2, band_bg=8)
    assert np.array_equal(md.read_trimap(out), expected)
    # the default band
    assert _run(["trimap", gt17["masks"], "-o", out], capsys)[0] == 0
    default = md.trimap_from_mask(md.read_mask(gt17["masks"]), band=md.DEFAULT_BAND)
    assert np.array_equal(md.read_trimap(out), default)


def test_soft_mask_confidence(tmp_path, capsys):
    soft = np.tile(np.linspace(0.0, 1.0, 101, dtype=np.float32), (8, 1))
    md.write_alpha(tmp_path / "soft.png", soft)
    out = tmp_path / "t.png"
    argv = ["trimap", tmp_path / "soft.png", "-o", out, "--band", 0, "--confidence", 0.8]
    assert _run(argv, capsys)[0] == 0
    trimap = md.read_trimap(out)
    assert trimap[0, 20] == 0 and trimap[0, 50] == 128 and trimap[0, 80] == 255


def test_from_alpha_is_seeded(gt17, tmp_path, capsys):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        argv = ["trimap", gt17["alpha"], "--from-alpha", "--seed", seed, "-o", out]
        assert _run(argv, capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    alpha = md.read_alpha(gt17["alpha"])
    expected = md.trimap_from_alpha(alpha, rng=np.random.default_rng(3), mode="dilate")
    assert np.array_equal(md.read_trimap(a), expected)
    expected4 = md.trimap_from_alpha(alpha, rng=np.random.default_rng(4), mode="dilate")
    assert np.array_equal(md.read_trimap(c), expected4)
    # every pixel with a fractional alpha is unknown; known pixels agree with the alpha
    trimap = md.read_trimap(a)
    assert (trimap[(alpha > 0) & (alpha < 1)] == 128).all()
    assert (alpha[trimap == 255] == 1).all() and (alpha[trimap == 0] == 0).all()


def test_from_alpha_fixed_band_and_gca_recipe(gt17, tmp_path, capsys):
    alpha = md.read_alpha(gt17["alpha"])
    out = tmp_path / "t.png"
    assert _run(["trimap", gt17["alpha"], "--from-alpha", "--band", 15, "-o", out], capsys)[0] == 0
    expected = md.trimap_from_alpha(
        alpha, rng=np.random.default_rng(0), kernel_range=(15, 15), mode="dilate"
    )
    assert np.array_equal(md.read_trimap(out), expected)
    argv = ["trimap", gt17["alpha"], "--from-alpha", "--recipe", "erode-dilate", "--band", 15]
    assert _run([*argv, "-o", out], capsys)[0] == 0
    assert np.array_equal(md.read_trimap(out), md.trimap_from_alpha_fixed(alpha, 15))
    argv = ["trimap", gt17["alpha"], "--from-alpha", "--kernel-range", "3,9", "--seed", 1]
    assert _run([*argv, "-o", out], capsys)[0] == 0
    expected = md.trimap_from_alpha(
        alpha, rng=np.random.default_rng(1), kernel_range=(3, 9), mode="dilate"
    )
    assert np.array_equal(md.read_trimap(out), expected)


def test_scribbles_route_on_a_real_photo(tmp_path, capsys):
    paths = md.sample_paths("GT19")
    out = tmp_path / "t.png"
    argv = ["trimap", paths["image"], "--scribbles", paths["scribbles"], "-o", out]
    code, stdout, _ = _run(argv, capsys)
    assert code == 0, stdout
    trimap = md.read_trimap(out)
    expected = md.trimap_from_scribbles(
        md.read_image(paths["image"]), md.read_alpha(paths["scribbles"])
    )
    assert np.array_equal(trimap, expected)
    alpha = md.read_alpha(paths["alpha"])
    assert np.mean((trimap == 255) & (alpha < 1)) + np.mean((trimap == 0) & (alpha > 0)) < 5e-4
    # geodesic, downscaled options reach the function
    argv += ["--method", "geodesic", "--band", 30]
    assert _run(argv, capsys)[0] == 0
    assert np.mean(md.read_trimap(out) == 128) > np.mean(trimap == 128)


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{mask}", "-o", "{mask}"], "would replace the input"),
        (["{image}", "--scribbles", "{scribbles}", "-o", "{scribbles}"], "would replace"),
        (["{mask}", "-o", "{tmp}/t.jpg"], "must be a .png"),
        (["{mask}", "-o", "{tmp}/folder.png"], "is a folder"),
        (["{tmp}/missing.png", "-o", "{tmp}/t.png"], "does not exist"),
        (["{image}", "--scribbles", "{tmp}/missing.png", "-o", "{tmp}/t.png"], "does not exist"),
        (["{image}", "--scribbles", "{small}", "-o", "{tmp}/t.png"], "scribbles"),
        (["{image}", "--scribbles", "{gray}", "-o", "{tmp}/t.png"], "no foreground stroke"),
        (["{black}", "-o", "{tmp}/t.png"], "no foreground"),
        (["{image}", "-o", "{tmp}/t.png"], "grayscale"),
        (["{mask}", "--from-alpha", "--scribbles", "{scribbles}", "-o", "{tmp}/t.png"], "one"),
        (["{mask}", "--seed", "3", "-o", "{tmp}/t.png"], "--seed goes with --from-alpha"),
        (["{mask}", "--method", "geodesic", "-o", "{tmp}/t.png"], "goes with --scribbles"),
        (["{mask}", "--from-alpha", "--band-fg", "3", "-o", "{tmp}/t.png"], "not to --from"),
        (["{mask}", "--from-alpha", "--band", "3", "--kernel-range", "2,5", "-o", "{tmp}/t.png"],
         "not both"),
    ],
)  # fmt: skip
def test_bad_input_is_one_sentence_and_writes_nothing(argv, message, tmp_path, capsys):
    paths = md.sample_paths("GT19")
    work = tmp_path / "in"
    work.mkdir()
    files = {}
    for role in ("image", "masks", "scribbles"):
        files[role] = work / f"{role}.png"
        shutil.copy(paths[role], files[role])
    md.write_alpha(work / "small.png", np.full((10, 10), 0.5, np.float32))
    md.write_alpha(work / "gray.png", np.full(md.read_alpha(paths["alpha"]).shape, 0.5))
    md.write_alpha(work / "black.png", np.zeros((20, 20), np.float32))
    names = {
        "mask": files["masks"],
        "image": files["image"],
        "scribbles": files["scribbles"],
        "small": work / "small.png",
        "gray": work / "gray.png",
        "black": work / "black.png",
        "tmp": tmp_path,
    }
    (tmp_path / "folder.png").mkdir()
    before = _digest(*sorted(work.iterdir()))
    code, _, err = _run(["trimap", *(a.format(**names) for a in argv)], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert _digest(*sorted(work.iterdir())) == before
    assert not (tmp_path / "t.png").exists()


@pytest.mark.parametrize(
    "option, value", [("--band", "-1"), ("--band-fg", "x"), ("--confidence", "0.3")]
)
def test_bad_option_values_are_usage_errors(option, value, gt17, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["trimap", str(gt17["masks"]), option, value, "-o", str(tmp_path / "t.png")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and option in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.png").exists()
