"""What a model shows besides alpha (``matting predict --save-extras``).

A model declares its extra outputs in ``ModelInfo.extra_outputs`` (:class:`ExtraOutput`:
attention offsets, scale maps, propagation maps). :func:`capture_extras` records them from the
model's first forward while :func:`matting_core.predict` runs (a forward hook: ``predict`` is
unchanged), and :func:`save_extras` draws them at the photo's size:

* ``"flow"`` outputs in the Middlebury colour coding (:func:`matting_core.visualise.flow_to_colour`),
  normalised by their longest vector over the photo, the values of an annotating ``"scalars"``
  output written in the top-left corner (as the GCA release's demo writes the softmax weights);
* ``"map"`` outputs as heat maps between their smallest and largest value over the photo;
* ``"scalars"`` as numbers, in ``extras.json``.

Each grid covers the padded input the network saw, so a cell is drawn as a block of
``padded size / grid size`` pixels and the padding is cropped away, which aligns every picture
with the photo. ``extras.json`` records, for every output, its file, grid, cell size and the
range it was drawn with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from matting_core.errors import InputError, ShapeError
from matting_core.inference import Padding
from matting_core.registry import ExtraOutput, ModelInfo

__all__ = ["FLOW_KEY_FILE", "SUMMARY_FILE", "CapturedExtras", "capture_extras", "save_extras"]

#: Written once in the extras folder when any flow is drawn: the colour key.
FLOW_KEY_FILE = "flow-colour-key.png"
#: Written in each image's extras folder: what was drawn, and how.
SUMMARY_FILE = "extras.json"


@dataclass
class CapturedExtras:
    """The extra outputs of a model's first forward (batch item 0, on the CPU) and the spatial
    size of the input it saw; empty until the model runs."""

    names: tuple[str, ...]
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None

    def clear(self) -> None:
        self.outputs.clear()
        self.input_size = None


@contextmanager
def capture_extras(model: nn.Module, info: ModelInfo) -> Iterator[CapturedExtras]:
    """Record ``info.extra_outputs`` from the first forward of ``model`` inside the block
    (with test-time augmentation, the un-augmented one); call ``clear()`` between images."""
    captured = CapturedExtras(tuple(extra.name for extra in info.extra_outputs))

    def hook(_module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if captured.input_size is not None or not isinstance(output, dict):
            return
        captured.input_size = tuple(inputs[0].shape[-2:])
        for name in captured.names:
            if name not in output:
                raise ShapeError(
                    f"the model declares the extra output {name!r} but its forward did not "
                    "return it"
                )
            captured.outputs[name] = output[name][0].detach().float().cpu()

    handle = model.register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


def save_extras(
    directory: Path,
    captured: CapturedExtras,
    info: ModelInfo,
    padding: Padding,
    image_size: tuple[int, int],
    *,
    model_name: str = "",
) -> list[Path]:
    """Draw the captured outputs into ``directory`` (created); returns the files written.

    Args:
        directory: the image's extras folder.
        captured: filled by :func:`capture_extras` during one ``predict``.
        info: the model's info (what each output is).
        padding: the padding ``predict`` used for this image.
        image_size: (H, W) of the photo.
        model_name: recorded in ``extras.json``.

    Raises:
        InputError: the model ran on something other than the whole padded image (e.g. tiles),
            so its grids do not cover the photo.
        ShapeError: an output whose shape breaks its declared kind.
    """
    from matting_data import write_image
    from matting_data.atomic import atomic_write_bytes

    height, width = image_size
    padded = (height + padding.top + padding.bottom, width + padding.left + padding.right)
    if captured.input_size != padded:
        raise InputError(
            "--save-extras needs the model to see the whole padded image in one forward; it "
            f"saw {captured.input_size} instead of {padded}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    scalars = {
        extra.name: _scalars(extra, captured.outputs[extra.name])
        for extra in info.extra_outputs
        if extra.kind == "scalars"
    }
    summary: dict[str, Any] = {"model": model_name, "image_size": [height, width], "outputs": {}}
    written = []
    for extra in info.extra_outputs:
        record: dict[str, Any] = {"kind": extra.kind, "description": extra.description}
        if extra.kind == "scalars":
            record["values"] = scalars[extra.name]
        else:
            picture, drawn = _draw(extra, captured.outputs[extra.name], padded, padding, image_size)
            if extra.annotate is not None:
                _annotate(picture, scalars[extra.annotate])
            path = write_image(directory / f"{extra.name}.png", picture)
            written.append(path)
            record.update(file=path.name, **drawn)
        summary["outputs"][extra.name] = record
    text = json.dumps(summary, indent=2) + "\n"
    written.append(atomic_write_bytes(directory / SUMMARY_FILE, text.encode("utf-8")))
    return written


def write_flow_key(directory: Path) -> Path:
    """The Middlebury colour key, ``directory / FLOW_KEY_FILE``."""
    from matting_core.visualise import flow_colour_key
    from matting_data import write_image

    return write_image(directory / FLOW_KEY_FILE, flow_colour_key())


def has_flow(info: ModelInfo) -> bool:
    """Whether any of the model's extra outputs is a flow field."""
    return any(extra.kind == "flow" for extra in info.extra_outputs)


