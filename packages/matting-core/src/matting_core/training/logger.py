"""Run logs: ``metrics.jsonl`` (one JSON object per logged step) and TensorBoard events.

Every line of ``metrics.jsonl`` has ``step`` and ``split`` (``train`` or ``val``) plus the
metrics, e.g. ``{"step": 100, "split": "train", "loss": 0.031, "loss/l1_unknown": 0.031,
"lr": 0.0004, "steps_per_s": 5.2, ...}``.  TensorBoard gets the same numbers as scalars named
``split/metric`` in ``RUN_DIR/tensorboard`` (via ``tensorboardX``; without it, a warning and
no events).  On resume, lines and events past the checkpoint's step are dropped, so the logs
read as one uninterrupted run.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from matting_core.errors import MattingWarning

__all__ = ["METRICS_FILE", "RunLogger", "read_metrics"]

#: Name of the JSON-lines metrics file in the run directory.
METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (optionally of one split); a damaged last
    line (a killed run) is skipped."""
    path = Path(run_dir) / METRICS_FILE
    records = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and (split is None or record.get("split") == split):
                records.append(record)
    return records


class RunLogger:
    """Writes metrics of rank 0 to ``metrics.jsonl`` and TensorBoard.

    :param run_dir: the run directory.
    :param tensorboard: also write TensorBoard events.
    :param resume_step: when resuming, the checkpoint's step: later records are removed.
    """

    def __init__(self, run_dir: Path, *, tensorboard: bool, resume_step: int | None = None) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        if resume_step is not None:
            self._trim(resume_step)
        elif self.path.exists():
            self.path.unlink()
        self._file = self.path.open("a", encoding="utf-8")
        self._writer = (
            self._open_tensorboard(Path(run_dir) / "tensorboard", resume_step)
            if tensorboard
            else None
        )

    def _trim(self, step: int) -> None:
        kept = [r for r in read_metrics(self.path.parent) if int(r.get("step", 0)) <= step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        from matting_data.atomic import atomic_write_bytes

        atomic_write_bytes(self.path, text.encode("utf-8"))

    @staticmethod
    def _open_tensorboard(directory: Path, resume_step: int | None) -> Any:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            warnings.warn(
                "run.tensorboard: tensorboardX is not installed; no TensorBoard events are "
                "written (pip install tensorboardX, or set run.tensorboard = false)",
                MattingWarning,
                stacklevel=3,
            )
            return None
        # purge_step drops events a killed run wrote after its last checkpoint
        purge = resume_step + 1 if resume_step is not None else None
        return SummaryWriter(logdir=str(directory), purge_step=purge)

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        """Append one record and the matching TensorBoard scalars."""
        record: dict[str, Any] = {"step": step, "split": split}
        for name, value in metrics.items():
            record[name] = _json_number(value)
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._writer is not None:
            for name, value in metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(f"{split}/{name}", value, step)

    def log_image(self, step: int, tag: str, image: Any) -> None:
        """One TensorBoard image (``tag``, an (H, W, 3) uint8 RGB array) at ``step``."""
        if self._writer is not None:
            self._writer.add_image(tag, image, step, dataformats="HWC")

    def flush(self) -> None:
        """Push buffered TensorBoard events to disk."""
        self._file.flush()
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close both outputs."""
        self._file.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _json_number(value: Any) -> Any:
    # JSON has no NaN/inf; write them as strings so every line stays valid JSON
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
