"""Registries and the name-based API: lookup, patterns, errors, duplicates, config overrides."""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass, field

import pytest
from torch import nn

from matting_core import (
    AmbiguousNameError,
    ConfigError,
    DuplicateNameWarning,
    LossInfo,
    ModelInfo,
    PluginError,
    UnknownLossError,
    UnknownModelError,
    create_loss,
    create_model,
    get_model_info,
    hookimpl,
    list_losses,
    list_models,
)
from matting_core.models import get_model_config, parse_overrides
from matting_core.plugins import model_registry, register_plugin, reset_plugins
from matting_core.registry import ModelRegistry
from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig


@pytest.fixture(autouse=True)
def builtins_only(monkeypatch):
    """Each test starts from core's built-in plugin alone and leaves no plugin behind."""
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugins()
    yield
    reset_plugins()


@dataclass(frozen=True)
class ToyConfig:
    width: int = 4
    rate: float = 0.5
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    label: str | None = None
    hidden: int = field(default=0, init=False)


class Toy(nn.Module):
    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        self.conv = nn.Conv2d(6, config.width, 1)


def _toy_info(**kw) -> ModelInfo:
    return ModelInfo(
        paper="Toy et al., A Toy, 2024",
        needs_trimap=True,
        input_channels=6,
        config_class=ToyConfig,
        **kw,
    )


def _plugin(name: str, **models) -> types.ModuleType:
    """A plugin module registering ``models`` (name → factory) with toy infos."""
    module = types.ModuleType(name)

    @hookimpl
    def matting_register_models(registry):
        for model_name, factory in models.items():
            registry.add(model_name, factory, _toy_info())

    module.matting_register_models = matting_register_models
    return module


# -- lookup -----------------------------------------------------------------------------------


def test_builtin_model_is_listed_and_created():
    assert list_models() == ["trimap-baseline"]
    assert isinstance(create_model("trimap-baseline"), TrimapBaseline)
    info = get_model_info("trimap-baseline")
    assert info.needs_trimap and info.input_channels == 6
    assert info.config_class is TrimapBaselineConfig
    assert info.default_config == TrimapBaselineConfig()
    assert info.default_weights is None and info.default_weights_path() is None


def test_pattern_filtering_is_sorted_shell_matching():
    register_plugin(_plugin("toys", **{"gca": Toy, "gca-small": Toy, "hop": Toy}), "toys")
    assert list_models("gca*") == ["gca", "gca-small"]
    assert list_models("*-*") == ["gca-small", "trimap-baseline"]
    assert list_models("nothing*") == []
    assert list_models() == ["gca", "gca-small", "hop", "trimap-baseline"]


def test_unknown_model_lists_close_matches_first():
    register_plugin(_plugin("toys", gca=Toy, hop=Toy), "toys")
    with pytest.raises(UnknownModelError) as excinfo:
        create_model("gcaa")
    message = str(excinfo.value)
    assert message == (
        "unknown model 'gcaa'; did you mean 'gca'? Known models: gca, hop, trimap-baseline"
    )
    assert isinstance(excinfo.value, LookupError)
    with pytest.raises(UnknownModelError, match=r"^unknown model 'nope'; known models: gca, hop"):
        get_model_info("nope")


def test_unknown_loss_lists_the_known_ones():
    assert "l1_unknown" in list_losses()  # registered by core's built-in plugin
    with pytest.raises(UnknownLossError, match=r"unknown loss 'l1'.*known losses: .*l1_unknown"):
        create_loss("l1")


def test_provider_is_recorded_without_plugins_passing_it():
    register_plugin(_plugin("toys", gca=Toy), "toy-plugin")
    registry = model_registry()
    assert registry.provider("gca") == "toy-plugin"
    assert registry.provider("trimap-baseline") == "matting_core.default_plugin"
    assert "gca" in registry and "nope" not in registry
    assert registry.get("gca").factory is Toy


# -- registration rules -----------------------------------------------------------------------


