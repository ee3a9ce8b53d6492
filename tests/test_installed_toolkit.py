"""Cross-package checks on the installed toolkit (the nox `integration` session).

These run the real `matting` console script in subprocesses, as a user would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _matting(
    *args: str, cwd: Path | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    exe = shutil.which("matting")
    assert exe, "the `matting` console script is not installed"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


#: Every plugin package: core imports none of them, and none imports another.
PLUGINS = (
    "matting_gca",
    "matting_hop",
    "matting_hdmatt",
    "matting_gan",
    "matting_hatt",
    "matting_classical",
    "matting_serve",
)


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("matting_metrics", ("matting_core", "matting_data", "torch")),
        ("matting_data", ("matting_core", "matting_metrics", "torch")),
        # core finds plugins only by entry point, and never imports matting-nn
        ("matting_core", (*PLUGINS, "matting_nn")),
        ("matting_nn", ("matting_core", "matting_data", "matting_metrics")),
        *((plugin, tuple(p for p in PLUGINS if p != plugin)) for plugin in PLUGINS),
    ],
)
def test_dependencies_point_one_way(module, forbidden):
    code = (
        f"import sys, {module}; "
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({list(forbidden)!r})); "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"


def test_every_core_module_imports_without_matting_nn():
    # core never imports the network blocks: no import of matting_nn in its source (lazy
    # ones in functions included), and with matting_nn made unimportable every module of
    # core still imports
    import re

    import matting_core

    source = Path(matting_core.__file__).parent
    importing = [
        str(path.relative_to(source))
        for path in sorted(source.rglob("*.py"))
        if re.search(r"^\s*(from|import)\s+matting_nn\b", path.read_text("utf-8"), re.M)
    ]
    assert importing == [], f"core imports matting_nn in {importing}"
    code = (
        "import sys, importlib, pkgutil; sys.modules['matting_nn'] = None; "
        "import matting_core; "
        "names = [m.name for m in pkgutil.walk_packages(matting_core.__path__, 'matting_core.') "
        "if not m.name.endswith('__main__')]; "
        "[importlib.import_module(n) for n in names]; print(len(names))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 20


def test_list_finds_example_plugin_through_its_entry_point():
    result = _matting("list", "--json")
    assert result.returncode == 0, result.stderr
    models = {row["name"]: row for row in json.loads(result.stdout)["models"]}
    assert models["example-tiny"]["provider"] == "example"
    assert "trimap-baseline" in models


def test_list_finds_the_paper_plugins_through_their_entry_points():
    result = _matting("list", "models", "--json")
    assert result.returncode == 0, result.stderr
    providers = {row["name"]: row["provider"] for row in json.loads(result.stdout)["models"]}
    assert providers["gca"] == providers["gca-small"] == "gca"
    assert providers["hop"] == providers["hop-all-data"] == "hop"
    classical = ("closed-form", "knn", "lkm", "random-walk", "lbdm")
    assert {providers[name] for name in classical} == {"classical"}


def test_disable_autoload_keeps_only_builtins():
    import os

    env = {**os.environ, "MATTING_DISABLE_PLUGIN_AUTOLOAD": "1"}
    exe = shutil.which("matting")
    result = subprocess.run(
        [exe, "list", "models", "--json"], capture_output=True, text=True, env=env
    )
    names = [row["name"] for row in json.loads(result.stdout)["models"]]
    assert "example-tiny" not in names and "trimap-baseline" in names


def test_bundled_samples_come_from_the_installed_wheel():
    result = _matting("samples", "--path")
    root = Path(result.stdout.strip())
    assert "site-packages" in root.parts
    assert len(list((root / "image").glob("*.png"))) == 4


def test_evaluate_baseline_on_bundled_samples(tmp_path):
    root = Path(_matting("samples", "--path").stdout.strip())
    csv_path = tmp_path / "rows.csv"
    result = _matting(
        "evaluate",
        "--baseline",
        "--gt",
        str(root / "alpha"),
        "--trimap",
        str(root / "trimap"),
        "--csv",
        str(csv_path),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    assert "trimap-only baseline" in result.stdout
    assert len(csv_path.read_text().splitlines()) == 1 + 4


def test_bad_input_is_one_sentence_exit_2(tmp_path):
    result = _matting(
        "evaluate", "--baseline", "--gt", str(tmp_path / "nope"), "--trimap", str(tmp_path)
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_serve_comes_from_its_plugin_through_the_command_hook():
    plugins = _matting("plugins")
    assert plugins.returncode == 0, plugins.stderr
    assert "matting_serve.plugin" in plugins.stdout
    assert "hooks: matting_register_commands" in plugins.stdout
    help_text = _matting("--help")
    assert help_text.returncode == 0 and "serve" in help_text.stdout
    assert _matting("serve", "--help").returncode == 0


def test_a_closed_output_pipe_is_one_sentence():
    """``matting list | head -c1``: the reader is gone before the listing is written."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [shutil.which("matting"), "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "output pipe was closed" in result.stderr


