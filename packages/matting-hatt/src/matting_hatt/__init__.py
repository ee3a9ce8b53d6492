"""matting-hatt: HAttMatting (Qiao et al., CVPR 2020) for the matting toolkit.

    >>> from matting_core import create_model
    >>> model = create_model("hattmatting-small")            # doctest: +SKIP

A trimap-free network: an alpha matte from an RGB photo alone.  The network
(:class:`HAttMatting`), its configs (:class:`HAttConfig`, :class:`HAttSmallConfig`), its two
attention blocks (:class:`PyramidalFeaturesDistillation`, :class:`AppearanceCuesFiltration`)
and the training recipe (:class:`~matting_hatt.training.HAttRecipe`).
"""

from matting_hatt.attention import AppearanceCuesFiltration, PyramidalFeaturesDistillation
from matting_hatt.model import HAttConfig, HAttMatting, HAttSmallConfig, build_discriminator

__version__ = "0.1.0"

__all__ = [
    "AppearanceCuesFiltration",
    "HAttConfig",
    "HAttMatting",
    "HAttSmallConfig",
    "PyramidalFeaturesDistillation",
    "__version__",
    "build_discriminator",
]
