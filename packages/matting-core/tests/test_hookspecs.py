"""Every hook is specified with a docstring and documented in docs/hooks.md."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from matting_core import hookspecs
from matting_core.hookspecs import PROJECT_NAME

SPEC_ATTRIBUTE = f"{PROJECT_NAME}_spec"


def _hookspecs() -> list:
    return [
        function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, SPEC_ATTRIBUTE)
    ]


def _signature(function) -> str:
    """``name(arg: Type, ...) -> Return`` with annotations as written in the source."""
    signature = inspect.signature(function)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{function.__name__}({params}) -> {signature.return_annotation}"


def _hooks_doc() -> str:
    for parent in Path(__file__).resolve().parents:
        doc = parent / "docs" / "hooks.md"
        if doc.is_file():
            return doc.read_text(encoding="utf-8")
    pytest.fail(
        "docs/hooks.md not found in any parent of this test file; "
        "run the tests from a checkout of the matting repository"
    )


def test_the_hooks_are_the_registration_hooks():
    assert sorted(f.__name__ for f in _hookspecs()) == [
        "matting_register_commands",
        "matting_register_datasets",
        "matting_register_losses",
        "matting_register_models",
        "matting_register_refiners",
    ]


@pytest.mark.parametrize("spec", _hookspecs(), ids=lambda f: f.__name__)
def test_hook_has_docstring_with_example(spec):
    doc = inspect.getdoc(spec) or ""
    assert len(doc.splitlines()) > 5, f"{spec.__name__} needs a docstring reference"
    assert ":param registry:" in doc
    assert ":returns:" in doc
    assert "Example::" in doc


@pytest.mark.parametrize("spec", _hookspecs(), ids=lambda f: f.__name__)
def test_hook_is_documented_with_exact_signature(spec):
    signature = _signature(spec)
    headings = [line for line in _hooks_doc().splitlines() if line.startswith("#")]
    assert any(signature in heading for heading in headings), (
        f"docs/hooks.md needs a heading with the exact signature `{signature}`"
    )


def test_hookimpl_is_exported_for_plugins():
    import matting_core

    assert matting_core.hookimpl is hookspecs.hookimpl
