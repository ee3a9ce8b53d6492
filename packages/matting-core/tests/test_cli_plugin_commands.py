"""Plugin subcommands: ``matting_register_commands`` adds commands to ``matting``."""

from __future__ import annotations

import types
import warnings

import pytest

from matting_core import CommandInfo, DuplicateNameWarning, InputError, hookimpl
from matting_core.cli import main
from matting_core.errors import PluginError, PluginLoadWarning
from matting_core.plugins import command_registry, register_plugin, reset_plugins


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    # Only the built-ins and the plugins a test registers by hand.
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugins()
    yield
    reset_plugins()


def _plugin(register) -> types.ModuleType:
    module = types.ModuleType("matting_test_commands")
    module.matting_register_commands = hookimpl(register)
    return module


def _greet_arguments(parser):
    parser.add_argument("who")
    parser.add_argument("--times", type=int, default=1)


def _greet(args) -> int:
    if args.who == "nobody":
        raise InputError("there is nobody to greet")
    print(" ".join([f"hello {args.who}"] * args.times))
    return 3


def _register_greet(registry):
    registry.add("greet", _greet_arguments, CommandInfo(help="say hello", run=_greet))


def test_a_plugin_command_parses_runs_and_returns_its_exit_code(capsys):
    register_plugin(_plugin(_register_greet), name="greeter")
    assert command_registry().provider("greet") == "greeter"

    assert main(["greet", "world", "--times", "2"]) == 3
    assert capsys.readouterr().out == "hello world hello world\n"


def test_a_plugin_command_is_listed_in_help_after_the_builtins(capsys):
    register_plugin(_plugin(_register_greet), name="greeter")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "say hello" in out
    assert out.index("greet") > out.index("predict")

    with pytest.raises(SystemExit) as exit_info:
        main(["greet", "--help"])
    assert exit_info.value.code == 0
    assert "usage: matting greet" in capsys.readouterr().out


def test_user_errors_of_a_plugin_command_are_one_sentence_exit_2(capsys):
    register_plugin(_plugin(_register_greet), name="greeter")
    assert main(["greet", "nobody"]) == 2
    err = capsys.readouterr().err
    assert err == "matting greet: error: there is nobody to greet\n"


def test_a_command_named_like_a_builtin_is_ignored_with_a_warning(capsys):
    def register(registry):
        registry.add("predict", _greet_arguments, CommandInfo(help="hijack", run=_greet))

    register_plugin(_plugin(register), name="hijacker")
    with (
        pytest.warns(DuplicateNameWarning, match="'hijacker'.*built-in"),
        pytest.raises(SystemExit),
    ):
        main(["predict", "--help"])
    assert "hijack" not in capsys.readouterr().out


def test_a_failing_add_arguments_leaves_only_that_command_out(capsys):
    def broken_arguments(parser):
        parser.add_argument("--fine")
        raise RuntimeError("options exploded")

    def register(registry):
        registry.add("broken", broken_arguments, CommandInfo(help="breaks", run=_greet))
        registry.add("greet", _greet_arguments, CommandInfo(help="say hello", run=_greet))

    register_plugin(_plugin(register), name="half-broken")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["greet", "you"]) == 3
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert len(messages) == 1
    assert "'broken'" in messages[0] and "'half-broken'" in messages[0]
    assert "RuntimeError: options exploded" in messages[0]
    with pytest.warns(PluginLoadWarning), pytest.raises(SystemExit) as exit_info:
        main(["broken"])
    assert exit_info.value.code == 2  # an unknown command now


def test_command_info_needs_a_callable_run():
    with pytest.raises(PluginError, match="run must be callable"):
        CommandInfo(help="x", run="not a function")  # type: ignore[arg-type]


def test_a_command_two_plugins_register_is_ambiguous_and_qualified_forms_pick_one(capsys):
    def _welcome(args) -> int:
        print(f"welcome {args.who}")
        return 0

    def _register_welcome(registry):
        registry.add("greet", _greet_arguments, CommandInfo(help="say welcome", run=_welcome))

    register_plugin(_plugin(_register_greet), name="greeter")
    with pytest.warns(DuplicateNameWarning, match="'agreeter:greet' or 'greeter:greet'"):
        register_plugin(_plugin(_register_welcome), name="agreeter")
    # the bare name: an error naming both plugins, whatever the order they loaded in
    assert main(["greet", "world"]) == 2
    assert capsys.readouterr().err == (
        "matting: error: command 'greet' is ambiguous: plugins 'agreeter' and 'greeter' both "
        "register it; say which with 'agreeter:greet' or 'greeter:greet'\n"
    )
    assert main(["greeter:greet", "world"]) == 3
    assert capsys.readouterr().out == "hello world\n"
    assert main(["agreeter:greet", "world"]) == 0
    assert capsys.readouterr().out == "welcome world\n"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "say hello (plugin greeter)" in out and "say welcome (plugin agreeter)" in out
