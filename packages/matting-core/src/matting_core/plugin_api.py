"""The version of the plugin API, and the ranges of it that plugins declare they support.

The plugin API is what a plugin relies on: the hook specifications
(:mod:`matting_core.hookspecs`), the registries and infos (:class:`~matting_core.ModelInfo`
and co.), and the public names of ``matting_core``. It is versioned apart from matting-core's
own version, ``MAJOR.MINOR``:

- MINOR grows when something is added (a new hook, a new optional ``ModelInfo`` field): a
  plugin written for 1.0 works with 1.3;
- MAJOR grows when something a plugin may use changes or goes (a hook's parameters, a field
  removed): a plugin written for 1.x is refused by 2.0.

A plugin declares the range it supports in its entry-point module, as a literal string::

    MATTING_PLUGIN_API = ">=1.0,<2"

Core reads that line from the module's source *before* importing it (a plugin built for
another API may not even import against this core), and refuses a plugin whose range
excludes :data:`PLUGIN_API` with one :class:`~matting_core.errors.PluginLoadWarning` naming
the plugin, its range and core's versions; its hooks are never called and every other plugin
keeps working. A plugin that declares no range is loaded, and ``matting plugins`` says so.
"""

from __future__ import annotations

import ast
import importlib.machinery
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

__all__ = [
    "API_ATTRIBUTE",
    "PLUGIN_API",
    "Compatibility",
    "check_compatibility",
    "declared_range",
    "read_declared_range",
]

#: The version of the plugin API this core provides (see the module docs for what bumps it).
PLUGIN_API = "1.0"

#: The module attribute, in a plugin's entry-point module, that holds its supported range.
API_ATTRIBUTE = "MATTING_PLUGIN_API"


@dataclass(frozen=True)
class Compatibility:
    """How a plugin's declared range meets :data:`PLUGIN_API`.

    :param declared: the range as the plugin wrote it, or None when it declares none.
    :param compatible: False only when a declared range excludes :data:`PLUGIN_API`, or
        is not a version range at all.
    :param reason: why it is not compatible: the range, :data:`PLUGIN_API` and matting-core's
        version, and what to install; else ``""``.
    """

    declared: str | None
    compatible: bool
    reason: str = ""


def check_compatibility(declared: object, api: str = PLUGIN_API) -> Compatibility:
    """Whether a plugin that declares ``declared`` (a PEP 440 range such as ``">=1.0,<2"``,
    or None) may be loaded by a core that provides plugin API ``api``."""
    if declared is None:
        return Compatibility(None, True)
    if not isinstance(declared, str):
        return Compatibility(
            repr(declared), False, f"its {API_ATTRIBUTE} is not a string such as '>=1.0,<2'"
        )
    try:
        supported = SpecifierSet(declared)
    except InvalidSpecifier:
        return Compatibility(
            declared,
            False,
            f"its {API_ATTRIBUTE} {declared!r} is not a version range such as '>=1.0,<2'",
        )
    if supported.contains(Version(api), prereleases=True):
        return Compatibility(declared, True)
    return Compatibility(
        declared,
        False,
        f"it supports plugin API {declared}, which excludes {api}, the plugin API of "
        f"matting-core {_core_version()} (install a release of the plugin built for plugin "
        f"API {api}, or a matting-core that provides the API it supports)",
    )


def _core_version() -> str:
    from matting_core import __version__

    return __version__


def read_declared_range(module: str) -> tuple[bool, str | None]:
    """The range a module declares, read from its source without importing it (nor its
    parent packages, which may import heavy code or fail against this core).

    :returns: ``(found, range)``: ``found`` is False when the source could not be located
        or the attribute is not a literal string there (then it is read from the imported
        module, see :func:`declared_range`); ``range`` is the literal when found.
    """
    path = _module_source(module)
    if path is None:
        return False, None
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return False, None
    for node in tree.body:
        targets = list(node.targets) if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == API_ATTRIBUTE for t in targets):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return True, value.value
            return False, None  # computed: only the imported module knows
    # No top-level assignment at all: the module declares nothing (unless it sets the
    # attribute in a way only importing reveals, which declared_range still looks at).
    return False, None


def declared_range(module: object) -> object:
    """The range an imported plugin (a module or object) declares, or None."""
    return getattr(module, API_ATTRIBUTE, None)


def _module_source(module: str) -> Path | None:
    """The source file of ``module`` (``a.b.c``), found on ``sys.path`` without importing
    ``a`` or ``a.b``."""
    parts = module.split(".")
    try:
        spec = importlib.machinery.PathFinder.find_spec(parts[0])
        for part in parts[1:]:
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                part, list(spec.submodule_search_locations)
            )
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.has_location:
        return None
    path = Path(spec.origin)
    return path if path.suffix == ".py" and path.is_file() else None
