"""docs/hooks.md runs: every Python block of the plugin guide, in order, in one module, as a
third-party author would run them (a real model, loss, dataset and command registered,
then predict, evaluate and train through the command line); and its ModelInfo table lists
every field."""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from pathlib import Path

import pytest

from matting_core import ModelInfo
from matting_core.plugins import reset_plugins


def _guide() -> str:
    for parent in Path(__file__).resolve().parents:
        doc = parent / "docs" / "hooks.md"
        if doc.is_file():
            return doc.read_text(encoding="utf-8")
    pytest.fail("docs/hooks.md not found in any parent of this test file")


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


@pytest.fixture
def guide_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MATTING_DISABLE_PLUGIN_AUTOLOAD", "1")
    reset_plugins()
    module = types.ModuleType("my_matting_guide")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    yield module
    reset_plugins()


def test_every_python_block_of_the_guide_runs(guide_module):
    blocks = _python_blocks(_guide())
    assert len(blocks) >= 8
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"docs/hooks.md, python block {number}", "exec")
        exec(code, guide_module.__dict__)
    # what the blocks did, checked from outside
    assert Path("runs/tiny/checkpoints/final.safetensors").is_file()
    assert sorted(p.name for p in Path("alpha").iterdir()) == [
        "GT17.png",
        "GT18.png",
        "GT19.png",
        "GT20.png",
    ]


def test_the_model_info_table_lists_every_field():
    text = _guide()
    table = text[text.index("**`ModelInfo` fields**") : text.index("A variant is the same")]
    documented = set(re.findall(r"^\| `([a-z_]+)", table, re.M))
    documented |= {"std"}  # listed with mean in one row
    fields = {f.name for f in dataclasses.fields(ModelInfo)}
    assert fields == documented, (fields - documented, documented - fields)
