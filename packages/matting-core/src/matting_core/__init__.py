"""matting-core: plugin interface, registries, checkpoints and the ``matting`` command.

Plugins write ``from matting_core import hookimpl``; users look models up by name::

    from matting_core import create_model, list_models, load_weights

    list_models("gca*")
    model = create_model("gca")
"""

from __future__ import annotations

from matting_core.checkpoints import LoadReport, load_state_dict, load_weights, save_weights
from matting_core.errors import (
    AmbiguousNameError,
    CheckpointError,
    ConfigError,
    DuplicateNameWarning,
    InputError,
    MattingError,
    MattingWarning,
    PluginError,
    PluginLoadWarning,
    ShapeError,
    TrainingDivergedError,
    UnknownDatasetError,
    UnknownLossError,
    UnknownModelError,
    UnknownNameError,
    UnknownRefinerError,
)
from matting_core.hookspecs import hookimpl
from matting_core.inference import predict
from matting_core.losses import MattingLoss
from matting_core.model_loading import LoadedModel, load_model
from matting_core.models import (
    create_dataset,
    create_loss,
    create_model,
    get_dataset_info,
    get_model_info,
    list_datasets,
    list_losses,
    list_models,
)
from matting_core.plugin_api import PLUGIN_API
from matting_core.registry import (
    CommandInfo,
    DatasetInfo,
    ExtraOutput,
    LossInfo,
    Measured,
    ModelInfo,
    RefinerInfo,
)

#: matting-core's version, its single source; the plugin API has its own, :data:`PLUGIN_API`.
__version__ = "0.1.0"

__all__ = [
    "PLUGIN_API",
    "AmbiguousNameError",
    "CheckpointError",
    "CommandInfo",
    "ConfigError",
    "DatasetInfo",
    "DuplicateNameWarning",
    "ExtraOutput",
    "InputError",
    "LoadReport",
    "LoadedModel",
    "LossInfo",
    "MattingError",
    "MattingLoss",
    "MattingWarning",
    "Measured",
    "ModelInfo",
    "PluginError",
    "PluginLoadWarning",
    "RefinerInfo",
    "ShapeError",
    "TrainingDivergedError",
    "UnknownDatasetError",
    "UnknownLossError",
    "UnknownModelError",
    "UnknownNameError",
    "UnknownRefinerError",
    "__version__",
    "create_dataset",
    "create_loss",
    "create_model",
    "get_dataset_info",
    "get_model_info",
    "hookimpl",
    "list_datasets",
    "list_losses",
    "list_models",
    "load_model",
    "load_state_dict",
    "load_weights",
    "predict",
    "save_weights",
]
