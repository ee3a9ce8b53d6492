"""Look up and build registered models, losses and datasets by name.

The timm-style front door to the registries of :mod:`matting_core.plugins`::

    >>> from matting_core import create_model, list_models
    >>> "trimap-baseline" in list_models("trimap-*")
    True
    >>> model = create_model("trimap-baseline", unknown_value=0.4)

Model options are the fields of the model's config dataclass (``ModelInfo.config_class``).
Overrides are checked against the field types before the config is built: an unknown key, a
value of the wrong type or an infinite / NaN number is a :class:`~matting_core.errors.ConfigError`
naming the key.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import math
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from torch import nn

from matting_core.errors import ConfigError, PluginError
from matting_core.plugins import dataset_registry, loss_registry, model_registry
from matting_core.registry import DatasetInfo, LossInfo, ModelInfo

__all__ = [
    "create_dataset",
    "create_loss",
    "create_model",
    "get_dataset_info",
    "get_loss_info",
    "get_model_config",
    "get_model_info",
    "list_datasets",
    "list_losses",
    "list_models",
    "parse_overrides",
]


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, sorted, filtered by a shell pattern (``"gca*"``)."""
    return model_registry().names(pattern)


def get_model_info(name: str) -> ModelInfo:
    """The :class:`~matting_core.ModelInfo` of model ``name``.

    :raises UnknownModelError: no such model; the message lists close matches.
    """
    return model_registry().info(name)


def get_model_config(name: str, *, config: Any = None, **config_overrides: Any) -> Any:
    """The config ``create_model`` would build model ``name`` with.

    :param config: None (the default config), an instance of the model's config class, or a
        mapping of field values (e.g. a checkpoint sidecar's ``"config"``), applied over the
        defaults and validated like overrides.
    :param config_overrides: field values applied last.
    :raises UnknownModelError: no such model.
    :raises ConfigError: unknown field, value of the wrong type, or rejected by the config's
        own validation.
    """
    info = get_model_info(name)
    return _build_config(info.config_class, config, config_overrides, f"model {name!r}")


def create_model(name: str, *, config: Any = None, **config_overrides: Any) -> nn.Module:
    """Build model ``name``: ``factory(get_model_config(name, config=..., **overrides))``.

    The model is returned in training mode with freshly initialised weights; load weights
    with :func:`matting_core.load_weights`.

    :raises UnknownModelError: no such model; the message lists close matches.
    :raises ConfigError: see :func:`get_model_config`.
    """
    entry = model_registry().get(name)
    cfg = _build_config(entry.info.config_class, config, config_overrides, f"model {name!r}")
    model = entry.factory(cfg)
    if not isinstance(model, nn.Module):
        raise PluginError(
            f"the factory of model {name!r} (plugin {entry.provider!r}) returned "
            f"{type(model).__name__}, not a torch.nn.Module"
        )
    return model


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def list_losses(pattern: str | None = None) -> list[str]:
    """Names of the registered losses, sorted, filtered by a shell pattern."""
    return loss_registry().names(pattern)


def get_loss_info(name: str) -> LossInfo:
    """The :class:`~matting_core.LossInfo` of loss ``name``.

    :raises UnknownLossError: no such loss.
    """
    return loss_registry().info(name)


def create_loss(name: str, **options: Any) -> nn.Module:
    """Build loss ``name`` with ``factory(**options)``.

    :raises UnknownLossError: no such loss.
    :raises ConfigError: an option the factory does not accept, a required one missing, or a
        value the factory rejects (its ``ValueError``, e.g. a negative size).
    """
    entry = loss_registry().get(name)
    _check_call(entry.factory, (), options, f"loss {name!r}")
    return _call_with_options(entry.factory, (), options, f"loss {name!r}")


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names of the registered datasets, sorted, filtered by a shell pattern."""
    return dataset_registry().names(pattern)


def get_dataset_info(name: str) -> DatasetInfo:
    """The :class:`~matting_core.DatasetInfo` of dataset ``name``.

    :raises UnknownDatasetError: no such dataset.
    """
    return dataset_registry().info(name)


def create_dataset(name: str, root: str | os.PathLike[str], **options: Any) -> Any:
    """Build dataset ``name`` with ``factory(root, **options)``.

    :raises UnknownDatasetError: no such dataset.
    :raises ConfigError: an option the factory does not accept, a required one missing, or a
        value the factory rejects (its ``ValueError``, e.g. ``bg_per_fg = 0``); data errors
        (a missing folder, a corrupt file) keep their own types.
    """
    entry = dataset_registry().get(name)
    _check_call(entry.factory, (root,), options, f"dataset {name!r}")
    return _call_with_options(entry.factory, (root,), options, f"dataset {name!r}")


# --------------------------------------------------------------------------------------------
# Config validation
# --------------------------------------------------------------------------------------------


def parse_overrides(config_class: type, items: Iterable[str]) -> dict[str, Any]:
    """Turn command-line ``name=value`` strings into typed config overrides.

    Each value is converted by its field's type: ``bool`` accepts true/false/yes/no/on/off/1/0,
    tuples and lists are comma-separated, ``none`` sets an optional field to None, other
    types are read as JSON.  Pass the result to ``create_model(name, **overrides)``.

    :raises ConfigError: not ``name=value``, unknown name, or a value that does not convert.
    """
    fields = _init_fields(config_class)
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"expected NAME=VALUE, got {item!r}")
        if key not in fields:
            raise _unknown_key(key, fields, config_class.__name__)
        tp = fields[key]
        try:
            result[key] = _from_text(text.strip(), tp)
        except (ValueError, _Mismatch):
            raise ConfigError(
                f"{config_class.__name__}.{key}: cannot read {text!r} as {_type_name(tp)}"
            ) from None
    return result


def _build_config(config_class: type, config: Any, overrides: Mapping[str, Any], where: str) -> Any:
    if config is None:
        base = config_class()
    elif isinstance(config, config_class):
        base = config
    elif isinstance(config, Mapping):
        base = config_class()
        overrides = {**config, **overrides}
    else:
        raise ConfigError(
            f"{where}: config must be a {config_class.__name__} or a mapping, "
            f"got {type(config).__name__}"
        )
    if not overrides:
        return base
    values = _check_values(config_class, overrides, where)
    try:
        return dataclasses.replace(base, **values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid config for {where}: {exc}") from exc


def _check_values(config_class: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    fields = _init_fields(config_class)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            raise _unknown_key(key, fields, f"{where} ({config_class.__name__})")
        tp = fields[key]
        try:
            checked[key] = _coerce(value, tp)
        except _Mismatch:
            raise ConfigError(
                f"{where}: option {key!r} expects {_type_name(tp)}, "
                f"got {type(value).__name__} {value!r}"
            ) from None
        if _has_non_finite(checked[key]):
            raise ConfigError(f"{where}: option {key!r} must be finite, got {value!r}")
    return checked


def _has_non_finite(value: Any) -> bool:
    """True for inf or NaN, also inside tuples and lists (a config option never wants them)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (tuple, list)):
        return any(_has_non_finite(v) for v in value)
    return False


