"""Errors of matting-nn.

matting-nn imports no other project package, so its errors have their own base,
:class:`MattingNNError`.  Each also derives from ``ValueError`` so that ``except ValueError``
in callers keeps working.  ``MattingNNError.matting_user_error = True`` tells matting-core's
command line (``matting_core.errors.is_user_error``) to report them as one sentence with exit
code 2, like its own errors, without either package importing the other; a plugin that knows
which option or file the user gave may still turn them into ``matting_core.ConfigError`` /
``CheckpointError`` naming it.
"""

from __future__ import annotations

__all__ = ["BlockConfigError", "MattingNNError", "PretrainedWeightsError"]


class MattingNNError(ValueError):
    """Base of every error matting-nn raises on bad input."""

    #: Read by matting-core's command line: report as one sentence, exit code 2.
    matting_user_error = True


class BlockConfigError(MattingNNError):
    """A building block was given an option or an input it cannot take (a channel count < 1,
    an output stride other than 8, 16 or 32, an unknown norm, an input with the wrong number
    of channels, pool indices that do not fit the map)."""


class PretrainedWeightsError(MattingNNError):
    """A pretrained-weights file is missing, unreadable, unsafe, fails its sha256, or does not
    fit the network; the message names the file and the offending keys."""
