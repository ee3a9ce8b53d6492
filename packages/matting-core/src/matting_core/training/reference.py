"""The reference of every training-config key, generated from the config dataclasses.

``docs/training.md`` holds two generated blocks, between ``<!-- BEGIN GENERATED: NAME -->`` and
``<!-- END GENERATED: NAME -->`` lines: ``config`` (every table and key of a training TOML file:
type, default, meaning, from :mod:`matting_core.training.config`) and ``model options`` (the
``[model] options`` of the models this repository's plugins register, from their config
dataclasses).  Tests fail when either block is stale; regenerate both with::

    python -m matting_core.training.reference --write docs/training.md

``matting config options MODEL`` prints the options table of any installed model.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from matting_core.training.config import (
    AdversarialConfig,
    AmpConfig,
    DataConfig,
    DistributedConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    ScheduleConfig,
    WeightSchedule,
    _toml_value,
)

__all__ = [
    "TABLES",
    "config_reference",
    "model_options_reference",
    "options_table",
    "replace_block",
]

#: Every table of a training config, in the order a config file lists them, with a note.
TABLES: tuple[tuple[str, type, str], ...] = (
    ("run", RunConfig, ""),
    ("model", ModelConfig, "required"),
    ("data", DataConfig, "required"),
    ("optim", OptimConfig, ""),
    ("schedule", ScheduleConfig, ""),
    ("loss", LossConfig, ""),
    ("loss.schedules.NAME", WeightSchedule, "one per scheduled loss term"),
    ("amp", AmpConfig, ""),
    ("distributed", DistributedConfig, ""),
    ("adversarial", AdversarialConfig, "only for a model whose plugin gives an adversarial recipe"),
    ("adversarial.optim", OptimConfig, "the keys of [optim]; absent: a copy of [optim]"),
    ("adversarial.schedule", ScheduleConfig, "the keys of [schedule]; absent: [schedule]'s"),
)

_NESTED = {LossConfig: {"schedules"}, AdversarialConfig: {"optim", "schedule"}}


def param_docs(cls: type) -> dict[str, str]:
    """``:param name: text`` of ``cls`` and its bases, as name → one line of text."""
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        doc = inspect.getdoc(base) or ""
        for match in re.finditer(r":param (\w+):(.*?)(?=\n\s*:param |\n\s*\n|\Z)", doc, re.S):
            docs[match.group(1)] = " ".join(match.group(2).split())
    return docs


def type_name(tp: Any) -> str:
    """A field's type as a config file writes it: ``integer``, ``array of 2 floats``…"""
    origin, args = get_origin(tp), get_args(tp)
    names = {bool: "boolean", int: "integer", float: "float", str: "string"}
    if tp in names:
        return names[tp]
    if tp is Any:
        return "any"
    if origin in (Union, types.UnionType):
        inner = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(inner) + (" (optional)" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"array of {type_name(args[0])}s"
        if len(set(args)) == 1:
            return f"array of {len(args)} {type_name(args[0])}s"
        return "array of " + ", ".join(type_name(a) for a in args)
    if origin is list:
        return f"array of {type_name(args[0])}s" if args else "array"
    if origin is dict:
        return f"table of name → {type_name(args[1])}" if args else "table"
    if dataclasses.is_dataclass(tp):
        return "table"
    return getattr(tp, "__name__", str(tp))


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "required"
    if value is None:
        return "absent"
    if dataclasses.is_dataclass(value):
        return "see below"
    if isinstance(value, dict) and not value:
        return "{}"
    return f"`{_toml_value(list(value) if isinstance(value, tuple) else value)}`"


def options_table(cls: type, *, skip: Iterable[str] = ()) -> str:
    """The markdown table of a config dataclass's keys: key, type, default, meaning."""
    hints = typing.get_type_hints(cls)
    docs = param_docs(cls)
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(cls):
        if not field.init or field.name in set(skip):
            continue
        meaning = docs.get(field.name, "").replace("|", "\\|")
        rows.append(
            f"| `{field.name}` | {type_name(hints.get(field.name, Any))} | {_default(field)} "
            f"| {meaning} |"
        )
    return "\n".join(rows)


def config_reference() -> str:
    """Every table of a training config with its keys (the ``config`` block)."""
    parts = []
    for name, cls, note in TABLES:
        summary = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
        summary = re.sub(r"^``\[[^\]]+\]``:\s*", "", summary)
        summary = summary[:1].upper() + summary[1:]
        heading = f"### `[{name}]`" + (f" ({note})" if note else "")
        table = options_table(cls, skip=_NESTED.get(cls, ()))
        parts.append(f"{heading}\n\n{summary}\n\n{table}")
    return "\n\n".join(parts)


def model_options_reference(names: Iterable[str]) -> str:
    """The ``[model] options`` of each model in ``names`` (the ``model options`` block)."""
    from matting_core import get_model_info
    from matting_core.plugins import model_registry

    parts = []
    for name in names:
        info = get_model_info(name)
        provider = model_registry().provider(name)
        heading = f"### `{name}` (plugin `{provider}`, `{info.config_class.__name__}`)"
        parts.append(f"{heading}\n\n{options_table(info.config_class)}")
    return "\n\n".join(parts)


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with its generated block ``name`` replaced by ``content``."""
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + content + "\n" + text[stop:]


def read_block(text: str, name: str) -> str:
    """The content of the generated block ``name`` of ``text``."""
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    return text[text.index(begin) + len(begin) : text.index(end)].strip("\n")


def repository_models(exclude_plugins: Iterable[str] = ("example",)) -> list[str]:
    """The installed models, except those of the named plugins (core's test example)."""
    from matting_core import list_models
    from matting_core.plugins import model_registry

    excluded = set(exclude_plugins)
    return [n for n in list_models() if model_registry().provider(n) not in excluded]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, metavar="MD", help="update the blocks in this file")
    args = parser.parse_args(argv)
    blocks = {
        "config": config_reference(),
        "model options": model_options_reference(repository_models()),
    }
    if args.write is None:
        print("\n\n".join(blocks.values()))
        return 0
    text = args.write.read_text(encoding="utf-8")
    for name, content in blocks.items():
        text = replace_block(text, name, content)
    args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
