"""Errors and warnings of matting-core.

Every error a *user* can cause (a bad file, an unknown model name, a config value of the
wrong type, a checkpoint that does not fit) derives from :class:`MattingError`, and also from
the matching builtin so that ``except ValueError`` / ``except LookupError`` in callers keeps
working.  The command line catches :data:`USER_ERRORS` in one place and prints one line;
anything else is a bug.

A plugin's own error types join them without core knowing the plugin: an exception whose class
(or a base class) sets ``matting_user_error = True`` is a user error too (:func:`is_user_error`);
matting-nn's ``MattingNNError`` does, so a missing pretrained-backbone file is one sentence.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

__all__ = [
    "USER_ERRORS",
    "AmbiguousNameError",
    "CheckpointError",
    "ConfigError",
    "DuplicateNameWarning",
    "InputError",
    "MattingError",
    "MattingWarning",
    "PluginError",
    "PluginLoadWarning",
    "ShapeError",
    "TrainingDivergedError",
    "UnknownDatasetError",
    "UnknownLossError",
    "UnknownModelError",
    "UnknownNameError",
    "UnknownRefinerError",
    "is_user_error",
]


class MattingError(Exception):
    """Base of every error a user of matting can cause."""


class InputError(MattingError, ValueError):
    """An input (image, trimap, argument value) is invalid."""


class ShapeError(MattingError, ValueError):
    """A tensor or array has the wrong shape."""


class ConfigError(MattingError, ValueError):
    """A config value is unknown, of the wrong type or out of range."""


class CheckpointError(MattingError, ValueError):
    """A checkpoint cannot be read, is unsafe, or does not fit the model."""


class TrainingDivergedError(MattingError, FloatingPointError):
    """The training loss became infinite or NaN (an lr far too high, or broken data)."""


class PluginError(MattingError):
    """A plugin registered something invalid (bad name, bad info, bad factory)."""


class UnknownNameError(MattingError, LookupError):
    """A name is not in a registry.  The message lists close matches first, then all names.

    :param name: the name that was asked for.
    :param known: every registered name.
    """

    kind = "name"
    kinds = "names"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        self.suggestions = tuple(difflib.get_close_matches(name, self.known, n=3, cutoff=0.6))
        super().__init__(self._message())

    def _message(self) -> str:
        msg = f"unknown {self.kind} {self.name!r}; "
        if not self.known:
            return msg + f"no {self.kinds} are registered (is a plugin missing?)"
        if self.suggestions:
            msg += "did you mean " + " or ".join(repr(s) for s in self.suggestions) + "? Known"
        else:
            msg += "known"
        return msg + f" {self.kinds}: " + ", ".join(self.known)

    # Exceptions unpickle as type(*args); give the constructor's own arguments so that an
    # error raised in a DataLoader worker survives the trip back.
    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.known))


class AmbiguousNameError(MattingError, LookupError):
    """Two plugins registered the same name, and it was used without saying which.

    The message names every plugin and the qualified forms (``PLUGIN:NAME``) that pick one.

    :param kind: ``model``, ``loss``, ``dataset`` or ``command``.
    :param name: the ambiguous name.
    :param providers: the plugins that registered it.
    """

    def __init__(self, kind: str, name: str, providers: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.providers = tuple(sorted(providers))
        plugins = " and ".join(f"{p!r}" for p in self.providers)
        choices = " or ".join(f"'{p}:{name}'" for p in self.providers)
        super().__init__(
            f"{kind} {name!r} is ambiguous: plugins {plugins} both register it; "
            f"say which with {choices}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.name, self.providers))


class UnknownModelError(UnknownNameError):
    """No model of that name is registered."""

    kind = "model"
    kinds = "models"


class UnknownLossError(UnknownNameError):
    """No loss of that name is registered."""

    kind = "loss"
    kinds = "losses"


class UnknownDatasetError(UnknownNameError):
    """No dataset of that name is registered."""

    kind = "dataset"
    kinds = "datasets"


class UnknownRefinerError(UnknownNameError):
    """No refiner of that name is registered."""

    kind = "refiner"
    kinds = "refiners"


class MattingWarning(UserWarning):
    """Base of matting's warnings."""


class PluginLoadWarning(MattingWarning):
    """A plugin could not be imported, or one of its hooks failed; the rest keeps working."""


class DuplicateNameWarning(MattingWarning):
    """Two plugins registered the same name; the first registration is kept."""


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [MattingError]
    # The sibling packages are optional at import time so that core stays usable while
    # they change; when they are installed their error bases are part of the tuple.
    try:
        from matting_data import DataError

        errors.append(DataError)
    except ImportError:
        pass
    try:
        from matting_metrics import MetricInputError

        errors.append(MetricInputError)
    except ImportError:
        pass
    return tuple(errors)


_USER_ERRORS: tuple[type[BaseException], ...] | None = None

if TYPE_CHECKING:
    #: The error bases the CLI reports as one line (exit 2): MattingError, matting_data's
    #: DataError and matting_metrics' MetricInputError.
    USER_ERRORS: tuple[type[BaseException], ...]


def __getattr__(name: str) -> Any:
    # USER_ERRORS is computed on first use so that ``import matting_core`` does not import
    # matting_data (OpenCV) and matting_metrics (SciPy).
    global _USER_ERRORS
    if name == "USER_ERRORS":
        if _USER_ERRORS is None:
            _USER_ERRORS = _user_errors()
        return _USER_ERRORS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an error a user caused, reported as one sentence (exit code 2).

    True for :data:`USER_ERRORS` (``MattingError``, matting-data's ``DataError``,
    matting-metrics' ``MetricInputError``) and for any exception whose class has a true
    ``matting_user_error`` attribute: the way a plugin marks its own error base (matting-nn's
    ``MattingNNError``) without core importing it.
    """
    from matting_core import errors

    return isinstance(exc, errors.USER_ERRORS) or bool(
        getattr(type(exc), "matting_user_error", False)
    )
