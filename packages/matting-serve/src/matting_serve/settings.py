"""What a ``matting serve`` server is started with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["DEFAULT_MODEL", "ServeSettings"]

#: The model the page selects when ``--model`` is not given (if it is installed).
DEFAULT_MODEL = "gca"


@dataclass(frozen=True)
class ServeSettings:
    """Settings of one server.

    :param model: the model the page selects first; None: ``gca`` if installed, else the first
        registered model.
    :param checkpoint: weights for ``model`` (any model without one runs on its bundled weights).
    :param device: where models run (``cpu``, ``cuda``…); None: CPU.
    :param max_upload_bytes: largest request body accepted; larger ones get 413.
    :param max_pixels: largest photo (width x height) accepted, checked before decoding.
    :param preview_size: longest side of the preview a photo is painted on; a trimap of the
        preview's size is scaled up (nearest neighbour) to the photo's.
    :param foreground: matting-data's foreground estimator for the cutout's colours.
    :param kept_images: uploaded photos kept for the page (oldest dropped first).
    :param kept_jobs: finished predictions kept with their results (oldest dropped first).
    """

    model: str | None = None
    checkpoint: Path | None = None
    device: str | None = None
    max_upload_bytes: int = 64 * 2**20
    max_pixels: int = 50_000_000
    preview_size: int = 1600
    foreground: Literal["multilevel", "blur_fusion"] = "multilevel"
    kept_images: int = 16
    kept_jobs: int = 16
