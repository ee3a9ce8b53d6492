"""Evaluate alpha mattes under the Deep Image Matting protocol, or over whole images.

The metrics themselves live in :mod:`matting_metrics`; this module applies one of two
protocols and aggregates per-image scores into per-method means:

- ``unknown-region`` (with a trimap, the standard one): the prediction is masked with the
  trimap's known regions before scoring, because Grad and Conn look at pixels outside the
  unknown region, and the metrics sum over the unknown region;
- ``whole-image`` (without a trimap): every pixel is scored, as HAttMatting evaluates its
  trimap-free results ("the four metrics are all calculated on the whole image").

``matting evaluate`` and training's validation both score through :func:`score_alpha`, and
validation quantises its prediction with :func:`alpha_to_uint8`, the levels ``matting
predict`` writes, so both give the same numbers for the same model and images.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

METRIC_NAMES: tuple[str, ...] = ("sad", "mse", "grad", "conn")
BASELINE_METHOD = "trimap-only baseline"
#: The protocol names ``matting evaluate`` writes into its CSV.
UNKNOWN_REGION, WHOLE_IMAGE = "unknown-region", "whole-image"


def protocol_name(trimap: np.ndarray | None) -> str:
    """:data:`UNKNOWN_REGION` with a trimap, :data:`WHOLE_IMAGE` without."""
    return WHOLE_IMAGE if trimap is None else UNKNOWN_REGION


def baseline_alpha(foreground: Any, unknown: Any, unknown_value: float = 0.5) -> Any:
    """The trimap-only baseline's rule, the one definition of it: ``foreground +
    unknown_value × unknown``, clipped to [0, 1].

    Works on numpy arrays and torch tensors alike (the ``trimap-baseline`` model applies it to
    the one-hot trimap's channels, :func:`trimap_baseline_alpha` to a uint8 trimap's masks).

    Args:
        foreground: 1 where the trimap is foreground, else 0 (float).
        unknown: 1 where it is unknown, else 0 (float, same shape).
        unknown_value: alpha given to the unknown region.
    """
    return (foreground + unknown_value * unknown).clip(0.0, 1.0)


def trimap_baseline_alpha(trimap: np.ndarray, unknown_value: float = 0.5) -> np.ndarray:
    """The reference prediction every model must beat: the trimap itself
    (:func:`baseline_alpha` on a uint8 trimap; ``matting evaluate --baseline``).

    Args:
        trimap: (H, W) uint8 with values {0, 128, 255}.
        unknown_value: alpha assigned to the unknown region.

    Returns:
        (H, W) float32 alpha in [0, 1]: 0 on background, 1 on foreground,
        ``unknown_value`` on the unknown region.
    """
    foreground = (trimap == 255).astype(np.float32)
    unknown = (trimap == 128).astype(np.float32)
    return baseline_alpha(foreground, unknown, unknown_value).astype(np.float32)


def score_alpha(
    pred: np.ndarray,
    gt: np.ndarray,
    trimap: np.ndarray | None,
    *,
    mask: bool = True,
    convention: str = "dim",
) -> dict[str, float]:
    """All four metrics for one image.

    Args:
        pred: (H, W) uint8 (0..255) or float (0..1) predicted alpha.
        gt: (H, W) uint8 or float ground-truth alpha.
        trimap: (H, W) uint8 {0, 128, 255}: score its unknown region; None: score the whole
            image (every pixel counts as unknown; nothing is masked).
        mask: set the prediction to the trimap's known values first (the
            standard protocol; the DIM code itself does not).
        convention: ``"dim"`` (default) or ``"mmagic"``, see :mod:`matting_metrics`.

    Returns:
        ``{"sad", "mse", "grad", "conn"}``: SAD, Grad and Conn in thousands, MSE raw.
    """
    import matting_metrics

    if trimap is None:
        trimap = np.full(np.shape(gt), 128, np.uint8)
    elif mask:
        pred = matting_metrics.mask_with_trimap(pred, trimap)
    return {
        "sad": matting_metrics.sad(pred, gt, trimap, convention=convention),
        "mse": matting_metrics.mse(pred, gt, trimap, convention=convention),
        "grad": matting_metrics.gradient_error(pred, gt, trimap, convention=convention),
        "conn": matting_metrics.connectivity_error(pred, gt, trimap, convention=convention),
    }


@dataclass(frozen=True)
class ImageScore:
    """Scores of one method on one image, under ``protocol`` (:func:`protocol_name`)."""

    method: str
    image: str
    scores: dict[str, float]
    protocol: str = UNKNOWN_REGION


@dataclass
class MethodSummary:
    """Mean scores of one method over the images it was evaluated on."""

    method: str
    count: int
    means: dict[str, float] = field(default_factory=dict)


def summarise(rows: Iterable[ImageScore]) -> list[MethodSummary]:
    """Mean of every metric per method, methods in first-seen order."""
    by_method: dict[str, list[ImageScore]] = {}
    for row in rows:
        by_method.setdefault(row.method, []).append(row)
    summaries = []
    for method, method_rows in by_method.items():
        means = {
            name: math.fsum(r.scores[name] for r in method_rows) / len(method_rows)
            for name in METRIC_NAMES
        }
        summaries.append(MethodSummary(method, len(method_rows), means))
    return summaries


def format_table(summaries: Sequence[MethodSummary], title: str = "") -> str:
    """A fixed-width text table: method, images, SAD, MSE, Grad, Conn."""
    header = ("method", "images", "SAD", "MSE", "Grad", "Conn")
    body = [
        (
            s.method,
            str(s.count),
            f"{s.means['sad']:.2f}",
            f"{s.means['mse']:.4f}",
            f"{s.means['grad']:.2f}",
            f"{s.means['conn']:.2f}",
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((first, *rest))

    out = [title] if title else []
    out += [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in body]
    return "\n".join(out)


def write_csv(path: Path, rows: Sequence[ImageScore]) -> Path:
    """Per-image rows (method, image, sad, mse, grad, conn, protocol), written atomically; the
    folder is created if needed."""
    import csv
    import io

    from matting_data.atomic import atomic_write_bytes

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "image", *METRIC_NAMES, "protocol"])
    for row in rows:
        scores = (repr(row.scores[m]) for m in METRIC_NAMES)
        writer.writerow([row.method, row.image, *scores, row.protocol])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(path), buffer.getvalue().encode("utf-8"))
    return Path(path)


def as_uint8_if_exact(alpha: np.ndarray) -> np.ndarray:
    """Return ``alpha`` as uint8 when it holds exact 8-bit levels, else unchanged."""
    if alpha.dtype == np.uint8:
        return alpha
    scaled = alpha.astype(np.float64) * 255.0
    rounded = np.rint(scaled)
    if np.all(np.abs(scaled - rounded) < 1e-4):
        return rounded.astype(np.uint8)
    return alpha


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """The 8-bit levels ``matting predict`` writes for a float alpha (``matting_data.write_alpha``
    with 8 bits: clipped to [0, 1], times 255, rounded half to even).

    Args:
        alpha: (H, W) float in [0, 1], finite.

    Returns:
        (H, W) uint8.
    """
    return np.rint(np.clip(alpha.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
