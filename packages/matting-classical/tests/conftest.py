"""Real photos for the tests: small windows of the alphamatting.com training photos, from the
test kit of matting-core (matting_core.testing)."""

from __future__ import annotations

import pytest

from matting_core.testing import Photo, real_photo, shared_data
from matting_core.testing import load_photo as _load_photo

__all__ = ["real_photo", "shared_data"]  # the test kit's fixtures, served to every test here


@pytest.fixture(scope="session")
def load_photo(request):
    """``load_photo(name, top, left, height, width)``: a window of ``GTnn`` (Trimap1)."""

    def load(name, top=0, left=0, height=None, width=None):
        return _load_photo(name, top, left, height, width, start=request.config.rootpath)

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
