"""Plugin discovery through entry points, failure isolation, autoload switch, plugin listing.

The example plugin (tests/example_plugin) is only ever reached through its entry point:
never import ``matting_example_plugin`` here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import sys
import textwrap
import warnings

import pytest
import torch
from conftest import EXAMPLE_DIST

from matting_core import (
    PluginLoadWarning,
    create_loss,
    create_model,
    get_model_info,
    list_losses,
    list_models,
)
from matting_core.plugins import list_plugins, loss_registry, model_registry, reset_plugins


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    monkeypatch.delenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    reset_plugins()
    yield
    reset_plugins()


# -- the example plugin -----------------------------------------------------------------------


def test_example_model_is_discovered_and_runs(example_plugin):
    assert "example-tiny" in list_models()
    assert list_models("example-*") == ["example-free", "example-tiny"]
    assert model_registry().provider("example-tiny") == "example"
    model = create_model("example-tiny", width=4)
    out = model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    assert out["alpha"].shape == (1, 1, 64, 64)


def test_example_trimap_free_model_is_discovered_and_runs_without_a_trimap(example_plugin):
    info = get_model_info("example-free")
    assert not info.needs_trimap and info.input_channels == 3
    assert model_registry().provider("example-free") == "example"
    out = create_model("example-free", width=4)(torch.rand(2, 3, 32, 48), None)
    assert out["alpha"].shape == (2, 1, 32, 48)


def test_example_loss_is_discovered(example_plugin):
    assert "example-l1" in list_losses()
    assert loss_registry().provider("example-l1") == "example"
    loss = create_loss("example-l1", weight=2.0)
    assert loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item() == pytest.approx(2.0)


def test_list_plugins_reports_name_version_hooks(example_plugin):
    plugins = {p.name: p for p in list_plugins()}
    builtin = plugins["matting_core.default_plugin"]
    assert builtin.builtin and builtin.distribution == "matting-core"
    assert builtin.hooks == (
        "matting_register_datasets",
        "matting_register_losses",
        "matting_register_models",
    )

    example = plugins["example"]
    assert example.version == "0.1.0"
    assert example.distribution == EXAMPLE_DIST
    assert example.module == "matting_example_plugin.plugin"
    assert example.hooks == ("matting_register_losses", "matting_register_models")
    assert not example.builtin
    assert next(iter(plugins)) == "matting_core.default_plugin"  # built-ins first


def test_disabling_autoload_leaves_only_builtins(monkeypatch):
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert list_models() == ["trimap-baseline"]
    assert "example-l1" not in list_losses() and "l1_unknown" in list_losses()
    assert [p.name for p in list_plugins()] == ["matting_core.default_plugin"]


# -- broken plugins ---------------------------------------------------------------------------

BROKEN_MODULES = {
    "matting_test_broken_import": """
        raise RuntimeError("plugin exploded on import")
    """,
    "matting_test_broken_hook": """
        from matting_core import ModelInfo, hookimpl
        from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig

        @hookimpl
        def matting_register_models(registry):
            info = ModelInfo(
                paper="-", needs_trimap=True, input_channels=6, config_class=TrimapBaselineConfig
            )
            registry.add("half-registered", TrimapBaseline, info)
            raise ValueError("hook exploded\\nwith a second line")
    """,
    "matting_test_misspelt": """
        from matting_core import hookimpl

        @hookimpl
        def matting_register_model(registry):
            raise AssertionError("never called")
    """,
    "matting_test_unmarked": """
        def matting_register_models(registry):
            raise AssertionError("never called: not marked with @hookimpl")
    """,
    "matting_test_wrong_parameter": """
        from matting_core import hookimpl

        @hookimpl
        def matting_register_models(models):
            raise AssertionError("never called")
    """,
}
ENTRY_POINTS = {
    "broken-import": "matting_test_broken_import",
    "broken-hook": "matting_test_broken_hook",
    "misspelt": "matting_test_misspelt",
    "unmarked": "matting_test_unmarked",
    "wrong-parameter": "matting_test_wrong_parameter",
}


@pytest.fixture
def broken_plugins(tmp_path, monkeypatch):
    """Install three broken plugins as bare .dist-info directories on sys.path."""
    for module, source in BROKEN_MODULES.items():
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    for ep_name, module in ENTRY_POINTS.items():
        dist_info = tmp_path / f"{module}-0.1.0.dist-info"
        dist_info.mkdir()
        dist_name = module.replace("_", "-")
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.1.0\n", encoding="utf-8"
        )
        (dist_info / "entry_points.txt").write_text(
            f"[matting]\n{ep_name} = {module}\n", encoding="utf-8"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    for module in BROKEN_MODULES:
        sys.modules.pop(module, None)


def _plugin_warnings(caught, ep_name):
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, PluginLoadWarning) and f"'{ep_name}'" in str(w.message)
    ]


def test_broken_plugins_warn_once_each_and_the_rest_works(broken_plugins):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = list_models()

    (import_warning,) = _plugin_warnings(caught, "broken-import")
    assert "matting_test_broken_import" in import_warning
    assert "RuntimeError: plugin exploded on import" in import_warning

    (hook_warning,) = _plugin_warnings(caught, "broken-hook")
    assert "matting_test_broken_hook" in hook_warning
    assert "ValueError: hook exploded" in hook_warning

    (misspelt_warning,) = _plugin_warnings(caught, "misspelt")
    assert "'matting_register_model'" in misspelt_warning
    assert "did you mean 'matting_register_models'" in misspelt_warning

    for message in (import_warning, hook_warning, misspelt_warning):
        assert "\n" not in message

    assert "trimap-baseline" in names
    assert "half-registered" not in names  # the failing hook's registrations are rolled back
    if "example" in {p.name for p in list_plugins()}:
        assert "example-tiny" in names

    (unmarked_warning,) = _plugin_warnings(caught, "unmarked")
    assert unmarked_warning.endswith(
        "implements no hook: mark matting_register_models with @matting_core.hookimpl"
    )

    # the whole reason: the hook, the definition and the parameter the spec does not have
    (parameter_warning,) = _plugin_warnings(caught, "wrong-parameter")
    assert "could not be registered: PluginValidationError: " in parameter_warning
    assert "hookimpl definition: matting_register_models(models)" in parameter_warning
    assert "Argument(s) {'models'} are declared in the hookimpl but can not be found in the " in (
        parameter_warning
    )

    # every plugin is listed, the ones that failed with their problems
    listed = {p.name: p for p in list_plugins()}
    assert {"broken-import", "broken-hook", "misspelt", "unmarked", "wrong-parameter"} <= set(
        listed
    )
    assert listed["broken-import"].problems == (import_warning,)
    assert listed["broken-import"].hooks == ()
    assert listed["broken-hook"].problems == (hook_warning,)
    assert not listed["broken-hook"].healthy
    assert listed["gca"].healthy if "gca" in listed else True

    # Loading happened once: later lookups do not warn again.
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        list_models()
        list_losses()
    assert not [w for w in again if issubclass(w.category, PluginLoadWarning)]


def test_matting_plugins_runs_every_hook_and_reports_health(broken_plugins, capsys):
    from matting_core.cli import main

    assert main(["plugins", "--json"]) == 0
    report = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    builtin = report["matting_core.default_plugin"]
    assert builtin["problems"] == [] and "trimap-baseline" in builtin["registered"]["models"]
    assert "l1_unknown" in builtin["registered"]["losses"]  # the loss hook ran too
    assert report["broken-hook"]["registered"] == {}
    assert "ValueError: hook exploded; with a second line" in report["broken-hook"]["problems"][0]
    assert report["unmarked"]["hooks"] == []
    assert main(["plugins", "--strict"]) == 1
    text = capsys.readouterr().out
    assert "broken-import  0.1.0  matting_test_broken_import  [1 problem(s)]" in text
    assert "    problem: matting plugin 'broken-import'" in text


def test_matting_plugins_names_an_ambiguous_registration(capsys, tmp_path, monkeypatch):
    """A plugin named "aclash" registering "trimap-baseline": both are listed, neither wins."""
    from matting_core.cli import main

    (tmp_path / "matting_test_aclash.py").write_text(
        textwrap.dedent(
            """
            from matting_core import ModelInfo, hookimpl
            from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig

            @hookimpl
            def matting_register_models(registry):
                info = ModelInfo(
                    paper="-", needs_trimap=True, input_channels=6,
                    config_class=TrimapBaselineConfig, needs_weights=False,
                    description="a clash",
                )
                registry.add("trimap-baseline", TrimapBaseline, info)
            """
        ),
        encoding="utf-8",
    )
    dist_info = tmp_path / "matting_test_aclash-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: matting-test-aclash\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[matting]\naclash = matting_test_aclash\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        assert main(["list", "models", "--pattern", "trimap-*", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)["models"]
        assert [(r["name"], r["provider"]) for r in rows] == [
            ("aclash:trimap-baseline", "aclash"),
            ("matting_core.default_plugin:trimap-baseline", "matting_core.default_plugin"),
        ]
        assert rows[0]["description"].startswith("AMBIGUOUS: name it aclash:trimap-baseline")
        assert main(["plugins", "--json"]) == 0
        report = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
        assert report["aclash"]["problems"] == [
            "model 'trimap-baseline' is ambiguous: another plugin registers it too "
            "(use 'aclash:trimap-baseline')"
        ]
        assert main(["predict", "--model", "trimap-baseline", "x.png", "y.png", "-o", "z.png"]) == 2
        err = capsys.readouterr().err
        assert "plugins 'aclash' and 'matting_core.default_plugin' both register it" in err
    finally:
        sys.modules.pop("matting_test_aclash", None)
