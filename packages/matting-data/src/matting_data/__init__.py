"""matting-data: image, alpha and trimap I/O with validation for image matting.

Readers return numpy arrays with fixed conventions:

* :func:`read_image` -> (H, W, 3) float32 RGB in [0, 1]
* :func:`read_alpha` -> (H, W) float32 in [0, 1]
* :func:`read_trimap` -> (H, W) uint8 in {0 = background, 128 = unknown, 255 = foreground}

Writers (:func:`write_alpha`, :func:`write_image`) are atomic. All data errors derive from
:class:`DataError` (a :class:`ValueError`).
"""

from matting_data.atomic import atomic_write_bytes
from matting_data.bundled import SAMPLE_ROLES, list_samples, sample_paths, samples_dir
from matting_data.errors import (
    CorruptFileError,
    DataError,
    DroppedAlphaChannelWarning,
    ImageTooLargeError,
    MissingFileError,
    SizeMismatchError,
    TrimapValueError,
    UnsupportedImageError,
)
from matting_data.image_header import ImageHeader, read_image_header
from matting_data.image_io import (
    WRITE_EXTENSIONS,
    read_alpha,
    read_image,
    read_trimap,
    write_alpha,
    write_image,
)
from matting_data.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV_VAR, resolve_max_pixels
from matting_data.listing import IMAGE_EXTENSIONS, StemMatch, list_images, match_by_stem
from matting_data.sample import check_same_size, read_sample
from matting_data.trimap import (
    TRIMAP_BACKGROUND,
    TRIMAP_FOREGROUND,
    TRIMAP_UNKNOWN,
    normalize_trimap,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS_ENV_VAR",
    "SAMPLE_ROLES",
    "TRIMAP_BACKGROUND",
    "TRIMAP_FOREGROUND",
    "TRIMAP_UNKNOWN",
    "WRITE_EXTENSIONS",
    "CorruptFileError",
    "DataError",
    "DroppedAlphaChannelWarning",
    "ImageHeader",
    "ImageTooLargeError",
    "MissingFileError",
    "SizeMismatchError",
    "StemMatch",
    "TrimapValueError",
    "UnsupportedImageError",
    "__version__",
    "atomic_write_bytes",
    "check_same_size",
    "list_images",
    "list_samples",
    "match_by_stem",
    "normalize_trimap",
    "read_alpha",
    "read_image",
    "read_image_header",
    "read_sample",
    "read_trimap",
    "resolve_max_pixels",
    "sample_paths",
    "samples_dir",
    "write_alpha",
    "write_image",
]
