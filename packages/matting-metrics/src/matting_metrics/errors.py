"""The one exception type of :mod:`matting_metrics`."""

from __future__ import annotations

__all__ = ["MetricInputError"]


class MetricInputError(ValueError):
    """An input array has the wrong shape, dtype or value range, or an option is unknown.

    The message is one sentence naming the offending argument, e.g. ``"prediction has shape
    (10, 12) but ground truth has shape (10, 13)"``. Subclasses :class:`ValueError`, so callers
    that already catch ``ValueError`` keep working.
    """
