"""Use one installed package as a new user would: through the ``matting`` command line.

    python scripts/try_installed_package.py matting-gca OUT_DIR

Run in an environment where the package was just installed from its wheel (the nox session
``install-from-wheels`` does so for every plugin in turn). Generic over packages:

1. ``matting plugins --json --strict``: every installed plugin loads, none is refused for its
   plugin API; the package's own plugins are found (core's built-in for ``matting-core``);
2. for one model the package registers (bundled weights preferred, then one without weights,
   else the first, run with a freshly initialised checkpoint made here), ``matting predict``
   on a photo bundled with matting-data, and the alpha matte written is checked: the photo's
   size, 8-bit, the trimap's known pixels kept;
3. ``matting COMMAND --help`` for every command it registers.

Exits 1 with one line on stderr naming what failed. Uses only the standard library and what
the installed packages bring (opencv, through matting-data).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"try_installed_package: {message}", file=sys.stderr)
    sys.exit(1)


def matting(*args: str) -> str:
    exe = shutil.which("matting")
    if exe is None:
        fail("the `matting` console script is not installed")
    result = subprocess.run([exe, *args], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        fail(f"`matting {' '.join(args)}` exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def canonical(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name or "").lower()


def choose_model(rows: list[dict]) -> dict:
    for wanted in ("bundled", "none needed"):
        for row in rows:
            if row["weights"] == wanted:
                return row
    return rows[0]


def random_checkpoint(model: str, out: Path) -> Path:
    """Weights of a freshly initialised ``model``: the predict path with --checkpoint, for a
    plugin that bundles none (the numbers are meaningless; loading and running are not)."""
    code = (
        "import sys, dataclasses, torch\n"
        "from matting_core import create_model, get_model_info, save_weights\n"
        "torch.manual_seed(0)\n"
        "name = sys.argv[1]\n"
        "fields = {f.name for f in dataclasses.fields(get_model_info(name).config_class)}\n"
        "options = {'pretrained_backbone': False} if 'pretrained_backbone' in fields else {}\n"
        "print(save_weights(create_model(name, **options), sys.argv[2], model_name=name))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, model, str(out / f"{model}-random.safetensors")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        fail(f"could not save freshly initialised {model} weights: {result.stderr.strip()}")
    return Path(result.stdout.strip().splitlines()[-1])


def check_alpha(alpha_path: Path, image_path: Path, trimap_path: Path | None) -> str:
    import cv2
    import numpy as np

    alpha = cv2.imread(str(alpha_path), cv2.IMREAD_UNCHANGED)
    image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
    if alpha is None:
        fail(f"{alpha_path} was not written or is not an image")
    if alpha.ndim != 2 or alpha.dtype != np.uint8 or alpha.shape != image.shape[:2]:
        fail(f"{alpha_path}: {alpha.dtype} {alpha.shape}, expected uint8 {image.shape[:2]}")
    if trimap_path is not None:
        trimap = cv2.imread(str(trimap_path), cv2.IMREAD_GRAYSCALE)
        if not ((alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()):
            fail(f"{alpha_path} does not keep the trimap's known pixels")
    unknown = alpha[(trimap != 0) & (trimap != 255)] if trimap_path is not None else alpha
    return f"{alpha.shape[1]}x{alpha.shape[0]}, mean alpha {unknown.mean() / 255:.3f} in unknown"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        fail("usage: try_installed_package.py DISTRIBUTION OUT_DIR")
    distribution, out = canonical(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)

    plugins = json.loads(matting("plugins", "--json", "--strict"))
    own = [p for p in plugins if canonical(p["distribution"]) == distribution]
    if not own:
        fail(f"no matting plugin of {distribution} is installed (found {len(plugins)} others)")
    for plugin in own:
        print(
            f"{distribution}: plugin {plugin['name']} {plugin['version']}, plugin API "
            f"{plugin['plugin_api']}, registers {plugin['registered'] or 'nothing'}"
        )
    names = {p["name"] for p in own}
    models = [
        row
        for row in json.loads(matting("list", "models", "--json"))["models"]
        if row["provider"] in names
    ]
    commands = sorted({c for p in own for c in p["registered"].get("commands", [])})
    if not models and not commands:
        fail(f"{distribution}'s plugins register no model and no command")

    if models:
        row = choose_model(models)
        samples = Path(matting("samples", "--path").strip().splitlines()[-1])
        image = samples / "image" / "GT17.png"
        trimap = samples / "trimap" / "GT17.png" if row["trimap"] == "yes" else None
        alpha = out / f"{row['name']}-GT17.png"
        args = ["predict", "--model", row["name"], str(image)]
        args += [str(trimap)] if trimap else []
        args += ["-o", str(alpha), "--no-progress"]
        if row["weights"] == "--checkpoint":
            args += ["--checkpoint", str(random_checkpoint(row["name"], out))]
        matting(*args)
        for made in out.glob(f"{row['name']}-random.*"):
            made.unlink()  # a network's worth of random weights: no reason to keep it
        print(
            f"{distribution}: matting predict --model {row['name']} ({row['weights']}) on "
            f"GT17: {check_alpha(alpha, image, trimap)}"
        )
    for command in commands:
        matting(command, "--help")
        print(f"{distribution}: matting {command} --help works")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
