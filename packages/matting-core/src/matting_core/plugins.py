"""The single plugin manager of matting, and the registries it fills.

On first use (any registry lookup, ``list_plugins``, ``get_plugin_manager``) core

1. registers its built-in plugins, :data:`DEFAULT_PLUGINS`;
2. imports every module named by an entry point in the group ``matting``, sorted by
   entry-point name, unless the environment variable ``MATTING_DISABLE_PLUGIN_AUTOLOAD`` is
   set (to anything but ``""``, ``0``, ``false`` or ``no``).

A registry is filled the first time it is asked for, by calling every implementation of its
hook one by one in registration order (built-ins first), with the registry told which plugin
is registering.  A plugin that fails to import, or whose hook raises, costs exactly one
:class:`~matting_core.errors.PluginLoadWarning` naming it; everything else keeps working.

Before an entry-point plugin is imported, the range of plugin API versions it declares
(``MATTING_PLUGIN_API`` in its module, see :mod:`matting_core.plugin_api`) is checked
against :data:`~matting_core.plugin_api.PLUGIN_API`: a plugin built for another API is
refused (never imported when the range can be read from its source, never registered),
with one warning naming it, its range and core's versions.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pluggy

from matting_core import hookspecs
from matting_core.errors import PluginError, PluginLoadWarning
from matting_core.plugin_api import (
    PLUGIN_API,
    check_compatibility,
    declared_range,
    read_declared_range,
)
from matting_core.registry import (
    CommandRegistry,
    DatasetRegistry,
    LossRegistry,
    ModelRegistry,
    RefinerRegistry,
    Registry,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "PluginDescription",
    "check_plugins",
    "command_registry",
    "dataset_registry",
    "get_plugin_manager",
    "list_plugins",
    "loss_registry",
    "model_registry",
    "refiner_registry",
    "register_plugin",
    "reset_plugins",
]

#: Modules of core's own plugins, registered before any entry point.
DEFAULT_PLUGINS: tuple[str, ...] = ("matting_core.default_plugin",)
#: Entry-point group that names plugin modules.
ENTRY_POINT_GROUP = "matting"
#: Environment variable that turns entry-point loading off (built-ins still load).
DISABLE_AUTOLOAD_ENV = "MATTING_DISABLE_PLUGIN_AUTOLOAD"

#: Hook name → the registry class it fills.
_REGISTRY_HOOKS: dict[str, type[Registry[Any]]] = {
    "matting_register_models": ModelRegistry,
    "matting_register_losses": LossRegistry,
    "matting_register_datasets": DatasetRegistry,
    "matting_register_commands": CommandRegistry,
    "matting_register_refiners": RefinerRegistry,
}


@dataclass(frozen=True)
class PluginDescription:
    """One plugin, as ``matting plugins`` shows it.

    :param name: the plugin's name: its entry-point name, or the module name of a built-in.
    :param module: the module (or object's module) that holds its hook implementations.
    :param distribution: the installed distribution that provides it, if known.
    :param version: that distribution's version, if known.
    :param hooks: names of the hooks it implements, sorted.
    :param builtin: True for core's own plugins (:data:`DEFAULT_PLUGINS`).
    :param registered: kind (``models``, ``losses``, ``datasets``, ``commands``,
        ``refiners``) → the names it registered, for the registries filled so far
        (:func:`check_plugins` fills all).
    :param problems: what went wrong, one sentence each: it was refused (built for another
        plugin API), it could not be imported, a hook raised or registered an invalid name, a
        hook is unknown or takes a parameter its spec does not have, it implements no hook, a
        name it registered is ambiguous.
    :param plugin_api: the range of plugin API versions it declares (``MATTING_PLUGIN_API``),
        e.g. ``">=1.0,<2"``; None when it declares none; core's own version for a built-in.
    :param compatible: False when it was refused because its range excludes core's
        :data:`~matting_core.plugin_api.PLUGIN_API`.
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool
    registered: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    plugin_api: str | None = None
    compatible: bool = True

    @property
    def healthy(self) -> bool:
        """Whether the plugin loaded and registered without any problem."""
        return not self.problems


@dataclass(frozen=True)
class _Source:
    module: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False


class _State:
    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.sources: dict[str, _Source] = {}
        self.registries: dict[str, Registry[Any]] = {}
        self.building: set[str] = set()
        #: plugin name → problems, in the order they happened (also warned about)
        self.problems: dict[str, list[str]] = {}
        #: plugin name → the plugin API range it declares (absent: none declared)
        self.api_ranges: dict[str, str] = {}
        #: plugins refused for an incompatible plugin API
        self.refused: set[str] = set()


_lock = threading.RLock()
_state: _State | None = None


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager, created and loaded on first call, then cached."""
    return _get_state().pm


def model_registry() -> ModelRegistry:
    """The model registry, filled by every plugin's ``matting_register_models``."""
    return _registry("matting_register_models", ModelRegistry)


def loss_registry() -> LossRegistry:
    """The loss registry, filled by every plugin's ``matting_register_losses``."""
    return _registry("matting_register_losses", LossRegistry)


def dataset_registry() -> DatasetRegistry:
    """The dataset registry, filled by every plugin's ``matting_register_datasets``."""
    return _registry("matting_register_datasets", DatasetRegistry)


def command_registry() -> CommandRegistry:
    """The registry of plugin subcommands, filled by every ``matting_register_commands``."""
    return _registry("matting_register_commands", CommandRegistry)


def refiner_registry() -> RefinerRegistry:
    """The refiner registry, filled by every plugin's ``matting_register_refiners``."""
    return _registry("matting_register_refiners", RefinerRegistry)


def list_plugins() -> list[PluginDescription]:
    """Every plugin: built-ins first, then entry points by name, with what each registered
    in the registries filled so far and its problems.

    A plugin that failed to import is listed too, with no hooks and its problem.
    """
    state = _get_state()
    with _lock:
        result = []
        for name, source in state.sources.items():
            plugin = state.pm.get_plugin(name)
            hooks = sorted(caller.name for caller in state.pm.get_hookcallers(plugin) or ())
            registered = {
                registry.kinds: tuple(e.name for e in registry.entries() if e.provider == name)
                for hook, registry in state.registries.items()
                if hook in _REGISTRY_HOOKS
            }
            problems = list(state.problems.get(name, ()))
            for registry in state.registries.values():
                problems += [
                    f"{registry.kind} {e.name!r} is ambiguous: another plugin registers it "
                    f"too (use '{name}:{e.name}')"
                    for e in registry.entries()
                    if e.provider == name and registry.is_ambiguous(e.name)
                ]
            result.append(
                PluginDescription(
                    name=name,
                    module=source.module,
                    distribution=source.distribution,
                    version=source.version,
                    hooks=tuple(hooks),
                    builtin=source.builtin,
                    registered={k: v for k, v in registered.items() if v},
                    problems=tuple(problems),
                    plugin_api=f"=={PLUGIN_API}" if source.builtin else state.api_ranges.get(name),
                    compatible=name not in state.refused,
                )
            )
        return result


def check_plugins() -> list[PluginDescription]:
    """Run every hook (fill every registry), then :func:`list_plugins`: ``matting plugins``."""
    for hook, cls in _REGISTRY_HOOKS.items():
        _registry(hook, cls)
    return list_plugins()


def register_plugin(module_or_obj: object, name: str | None = None) -> str:
    """Register a plugin by hand (tests, notebooks) and run its hooks now.

    Its ``matting_register_*`` implementations are called at once for every registry, so
    ``list_models()`` sees its models immediately.  Unlike entry-point plugins, every
    problem is raised rather than warned about, and leaves nothing registered.

    :param module_or_obj: a module or object with ``@hookimpl`` functions.
    :param name: plugin name; defaults to the module's ``__name__``.
    :returns: the name it was registered under.
    :raises PluginError: the name is taken, a hook name is unknown or a signature does not
        match its spec, or one of its hooks raised.
    """
    if name is None:
        name = getattr(module_or_obj, "__name__", None) or type(module_or_obj).__name__
    state = _get_state()
    with _lock:
        registries = [_registry(hook, cls) for hook, cls in _REGISTRY_HOOKS.items()]
        pm = state.pm
        compatibility = check_compatibility(declared_range(module_or_obj))
        if not compatibility.compatible:
            raise PluginError(f"plugin {name!r} is refused: {compatibility.reason}")
        try:
            pm.register(module_or_obj, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"cannot register plugin {name!r}: {_reason(exc)}") from exc
        try:
            unknown = _unknown_hooks(pm, module_or_obj)
            if unknown:
                raise PluginError(f"plugin {name!r} {unknown}")
            with contextlib.ExitStack() as stack:
                for registry in registries:
                    stack.enter_context(registry.registering(name))
                for hook_name, registry in zip(_REGISTRY_HOOKS, registries, strict=True):
                    for impl in getattr(pm.hook, hook_name).get_hookimpls():
                        if impl.plugin is module_or_obj:
                            _call(impl, registry)
        except Exception as exc:
            pm.unregister(module_or_obj)
            if isinstance(exc, PluginError):
                raise
            raise PluginError(f"plugin {name!r} failed: {_one_line(exc)}") from exc
        module = getattr(module_or_obj, "__name__", None) or type(module_or_obj).__module__
        state.sources[name] = _Source(module=module)
        if compatibility.declared is not None:
            state.api_ranges[name] = compatibility.declared
        return name


def reset_plugins() -> None:
    """Forget the plugin manager and every registry; the next use loads plugins again.

    For tests: combine with ``monkeypatch.setenv`` / ``sys.path`` changes.
    """
    global _state
    with _lock:
        _state = None


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _get_state() -> _State:
    global _state
    with _lock:
        if _state is None:
            _state = _load()
        return _state


def _autoload_disabled() -> bool:
    value = os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _load() -> _State:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    state = _State(pm)
    from matting_core import __version__

    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
        state.sources[module_name] = _Source(module_name, "matting-core", __version__, builtin=True)
    # A misspelt hook in core itself is a bug, not something to warn about.
    pm.check_pending()

    if not _autoload_disabled():
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        for ep in sorted(entry_points, key=lambda ep: ep.name):
            _load_entry_point(state, ep)
    return state


def _load_entry_point(state: _State, ep: importlib.metadata.EntryPoint) -> None:
    dist = ep.dist
    source = _Source(
        module=ep.value,
        distribution=dist.metadata["Name"] if dist is not None else None,
        version=dist.version if dist is not None else None,
    )
    label = _label(ep.name, source)
    existing = state.sources.get(ep.name)
    if existing is not None:
        if existing.module != source.module:
            _warn(f"{label} is not loaded: the name is already taken by module {existing.module!r}")
        return

    state.sources[ep.name] = source
    # The declared range is read from the module's source first: a plugin built for another
    # plugin API is refused before it is imported (its import may fail against this core).
    found, declared = read_declared_range(ep.module)
    if found and _refuse(state, ep.name, label, declared):
        return
    try:
        plugin = ep.load()
    except Exception as exc:
        _problem(state, ep.name, f"{label} could not be imported: {_one_line(exc)}")
        return
    if not found:
        declared = declared_range(plugin)
        if declared is None and ep.attr:
            declared = declared_range(importlib.import_module(ep.module))
        if _refuse(state, ep.name, label, declared):
            return
    try:
        state.pm.register(plugin, name=ep.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        _problem(state, ep.name, f"{label} could not be registered: {_reason(exc)}")
        return
    unknown = _unknown_hooks(state.pm, plugin)
    if unknown:
        _problem(state, ep.name, f"{label} {unknown}")
    if not state.pm.get_hookcallers(plugin):
        _problem(state, ep.name, f"{label} {_no_hooks(plugin)}")


def _refuse(state: _State, name: str, label: str, declared: object) -> bool:
    """Record the plugin's declared range; refuse it (one warning) when it excludes core's
    plugin API.  Returns whether it was refused."""
    compatibility = check_compatibility(declared)
    if compatibility.declared is not None:
        state.api_ranges[name] = compatibility.declared
    if compatibility.compatible:
        return False
    state.refused.add(name)
    _problem(state, name, f"{label} is not loaded: {compatibility.reason}")
    return True


def _no_hooks(plugin: object) -> str:
    """Why a plugin implements no hook: usually hook functions without ``@hookimpl``."""
    unmarked = sorted(
        name
        for name in dir(plugin)
        if name.startswith("matting_") and callable(getattr(plugin, name, None))
    )
    if unmarked:
        return "implements no hook: mark " + ", ".join(unmarked) + " with @matting_core.hookimpl"
    return (
        "implements no hook: it has no function marked with @matting_core.hookimpl "
        "(see docs/hooks.md)"
    )


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> str:
    """Describe the plugin's implementations of hooks that have no spec ('' if none).

    This is :meth:`pluggy.PluginManager.check_pending` for one plugin, so that a misspelt
    name in a third-party plugin is a warning naming it rather than an error for everyone.
    """
    names = sorted(
        caller.name
        for caller in pm.get_hookcallers(plugin) or ()
        if not caller.has_spec()
        and any(impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls())
    )
    if not names:
        return ""
    parts = []
    for name in names:
        close = difflib.get_close_matches(name, _REGISTRY_HOOKS, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return "implements unknown hook " + ", ".join(parts) + "; it is never called"


# --------------------------------------------------------------------------------------------
# Filling registries
# --------------------------------------------------------------------------------------------

RegistryT = TypeVar("RegistryT", bound=Registry[Any])


def _registry(hook_name: str, cls: type[RegistryT]) -> RegistryT:
    state = _get_state()
    with _lock:
        registry = state.registries.get(hook_name)
        if registry is None:
            if hook_name in state.building:
                raise PluginError(
                    f"a plugin looked up the registry of {hook_name} while filling it"
                )
            state.building.add(hook_name)
            try:
                registry = cls()
                for impl in getattr(state.pm.hook, hook_name).get_hookimpls():
                    source = state.sources.get(impl.plugin_name)
                    try:
                        with registry.registering(impl.plugin_name):
                            _call(impl, registry)
                    except Exception as exc:
                        if source is not None and source.builtin:
                            raise
                        label = _label(impl.plugin_name, source)
                        _problem(
                            state,
                            impl.plugin_name,
                            f"{label} failed in {hook_name}: {_reason(exc)}",
                        )
                state.registries[hook_name] = registry
            finally:
                state.building.discard(hook_name)
        assert isinstance(registry, cls)
        return registry


def _call(impl: pluggy.HookImpl, registry: Registry[Any]) -> None:
    """Call one hook implementation with the arguments it asks for."""
    if impl.wrapper or impl.hookwrapper:
        raise PluginError(f"hook wrappers are not supported for {impl.function.__name__}")
    function: Callable[..., object] = impl.function
    available = {"registry": registry}
    function(*(available[arg] for arg in impl.argnames))


def _label(name: str, source: _Source | None) -> str:
    module = source.module if source is not None else "?"
    return f"matting plugin {name!r} (module {module!r})"


def _reason(exc: BaseException) -> str:
    """The whole reason, on one line: every line of the message joined with '; ' (pluggy's
    validation errors put the offending parameter on their third line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = "; ".join(lines)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] + (" …" if len(lines) > 1 else "") if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _warn(message: str) -> None:
    warnings.warn(message, PluginLoadWarning, stacklevel=3)


def _problem(state: _State, plugin: str, message: str) -> None:
    """Record a plugin's problem for ``matting plugins`` and warn about it once."""
    state.problems.setdefault(plugin, []).append(message)
    warnings.warn(message, PluginLoadWarning, stacklevel=3)
