"""The plugin API version: plugins declare the range they support, core refuses the others.

Test plugins are installed as bare ``.dist-info`` directories on ``sys.path`` (as in
test_plugins.py), so they are found through the real entry-point machinery.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import warnings

import pytest

import matting_core
from matting_core import PLUGIN_API, PluginError, PluginLoadWarning, list_models
from matting_core.plugin_api import check_compatibility, read_declared_range
from matting_core.plugins import list_plugins, register_plugin, reset_plugins

# A plugin written for a future plugin API: it imports a name this core does not have, and
# would raise if its hook were ever called.  Refused from its source, it is never imported.
FUTURE = """
    MATTING_PLUGIN_API = ">=2.0,<3"

    from matting_core import ModelInfoV2  # only in plugin API 2

    @hookimpl
    def matting_register_models(registry):
        raise AssertionError("the hook of a refused plugin was called")
"""

# The same, with a range only the imported module knows (not a literal): refused after the
# import, before its hooks are registered.
COMPUTED = """
    from matting_core import hookimpl

    MATTING_PLUGIN_API = ">=" + "3.0"

    @hookimpl
    def matting_register_models(registry):
        raise AssertionError("the hook of a refused plugin was called")
"""

COMPATIBLE = """
    from matting_core import ModelInfo, hookimpl
    from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig

    MATTING_PLUGIN_API = ">=1.0,<2"

    @hookimpl
    def matting_register_models(registry):
        info = ModelInfo(
            paper="-", needs_trimap=True, input_channels=6,
            config_class=TrimapBaselineConfig, needs_weights=False,
        )
        registry.add("api-ok", TrimapBaseline, info)
"""

UNDECLARED = """
    from matting_core import ModelInfo, hookimpl
    from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig

    @hookimpl
    def matting_register_models(registry):
        info = ModelInfo(
            paper="-", needs_trimap=True, input_channels=6,
            config_class=TrimapBaselineConfig, needs_weights=False,
        )
        registry.add("api-undeclared", TrimapBaseline, info)
"""

NOT_A_RANGE = """
    MATTING_PLUGIN_API = "version one"
    raise AssertionError("a plugin with an unreadable range was imported")
