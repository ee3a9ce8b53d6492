"""``matting list``: the models, losses and datasets every installed plugin provides."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list models, losses and datasets and the plugin that provides each",
        description=(
            "List registered models, losses, datasets and refiners (matting predict --refine), "
            "the plugin that provides each and a "
            "description. For models: whether a trimap is needed, and what runs without "
            "--checkpoint ('bundled': the plugin's own weights; 'bundled NAME': weights "
            "trained as the variant NAME; '--checkpoint': none bundled; 'none needed': no "
            "weights). A name two plugins register is listed once per plugin as PLUGIN:NAME."
        ),
    )
    parser.add_argument(
        "kind",
        nargs="?",
        choices=("models", "losses", "datasets", "refiners"),
        help="list only this kind (default: all four)",
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
        "refiners": plugins.refiner_registry,
    }[kind]()
    rows = []
    for entry in registry.entries(pattern):
        info = entry.info
        provider = entry.provider or "?"
        # an ambiguous name is listed once per plugin, by the qualified name that picks it
        ambiguous = registry.is_ambiguous(entry.name)
        row = {"name": f"{provider}:{entry.name}" if ambiguous else entry.name}
        row["provider"] = provider
        if kind == "models":
            row["trimap"] = "yes" if info.needs_trimap else "no"
            row["weights"] = weights_summary(entry.name, info)
            row["inference"] = info.inference.describe()
        row["description"] = info.description
        if ambiguous:
            row["description"] = f"AMBIGUOUS: name it {row['name']}; " + row["description"]
        if kind == "models":
            row["paper"] = info.paper  # in --json only: the table would be too wide
            # what --precision auto may pick, fastest first (--json only too)
            row["auto_precisions"] = ",".join(info.auto_precisions) or "fp32"
        rows.append(row)
    return rows


def weights_summary(name: str, info: Any) -> str:
    """What runs when ``matting predict --model NAME`` is given no checkpoint."""
    if not info.needs_weights:
        return "none needed"
    if info.default_weights is None:
        return "--checkpoint"
    from matting_core.checkpoints import read_sidecar
    from matting_core.errors import MattingError

    try:
        sidecar = read_sidecar(info.default_weights_path(), verify=False) or {}
    except MattingError:
        return "bundled (missing)"
    trained_as = sidecar.get("model_name")
    if trained_as not in (None, name):
        return f"bundled {trained_as}"
    return "bundled"


def _table(rows: list[dict[str, str]]) -> str:
    columns = [c for c in rows[0] if c not in ("paper", "auto_precisions")]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else ["models", "losses", "datasets", "refiners"]
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
