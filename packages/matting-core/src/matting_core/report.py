"""Where a model fails, as pictures: the contact sheet and HTML report of ``matting evaluate``.

:func:`worst_cases` picks the N scored images with the largest SAD; :func:`failure_sheet` lays
each out as one row -- image | trimap | prediction | ground truth | error heat map (the
absolute error over the trimap's unknown region, black 0 to yellow 1, the known region gray)
-- with its scores above it; :func:`html_report` writes the score table, every image's scores
and the sheet (embedded) into one self-contained HTML file.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matting_core.evaluation import BASELINE_METHOD, ImageScore, MethodSummary

__all__ = ["COLUMNS", "Case", "failure_sheet", "html_report", "sheet_columns", "worst_cases"]

#: Columns of a sheet row, in order (the image is left out when no image folder is given).
COLUMNS = ("image", "trimap", "prediction", "ground truth", "error |pred - gt|")


@dataclass(frozen=True)
class Case:
    """One scored image of one method, and the files it was scored from."""

    score: ImageScore
    prediction: Path
    ground_truth: Path
    trimap: Path
    image: Path | None = None

    @property
    def label(self) -> str:
        s = self.score.scores
        return (
            f"{self.score.image} | {self.score.method} | SAD {s['sad']:.2f}  MSE {s['mse']:.4f}"
            f"  Grad {s['grad']:.2f}  Conn {s['conn']:.2f}"
        )


def worst_cases(
    results: Sequence[ImageScore],
    files: Mapping[tuple[str, str], tuple[Path, Path, Path]],
    images: Mapping[str, Path],
    count: int,
) -> list[Case]:
    """The ``count`` results with the largest SAD (the trimap-only baseline left out).

    Args:
        results: the per-image scores.
        files: (method, image name) -> (prediction, ground truth, trimap) paths.
        images: image name -> photo path (may be empty).
        count: how many, >= 1.
    """
    scored = [r for r in results if r.method != BASELINE_METHOD]
    scored.sort(key=lambda r: (-r.scores["sad"], r.method, r.image))
    return [Case(r, *files[(r.method, r.image)], image=images.get(r.image)) for r in scored[:count]]


def sheet_columns(cases: Sequence[Case]) -> tuple[str, ...]:
    """The columns a sheet of ``cases`` has: the image only when every case has its photo."""
    return COLUMNS if all(case.image is not None for case in cases) else COLUMNS[1:]


def failure_sheet(cases: Sequence[Case], *, tile_height: int = 200) -> np.ndarray:
    """The contact sheet of ``cases``, one row each, as (H, W, 3) uint8 RGB."""
    from matting_core.evaluation import as_uint8_if_exact
    from matting_core.visualise import contact_sheet, error_heat_map
    from matting_data import check_same_size, read_alpha, read_image, read_trimap

    if not cases:
        raise ValueError("a sheet needs at least one scored image")
    titles = sheet_columns(cases)
    with_images = titles == COLUMNS
    rows = []
    for case in cases:
        prediction = as_uint8_if_exact(read_alpha(case.prediction))
        truth = as_uint8_if_exact(read_alpha(case.ground_truth))
        trimap = read_trimap(case.trimap)
        tiles = [trimap, prediction, truth, error_heat_map(prediction, truth, trimap)]
        if with_images:
            photo = read_image(case.image)
            check_same_size(image=(case.image, photo), prediction=(case.prediction, prediction))
            tiles.insert(0, photo)
        rows.append(tiles)
    return contact_sheet(rows, [c.label for c in cases], tile_height=tile_height, titles=titles)


def html_report(
    summaries: Sequence[MethodSummary],
    results: Sequence[ImageScore],
    *,
    title: str,
    protocol: str,
    sheet: np.ndarray | None = None,
    sheet_caption: str = "",
) -> str:
    """A self-contained HTML page: the mean scores per method, every image's scores (worst
    SAD first) and the contact sheet as an embedded PNG."""
    from matting_data import encode_image

    def cells(values: Sequence[str], tag: str = "td") -> str:
        return "".join(f"<{tag}>{html.escape(v)}</{tag}>" for v in values)

    def numbers(scores: Mapping[str, float]) -> list[str]:
        return [
            f"{scores['sad']:.2f}",
            f"{scores['mse']:.4f}",
            f"{scores['grad']:.2f}",
            f"{scores['conn']:.2f}",
        ]

    metrics = ["SAD", "MSE", "Grad", "Conn"]
    summary_rows = "\n".join(
        f"<tr>{cells([s.method, str(s.count), *numbers(s.means)])}</tr>" for s in summaries
    )
    ordered = sorted(results, key=lambda r: (-r.scores["sad"], r.method, r.image))
    image_rows = "\n".join(
        f"<tr>{cells([r.image, r.method, *numbers(r.scores)])}</tr>" for r in ordered
    )
    figure = ""
    if sheet is not None:
        data = base64.b64encode(encode_image(sheet, ".png")).decode("ascii")
        figure = (
            f'<figure><img alt="contact sheet" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(sheet_caption)}</figcaption></figure>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th:first-child, td:first-child, td:nth-child(2) {{ text-align: left; }}
img {{ max-width: 100%; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(protocol)}. SAD, Grad and Conn are in thousands, MSE is the raw mean squared
error.</p>
<h2>Mean per method</h2>
<table><tr>{cells(["method", "images", *metrics], "th")}</tr>
{summary_rows}
</table>
<h2>Every image, worst SAD first</h2>
<table><tr>{cells(["image", "method", *metrics], "th")}</tr>
{image_rows}
</table>
{figure}
</body></html>
"""
