"""The error hierarchy: one base for user errors, each also the matching builtin."""

from __future__ import annotations

import pickle

import pytest

from matting_core import errors


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (errors.InputError, ValueError),
        (errors.ShapeError, ValueError),
        (errors.ConfigError, ValueError),
        (errors.CheckpointError, ValueError),
        (errors.UnknownModelError, LookupError),
        (errors.UnknownLossError, LookupError),
        (errors.UnknownDatasetError, LookupError),
    ],
)
def test_errors_are_matting_errors_and_builtins(error, builtin):
    assert issubclass(error, errors.MattingError)
    assert issubclass(error, builtin)


def test_user_errors_include_the_sibling_packages():
    names = {e.__name__ for e in errors.USER_ERRORS}
    assert errors.MattingError in errors.USER_ERRORS
    assert {"DataError", "MetricInputError"} <= names


def test_unknown_name_message_and_pickling():
    error = errors.UnknownDatasetError("comp1", ["comp1k", "d646"])
    assert (
        str(error) == "unknown dataset 'comp1'; did you mean 'comp1k'? Known datasets: comp1k, d646"
    )
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
