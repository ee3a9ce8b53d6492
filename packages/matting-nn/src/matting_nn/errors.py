"""Errors of matting-nn.

matting-nn imports no other project package, so its errors have their own base,
:class:`MattingNNError`.  Each also derives from ``ValueError`` so that ``except ValueError``
in callers keeps working; a plugin that builds networks from user options turns them into
``matting_core.ConfigError`` / ``CheckpointError`` where the user's key is known (the option's
name, the config file), so that the command line reports them as one sentence.
"""

from __future__ import annotations

__all__ = ["BlockConfigError", "MattingNNError", "PretrainedWeightsError"]


class MattingNNError(ValueError):
    """Base of every error matting-nn raises on bad input."""


class BlockConfigError(MattingNNError):
    """A building block was given an option or an input it cannot take (a channel count < 1,
    an output stride other than 8, 16 or 32, an unknown norm, an input with the wrong number
    of channels, pool indices that do not fit the map)."""


class PretrainedWeightsError(MattingNNError):
    """A pretrained-weights file is missing, unreadable, unsafe, fails its sha256, or does not
    fit the network; the message names the file and the offending keys."""
