"""One reading of config values, for training configs, model options and ``--set``.

Every value a user gives, in a TOML file, on the command line or through the Python API, goes
through :func:`coerce` against the type of the dataclass field it sets, and every error is a
:class:`~matting_core.errors.ConfigError` that starts with the full key::

    optim.lr: expected a float, got 'fast'
    model 'gca' option width: expected a float, got 'wide'

The command-line grammar is one for ``matting train --set``, ``matting config show --set`` and
``matting predict --set`` (:func:`parse_assignment`): ``KEY=VALUE`` where VALUE is read as a
TOML literal (``4e-4``, ``true``, ``[3, 4]``, ``"text"``, ``{ a = 1 }``), and anything TOML
cannot read is *text*.  Model options convert text by the option's type (``text=True``): a number, a
boolean (``yes``/``no``/``on``/``off``/``1``/``0`` too), a comma-separated list for a tuple or
list (``3,4,4,2``), ``none`` for an option that may be None, an enum's name, a path.  Model
options in a TOML file are read the same way, so ``attention_chunk = "none"`` unsets one.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import tomllib

from matting_core.errors import ConfigError

__all__ = [
    "InvalidValue",
    "build_dataclass",
    "coerce",
    "describe_type",
    "field_types",
    "parse_assignment",
    "show_value",
    "unknown_key_message",
]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("none", "null")


class _Mismatch(Exception):
    """The value does not fit the type; :func:`coerce` turns it into a ConfigError."""


class InvalidValue(Exception):
    """Raised by a config dataclass's ``_check()`` as ``InvalidValue(field, message)``: a value
    of the right type but out of range; :func:`build_dataclass` reports it as
    ``key.field: message``."""


# --------------------------------------------------------------------------------------------
# The command-line grammar
# --------------------------------------------------------------------------------------------


def parse_assignment(item: str) -> tuple[list[str], Any]:
    """Split ``"optim.lr=4e-4"`` into (``["optim", "lr"]``, ``0.0004``).

    The value is read as a TOML literal; anything that is not one is kept as text (a str),
    which :func:`coerce` with ``text=True`` converts by the option's type, so
    ``model.name=gca`` and ``sizes=3,4`` work without quotes.

    :raises ConfigError: not ``KEY=VALUE``, or an empty part of a dotted key.
    """
    key, sep, text = item.partition("=")
    key, text = key.strip(), text.strip()
    parts = [p.strip() for p in key.split(".")]
    if not sep or not key or not all(parts):
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.lr=4e-4 or width=0.5")
    try:
        value = tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        value = text
    return parts, value


# --------------------------------------------------------------------------------------------
# Coercion
# --------------------------------------------------------------------------------------------


def coerce(value: Any, tp: Any, key: str, *, text: bool = False) -> Any:
    """``value`` checked against type ``tp`` and converted losslessly (an int to a float, a
    list to a tuple, a table to a dataclass).

    :param key: the full key, for messages (``optim.lr``, ``model 'gca' option width``).
    :param text: read a string given for a non-string type as text, converted by the type
        (model options from a file or the command line); without it (training sections, the
        Python API) a string fits only a string or a choice.
    :raises ConfigError: ``key: expected …, got …``; or ``key: must be finite``.
    """
    try:
        result = _coerce(value, tp, key, text)
    except _Mismatch:
        raise ConfigError(_mismatch_message(value, tp, key)) from None
    if _has_non_finite(result):
        raise ConfigError(f"{key}: must be a finite number, got {show_value(value)}")
    return result


def _coerce(value: Any, tp: Any, key: str, text: bool) -> Any:
    if tp is Any or tp is object:
        return value
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        optional = type(None) in args
        if value is None and optional:
            return None
        if text and optional and isinstance(value, str) and value.lower() in _NONE:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, text)
            except _Mismatch:
                pass
        raise _Mismatch
    if origin is Literal:
        for arg in args:
            if value == arg and type(value) is type(arg):
                return arg
            if text and isinstance(value, str) and value == str(arg):
                return arg
        raise _Mismatch
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise _Mismatch
        return build_dataclass(tp, value, key, text=text)
    if origin is tuple or tp is tuple or origin is list or tp is list:
        if text and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise _Mismatch
            items = [
                _item(v, a, f"{key}[{i}]", text)
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            ]
        else:
            item_type = args[0] if args else Any
            items = [_item(v, item_type, f"{key}[{i}]", text) for i, v in enumerate(value)]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch
        value_type = args[1] if args else Any
        return {str(k): _item(v, value_type, f"{key}.{k}", text) for k, v in value.items()}
    if origin is not None:  # Callable[...] and friends: only the container type
        if isinstance(origin, type) and not isinstance(value, origin):
            raise _Mismatch
        return value
    if not isinstance(tp, type):
        return value
    if text and isinstance(value, str) and tp is not str:
        return _from_text(value, tp)
    if tp is bool:
        if not isinstance(value, bool):
            raise _Mismatch
        return value
    if isinstance(value, bool) and tp in (int, float):
        raise _Mismatch
    if tp is float and isinstance(value, int):
        return float(value)
    if issubclass(tp, Path) and isinstance(value, (str, os.PathLike)):
        return tp(value)
    if issubclass(tp, enum.Enum) and not isinstance(value, tp):
        for member in tp:
            if value in (member.name, member.value):
                return member
        raise _Mismatch
    if not isinstance(value, tp):
        raise _Mismatch
    return value


def _item(value: Any, tp: Any, key: str, text: bool) -> Any:
    """An element of a container: a nested ConfigError keeps the element's own key."""
    try:
        return _coerce(value, tp, key, text)
    except _Mismatch:
        raise ConfigError(_mismatch_message(value, tp, key)) from None


