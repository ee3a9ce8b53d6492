"""matting-hop: HOP Matting (Li, Xu & Lu, 2020) for the matting toolkit.

    >>> from matting_core import create_model
    >>> model = create_model("hop")            # doctest: +SKIP

The network (:class:`HOPMatting`), its config (:class:`HOPConfig`), the official-checkpoint key
remap (:func:`remap_official_keys`), the global HOP block (:class:`GlobalHOPBlock`, memory
linear in the image area) and the local HOP block (:class:`LocalHOPBlock`).
"""

from matting_hop.global_hop import GlobalHOPBlock, global_hop_attention
from matting_hop.local_hop import LocalHOPBlock, local_hop_attention
from matting_hop.model import HOPAllDataConfig, HOPConfig, HOPMatting, remap_official_keys

__version__ = "0.1.0"

__all__ = [
    "GlobalHOPBlock",
    "HOPAllDataConfig",
    "HOPConfig",
    "HOPMatting",
    "LocalHOPBlock",
    "__version__",
    "global_hop_attention",
    "local_hop_attention",
    "remap_official_keys",
]
