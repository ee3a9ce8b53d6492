"""matting-hdmatt: HDMatt (Yu et al., AAAI 2021) for the matting toolkit.

    >>> from matting_core import create_model
    >>> model = create_model("hdmatt-small")   # doctest: +SKIP

The network (:class:`HDMatt`), its configs, the Cross-Patch Contextual module
(:class:`CrossPatchContext`: context patch sampling and the Trimap-Guided Non-Local operation)
and the test-time context pool (:func:`hdmatt_patch_forward`).
"""

from matting_hdmatt.context_pool import context_pool, hdmatt_patch_forward
from matting_hdmatt.cross_patch_context import (
    CrossPatchContext,
    sampling_scores,
    select_context,
    trimap_guided_non_local,
    trimap_regions,
)
from matting_hdmatt.model import HDMatt, HDMattConfig, HDMattSmallConfig

__version__ = "0.1.0"

__all__ = [
    "CrossPatchContext",
    "HDMatt",
    "HDMattConfig",
    "HDMattSmallConfig",
    "__version__",
    "context_pool",
    "hdmatt_patch_forward",
    "sampling_scores",
    "select_context",
    "trimap_guided_non_local",
    "trimap_regions",
]
