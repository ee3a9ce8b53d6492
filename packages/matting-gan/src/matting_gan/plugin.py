"""matting-gan's hook implementations (the module named by the ``matting`` entry point)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_core import hookimpl
from matting_gan.model import ALPHAGAN_INFO, ALPHAGAN_SMALL_INFO, AlphaGAN

if TYPE_CHECKING:
    from matting_core.registry import ModelRegistry

#: The versions of matting_core.PLUGIN_API this plugin is written for; core reads this
#: line before importing the module and refuses the plugin when its API is outside the range.
MATTING_PLUGIN_API = ">=1.0,<2"


@hookimpl
def matting_register_models(registry: ModelRegistry) -> None:
    registry.add("alphagan", AlphaGAN, ALPHAGAN_INFO)
    registry.add("alphagan-small", AlphaGAN, ALPHAGAN_SMALL_INFO)