def test_an_image_format_the_toolkit_does_not_read_is_refused(tmp_path):
    """A Radiance HDR named .png: OpenCV would decode it, unchecked, whatever its size."""
    root = Path(_matting("samples", "--path").stdout.strip())
    image = tmp_path / "photo.png"
    image.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n" + bytes(16))
    out = tmp_path / "alpha.png"
    result = _matting(
        "predict", "--model", "trimap-baseline", str(image), str(root / "trimap" / "GT17.png"),
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is a Radiance HDR file" in result.stderr
    assert not out.exists()


def test_classical_model_predicts_and_evaluates_on_bundled_samples(tmp_path):
    """closed-form through the console scripts, as a user runs it after `pip install
    matting-classical`: no weights, no checkpoint, far below the trimap-only baseline."""
    import csv

    root = Path(_matting("samples", "--path").stdout.strip())
    pred = tmp_path / "closed-form"
    result = _matting(
        "predict",
        "--model",
        "closed-form",
        "--images",
        str(root / "image"),
        "--trimaps",
        str(root / "trimap"),
        "--out",
        str(pred),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    csv_path = tmp_path / "rows.csv"
    result = _matting(
        "evaluate",
        "--pred",
        str(pred),
        "--baseline",
        "--gt",
        str(root / "alpha"),
        "--trimap",
        str(root / "trimap"),
        "--csv",
        str(csv_path),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    sad: dict[str, list[float]] = {}
    for row in csv.DictReader(csv_path.open()):
        sad.setdefault(row["method"], []).append(float(row["sad"]))
    assert len(sad["closed-form"]) == 4
    assert sum(sad["closed-form"]) < sum(sad["trimap-only baseline"]) / 5


def _readme_block(after: str) -> list[list[str]]:
    """The commands of the first ```bash block after the line holding ``after`` in the README,
    continuation lines joined, split as a shell would."""
    import shlex

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = text[text.index(after) :].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_readme_takes_a_photo_and_strokes_to_a_cutout(tmp_path):
    """The README's own commands, as a user runs them: strokes -> trimap -> matte, RGBA cutout
    and a composite over a new background."""
    from matting_data import read_alpha, read_image, read_trimap

    commands = _readme_block("Try it on a bundled photo")
    assert commands[0] == ["S=$(matting", "samples", "--path)"]
    samples = _matting("samples", "--path").stdout.strip()
    for argv in commands[1:]:
        assert argv[0] == "matting"
        argv = [arg.replace("$S", samples) for arg in argv]
        result = _matting(*argv[1:], cwd=tmp_path, timeout=600)
        assert result.returncode == 0, result.stderr
    trimap = read_trimap(tmp_path / "trimap.png")
    alpha = read_alpha(tmp_path / "alpha.png")
    composite = read_image(tmp_path / "composite.jpg")
    assert trimap.shape == alpha.shape == composite.shape[:2]
    assert 0.02 < (trimap == 128).mean() < 0.2
    import cv2

    cutout = cv2.imread(str(tmp_path / "cutout.png"), cv2.IMREAD_UNCHANGED)
    assert cutout.shape == (*alpha.shape, 4)
    assert (cutout[:, :, 3] == (alpha * 255).round().astype("uint8")).all()


def test_bundled_scribbles_and_masks_come_from_the_script(tmp_path):
    """The derived inputs are a function of the ground truth and the script: a re-run gives
    the same bytes as the files the wheel ships."""
    root = Path(_matting("samples", "--path").stdout.strip())
    script = Path(__file__).parents[1] / "scripts" / "make_sample_inputs.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for kind in ("scribbles", "masks"):
        made = sorted(p.name for p in (tmp_path / kind).iterdir())
        assert made == sorted(p.name for p in (root / kind).iterdir()) and len(made) == 4
        for name in made:
            assert (tmp_path / kind / name).read_bytes() == (root / kind / name).read_bytes()


def test_the_readme_takes_a_photo_alone_to_a_cutout(tmp_path):
    """The README's commands for a user with only a photo: the trimap-free model's matte and
    cutout, then GCA on the trimap that model makes (a bundled photo stands for photo.jpg)."""
    from matting_data import read_alpha, read_image

    commands = _readme_block("Only a photo, no mask and no strokes?")
    assert [argv[:4] for argv in commands] == [
        ["matting", "predict", "--model", "hattmatting-small"],
        ["matting", "predict", "--model", "gca"],
    ]
    photo = Path(_matting("samples", "--path").stdout.strip()) / "image" / "GT17.png"
    alphas = []
    for index, argv in enumerate(commands):
        argv = [str(photo) if arg == "photo.jpg" else arg for arg in argv]
        work = tmp_path / str(index)
        work.mkdir()
        result = _matting(*argv[1:], cwd=work, timeout=600)
        assert result.returncode == 0, result.stderr
        alpha = read_alpha(work / "alpha.png")
        assert alpha.shape == read_image(photo).shape[:2]
        assert 0.05 < alpha.mean() < 0.95  # an object, not an empty or full matte
        import cv2

        cutout = cv2.imread(str(work / "cutout.png"), cv2.IMREAD_UNCHANGED)
        assert (cutout[:, :, 3] == (alpha * 255).round().astype("uint8")).all()
        alphas.append(alpha)
    # GCA changes the trimap-free matte (it re-mats the band where that model is unsure)
    assert abs(alphas[0] - alphas[1]).mean() > 1e-3
