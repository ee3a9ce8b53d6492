"""Real photos for the tests: small windows of the alphamatting.com training photos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from matting_core.testing import require_shared
from matting_data import read_alpha, read_image, read_trimap


@dataclass(frozen=True)
class Photo:
    """A window of a real photo: float32 RGB in [0, 1] (as matting_data.read_image gives it), uint8
    {0, 128, 255} trimap, float32 ground-truth alpha."""

    name: str
    image: np.ndarray
    trimap: np.ndarray
    alpha: np.ndarray

    @property
    def pymatting_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """The float64 image and trimap in [0, 1] that pymatting's functions take."""
        return self.image.astype(np.float64), self.trimap.astype(np.float64) / 255


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real data (``shared/data``, holding ``alphamatting_training_lowres/``)."""
    return require_shared("data", must_contain="alphamatting_training_lowres", start=__file__)


@pytest.fixture(scope="session")
def load_photo(shared_data: Path):
    """``load_photo(name, top, left, height, width)``: a window of ``GTnn`` (Trimap1)."""
    root = shared_data / "alphamatting_training_lowres"

    def load(
        name: str, top: int = 0, left: int = 0, height: int | None = None, width: int | None = None
    ) -> Photo:
        image = read_image(root / "image" / f"{name}.png")
        trimap = read_trimap(root / "trimap" / f"{name}.png")
        alpha = read_alpha(root / "alpha" / f"{name}.png")
        bottom = None if height is None else top + height
        right = None if width is None else left + width
        window = (slice(top, bottom), slice(left, right))
        return Photo(
            f"{name}[{top}:{bottom}, {left}:{right}]",
            np.ascontiguousarray(image[window]),
            np.ascontiguousarray(trimap[window]),
            np.ascontiguousarray(alpha[window]),
        )

    return load


@pytest.fixture(scope="session")
def hair(load_photo) -> Photo:
    """120x160 of GT01 (a plush toy's fur): about 30% unknown, 40% foreground, 30% background."""
    return load_photo("GT01", 120, 60, 120, 160)


@pytest.fixture(scope="session")
def small_hair(load_photo) -> Photo:
    """64x80 of the same region (30% each of unknown, foreground, background), for the slowest
    method (lkm)."""
    return load_photo("GT01", 164, 76, 64, 80)
