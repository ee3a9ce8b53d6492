"""Exception and warning classes of :mod:`matting_data`.

Every exception raised for bad *data* derives from :class:`DataError`, which is a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not know this
package. Messages are one sentence and name the file (or the array's ``source`` label).
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "DataError",
    "DroppedAlphaChannelWarning",
    "ImageTooLargeError",
    "MissingFileError",
    "SizeMismatchError",
    "TrimapSourceError",
    "TrimapValueError",
    "UnsupportedImageError",
]


class DataError(ValueError):
    """Base class of every data error raised by :mod:`matting_data`."""


class MissingFileError(DataError, FileNotFoundError):
    """A file or folder that should be read does not exist.

    Also a :class:`FileNotFoundError`, so ``except FileNotFoundError`` catches it.
    """


class CorruptFileError(DataError):
    """A file is empty, truncated, or cannot be decoded as an image."""


class ImageTooLargeError(DataError):
    """An image has more pixels than the allowed limit (decompression-bomb guard)."""


class TrimapValueError(DataError):
    """A trimap holds values that cannot be interpreted as background/unknown/foreground."""


class TrimapSourceError(DataError):
    """A mask or scribbles from which no trimap can be made: no foreground, no background, or
    no stroke of one of the two kinds."""


class SizeMismatchError(DataError):
    """Images that belong together (image, trimap, alpha, ...) have different sizes."""


class UnsupportedImageError(DataError):
    """An image has a layout or dtype this package does not accept.

    Examples: a 4-D array, a 2-channel image, an alpha matte whose colour channels differ, an
    integer dtype other than uint8/uint16.
    """


class DroppedAlphaChannelWarning(UserWarning):
    """Warned when :func:`matting_data.read_image` drops a non-opaque alpha channel."""


class MissingDependencyError(DataError, ImportError):
    """An optional package needed by the requested method is not installed."""