def _mismatch_message(value: Any, tp: Any, key: str) -> str:
    message = f"{key}: expected {describe_type(tp)}, got {show_value(value)}"
    choices = [a for t in (tp, *get_args(tp)) if get_origin(t) is Literal for a in get_args(t)]
    if isinstance(value, str) and choices:
        close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return message


def _from_text(text: str, tp: type) -> Any:
    """Command-line text as a value of the plain type ``tp``."""
    if tp is bool:
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise _Mismatch
    try:
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
    except ValueError:
        raise _Mismatch from None
    if issubclass(tp, Path):
        return tp(text)
    if issubclass(tp, enum.Enum):
        for member in tp:
            if text in (member.name, str(member.value)):
                return member
    raise _Mismatch


def _has_non_finite(value: Any) -> bool:
    """True for inf or NaN, also inside tuples and lists (a config option never wants them)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (tuple, list)):
        return any(_has_non_finite(v) for v in value)
    return False


# --------------------------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------------------------


def field_types(cls: type) -> dict[str, Any]:
    """Field name → resolved type for the fields a config dataclass's ``__init__`` accepts."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # annotations naming types only imported for type checking
        hints = {}
    return {
        f.name: hints.get(f.name, f.type if isinstance(f.type, type) else Any)
        for f in dataclasses.fields(cls)
        if f.init
    }


def build_dataclass(cls: type, data: Mapping[str, Any], key: str, *, text: bool = False) -> Any:
    """``cls(**data)`` with every value coerced to its field's type (nested tables too).

    Validation of values in range: the dataclass's own ``__post_init__`` (a ``ValueError`` or
    ``ConfigError``), and a ``_check()`` method if it has one, which raises
    :class:`InvalidValue` ``(field, message)``.

    :param key: the table's full key (``optim``), or ``""`` for the top level.
    :param text: see :func:`coerce`.
    :raises ConfigError: an unknown key (with the closest valid one), a missing required key,
        a value of the wrong type, or a value out of range.
    """
    where = key or "config"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table, got {show_value(data)}")
    prefix = f"{key}." if key else ""
    types_ = field_types(cls)
    values = {}
    for name, value in data.items():
        if name not in types_:
            raise ConfigError(unknown_key_message(prefix, str(name), types_))
        values[name] = coerce(value, types_[name], prefix + name, text=text)
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.init and required and f.name not in values:
            what = "table" if dataclasses.is_dataclass(types_.get(f.name)) else "key"
            raise ConfigError(f"{prefix}{f.name}: required {what} is missing")
    try:
        obj = cls(**values)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    check = getattr(obj, "_check", None)
    if check is not None:
        try:
            check()
        except InvalidValue as exc:
            name, message = exc.args
            raise ConfigError(f"{prefix}{name}: {message}") from None
    return obj


def unknown_key_message(prefix: str, key: str, valid: Mapping[str, Any] | list[str]) -> str:
    """``prefix+key: unknown key; did you mean …?`` (or the valid keys when none is close)."""
    names = list(valid)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"{prefix}{key}: unknown key; did you mean {prefix}{close[0]}?"
    return f"{prefix}{key}: unknown key; valid keys here: " + (
        ", ".join(prefix + n for n in names) or "(none)"
    )


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

_PHRASES = {bool: "true or false", int: "an integer", float: "a float", str: "a string"}
_PLURALS = {bool: "booleans", int: "integers", float: "floats", str: "strings"}


def describe_type(tp: Any) -> str:
    """What a value of type ``tp`` is, in words: ``a float``, ``an array of 2 floats``,
    ``one of adam, adamw, sgd``, ``an integer or none``."""
    origin, args = get_origin(tp), get_args(tp)
    if tp in _PHRASES:
        return _PHRASES[tp]
    if origin in (Union, types.UnionType):
        words = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(words) + (" or none" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(set(args)) == 1:
            return f"an array of {len(args)} {_PLURALS.get(args[0], 'values')}"
        return f"an array of {len(args)} values"
    if origin in (tuple, list) or tp in (tuple, list):
        return "an array" + (f" of {_PLURALS.get(args[0], 'values')}" if args else "")
    if origin is dict or tp is dict or dataclasses.is_dataclass(tp):
        return "a table"
    if isinstance(tp, type) and issubclass(tp, Path):
        return "a path"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(m.name for m in tp)
    return getattr(tp, "__name__", str(tp))


def show_value(value: Any) -> str:
    """A value as a message shows it: ``'fast'``, ``1.5``, ``true``, ``an array [0.9]``."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return f"an array {list(value)!r}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
