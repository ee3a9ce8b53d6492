"""docs/training.md's key reference is generated from the config dataclasses and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from matting_core.training.reference import TABLES, config_reference, read_block


def _doc(name: str) -> str:
    for parent in Path(__file__).resolve().parents:
        doc = parent / "docs" / name
        if doc.is_file():
            return doc.read_text(encoding="utf-8")
    pytest.fail(f"docs/{name} not found in any parent of this test file")


def test_training_md_lists_every_key_as_the_dataclasses_say():
    assert read_block(_doc("training.md"), "config") == config_reference(), (
        "docs/training.md is stale: python -m matting_core.training.reference "
        "--write docs/training.md"
    )


def test_the_reference_covers_every_config_table():
    import dataclasses

    from matting_core.training.config import TrainConfig

    listed = {name for name, _, _ in TABLES}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= listed
    text = config_reference()
    for key in ("`epochs`", "`milestones`", "`d_every`", "`warmup_steps`", "`options`"):
        assert key in text
