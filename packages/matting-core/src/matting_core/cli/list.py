"""``matting list``: the models, losses and datasets every installed plugin provides."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list models, losses and datasets and the plugin that provides each",
        description="List registered models, losses and datasets and the plugin that provides each.",
    )
    parser.add_argument(
        "kind",
        nargs="?",
        choices=("models", "losses", "datasets"),
        help="list only this kind (default: all three)",
    )
    parser.add_argument("--pattern", help="only names matching this shell pattern, e.g. 'gca*'")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def _rows(kind: str, pattern: str | None) -> list[dict[str, str]]:
    from matting_core import plugins

    registry = {
        "models": plugins.model_registry,
        "losses": plugins.loss_registry,
        "datasets": plugins.dataset_registry,
    }[kind]()
    rows = []
    for name in registry.names(pattern):
        info = registry.info(name)
        row = {"name": name, "provider": registry.provider(name) or "?"}
        if kind == "models":
            row["trimap"] = "yes" if info.needs_trimap else "no"
            row["input"] = str(info.input_channels)
            row["inference"] = info.inference.describe()
            row["paper"] = info.paper
        else:
            row["about"] = getattr(info, "description", "") or getattr(info, "paper", "")
        rows.append(row)
    return rows


def _table(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else ["models", "losses", "datasets"]
    listing = {kind: _rows(kind, args.pattern) for kind in kinds}
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for i, kind in enumerate(kinds):
        if i:
            print()
        rows = listing[kind]
        print(f"{kind} ({len(rows)})")
        print(_table(rows) if rows else "  (none registered)")
    return 0
