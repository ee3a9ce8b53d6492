"""matting-classical's hook implementations (the module named by the ``matting`` entry point)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_classical.fusion import FUSION_INFO, ClassicalFusion
from matting_classical.model import METHODS, ClosedFormMatting, model_info
from matting_classical.refine import ClosedFormRefinerConfig, closed_form_refiner
from matting_core import RefinerInfo, hookimpl

if TYPE_CHECKING:
    from matting_core.registry import ModelRegistry, RefinerRegistry


#: The versions of matting_core.PLUGIN_API this plugin is written for; core reads this
#: line before importing the module and refuses the plugin when its API is outside the range.
MATTING_PLUGIN_API = ">=1.0,<2"


@hookimpl
def matting_register_models(registry: ModelRegistry) -> None:
    for method in METHODS:
        registry.add(method.name, method, model_info(method))
    registry.add("classical-fusion", ClassicalFusion, FUSION_INFO)


@hookimpl
def matting_register_refiners(registry: RefinerRegistry) -> None:
    registry.add(
        "closed-form",
        closed_form_refiner,
        RefinerInfo(
            config_class=ClosedFormRefinerConfig,
            description=(
                "closed-form matting on the band where the model is unsure (alpha not within "
                "0.01 of 0 / 1, grown 8 px); the model's sure pixels and the trimap fixed"
            ),
            paper=ClosedFormMatting.paper,
        ),
    )