def _init_fields(config_class: type) -> dict[str, Any]:
    """Field name → resolved type for the fields a config's ``__init__`` accepts."""
    try:
        hints = typing.get_type_hints(config_class)
    except Exception:  # annotations naming types only imported for type checking
        hints = {}
    return {
        f.name: hints.get(f.name, f.type if isinstance(f.type, type) else Any)
        for f in dataclasses.fields(config_class)
        if f.init
    }


def _unknown_key(key: str, fields: Mapping[str, Any], where: str) -> ConfigError:
    valid = ", ".join(fields) or "(none)"
    return ConfigError(f"{where} has no option {key!r}; valid options: {valid}")


class _Mismatch(Exception):
    pass


def _coerce(value: Any, tp: Any) -> Any:
    """Return ``value`` checked against (and losslessly converted to) type ``tp``."""
    if tp is Any or tp is object:
        return value
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except _Mismatch:
                pass
        raise _Mismatch
    if origin is Literal:
        for arg in args:
            if value == arg and type(value) is type(arg):
                return value
        raise _Mismatch
    if origin is tuple or tp is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if len(args) != len(value):
            raise _Mismatch
        return tuple(_coerce(v, a) for v, a in zip(value, args, strict=True))
    if origin is list or tp is list:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        return [_coerce(v, args[0]) for v in value] if args else list(value)
    if origin is not None:  # dict[...], Callable[...] and friends: only the container type
        if isinstance(origin, type) and not isinstance(value, origin):
            raise _Mismatch
        return value
    if not isinstance(tp, type):
        return value
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
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return _build_config(tp, value, {}, tp.__name__)
    if not isinstance(value, tp):
        raise _Mismatch
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _from_text(text: str, tp: Any) -> Any:
    """Convert command-line text to a value of type ``tp`` (then checked by ``_coerce``)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                try:
                    return _from_text(text, arg)
                except (ValueError, _Mismatch):
                    pass
        raise _Mismatch
    if origin is Literal:
        for arg in args:
            if str(arg) == text:
                return arg
        raise _Mismatch
    if origin in (tuple, list) or tp in (tuple, list):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if args and len(args) == 2 and args[1] is Ellipsis:
            items = [_from_text(p, args[0]) for p in parts]
        elif args and origin is tuple:
            if len(args) != len(parts):
                raise _Mismatch
            items = [_from_text(p, a) for p, a in zip(parts, args, strict=True)]
        elif args:
            items = [_from_text(p, args[0]) for p in parts]
        else:
            items = parts
        return _coerce(items, tp)
    if tp is bool:
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise _Mismatch
    if tp is str:
        return text
    if tp is int:
        return int(text)
    if tp is float:
        return float(text)
    if isinstance(tp, type) and (issubclass(tp, (Path, enum.Enum))):
        return _coerce(text, tp)
    try:
        return _coerce(json.loads(text), tp)
    except json.JSONDecodeError:
        return _coerce(text, tp)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and get_origin(tp) is None:
        return tp.__name__
    return str(tp).replace("typing.", "")


def _call_with_options(
    factory: Any, args: tuple[Any, ...], options: Mapping[str, Any], where: str
) -> Any:
    """``factory(*args, **options)`` with an option value it rejects (a plain ``ValueError``)
    reported as a ConfigError naming ``where``; the toolkit's own errors pass unchanged."""
    from matting_core.errors import is_user_error

    try:
        return factory(*args, **options)
    except ValueError as exc:
        if is_user_error(exc):
            raise
        raise ConfigError(f"{where}: {exc}") from exc


def _check_call(
    factory: Any, args: tuple[Any, ...], options: Mapping[str, Any], where: str
) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    try:
        signature.bind(*args, **options)
    except TypeError as exc:
        valid = [
            p.name
            for p in list(signature.parameters.values())[len(args) :]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        raise ConfigError(
            f"{where}: {exc}; valid options: {', '.join(valid) or '(none)'}"
        ) from None
