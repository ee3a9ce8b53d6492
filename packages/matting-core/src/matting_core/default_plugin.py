"""matting-core's built-in plugin: it registers the trimap baseline.

Built-in features are plugins like any other, so the hook API is exercised by core itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_core.hookspecs import hookimpl
from matting_core.registry import ModelInfo
from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig

if TYPE_CHECKING:
    from matting_core.registry import ModelRegistry


@hookimpl
def matting_register_models(registry: ModelRegistry) -> None:
    registry.add(
        "trimap-baseline",
        TrimapBaseline,
        ModelInfo(
            paper="— (reference row: every model must beat it)",
            needs_trimap=True,
            input_channels=6,
            config_class=TrimapBaselineConfig,
            description="alpha read off the trimap: fg + unknown_value (0.5) x unknown; no parameters",
        ),
    )