# --------------------------------------------------------------------------- helpers


def _scalars(extra: ExtraOutput, values: torch.Tensor) -> dict[str, float]:
    flat = values.reshape(-1)
    if flat.numel() != len(extra.labels):
        raise ShapeError(
            f"extra output {extra.name!r} has {flat.numel()} values for the labels {extra.labels}"
        )
    return {label: float(v) for label, v in zip(extra.labels, flat.tolist(), strict=True)}


def _draw(
    extra: ExtraOutput,
    grid: torch.Tensor,
    padded: tuple[int, int],
    padding: Padding,
    image_size: tuple[int, int],
) -> tuple[np.ndarray, dict[str, Any]]:
    """The picture of one flow or map output at the photo's size, and how it was drawn."""
    from matting_core.visualise import flow_to_colour, heat_map

    channels = 2 if extra.kind == "flow" else 1
    if grid.ndim != 3 or grid.shape[0] != channels:
        raise ShapeError(
            f"extra output {extra.name!r} ({extra.kind}) must be (B, {channels}, h, w), got "
            f"{(1, *grid.shape)}"
        )
    rows, cols = grid.shape[1:]
    if padded[0] % rows or padded[1] % cols or padded[0] // rows != padded[1] // cols:
        raise ShapeError(
            f"extra output {extra.name!r}: a {rows}x{cols} grid does not tile the "
            f"{padded[0]}x{padded[1]} input in square cells"
        )
    cell = padded[0] // rows
    # the cells that show some of the photo (the padding's own cells are left out)
    top, left = padding.top // cell, padding.left // cell
    bottom = -(-(padding.top + image_size[0]) // cell)
    right = -(-(padding.left + image_size[1]) // cell)
    visible = grid[:, top:bottom, left:right].numpy().astype(np.float64)
    drawn: dict[str, Any] = {"grid": [rows, cols], "cell_pixels": cell}
    if extra.kind == "flow":
        lengths = np.hypot(visible[0], visible[1])
        longest = float(lengths.max()) if lengths.size and lengths.max() > 0 else 1.0
        picture = flow_to_colour(visible, max_radius=longest)
        drawn["max_radius"] = longest
    else:
        lo, hi = float(visible.min()), float(visible.max())
        picture = heat_map(visible[0], lo, hi)
        drawn["range"] = [lo, hi]
    picture = np.repeat(np.repeat(picture, cell, axis=0), cell, axis=1)
    y0, x0 = padding.top - top * cell, padding.left - left * cell
    picture = picture[y0 : y0 + image_size[0], x0 : x0 + image_size[1]]
    return np.ascontiguousarray(picture), drawn


def _annotate(picture: np.ndarray, values: dict[str, float]) -> None:
    """Write ``label: value, ...`` in black in the top-left corner, in place."""
    import cv2

    text = ", ".join(f"{label}: {value:.2f}" for label, value in values.items())
    scale = max(0.4, min(1.0, picture.shape[1] / 1000))
    cv2.putText(
        picture,
        text,
        (8, int(22 * scale) + 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (0, 0, 0),
        max(1, round(2 * scale)),
        cv2.LINE_AA,
    )
