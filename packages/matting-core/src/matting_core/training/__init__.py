"""Training: configs, the engine, recipes, optimisers, checkpoints and DDP (DESIGN §7).

::

    from matting_core.training import load_config, train

    cfg = load_config("configs/gca-comp1k.toml", ["optim.lr=4e-4"])
    result = train(cfg, "runs/gca")

A plugin contributes a :class:`TrainingRecipe` (``ModelInfo.training_recipe``); the engine does
the rest.  Multi-GPU: ``torchrun --nproc-per-node 4 -m matting_core.cli train CONFIG``.
"""

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
    TrainConfig,
    WeightSchedule,
    check_names,
    config_from_dict,
    dump_config,
    load_config,
)
from matting_core.training.engine import TrainResult, train
from matting_core.training.recipe import (
    AdversarialRecipe,
    LossTerms,
    SupervisedRecipe,
    TrainingRecipe,
    recipe_for,
)
from matting_core.training.state import CheckpointFallbackWarning, load_latest_state

__all__ = [
    "AdversarialConfig",
    "AdversarialRecipe",
    "AmpConfig",
    "CheckpointFallbackWarning",
    "DataConfig",
    "DistributedConfig",
    "LossConfig",
    "LossTerms",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "ScheduleConfig",
    "SupervisedRecipe",
    "TrainConfig",
    "TrainResult",
    "TrainingRecipe",
    "WeightSchedule",
    "check_names",
    "config_from_dict",
    "dump_config",
    "load_config",
    "load_latest_state",
    "recipe_for",
    "train",
]
