"""Refiners: a second stage, offered by plugins, that improves any model's matte.

A refiner takes the photo, the trimap and a model's matte and returns a better matte
(``matting predict --refine closed-form``: a closed-form solve on the band where the network
is unsure, registered by matting-classical).  Plugins register refiners through
``matting_register_refiners`` (:mod:`matting_core.hookspecs`); core knows them only by name,
so it never imports the plugin that solves.

    >>> from matting_core.refinement import list_refiners
    >>> isinstance(list_refiners(), list)
    True

:func:`refine_alpha` is the one place a refiner is called: it validates the inputs, calls the
refiner, checks what it returned against the refiner contract and keeps the trimap's known
pixels as the network gave them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from matting_core.errors import PluginError, ShapeError
from matting_core.registry import RefinerInfo

__all__ = [
    "Refiner",
    "create_refiner",
    "get_refiner_info",
    "list_refiners",
    "refine_alpha",
]

#: ``refiner(image, trimap, alpha) -> alpha``: (H, W, 3) float32 RGB in [0, 1], (H, W) uint8
#: 0 / 128 / 255, (H, W) float32 in [0, 1] -> (H, W) float.
Refiner = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def list_refiners(pattern: str | None = None) -> list[str]:
    """Names of the registered refiners, sorted, filtered by a shell pattern."""
    from matting_core.plugins import refiner_registry

    return refiner_registry().names(pattern)


def get_refiner_info(name: str) -> RefinerInfo:
    """The :class:`~matting_core.RefinerInfo` of refiner ``name``.

    :raises UnknownRefinerError: no such refiner; the message lists the known ones.
    """
    from matting_core.plugins import refiner_registry

    return refiner_registry().info(name)


def create_refiner(name: str, *, config: Any = None, **options: Any) -> Refiner:
    """Build refiner ``name``: ``factory(config)`` with its config's ``options`` overridden.

    :param config: None (the default config), an instance of ``info.config_class`` or a
        mapping of its fields.
    :param options: config fields, checked against their types (as model options).
    :raises UnknownRefinerError: no such refiner; the message lists the known ones.
    :raises ConfigError: an unknown option or a value of the wrong type.
    :raises PluginError: the factory returned something that is not callable.
    """
    from matting_core.models import _build_config
    from matting_core.plugins import refiner_registry

    entry = refiner_registry().get(name)
    cfg = _build_config(entry.info.config_class, config, options, f"refiner {name!r}")
    refiner = entry.factory(cfg)
    if not callable(refiner):
        raise PluginError(
            f"the factory of refiner {name!r} (plugin {entry.provider!r}) returned "
            f"{type(refiner).__name__}, which is not callable"
        )
    return refiner


def refine_alpha(
    refiner: str | Refiner,
    image: np.ndarray,
    trimap: np.ndarray | None,
    alpha: np.ndarray,
    *,
    name: str | None = None,
) -> np.ndarray:
    """A model's matte improved by a refiner, unchanged on the trimap's known pixels.

    Args:
        refiner: a registered refiner's name (default options), or a refiner built by
            :func:`create_refiner`.
        image: (H, W, 3) RGB, uint8 / uint16 or float in [0, 1].
        trimap: (H, W) uint8 {0, 128, 255}, or None (a trimap-free model's matte): every pixel
            is then unknown to the refiner.
        alpha: (H, W) float in [0, 1], the model's matte.
        name: the refiner's name for messages when ``refiner`` is a callable.

    Returns:
        (H, W) float32 in [0, 1]: the refiner's matte on the trimap's unknown pixels, ``alpha``
        on its known ones.

    Raises:
        UnknownRefinerError: an unknown name; the message lists the known refiners.
        ShapeError: the image, trimap and matte differ in size.
        PluginError: the refiner returned an array of another shape, or NaN / infinite values.
    """
    from matting_core.inference import as_float_rgb, check_image

    rgb = as_float_rgb(check_image(image))
    alpha = np.asarray(alpha, dtype=np.float32)
    height, width = rgb.shape[:2]
    if alpha.shape != (height, width):
        raise ShapeError(f"the matte is {alpha.shape} but the image is {(height, width)}")
    if trimap is None:
        trimap = np.full((height, width), 128, np.uint8)
    elif trimap.shape != (height, width):
        raise ShapeError(f"the trimap is {trimap.shape} but the image is {(height, width)}")
    if isinstance(refiner, str):
        name = refiner if name is None else name
        refiner = create_refiner(refiner)
    who = f"refiner {name!r}" if name else f"refiner {getattr(refiner, '__qualname__', refiner)!r}"
    refined = refiner(rgb, np.ascontiguousarray(trimap, dtype=np.uint8), alpha.copy())
    refined = np.asarray(refined)
    if refined.shape != alpha.shape or not np.issubdtype(refined.dtype, np.floating):
        raise PluginError(
            f"{who} broke the refiner contract: it returned a {refined.dtype} array of shape "
            f"{refined.shape}, not a float (H, W) = {alpha.shape} matte"
        )
    if not np.all(np.isfinite(refined)):
        raise PluginError(f"{who} broke the refiner contract: its matte holds NaN or infinity")
    result = np.clip(refined.astype(np.float32), 0.0, 1.0)
    known = trimap != 128
    result[known] = alpha[known]
    return result
