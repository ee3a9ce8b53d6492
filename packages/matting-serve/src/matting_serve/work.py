"""What a job does, on the worker thread: the same steps as ``matting predict``, then more.

:func:`matte` runs ``matting_core.predict`` on the decoded photo and trimap with the model's
weights and encodes the alpha with matting-data's PNG encoder, so its bytes are the bytes
``matting predict IMAGE TRIMAP -o ALPHA.png`` writes for the same files.  The cutout is an
RGBA PNG whose colours are matting-data's estimated foreground (not the photo's pixels, so no
background colour bleeds into the edges) and whose alpha is the matte.
"""

from __future__ import annotations

import numpy as np

from matting_serve.jobs import Job
from matting_serve.models import Models
from matting_serve.trimaps import trimap_from_soft_mask

__all__ = ["auto_trimap", "matte"]


def _predict(job: Job, models: Models, image: np.ndarray, trimap: np.ndarray | None) -> np.ndarray:
    from matting_core import InputError, predict

    job.report(f"loading {job.model}")
    loaded = models.load(job.model)
    if loaded.info.needs_trimap and trimap is None:
        raise InputError(f"model {job.model!r} needs a trimap: paint one or send one")
    job.report(f"running {job.model}", 0.0)
    with models.progress(job.model, loaded, lambda done: job.report(f"running {job.model}", done)):
        return predict(
            loaded.model,
            image,
            trimap if loaded.info.needs_trimap else None,
            info=loaded.info,
            device=models.device,
        )


def matte(
    job: Job,
    models: Models,
    image: np.ndarray,
    trimap: np.ndarray | None,
    *,
    foreground: str,
    cutout: bool = True,
) -> None:
    """Alpha (and the RGBA cutout, and the trimap used) of ``image`` into ``job.results``."""
    from matting_data import cutout_rgba, encode_alpha, encode_image

    alpha = _predict(job, models, image, trimap)
    job.report("encoding the alpha")
    job.results["alpha"] = encode_alpha(alpha)
    if trimap is not None:
        job.results["trimap"] = encode_alpha(trimap)
    if cutout:
        job.report(f"estimating the foreground colours ({foreground})")
        job.results["cutout"] = encode_image(cutout_rgba(image, alpha, method=foreground), ".png")


def auto_trimap(job: Job, models: Models, image: np.ndarray, *, band: int) -> None:
    """A trimap from a trimap-free model's alpha into ``job.results`` (with that alpha)."""
    from matting_core import InputError
    from matting_data import encode_alpha

    info = models.load(job.model).info
    if info.needs_trimap:
        raise InputError(
            f"model {job.model!r} needs a trimap itself; an automatic trimap needs a "
            "trimap-free model"
        )
    alpha = _predict(job, models, image, None)
    job.report("making the trimap")
    job.results["alpha"] = encode_alpha(alpha)
    job.results["trimap"] = encode_alpha(trimap_from_soft_mask(alpha, band))
