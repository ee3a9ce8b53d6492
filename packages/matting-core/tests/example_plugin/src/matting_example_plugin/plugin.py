"""Hook implementations of the example plugin; the entry point names this module."""

from __future__ import annotations

from matting_core import LossInfo, ModelInfo, hookimpl
from matting_example_plugin.model import ExampleFree, ExampleL1Loss, ExampleTiny, ExampleTinyConfig

#: The versions of matting_core.PLUGIN_API this plugin is written for; core reads this
#: line before importing the module and refuses the plugin when its API is outside the range.
MATTING_PLUGIN_API = ">=1.0,<2"


@hookimpl
def matting_register_models(registry):
    registry.add(
        "example-tiny",
        ExampleTiny,
        ModelInfo(
            paper="— (example plugin for matting-core's tests)",
            needs_trimap=True,
            input_channels=6,
            config_class=ExampleTinyConfig,
            description="two convolutions and a sigmoid",
        ),
    )
    registry.add(
        "example-free",
        ExampleFree,
        ModelInfo(
            paper="— (example plugin for matting-core's tests)",
            needs_trimap=False,
            input_channels=3,
            config_class=ExampleTinyConfig,
            description="trimap-free: two convolutions on RGB and a sigmoid",
        ),
    )


@hookimpl
def matting_register_losses(registry):
    registry.add(
        "example-l1",
        ExampleL1Loss,
        LossInfo(papers=(), description="mean absolute alpha error"),
    )
