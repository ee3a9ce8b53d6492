"""matting-data: image, alpha and trimap I/O with validation for image matting.

Readers return numpy arrays with fixed conventions:

* :func:`read_image` -> (H, W, 3) float32 RGB in [0, 1]
* :func:`read_alpha` -> (H, W) float32 in [0, 1]
* :func:`read_trimap` -> (H, W) uint8 in {0 = background, 128 = unknown, 255 = foreground}

Writers (:func:`write_alpha`, :func:`write_image`) are atomic. All data errors derive from
:class:`DataError` (a :class:`ValueError`).
"""

from matting_data.atomic import atomic_write_bytes, atomic_write_many
from matting_data.augmentation import (
    CombineForegrounds,
    Compose,
    CompositeOnBackground,
    CropCenteredOnUnknown,
    GenerateTrimap,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomHSVJitter,
    RandomResize,
    RandomRotation,
    Resize,
)
from matting_data.bundled import (
    SAMPLE_ROLES,
    list_samples,
    sample_background,
    sample_paths,
    samples_dir,
)
from matting_data.compositing import composite, composite_over, resize_background_to_cover
from matting_data.composition1k import CompositionReport, build_composition_test_set
from matting_data.cutout import (
    COLOUR_NAMES,
    background_leak,
    cutout_rgba,
    fit_background,
    parse_colour,
    solid_background,
)
from matting_data.datasets import (
    AlphaMattingDataset,
    Composition1kTest,
    Composition1kTrain,
    Distinctions646Test,
    Distinctions646Train,
    FolderDataset,
    ForegroundBackgroundFolders,
    Layout,
)
from matting_data.errors import (
    CorruptFileError,
    DataError,
    DroppedAlphaChannelWarning,
    ImageTooLargeError,
    MissingDependencyError,
    MissingFileError,
    SizeMismatchError,
    TrimapSourceError,
    TrimapValueError,
    UnsupportedImageError,
)
from matting_data.foreground_estimation import estimate_foreground, estimate_foreground_blur_fusion
from matting_data.image_header import ImageHeader, read_image_header
from matting_data.image_io import (
    WRITE_EXTENSIONS,
    encode_alpha,
    encode_image,
    read_alpha,
    read_image,
    read_mask,
    read_trimap,
    write_alpha,
    write_image,
)
from matting_data.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV_VAR, resolve_max_pixels
from matting_data.listing import IMAGE_EXTENSIONS, StemMatch, list_images, match_by_stem
from matting_data.pipelines import (
    alphagan_pipeline,
    gca_pipeline,
    hattmatting_pipeline,
    hdmatt_pipeline,
    hop_pipeline,
)
from matting_data.sample import check_same_size, read_sample
from matting_data.trimap import (
    TRIMAP_BACKGROUND,
    TRIMAP_FOREGROUND,
    TRIMAP_UNKNOWN,
    normalize_trimap,
)
from matting_data.trimap_generation import trimap_from_alpha, trimap_from_alpha_fixed
from matting_data.user_trimaps import (
    DEFAULT_BAND,
    MASK_CONFIDENCE,
    SCRIBBLE_METHODS,
    band_trimap,
    scribble_masks,
    segment_scribbles,
    trimap_from_mask,
    trimap_from_scribbles,
)

__version__ = "0.1.0"

__all__ = [
    "COLOUR_NAMES",
    "DEFAULT_BAND",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "MASK_CONFIDENCE",
    "MAX_PIXELS_ENV_VAR",
    "SAMPLE_ROLES",
    "SCRIBBLE_METHODS",
    "TRIMAP_BACKGROUND",
    "TRIMAP_FOREGROUND",
    "TRIMAP_UNKNOWN",
    "WRITE_EXTENSIONS",
    "AlphaMattingDataset",
    "CombineForegrounds",
    "Compose",
    "CompositeOnBackground",
    "Composition1kTest",
    "Composition1kTrain",
    "CompositionReport",
    "CorruptFileError",
    "CropCenteredOnUnknown",
    "DataError",
    "Distinctions646Test",
    "Distinctions646Train",
    "DroppedAlphaChannelWarning",
    "FolderDataset",
    "ForegroundBackgroundFolders",
    "GenerateTrimap",
    "ImageHeader",
    "ImageTooLargeError",
    "Layout",
    "MissingDependencyError",
    "MissingFileError",
    "RandomAffine",
    "RandomCrop",
    "RandomHSVJitter",
    "RandomHorizontalFlip",
    "RandomResize",
    "RandomRotation",
    "Resize",
    "SizeMismatchError",
    "StemMatch",
    "TrimapSourceError",
    "TrimapValueError",
    "UnsupportedImageError",
    "__version__",
    "alphagan_pipeline",
    "atomic_write_bytes",
    "atomic_write_many",
    "background_leak",
    "band_trimap",
    "build_composition_test_set",
    "check_same_size",
    "composite",
    "composite_over",
    "cutout_rgba",
    "encode_alpha",
    "encode_image",
    "estimate_foreground",
    "estimate_foreground_blur_fusion",
    "fit_background",
    "gca_pipeline",
    "hattmatting_pipeline",
    "hdmatt_pipeline",
    "hop_pipeline",
    "list_images",
    "list_samples",
    "match_by_stem",
    "normalize_trimap",
    "parse_colour",
    "read_alpha",
    "read_image",
    "read_image_header",
    "read_mask",
    "read_sample",
    "read_trimap",
    "resize_background_to_cover",
    "resolve_max_pixels",
    "sample_background",
    "sample_paths",
    "samples_dir",
    "scribble_masks",
    "segment_scribbles",
    "solid_background",
    "trimap_from_alpha",
    "trimap_from_alpha_fixed",
    "trimap_from_mask",
    "trimap_from_scribbles",
    "write_alpha",
    "write_image",
]
