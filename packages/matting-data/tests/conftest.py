"""Shared fixtures: location of the project's real test data, and a tiny PNG writer."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA_ENV = "MATTING_SHARED_DATA"


def _find_shared_data() -> Path | None:
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env)
    for ancestor in Path(__file__).resolve().parents:
        # <ancestor>/../shared/data (checkout next to shared/), or <ancestor>/shared/data.
        for candidate in (ancestor.parent / "shared" / "data", ancestor / "shared" / "data"):
            if candidate.is_dir():
                return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real data folder (``shared/data`` with ``alphamatting_training_lowres``)."""
    path = _find_shared_data()
    if path is None or not (path / "alphamatting_training_lowres").is_dir():
        pytest.fail(
            f"real test data not found (looked at ${SHARED_DATA_ENV} and for a 'shared/data' "
            f"folder beside an ancestor of {Path(__file__).parent}); set {SHARED_DATA_ENV} to "
            "the folder holding alphamatting_training_lowres/ and mmagic_matting_sample/."
        )
    return path


@pytest.fixture(scope="session")
def lowres(shared_data: Path) -> Path:
    return shared_data / "alphamatting_training_lowres"


@pytest.fixture(scope="session")
def mmagic(shared_data: Path) -> Path:
    return shared_data / "mmagic_matting_sample"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def raw_png(pixels: np.ndarray | None, *, size: tuple[int, int] | None = None) -> bytes:
    """Encode a PNG by hand (independent of OpenCV).

    ``pixels``: (H, W) gray or (H, W, 3) RGB uint8, written with filter 0. With ``pixels=None``
    and ``size=(width, height)`` only the IHDR claims that size and the IDAT holds one row of
    zeros: a tiny file pretending to be huge.
    """
    if pixels is None:
        assert size is not None
        width, height = size
        colour_type, rows = 0, b"\x00" + b"\x00" * 16
    else:
        height, width = pixels.shape[:2]
        colour_type = 2 if pixels.ndim == 3 else 0
        rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def make_raw_png() -> Callable[..., bytes]:
    return raw_png
