"""Registries of models, losses and datasets, and the infos stored beside each factory.

A registry maps a name (``gca``, ``trimap-baseline``) to a :class:`RegistryEntry`: the factory
that builds the object, an info dataclass describing it, and the plugin that registered it.
Plugins fill the registries from their ``matting_register_*`` hooks (see
:mod:`matting_core.hookspecs`); users look names up through :mod:`matting_core.models`.

The plugin manager (:mod:`matting_core.plugins`) tells a registry which plugin is registering
(:meth:`Registry.registering`), so :meth:`Registry.provider` knows where every name came from
without plugins having to say so.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib.resources
import math
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from matting_core.errors import (
    AmbiguousNameError,
    CheckpointError,
    DuplicateNameWarning,
    PluginError,
    UnknownDatasetError,
    UnknownLossError,
    UnknownModelError,
    UnknownNameError,
    UnknownRefinerError,
)
from matting_core.strategy import CropAndStitch, InferenceStrategy, WholeImage

if TYPE_CHECKING:
    from torch import Tensor, nn

__all__ = [
    "CommandInfo",
    "CommandRegistry",
    "DatasetInfo",
    "DatasetRegistry",
    "ExtraOutput",
    "LossInfo",
    "LossRegistry",
    "Measured",
    "ModelInfo",
    "ModelRegistry",
    "RefinerInfo",
    "RefinerRegistry",
    "Registry",
    "RegistryEntry",
    "bare_name",
]

#: Registry names: lowercase letters, digits, ``-`` and ``_``, starting with a letter or digit.
#: Dots are not allowed; they are kept free for weight tags (``gca.comp1k``).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")

_PAD_MODES = ("constant", "reflect", "replicate", "circular")

#: Kinds of a model's extra outputs, see :class:`ExtraOutput`.
EXTRA_OUTPUT_KINDS = ("flow", "map", "scalars")


# --------------------------------------------------------------------------------------------
# Infos
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtraOutput:
    """One output of a model's ``forward`` besides ``alpha``: part of its output contract.

    ``matting predict --save-extras`` draws every declared output (and only those); the
    model's ``forward`` must return each under ``name`` for every input.

    :param name: the key in the dict ``forward`` returns (not ``alpha``).
    :param kind: how to read and draw it:

        - ``"flow"``: (B, 2, h, w) float or integer (row, column) displacements on a grid that
          covers the padded input (h divides its height), in grid cells; drawn in the
          Middlebury colour coding;
        - ``"map"``: (B, 1, h, w) float scalars on such a grid; drawn as a heat map;
        - ``"scalars"``: (B, K) float, one value per entry of ``labels``; written as numbers.
    :param description: one line: what it shows (written beside the picture).
    :param labels: names of the K values of a ``"scalars"`` output.
    :param annotate: for a ``"flow"``: the name of a ``"scalars"`` output whose values are
        written in the picture's top-left corner (the GCA paper's Fig. 1 and its release
        print the softmax weights of unknown and known sources there).
    """

    name: str
    kind: str
    description: str
    labels: tuple[str, ...] = ()
    annotate: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXTRA_OUTPUT_KINDS:
            raise PluginError(
                f"ExtraOutput {self.name!r}: kind must be one of {', '.join(EXTRA_OUTPUT_KINDS)}, "
                f"got {self.kind!r}"
            )
        if not self.name or self.name == "alpha":
            raise PluginError(
                f"ExtraOutput name must be a key other than 'alpha', got {self.name!r}"
            )
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.kind == "scalars" and not self.labels:
            raise PluginError(f"ExtraOutput {self.name!r}: a 'scalars' output needs its labels")
        if self.annotate is not None and self.kind != "flow":
            raise PluginError(f"ExtraOutput {self.name!r}: only a 'flow' output is annotated")


@dataclass(frozen=True)
class Measured:
    """A model's measured quality: what ``matting predict`` without ``--model`` ranks by.

    The mean scores of ``matting evaluate`` over the four photos bundled with matting-data
    (``matting samples``: GT17-GT20 of alphamatting.com), each with both of its trimaps
    (``trimap/`` = Trimap1 and ``trimap2/`` = Trimap2, eight cases; the mean of the two
    trimaps' means), DIM metrics over the unknown region; for a trimap-free model the same
    cases, its forward given no trimap.  Measured with the model's bundled weights (or none,
    for a model that needs none); ``scripts/compare_models.py`` prints the figures.

    :param sad: mean SAD, in thousands.
    :param mse: mean MSE.
    :param refine: the refiner the figures were measured with (``matting predict --refine
        NAME``, default options), or None for the model alone.
    """

    sad: float
    mse: float
    refine: str | None = None

    def __post_init__(self) -> None:
        for name in ("sad", "mse"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise PluginError(f"Measured.{name} must be a finite number >= 0, got {value!r}")
        if self.refine is not None and not NAME_PATTERN.fullmatch(bare_name(self.refine)):
            raise PluginError(f"Measured.refine must be a refiner name, got {self.refine!r}")


@dataclass(frozen=True)
class ModelInfo:
    """What inference and the command line need to know about a model.

    :param paper: citation of the paper: authors, title, venue and year.
    :param needs_trimap: whether ``forward(image, trimap)`` needs a trimap (else it gets None).
    :param input_channels: channels the network sees, e.g. 6 for RGB + one-hot trimap.
    :param config_class: the model's config dataclass; ``config_class()`` is the default
        config, and its fields are the options ``create_model(name, **overrides)`` accepts.
    :param mean: per-channel RGB mean used to normalise the image (after scaling to [0, 1]).
    :param std: per-channel RGB standard deviation used to normalise the image.
    :param pad_multiple: inputs are padded so that H and W are multiples of this.
    :param pad_mode: ``torch.nn.functional.pad`` mode used for that padding.
    :param pad_margin: extra padding on every side before rounding up to ``pad_multiple``
        (the official GCA demo pads 32 so that borders see context; 0 pads bottom/right only).
    :param min_size: inputs are padded up to at least this height and width (a network whose
        deepest block needs a minimum grid); 0 sets no minimum.
    :param needs_weights: False for a model without learned parameters (a classical method,
        the trimap baseline): ``load_model`` builds it without a checkpoint, and ``matting
        list`` says so.  True (the default) for a network: it runs with ``--checkpoint`` or
        with ``default_weights``.
    :param default_weights: bundled weights as a package resource,
        ``"package:relative/path.safetensors"``, or None when there are none.  Weights
        trained as another registered variant (their sidecar's ``model_name``) run that
        variant, and ``matting list`` and ``matting predict`` say so.
    :param remap_official: pure function mapping the official release's state-dict key names
        to this implementation's (no I/O, no module mutation), or None.
    :param description: one line for ``matting list``.
    :param training_recipe: zero-argument factory of the model's
        :class:`matting_core.training.TrainingRecipe` (its networks, loss terms and data
        transforms); None trains it with the generic supervised recipe.
    :param extra_outputs: what ``forward`` returns besides ``alpha`` that is worth a picture
        (attention offsets, scale maps, propagation maps), as :class:`ExtraOutput` entries;
        ``matting predict --save-extras`` draws them.
    :param inference: how the model meets a whole image at test time (``predict``,
        ``matting predict`` and training's validation alike):
        :class:`~matting_core.strategy.WholeImage` (one forward, the default) or
        :class:`~matting_core.strategy.CropAndStitch` (overlapping patches blended back,
        optionally with the model's own per-patch forward).
    :param auto_precisions: the reduced-precision modes (``"bf16"``, ``"fp16"``) that
        ``--precision auto`` may pick for this model, fastest first: those whose change of
        the mean SAD on the bundled photos (GT17-GT20, bundled weights) was measured under 1%
        against fp32 (``benchmarks/bench_real_photos.py`` measures it).  Empty (the default):
        ``auto`` runs fp32.  See :mod:`matting_core.precision`.
    :param measured: the model's measured quality on the bundled photos, alone and with
        refiners, as :class:`Measured` entries; ``matting predict`` without ``--model`` picks
        the best measured combination of the installed plugins.  Leave it empty for a
        model without bundled weights.
    """

    paper: str
    needs_trimap: bool
    input_channels: int
    config_class: type
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pad_multiple: int = 32
    pad_mode: str = "reflect"
    pad_margin: int = 0
    min_size: int = 0
    needs_weights: bool = True
    default_weights: str | None = None
    remap_official: Callable[[dict[str, Tensor]], dict[str, Tensor]] | None = None
    description: str = ""
    training_recipe: Callable[[], Any] | None = None
    extra_outputs: tuple[ExtraOutput, ...] = ()
    inference: InferenceStrategy = field(default_factory=WholeImage)
    auto_precisions: tuple[str, ...] = ()
    measured: tuple[Measured, ...] = ()

    def __post_init__(self) -> None:
        if not (
            isinstance(self.config_class, type) and dataclasses.is_dataclass(self.config_class)
        ):
            raise PluginError(
                f"ModelInfo.config_class must be a dataclass type, got {self.config_class!r}"
            )
        for name in ("mean", "std"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if len(self.mean) != 3 or len(self.std) != 3:
            raise PluginError("ModelInfo.mean and ModelInfo.std must have 3 values (RGB)")
        if any(s <= 0 for s in self.std):
            raise PluginError(f"ModelInfo.std must be positive, got {self.std}")
        if self.input_channels < 1:
            raise PluginError(f"ModelInfo.input_channels must be >= 1, got {self.input_channels}")
        if self.pad_margin < 0:
            raise PluginError(f"ModelInfo.pad_margin must be >= 0, got {self.pad_margin}")
        if self.min_size < 0:
            raise PluginError(f"ModelInfo.min_size must be >= 0, got {self.min_size}")
        if self.pad_multiple < 1:
            raise PluginError(f"ModelInfo.pad_multiple must be >= 1, got {self.pad_multiple}")
        if self.pad_mode not in _PAD_MODES:
            raise PluginError(
                f"ModelInfo.pad_mode must be one of {', '.join(_PAD_MODES)}, got {self.pad_mode!r}"
            )
        if self.default_weights is not None and ":" not in self.default_weights:
            raise PluginError(
                "ModelInfo.default_weights must look like 'package:relative/path.safetensors', "
                f"got {self.default_weights!r}"
            )
        if not self.needs_weights and self.default_weights is not None:
            raise PluginError(
                "ModelInfo.default_weights given for a model with needs_weights=False"
            )
        if self.training_recipe is not None and not callable(self.training_recipe):
            raise PluginError("ModelInfo.training_recipe must be callable")
        if self.remap_official is not None and not callable(self.remap_official):
            raise PluginError("ModelInfo.remap_official must be callable or None")
        self._check_extra_outputs()
        object.__setattr__(self, "auto_precisions", tuple(self.auto_precisions))
        if not set(self.auto_precisions) <= {"bf16", "fp16"}:
            raise PluginError(
                "ModelInfo.auto_precisions may hold 'bf16' and 'fp16', got "
                f"{self.auto_precisions!r}"
            )
        object.__setattr__(self, "measured", tuple(self.measured))
        if not all(isinstance(m, Measured) for m in self.measured):
            raise PluginError("ModelInfo.measured must hold Measured entries")
        refiners = [m.refine for m in self.measured]
        if len(set(refiners)) != len(refiners):
            raise PluginError(f"ModelInfo.measured repeats a refiner: {refiners}")

    def _check_extra_outputs(self) -> None:
        extras = tuple(self.extra_outputs)
        object.__setattr__(self, "extra_outputs", extras)
        if not all(isinstance(e, ExtraOutput) for e in extras):
            raise PluginError("ModelInfo.extra_outputs must hold ExtraOutput entries")
        names = [e.name for e in extras]
        if len(set(names)) != len(names):
            raise PluginError(f"ModelInfo.extra_outputs repeats a name: {names}")
        kinds = {e.name: e.kind for e in extras}
        for extra in extras:
            if extra.annotate is not None and kinds.get(extra.annotate) != "scalars":
                raise PluginError(
                    f"ExtraOutput {extra.name!r} is annotated with {extra.annotate!r}, which is "
                    "not a 'scalars' output of the model"
                )
        if not isinstance(self.inference, WholeImage | CropAndStitch):
            raise PluginError(
                "ModelInfo.inference must be matting_core.strategy.WholeImage() or "
                f"CropAndStitch(...), got {self.inference!r}"
            )

    @property
    def default_config(self) -> Any:
        """A fresh default config: ``config_class()``."""
        return self.config_class()

    def default_weights_path(self) -> Path | None:
        """The bundled weights file, or None when the model has no bundled weights.

        :raises CheckpointError: the resource named by ``default_weights`` does not exist.
        """
        if self.default_weights is None:
            return None
        package, _, relative = self.default_weights.partition(":")
        try:
            resource = importlib.resources.files(package).joinpath(relative)
        except ModuleNotFoundError as exc:
            raise CheckpointError(
                f"default weights {self.default_weights!r}: package {package!r} is not installed"
            ) from exc
        if not resource.is_file():
            raise CheckpointError(
                f"default weights {self.default_weights!r} are missing from the installed package"
            )
        return Path(str(resource))


@dataclass(frozen=True)
class LossInfo:
    """What ``matting list --losses`` shows about a loss.

    :param papers: citations of the papers that use the loss.
    :param description: one line: what the loss measures.
    """

    papers: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        papers = (self.papers,) if isinstance(self.papers, str) else tuple(self.papers)
        object.__setattr__(self, "papers", papers)


@dataclass(frozen=True)
class DatasetInfo:
    """What ``matting list --datasets`` shows about a dataset.

    :param description: one line: what the dataset is (source, size, licence).
    :param layout: summary of the directory layout the dataset expects under its root.
    """

    description: str
    layout: str = ""


@dataclass(frozen=True)
class RefinerInfo:
    """What ``matting list refiners`` and ``matting predict --refine`` need to know about a
    refiner (a second stage that improves any model's matte, see :mod:`matting_core.refinement`).

    :param config_class: the refiner's options, a dataclass: ``config_class()`` is the default
        config and its fields are what ``--refine-set NAME=VALUE`` and
        ``create_refiner(name, **options)`` accept.
    :param description: one line: what the refiner does.
    :param paper: citation of the method it applies, or "".
    """

    config_class: type
    description: str = ""
    paper: str = ""

    def __post_init__(self) -> None:
        if not (
            isinstance(self.config_class, type) and dataclasses.is_dataclass(self.config_class)
        ):
            raise PluginError(
                f"RefinerInfo.config_class must be a dataclass type, got {self.config_class!r}"
            )


@dataclass(frozen=True)
class CommandInfo:
    """What the ``matting`` command line needs to offer a plugin's subcommand.

    :param help: one line shown by ``matting --help``.
    :param run: ``run(args) -> int``: does the work with the parsed ``argparse.Namespace``
        and returns the exit code.
    :param description: the text of ``matting NAME --help``; ``help`` when empty.
    """

    help: str
    run: Callable[[Any], int]
    description: str = ""

    def __post_init__(self) -> None:
        if not callable(self.run):
            raise PluginError("CommandInfo.run must be callable")


InfoT = TypeVar("InfoT")


@dataclass(frozen=True)
class RegistryEntry(Generic[InfoT]):
    """One registered name.

    :param name: the registered name.
    :param factory: callable that builds the object (see the hook docs for its arguments).
    :param info: the info dataclass given at registration.
    :param provider: name of the plugin that registered it, or None for a direct call.
    """

    name: str
    factory: Callable[..., Any] = field(repr=False)
    info: InfoT
    provider: str | None


# --------------------------------------------------------------------------------------------
# Registries
# --------------------------------------------------------------------------------------------


class Registry(Generic[InfoT]):
    """A name → (factory, info, provider) mapping filled by plugins.

    Two plugins may register the same name.  Such a clash is never resolved by the order in
    which plugins load: the name becomes *ambiguous* (listed once per plugin, and an
    :class:`~matting_core.errors.AmbiguousNameError` naming both when used), and the
    qualified form ``PLUGIN:NAME`` (``gca:gca``) picks one.  A qualified name works for every
    name, ambiguous or not.

    Subclasses fix :attr:`kind` (used in messages), :attr:`info_type` and
    :attr:`unknown_error`.
    """

    kind: ClassVar[str] = "name"
    kinds: ClassVar[str] = "names"
    info_type: ClassVar[type] = object
    unknown_error: ClassVar[type[UnknownNameError]] = UnknownNameError

    def __init__(self) -> None:
        self._entries: dict[str, list[RegistryEntry[InfoT]]] = {}
        self._provider: str | None = None

    # -- filling --------------------------------------------------------------------------

    def add(self, name: str, factory: Callable[..., Any], info: InfoT) -> None:
        """Register ``factory`` under ``name`` with its ``info``.

        :raises PluginError: the name is not lowercase letters, digits, ``-`` and ``_``;
            the factory is not callable; the info is of the wrong type; or the same plugin
            registers the name twice.
        :warns DuplicateNameWarning: another plugin already registered the name, which is
            now ambiguous (``PLUGIN:NAME`` picks one).
        """
        provider = self._provider
        who = _describe(provider)
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise PluginError(
                f"{who} registered the {self.kind} name {name!r}; names may only contain "
                "lowercase letters, digits, '-' and '_' (and start with a letter or digit)"
            )
        if not callable(factory):
            raise PluginError(
                f"{who} registered {self.kind} {name!r} with a factory that is not callable"
            )
        if not isinstance(info, self.info_type):
            raise PluginError(
                f"{who} registered {self.kind} {name!r} with info of type {type(info).__name__}; "
                f"expected {self.info_type.__name__}"
            )
        existing = self._entries.setdefault(name, [])
        if any(entry.provider == provider for entry in existing):
            raise PluginError(f"{who} registered {self.kind} {name!r} twice")
        existing.append(RegistryEntry(name, factory, info, provider))
        if len(existing) > 1:
            error = AmbiguousNameError(self.kind, name, [str(e.provider) for e in existing])
            warnings.warn(str(error), DuplicateNameWarning, stacklevel=2)

    @contextmanager
    def registering(self, provider: str) -> Iterator[None]:
        """Record ``provider`` for every :meth:`add` inside the block.

        If the block raises, the names it added are removed again, so a plugin whose hook
        fails half-way leaves nothing behind.
        """
        previous, self._provider = self._provider, provider
        try:
            yield
        except BaseException:
            for name in list(self._entries):
                kept = [e for e in self._entries[name] if e.provider != provider]
                if kept:
                    self._entries[name] = kept
                else:
                    del self._entries[name]
            raise
        finally:
            self._provider = previous

    # -- lookup ---------------------------------------------------------------------------

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names, sorted, optionally filtered by a shell pattern (``"gca*"``); an
        ambiguous name appears once."""
        names = sorted(self._entries)
        if pattern is None:
            return names
        return [n for n in names if fnmatch.fnmatchcase(n, pattern)]

    def entries(self, pattern: str | None = None) -> list[RegistryEntry[InfoT]]:
        """Every registration, sorted by name then plugin: an ambiguous name once per plugin."""
        return [
            entry
            for name in self.names(pattern)
            for entry in sorted(self._entries[name], key=lambda e: str(e.provider))
        ]

    def is_ambiguous(self, name: str) -> bool:
        """Whether several plugins registered ``name``."""
        return len(self._entries.get(name, ())) > 1

    def get(self, name: str) -> RegistryEntry[InfoT]:
        """The entry of ``name``, or of ``PLUGIN:NAME``.

        :raises UnknownNameError: (the registry's subclass of it) no such name, or the plugin
            of a qualified name did not register it; the message lists close matches and
            every known name.
        :raises AmbiguousNameError: several plugins registered ``name``; the message names
            them and the qualified forms.
        """
        if not isinstance(name, str):
            raise self.unknown_error(str(name), self._known())
        plugin, colon, bare = name.rpartition(":")
        found = self._entries.get(bare, [])
        if colon:
            found = [e for e in found if e.provider == plugin]
        if not found:
            raise self.unknown_error(name, self._known())
        if len(found) > 1:
            raise AmbiguousNameError(self.kind, bare, [str(e.provider) for e in found])
        return found[0]

    def _known(self) -> list[str]:
        known = []
        for name, entries in self._entries.items():
            if len(entries) > 1:
                known += [f"{e.provider}:{name}" for e in entries]
            else:
                known.append(name)
        return known

    def info(self, name: str) -> InfoT:
        """The info registered with ``name`` (or ``PLUGIN:NAME``)."""
        return self.get(name).info

    def provider(self, name: str) -> str | None:
        """Name of the plugin that registered ``name`` (None if added outside a plugin)."""
        return self.get(name).provider

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        plugin, colon, bare = name.rpartition(":")
        entries = self._entries.get(bare, [])
        return any(e.provider == plugin for e in entries) if colon else bool(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)} {self.kinds}>"


def bare_name(name: str) -> str:
    """``NAME`` of a qualified ``PLUGIN:NAME`` (a bare name is returned as it is)."""
    return name.rpartition(":")[2]


def _describe(provider: str | None) -> str:
    return f"plugin {provider!r}" if provider is not None else "a direct call"


class ModelRegistry(Registry[ModelInfo]):
    """Registry of models.  ``factory(config) -> nn.Module``; see ``matting_register_models``."""

    kind = "model"
    kinds = "models"
    info_type = ModelInfo
    unknown_error = UnknownModelError

    def add(self, name: str, factory: Callable[[Any], nn.Module], info: ModelInfo) -> None:
        """Register a model: ``factory(config)`` builds it from an ``info.config_class`` instance."""
        super().add(name, factory, info)


class LossRegistry(Registry[LossInfo]):
    """Registry of losses.  ``factory(**options) -> nn.Module``; see ``matting_register_losses``."""

    kind = "loss"
    kinds = "losses"
    info_type = LossInfo
    unknown_error = UnknownLossError

    def add(self, name: str, factory: Callable[..., nn.Module], info: LossInfo) -> None:
        """Register a loss: ``factory(**options)`` builds it."""
        super().add(name, factory, info)


class DatasetRegistry(Registry[DatasetInfo]):
    """Registry of datasets.  ``factory(root, **options)``; see ``matting_register_datasets``."""

    kind = "dataset"
    kinds = "datasets"
    info_type = DatasetInfo
    unknown_error = UnknownDatasetError

    def add(self, name: str, factory: Callable[..., Any], info: DatasetInfo) -> None:
        """Register a dataset: ``factory(root, **options)`` builds it."""
        super().add(name, factory, info)


class RefinerRegistry(Registry[RefinerInfo]):
    """Registry of refiners.  ``factory(config)`` returns the refiner, a callable
    ``refiner(image, trimap, alpha) -> alpha``; see ``matting_register_refiners``."""

    kind = "refiner"
    kinds = "refiners"
    info_type = RefinerInfo
    unknown_error = UnknownRefinerError

    def add(self, name: str, factory: Callable[[Any], Any], info: RefinerInfo) -> None:
        """Register a refiner: ``factory(config)`` builds it from an ``info.config_class``
        instance."""
        super().add(name, factory, info)


class CommandRegistry(Registry[CommandInfo]):
    """Registry of ``matting`` subcommands.  ``factory(parser)`` adds the command's options to
    an ``argparse.ArgumentParser``; see ``matting_register_commands``."""

    kind = "command"
    kinds = "commands"
    info_type = CommandInfo

    def add(self, name: str, factory: Callable[[Any], None], info: CommandInfo) -> None:
        """Register a command: ``factory(parser)`` adds its options, ``info.run(args)`` runs it."""
        super().add(name, factory, info)