def test_a_name_two_plugins_register_is_ambiguous_never_resolved_by_order():
    def other(config):
        return Toy(config)

    # "aclash" sorts before "gca": the order must not decide
    register_plugin(_plugin("gca", gca=Toy), "gca")
    with pytest.warns(DuplicateNameWarning) as record:
        register_plugin(_plugin("aclash", gca=other), "aclash")
    assert len(record) == 1
    message = str(record[0].message)
    assert "'aclash'" in message and "'gca'" in message and "'aclash:gca'" in message
    registry = model_registry()
    assert list_models("gca") == ["gca"]  # listed once by name
    assert [(e.name, e.provider) for e in registry.entries("gca")] == [
        ("gca", "aclash"),
        ("gca", "gca"),
    ]
    assert registry.is_ambiguous("gca")
    for use in (lambda: create_model("gca"), lambda: get_model_info("gca")):
        with pytest.raises(AmbiguousNameError) as info:
            use()
        assert str(info.value) == (
            "model 'gca' is ambiguous: plugins 'aclash' and 'gca' both register it; "
            "say which with 'aclash:gca' or 'gca:gca'"
        )
        assert isinstance(info.value, LookupError)
    # the qualified form picks one, for every API that takes a model name
    assert registry.get("gca:gca").factory is Toy
    assert registry.get("aclash:gca").factory is other
    assert isinstance(create_model("aclash:gca", width=2), Toy)
    assert "gca:gca" in registry and "hop:gca" not in registry
    with pytest.raises(UnknownModelError, match=r"unknown model 'hop:gca'"):
        create_model("hop:gca")


def test_a_qualified_name_works_for_an_unambiguous_name_too():
    assert isinstance(create_model("matting_core.default_plugin:trimap-baseline"), TrimapBaseline)


def test_a_failed_plugin_leaves_the_other_registration_alone():
    register_plugin(_plugin("first", gca=Toy), "first")

    @hookimpl
    def matting_register_models(registry):
        registry.add("gca", Toy, _toy_info())
        raise RuntimeError("half-way")

    broken = types.ModuleType("broken")
    broken.matting_register_models = matting_register_models
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DuplicateNameWarning)
        with pytest.raises(PluginError, match="half-way"):
            register_plugin(broken, "broken")
    assert model_registry().provider("gca") == "first"
    assert not model_registry().is_ambiguous("gca")


@pytest.mark.parametrize("name", ["GCA", "gca.v2", "gca small", "-gca", "", "gcä"])
def test_invalid_names_are_rejected(name):
    registry = ModelRegistry()
    with pytest.raises(PluginError, match="lowercase letters, digits"):
        registry.add(name, Toy, _toy_info())


@pytest.mark.parametrize("name", ["gca", "gca-small", "hop_v2", "3d-matting"])
def test_valid_names_are_accepted(name):
    registry = ModelRegistry()
    registry.add(name, Toy, _toy_info())
    assert registry.names() == [name]
    assert registry.provider(name) is None


def test_wrong_info_type_is_rejected():
    registry = ModelRegistry()
    with pytest.raises(PluginError, match="expected ModelInfo"):
        registry.add("gca", Toy, LossInfo(description="not a model"))


def test_failing_registration_leaves_nothing_behind():
    registry = ModelRegistry()
    with pytest.raises(RuntimeError), registry.registering("half-done"):
        registry.add("gca", Toy, _toy_info())
        raise RuntimeError("boom")
    assert registry.names() == []


def test_register_plugin_raises_and_rolls_back_on_bad_plugin():
    module = types.ModuleType("bad")

    @hookimpl
    def matting_register_models(registry):
        registry.add("fine", Toy, _toy_info())
        registry.add("Not-Fine", Toy, _toy_info())

    module.matting_register_models = matting_register_models
    with pytest.raises(PluginError, match="'Not-Fine'"):
        register_plugin(module, "bad")
    assert list_models() == ["trimap-baseline"]


def test_model_info_is_validated():
    with pytest.raises(PluginError, match="dataclass"):
        ModelInfo(paper="x", needs_trimap=True, input_channels=6, config_class=dict)
    with pytest.raises(PluginError, match="pad_mode"):
        _toy_info(pad_mode="mirror")
    with pytest.raises(PluginError, match="package:relative"):
        _toy_info(default_weights="weights.safetensors")
    assert _toy_info(mean=[0.5, 0.5, 0.5]).mean == (0.5, 0.5, 0.5)


