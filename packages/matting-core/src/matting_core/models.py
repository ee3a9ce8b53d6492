"""Look up and build registered models, losses and datasets by name.

The timm-style front door to the registries of :mod:`matting_core.plugins`::

    >>> from matting_core import create_model, list_models
    >>> "trimap-baseline" in list_models("trimap-*")
    True
    >>> model = create_model("trimap-baseline", unknown_value=0.4)

Model options are the fields of the model's config dataclass (``ModelInfo.config_class``).
Overrides are checked against the field types before the config is built
(:func:`matting_core.config_values.coerce`, the toolkit's one reader of config values): an
unknown key, a value of the wrong type or an infinite / NaN number is a
:class:`~matting_core.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Iterable, Mapping
from typing import Any

from torch import nn

from matting_core.config_values import coerce, field_types, parse_assignment
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
    "options_from_config_file",
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
    check_call(entry.factory, (), options, f"loss {name!r}")
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
    check_call(entry.factory, (root,), options, f"dataset {name!r}")
    return _call_with_options(entry.factory, (root,), options, f"dataset {name!r}")


# --------------------------------------------------------------------------------------------
# Config validation
# --------------------------------------------------------------------------------------------


def parse_overrides(config_class: type, items: Iterable[str]) -> dict[str, Any]:
    """Turn command-line ``name=value`` strings into typed config overrides.

    The toolkit's one ``--set`` grammar (:func:`matting_core.config_values.parse_assignment`,
    as ``matting train --set``): the value is a TOML literal, or text converted by the
    option's type (``flag=yes``, ``sizes=3,4``, ``label=none`` for an optional option).  Pass
    the result to ``create_model(name, **overrides)``.

    :raises ConfigError: not ``name=value``, unknown name, or a value that does not convert.
    """
    fields = field_types(config_class)
    result: dict[str, Any] = {}
    for item in items:
        parts, value = parse_assignment(item)
        key = ".".join(parts).replace("-", "_")
        if key not in fields:
            raise _unknown_key(key, fields, config_class.__name__)
        result[key] = coerce(value, fields[key], f"{config_class.__name__}.{key}", text=True)
    return result


def options_from_config_file(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``[model] options`` of a TOML file, read as model ``name``'s option types: a string is
    text, converted by the option's type as on the command line (``attention_chunk = "none"``
    unsets an optional option, which TOML cannot write otherwise).

    :raises ConfigError: an unknown option or a value that does not convert, naming it.
    """
    info = get_model_info(name)
    fields = field_types(info.config_class)
    result = {}
    for key, value in options.items():
        if key not in fields:
            raise _unknown_key(key, fields, f"model {name!r} ({info.config_class.__name__})")
        result[key] = coerce(value, fields[key], f"model {name!r} option {key}", text=True)
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
    fields = field_types(config_class)
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            raise _unknown_key(key, fields, f"{where} ({config_class.__name__})")
        values[key] = coerce(value, fields[key], f"{where} option {key}")
    try:
        return dataclasses.replace(base, **values)
    except ConfigError as exc:
        raise ConfigError(f"invalid config for {where}: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid config for {where}: {exc}") from exc


def _unknown_key(key: str, fields: Mapping[str, Any], where: str) -> ConfigError:
    valid = ", ".join(fields) or "(none)"
    return ConfigError(f"{where} has no option {key!r}; valid options: {valid}")


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


def check_call(factory: Any, args: tuple[Any, ...], options: Mapping[str, Any], where: str) -> None:
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
