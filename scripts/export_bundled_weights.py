"""Export a run's best weights as a plugin's bundled default weights (fp16 safetensors).

    python scripts/export_bundled_weights.py runs/gca-small-alphamatting \
        packages/matting-gca/src/matting_gca/weights/gca-small-alphamatting.safetensors

Floating-point tensors are stored as float16 (half the size; ``load_weights`` casts them back
to the model's dtype); integer buffers keep their dtype. The sidecar keeps the model name and
config of the run, plus the step and validation scores of the exported checkpoint.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matting_core import load_state_dict, save_weights
from matting_core.checkpoints import read_sidecar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--which", default="best", choices=("best", "final"))
    args = parser.parse_args()
    source = args.run_dir / "checkpoints" / f"{args.which}.safetensors"
    sidecar = read_sidecar(source)
    if sidecar is None:
        raise SystemExit(f"{source} has no sidecar")
    state = {
        k: v.half() if v.is_floating_point() else v for k, v in load_state_dict(source).items()
    }
    val = [
        json.loads(line)
        for line in (args.run_dir / "metrics.jsonl").read_text().splitlines()
        if '"split": "val"' in line
    ]
    extra = {
        "source": str(source),
        "storage": "float16",
        "training": sidecar.get("extra", {}),
        "validation_history": val,
    }
    path = save_weights(
        state, args.out, model_name=sidecar["model_name"], config=sidecar["config"], extra=extra
    )
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB) from {source}")


if __name__ == "__main__":
    main()
