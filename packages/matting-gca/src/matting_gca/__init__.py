"""matting-gca: GCA Matting (Li & Lu, AAAI 2020) for the matting toolkit.

    >>> from matting_core import create_model
    >>> model = create_model("gca")            # doctest: +SKIP

The network (:class:`GCAMatting`), its config (:class:`GCAConfig`), the official-checkpoint key
remap (:func:`remap_official_keys`) and the guided contextual attention op
(:func:`guided_contextual_attention`, memory linear in the image area).
"""

from matting_gca.guided_contextual_attention import (
    GCAResult,
    GuidedContextualAttention,
    guided_contextual_attention,
)
from matting_gca.model import GCAConfig, GCAMatting, GCASmallConfig, remap_official_keys

__version__ = "0.1.0"

__all__ = [
    "GCAConfig",
    "GCAMatting",
    "GCAResult",
    "GCASmallConfig",
    "GuidedContextualAttention",
    "__version__",
    "guided_contextual_attention",
    "remap_official_keys",
]
