"""The conjugate gradient wrapper: pymatting's solver, a progress bar, a soft iteration cap."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import matting_classical.conjugate_gradient as module
from matting_classical import ConvergenceWarning
from matting_classical.conjugate_gradient import conjugate_gradient
from matting_core import MattingWarning, load_model, predict


def _poisson_1d(n: int) -> scipy.sparse.csr_matrix:
    """The SPD tridiagonal matrix [-1, 2, -1] (a 1-D Laplacian with fixed ends)."""
    return scipy.sparse.diags(
        [-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]
    ).tocsr()


def test_solves_a_small_system():
    matrix = _poisson_1d(50)
    rhs = np.linspace(-1.0, 2.0, 50)
    x = conjugate_gradient(
        matrix,
        rhs,
        preconditioner=None,
        tolerance=1e-10,
        max_iterations=200,
        desc="t",
        progress=False,
    )
    np.testing.assert_allclose(x, np.linalg.solve(matrix.toarray(), rhs), rtol=1e-8, atol=1e-9)


def test_zero_right_hand_side_gives_zero_without_dividing_by_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = conjugate_gradient(
            _poisson_1d(5),
            np.zeros(5),
            preconditioner=None,
            x0=np.ones(5),
            tolerance=1e-7,
            max_iterations=10,
            desc="t",
            progress=False,
        )
    assert np.array_equal(x, np.zeros(5))


def test_iteration_cap_keeps_the_iterate_and_warns():
    matrix = _poisson_1d(200)
    rhs = np.ones(200)
    with pytest.warns(ConvergenceWarning, match=r"max_iterations=3 with relative residual"):
        x = conjugate_gradient(
            matrix,
            rhs,
            preconditioner=None,
            tolerance=1e-9,
            max_iterations=3,
            desc="t",
            progress=False,
        )
    assert np.isfinite(x).all() and np.abs(x).max() > 0
    assert issubclass(ConvergenceWarning, MattingWarning)


def test_model_with_too_few_iterations_warns_and_still_mattes(small_hair):
    loaded = load_model("closed-form", max_iterations=2, progress=False)
    with pytest.warns(ConvergenceWarning, match="closed-form: conjugate gradient stopped"):
        alpha = predict(loaded.model, small_hair.image, small_hair.trimap, info=loaded.info)
    assert np.isfinite(alpha).all() and alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_progress_bar_counts_decades_of_residual(monkeypatch, capsys):
    monkeypatch.setattr(module, "PROGRESS_DELAY", 0.0)
    conjugate_gradient(
        _poisson_1d(300),
        np.ones(300),
        preconditioner=None,
        tolerance=1e-6,
        max_iterations=1000,
        desc="solving",
        progress=True,
    )
    err = capsys.readouterr().err
    assert "solving:" in err and "residual 1e-0.0 of 1e-6.0" in err
