"""matting-hatt's hook implementations (the module named by the ``matting`` entry point)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_core import hookimpl
from matting_hatt.model import HATT_INFO, HATT_SMALL_INFO, HAttMatting

if TYPE_CHECKING:
    from matting_core.registry import ModelRegistry

#: The versions of matting_core.PLUGIN_API this plugin is written for; core reads this
#: line before importing the module and refuses the plugin when its API is outside the range.
MATTING_PLUGIN_API = ">=1.0,<2"


@hookimpl
def matting_register_models(registry: ModelRegistry) -> None:
    registry.add("hattmatting", HAttMatting, HATT_INFO)
    registry.add("hattmatting-small", HAttMatting, HATT_SMALL_INFO)
