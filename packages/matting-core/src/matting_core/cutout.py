"""Cutouts and composites of matted photos (``matting predict --cutout / --composite``).

The pixels come from matting-data (:func:`matting_data.cutout_rgba`: the estimated foreground
as colour, the matte as alpha; :func:`matting_data.fit_background`; :func:`matting_data.composite`);
this module turns a user's ``--background PHOTO|COLOR`` into a background of any photo's size
and writes the two files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matting_core.errors import InputError

__all__ = ["Background", "cutout_and_composite"]


@dataclass
class Background:
    """A new background: a photo (fitted to each image: scaled to cover it, centred) or a flat
    colour. Build it with :meth:`parse`."""

    photo: np.ndarray | None = None
    colour: tuple[float, float, float] | None = None
    source: str = ""
    _fitted: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, text: str) -> Background:
        """``text`` is an existing image file, else a colour (``#RRGGBB``, ``R,G,B``, a name).

        :raises InputError: neither (one sentence naming both forms); a photo that cannot be
            read raises matting-data's error for it.
        """
        from matting_data import parse_colour, read_image

        path = Path(text)
        if path.is_file():
            return cls(photo=read_image(path), source=str(path))
        try:
            return cls(colour=parse_colour(text), source=text)
        except ValueError:
            pass
        if path.suffix or path.parent != Path("."):
            raise InputError(f"the background photo {text} does not exist")
        raise InputError(
            f"--background {text!r} is neither an image file nor a colour (#RRGGBB, R,G,B with "
            "values 0-255, or a name such as white or black)"
        )

    @property
    def path(self) -> Path | None:
        """The photo's file (None for a colour)."""
        return Path(self.source) if self.photo is not None else None

    def for_size(self, height: int, width: int) -> np.ndarray:
        """(height, width, 3) float32 RGB in [0, 1]."""
        from matting_data import fit_background, solid_background

        key = (height, width)
        if key not in self._fitted:
            if self.photo is not None:
                self._fitted = {key: fit_background(self.photo, height, width)}
            else:
                assert self.colour is not None
                self._fitted = {key: solid_background(self.colour, height, width)}
        return self._fitted[key]


def cutout_and_composite(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    cutout: Path | None,
    composite: Path | None,
    background: Background | None,
    method: str = "multilevel",
    bit_depth: int = 8,
) -> None:
    """Write the RGBA cutout of ``image`` (to ``cutout``, a PNG) and its composite over
    ``background`` (to ``composite``, format by extension); the foreground is estimated once.

    Args:
        image: (H, W, 3) float32 RGB in [0, 1].
        alpha: (H, W) float32 in [0, 1].
        cutout, composite: where to write, or None.
        background: needed with ``composite``.
        method: matting-data's foreground estimator.
        bit_depth: 8 or 16 (16 only for PNG/TIFF).
    """
    from matting_data import composite as mix
    from matting_data import cutout_rgba, write_image

    if cutout is None and composite is None:
        return
    rgba = cutout_rgba(image, alpha, method=method)
    if cutout is not None:
        write_image(cutout, rgba, bit_depth=bit_depth)
    if composite is not None:
        if background is None:
            raise InputError("a composite needs --background PHOTO|COLOR")
        new = background.for_size(*alpha.shape)
        picture = mix(rgba[:, :, :3], new.astype(np.float32), rgba[:, :, 3])
        depth = bit_depth if composite.suffix.lower() in (".png", ".tif", ".tiff") else 8
        write_image(composite, picture, bit_depth=depth)
