"""``matting train``: train a model from a TOML experiment config.

One process: ``matting train configs/gca.toml --run-dir runs/gca``.  Several GPUs:
``torchrun --nproc-per-node 4 -m matting_core.cli train configs/gca.toml``; every process
runs this command and rank 0 alone prints, logs and writes checkpoints.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a TOML config (resumable, multi-GPU with torchrun)",
        description=(
            "Train the model of a TOML experiment config. The run directory receives the "
            "resolved config (config.toml), metrics.jsonl, TensorBoard events and checkpoints "
            "(full training states for --resume; best/final weights as safetensors)."
        ),
    )
    parser.add_argument("config", type=Path, metavar="CONFIG", help="the experiment's TOML file")
    parser.add_argument(
        "--run-dir",
        type=Path,
        metavar="DIR",
        help="where the run's files go (default: runs/CONFIG-NAME)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its newest usable checkpoint",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in a --run-dir that holds an earlier run, deleting that run's "
        "checkpoints, metrics and events",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.lr=4e-4 (repeatable; TOML values)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from matting_core.training import load_config, train

    cfg = load_config(args.config, args.overrides)
    run_dir = args.run_dir if args.run_dir is not None else Path("runs") / args.config.stem
    result = train(
        cfg,
        run_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    if os.environ.get("RANK", "0") == "0":
        if result.resumed_from is not None:
            print(f"resumed at step {result.resumed_from}")
        loss = f"{result.loss:.4g}" if result.loss is not None else "n/a"
        print(f"trained {result.step} steps in {result.run_dir} (last loss {loss})")
        if result.best_sad is not None:
            print(f"best validation SAD {result.best_sad:.4g} at step {result.best_step}")
        print(f"final weights: {result.weights}")
    return 0