"""

PLUGINS = {
    "future": ("matting_test_api_future", FUTURE),
    "computed": ("matting_test_api_computed", COMPUTED),
    "compatible": ("matting_test_api_compatible", COMPATIBLE),
    "undeclared": ("matting_test_api_undeclared", UNDECLARED),
    "not-a-range": ("matting_test_api_not_a_range", NOT_A_RANGE),
}


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    monkeypatch.delenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def api_plugins(tmp_path, monkeypatch):
    for ep_name, (module, source) in PLUGINS.items():
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist_info = tmp_path / f"{module}-0.3.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.3.0\n",
            encoding="utf-8",
        )
        (dist_info / "entry_points.txt").write_text(
            f"[matting]\n{ep_name} = {module}\n", encoding="utf-8"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    for module, _ in PLUGINS.values():
        sys.modules.pop(module, None)


def _warnings_about(caught, ep_name):
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, PluginLoadWarning) and f"'{ep_name}'" in str(w.message)
    ]


def test_core_exports_its_plugin_api_version():
    assert matting_core.PLUGIN_API == PLUGIN_API == "1.0"
    assert "PLUGIN_API" in matting_core.__all__


@pytest.mark.parametrize(
    "declared, api, compatible",
    [
        (">=1.0,<2", "1.0", True),
        (">=1.0,<2", "1.7", True),  # a minor bump only adds: old plugins keep working
        (">=1.0,<2", "2.0", False),  # a major bump breaks them
        (">=1.2,<2", "1.1", False),  # a plugin that needs a hook added in 1.2
        ("~=1.0", "1.4", True),
        (None, "7.0", True),  # undeclared: loaded without a check
    ],
)
def test_check_compatibility_reads_pep440_ranges(declared, api, compatible):
    assert check_compatibility(declared, api).compatible is compatible


def test_check_compatibility_refuses_what_is_not_a_range():
    result = check_compatibility("version one")
    assert not result.compatible and "is not a version range" in result.reason
    assert not check_compatibility(1.0).compatible


def test_incompatible_plugin_is_refused_with_one_warning_and_the_rest_works(api_plugins):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = list_models()

    (refused,) = _warnings_about(caught, "future")
    assert refused == (
        "matting plugin 'future' (module 'matting_test_api_future') is not loaded: it supports "
        "plugin API >=2.0,<3, which excludes 1.0, the plugin API of matting-core "
        f"{matting_core.__version__} (install a release of the plugin built for plugin API 1.0, "
        "or a matting-core that provides the API it supports)"
    )
    # read from the source: never imported (its import would fail against this core)
    assert "matting_test_api_future" not in sys.modules
    (computed,) = _warnings_about(caught, "computed")
    assert "it supports plugin API >=3.0, which excludes 1.0" in computed
    (unreadable,) = _warnings_about(caught, "not-a-range")
    assert unreadable.endswith(
        "is not loaded: its MATTING_PLUGIN_API 'version one' is not a version range such as "
        "'>=1.0,<2'"
    )
    assert "matting_test_api_not_a_range" not in sys.modules
    assert not _warnings_about(caught, "compatible") and not _warnings_about(caught, "undeclared")

    # the others keep working: core's built-in, a compatible and an undeclared plugin
    assert {"trimap-baseline", "api-ok", "api-undeclared"} <= set(names)

    listed = {p.name: p for p in list_plugins()}
    assert listed["future"].plugin_api == ">=2.0,<3"
    assert not listed["future"].compatible and listed["future"].hooks == ()
    assert listed["future"].problems == (refused,)
    assert not listed["computed"].compatible and listed["computed"].hooks == ()
    assert listed["compatible"].plugin_api == ">=1.0,<2" and listed["compatible"].healthy
    assert listed["undeclared"].plugin_api is None and listed["undeclared"].compatible
    assert listed["matting_core.default_plugin"].plugin_api == "==1.0"


def test_matting_plugins_shows_each_range(api_plugins, capsys):
    from matting_core.cli import main

    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"matting-core {matting_core.__version__}, plugin API 1.0\n")
    lines = text.splitlines()
    for name, expected in [
        ("compatible", "    plugin API: >=1.0,<2"),
        ("future", "    plugin API: >=2.0,<3  REFUSED: excludes this core's"),
        ("undeclared", "    plugin API: not declared (MATTING_PLUGIN_API; loaded without a check)"),
        ("matting_core.default_plugin", "    plugin API: ==1.0 (built in)"),
    ]:
        header = next(i for i, line in enumerate(lines) if line.startswith(f"{name}  "))
        assert lines[header + 1] == expected
    assert main(["plugins", "--json"]) == 0
    report = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert report["future"]["plugin_api"] == ">=2.0,<3" and report["future"]["compatible"] is False
    assert report["compatible"]["plugin_api"] == ">=1.0,<2" and report["compatible"]["compatible"]
    assert report["undeclared"]["plugin_api"] is None
    assert main(["plugins", "--strict"]) == 1  # a refused plugin is a problem
    capsys.readouterr()


def test_the_example_plugin_declares_a_compatible_range(example_plugin):
    (example,) = [p for p in list_plugins() if p.name == "example"]
    assert example.plugin_api == ">=1.0,<2" and example.compatible and example.healthy


def test_register_plugin_refuses_an_incompatible_plugin():
    class Future:
        MATTING_PLUGIN_API = ">=2.0,<3"

    with pytest.raises(PluginError, match=r"plugin 'future' is refused: it supports plugin API "):
        register_plugin(Future(), name="future")
    assert "future" not in {p.name for p in list_plugins()}


def test_the_range_is_read_without_importing_the_parent_package(tmp_path, monkeypatch):
    package = tmp_path / "matting_test_heavy"
    package.mkdir()
    (package / "__init__.py").write_text("raise AssertionError('imported')\n", encoding="utf-8")
    (package / "plugin.py").write_text(
        'MATTING_PLUGIN_API: str = ">=1.0,<2"\nraise AssertionError("imported")\n',
        encoding="utf-8",
    )
    (package / "computed.py").write_text('MATTING_PLUGIN_API = ">=" + "1"\n', encoding="utf-8")
    (package / "silent.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert read_declared_range("matting_test_heavy.plugin") == (True, ">=1.0,<2")
    assert read_declared_range("matting_test_heavy.computed") == (False, None)
    assert read_declared_range("matting_test_heavy.silent") == (False, None)
    assert read_declared_range("matting_test_heavy.missing") == (False, None)
    assert "matting_test_heavy" not in sys.modules