# -- config overrides -------------------------------------------------------------------------


@pytest.fixture
def toys():
    register_plugin(_plugin("toys", toy=Toy), "toys")


def test_overrides_build_the_config(toys):
    model = create_model("toy", width=8, rate=1, flag=True, sizes=[3, 4], label="x")
    assert model.config == ToyConfig(width=8, rate=1.0, flag=True, sizes=(3, 4), label="x")
    assert isinstance(model.config.rate, float)
    assert create_model("toy").config == ToyConfig()
    assert create_model("toy", config=ToyConfig(width=2), rate=0.25).config == ToyConfig(2, 0.25)
    assert create_model("toy", config={"width": 3}).config.width == 3


def test_unknown_override_lists_valid_keys(toys):
    with pytest.raises(ConfigError) as excinfo:
        create_model("toy", widht=8)
    message = str(excinfo.value)
    assert "'widht'" in message
    assert "valid options: width, rate, flag, sizes, label" in message
    assert "hidden" not in message  # init=False fields are not options


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("width", 2.5, "width: expected an integer, got 2.5"),
        ("width", True, "width: expected an integer, got true"),
        ("rate", "0.5", "rate: expected a float, got '0.5'"),  # text only from the CLI
        ("flag", 1, "flag: expected true or false, got 1"),
        ("sizes", [1, "2"], "sizes[1]: expected an integer, got '2'"),
        ("label", 3, "label: expected a string or none, got 3"),
    ],
)
def test_wrong_override_type_names_key_expected_and_given(toys, key, value, message):
    with pytest.raises(ConfigError) as excinfo:
        create_model("toy", **{key: value})
    assert str(excinfo.value) == f"model 'toy' option {message}"


def test_config_validation_errors_become_config_errors():
    with pytest.raises(ConfigError, match=r"unknown_value must be in \[0, 1\]"):
        create_model("trimap-baseline", unknown_value=1.5)
    with pytest.raises(ConfigError, match="must be a TrimapBaselineConfig or a mapping"):
        create_model("trimap-baseline", config=ToyConfig())
    assert get_model_config("trimap-baseline", unknown_value=0.25).unknown_value == 0.25


def test_parse_overrides_converts_command_line_text():
    parsed = parse_overrides(
        ToyConfig, ["width=8", "rate=1e-3", "flag=yes", "sizes=3, 4", "label=none"]
    )
    assert parsed == {"width": 8, "rate": 0.001, "flag": True, "sizes": (3, 4), "label": None}
    assert parse_overrides(ToyConfig, ["label=abc"]) == {"label": "abc"}
    with pytest.raises(ConfigError, match=r"^ToyConfig.width: expected an integer, got 'x'$"):
        parse_overrides(ToyConfig, ["width=x"])
    # the grammar of matting train --set: TOML literals first, then text
    assert parse_overrides(ToyConfig, ["sizes=[5, 6]", "label='a b'", "rate='0.5'"]) == {
        "sizes": (5, 6),
        "label": "a b",
        "rate": 0.5,
    }
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(ToyConfig, ["width"])
    with pytest.raises(ConfigError, match="no option 'depth'"):
        parse_overrides(ToyConfig, ["depth=3"])


def test_create_loss_checks_options():
    class L1(nn.Module):
        def __init__(self, weight: float = 1.0) -> None:
            super().__init__()
            self.weight = weight

    module = types.ModuleType("losses")

    @hookimpl
    def matting_register_losses(registry):
        registry.add("l1", L1, LossInfo(papers="Someone, 2020", description="L1"))

    module.matting_register_losses = matting_register_losses
    register_plugin(module, "losses")
    assert "l1" in list_losses()
    assert create_loss("l1", weight=2.0).weight == 2.0
    with pytest.raises(ConfigError, match="valid options: weight"):
        create_loss("l1", wieght=2.0)


def test_no_warnings_from_builtins():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list_models() == ["trimap-baseline"]
