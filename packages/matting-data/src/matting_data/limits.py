"""The pixel-count limit that guards against decompression bombs.

The limit is resolved at *call* time, never cached at import time:

1. an explicit ``max_pixels=`` argument wins;
2. else the environment variable ``MATTING_MAX_PIXELS`` (a positive integer; ``_`` allowed as
   digit separator, e.g. ``MATTING_MAX_PIXELS=500_000_000``);
3. else :data:`DEFAULT_MAX_PIXELS`.
"""

from __future__ import annotations

import os

from matting_data.errors import DataError

__all__ = ["DEFAULT_MAX_PIXELS", "MAX_PIXELS_ENV_VAR", "resolve_max_pixels"]

#: Default limit on ``width * height`` of a decoded image: 2**27 = 134,217,728 pixels
#: (about 11585 x 11585). A float32 RGB image of that size takes 1.5 GiB.
DEFAULT_MAX_PIXELS: int = 2**27

#: Name of the environment variable that overrides :data:`DEFAULT_MAX_PIXELS`.
MAX_PIXELS_ENV_VAR: str = "MATTING_MAX_PIXELS"


def resolve_max_pixels(max_pixels: int | None = None) -> int:
    """Return the pixel limit to apply for one read.

    Args:
        max_pixels: explicit limit (positive int), or ``None`` to use the environment variable
            ``MATTING_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`.

    Returns:
        The limit as a positive ``int``.

    Raises:
        ValueError: the argument is not a positive integer.
        DataError: the environment variable is not a positive integer (a ``ValueError`` too).
    """
    if max_pixels is not None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
            raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}.")
        return max_pixels
    raw = os.environ.get(MAX_PIXELS_ENV_VAR)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise DataError(
            f"the environment variable {MAX_PIXELS_ENV_VAR}={raw!r} is not a positive integer."
        )
    return value
