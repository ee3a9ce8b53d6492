"""``matting config show``: print a training config as the engine would run it."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show a training config resolved (defaults filled in, --set applied, validated)",
        description="Work with training configs.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print the resolved config as TOML",
        description=(
            "Print a training config with every default filled in and the --set overrides "
            "applied, after validating it (keys, types, and the model, loss and dataset "
            "names against the installed plugins)."
        ),
    )
    show.add_argument("config", type=Path, metavar="CONFIG", help="the experiment's TOML file")
    show.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.lr=4e-4 (repeatable; TOML values)",
    )
    show.add_argument(
        "--no-check",
        action="store_true",
        help="skip checking model, loss and dataset names against the registries",
    )
    options = actions.add_parser(
        "options",
        help="print a model's [model] options: key, type, default, meaning",
        description=(
            "Print the options of a registered model (the fields of its config dataclass): "
            "what [model] options in a training config and --set in matting predict take."
        ),
    )
    options.add_argument("model", metavar="MODEL", help="a registered model name")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from matting_core.training.config import check_names, dump_config, load_config

    if args.action == "options":
        from matting_core import get_model_info
        from matting_core.training.reference import options_table

        print(options_table(get_model_info(args.model).config_class))
        return 0
    cfg = load_config(args.config, args.overrides)
    if not args.no_check:
        check_names(cfg)
    print(dump_config(cfg), end="")
    return 0
