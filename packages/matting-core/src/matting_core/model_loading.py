"""Build a registered model with its weights: a checkpoint, or the plugin's bundled default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from matting_core.checkpoints import (
    load_state_dict,
    load_weights,
    read_sidecar,
    without_initialisation,
)
from matting_core.errors import CheckpointError, ConfigError
from matting_core.models import create_model, get_model_config, get_model_info
from matting_core.registry import ModelInfo, bare_name


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference, with where its weights came from."""

    name: str
    model: nn.Module
    info: ModelInfo
    weights: Path | None
    bundled: bool


def load_model(
    name: str,
    checkpoint: str | os.PathLike[str] | None = None,
    **config_overrides: Any,
) -> LoadedModel:
    """Create model ``name`` and load its weights, in eval mode.

    Weights come from ``checkpoint`` when given (safetensors, or .pth/.pt loaded with
    ``weights_only=True``; official release layouts are remapped by the model's
    ``remap_official``), else from the plugin's bundled default weights. Bundled weights
    trained as another registered variant (e.g. ``gca`` ships a ``gca-small``) build that
    variant; :attr:`LoadedModel.name` says which. A checkpoint
    written by :func:`matting_core.save_weights` carries its config in a sidecar; it is
    used as the base config so that, e.g., a ``gca-small`` checkpoint gets its width back.
    The checkpoint is read, and the config (sidecar and overrides) validated against its
    bounds, before the model is built; weights of the wrong dtype are refused when loaded.

    Raises:
        UnknownModelError: no such model.
        ConfigError: bad overrides, or a sidecar that names another model.
        CheckpointError: unreadable, untrusted or mismatched checkpoint, or no weights at all.
    """
    info = get_model_info(name)
    bundled = False
    if checkpoint is not None:
        weights = Path(checkpoint)
        if not weights.is_file():
            raise CheckpointError(f"checkpoint {weights} does not exist")
    else:
        weights = info.default_weights_path()
        bundled = weights is not None

    config: Any = None
    if weights is not None and weights.suffix == ".safetensors":
        sidecar = read_sidecar(weights)
        if sidecar is not None:
            trained_as = sidecar.get("model_name")
            if trained_as is not None:
                trained_as = bare_name(str(trained_as))
            if bundled and trained_as not in (None, bare_name(name)):
                # A plugin may ship one set of weights for several names (the bundled GCA
                # model is a gca-small); build the architecture the weights were trained as,
                # from the same plugin.
                plugin, colon, _ = name.rpartition(":")
                name = f"{plugin}:{trained_as}" if colon else trained_as
                info = get_model_info(name)
            elif trained_as not in (None, bare_name(name)):
                raise CheckpointError(
                    f"checkpoint {weights} holds weights of model {trained_as!r}, "
                    f"not {name!r}; use --model {trained_as}"
                )
            config = sidecar.get("config")
            if isinstance(config, dict):  # a sidecar written before they were dropped
                config = without_initialisation(config)
            try:  # the sidecar's values alone, before the overrides and before building
                get_model_config(name, config=config)
            except ConfigError as exc:
                raise CheckpointError(
                    f"the sidecar of checkpoint {weights} holds an invalid config: {exc}"
                ) from exc
    state = load_state_dict(weights) if weights is not None else None
    model = create_model(name, config=config, **config_overrides)
    if state is None:
        if any(True for _ in model.parameters()):
            raise CheckpointError(
                f"model {name!r} has no bundled weights; pass a checkpoint (--checkpoint PATH)"
                + (
                    ""
                    if info.needs_weights
                    else f" (its ModelInfo says needs_weights=False, but {type(model).__name__} "
                    "has parameters: a bug in its plugin)"
                )
            )
    else:
        load_weights(model, state, info=info, name=name, source=weights)
    model.eval()
    return LoadedModel(name=name, model=model, info=info, weights=weights, bundled=bundled)
