"""Shared fixtures: the test kit's real photos."""

from __future__ import annotations

from matting_core.testing import real_photo, shared_data

__all__ = ["real_photo", "shared_data"]  # the test kit's fixtures, served to every test here
