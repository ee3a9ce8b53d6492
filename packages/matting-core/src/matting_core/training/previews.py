"""Validation previews: the first validation images as pictures, at every validation.

:class:`ValidationPreviews` is handed to :func:`~matting_core.training.validation.validate`
as its ``on_prediction`` callback and keeps the first ``limit`` images; :meth:`write` draws
them as one contact sheet -- image | trimap | prediction | ground truth | error heat map, the
scores above each row (:func:`matting_core.visualise.contact_sheet`) -- to
``RUN_DIR/previews/step-NNNNNNNN.png`` and to TensorBoard (``val/previews``), so a run shows
how its mattes change, not only its numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor

if TYPE_CHECKING:
    from matting_core.training.logger import RunLogger

__all__ = ["PREVIEW_DIR", "ValidationPreviews"]

#: Folder of the preview sheets in the run directory.
PREVIEW_DIR = "previews"


class ValidationPreviews:
    """Collects the first ``limit`` validation images of one validation.

    :param limit: how many images (>= 1).
    :param tile_height: height of each picture in the sheet.
    """

    def __init__(self, limit: int, *, tile_height: int = 160) -> None:
        self.limit = limit
        self.tile_height = tile_height
        self.rows: list[list[np.ndarray]] = []
        self.labels: list[str] = []

    def __call__(
        self,
        index: int,
        batch: Mapping[str, Tensor],
        prediction: np.ndarray,
        scores: Mapping[str, float],
    ) -> None:
        from matting_core.training.validation import trimap_to_uint8
        from matting_core.visualise import error_heat_map

        if index >= self.limit:
            return
        image = batch["image"][0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        truth = batch["alpha"][0, 0].float().cpu().numpy()
        if "trimap" in batch:
            trimap = trimap_to_uint8(batch["trimap"][0])
        else:  # trimap-free validation scores the whole image: all of it is "unknown"
            trimap = np.full(prediction.shape, 128, dtype=np.uint8)
        self.rows.append(
            [image, trimap, prediction, truth, error_heat_map(prediction, truth, trimap)]
        )
        self.labels.append(
            f"validation image {index} | SAD {scores['sad']:.2f}  MSE {scores['mse']:.4f}"
            f"  Grad {scores['grad']:.2f}  Conn {scores['conn']:.2f}"
        )

    def write(self, run_dir: Path, step: int, logger: RunLogger | None) -> Path | None:
        """Draw the sheet of this validation; None when no image was collected."""
        from matting_core.report import COLUMNS
        from matting_core.visualise import contact_sheet
        from matting_data import write_image

        if not self.rows:
            return None
        sheet = contact_sheet(self.rows, self.labels, tile_height=self.tile_height, titles=COLUMNS)
        path = write_image(Path(run_dir) / PREVIEW_DIR / f"step-{step:08d}.png", sheet)
        if logger is not None:
            logger.log_image(step, "val/previews", sheet)
        return path
