"""pymatting's conjugate gradient with a progress bar and a soft iteration cap.

pymatting's ``cg`` raises a bare ``ValueError`` and drops its iterate when it runs out of
iterations.  Here its callback watches every iteration: it moves a progress bar measured in
decades of residual reduction (so the bar fills as the solve approaches ``tolerance`` and
its ETA means something), and at ``max_iterations`` it stops the solve and keeps the last
iterate, with a :class:`ConvergenceWarning` instead of an error.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable

import numpy as np
from pymatting.solver.cg import cg
from tqdm import tqdm

from matting_core.errors import MattingWarning

__all__ = ["PROGRESS_DELAY", "ConvergenceWarning", "conjugate_gradient"]

#: Seconds a solve runs before its progress bar appears (short solves stay silent).
PROGRESS_DELAY = 1.0


class ConvergenceWarning(MattingWarning):
    """Conjugate gradient stopped at ``max_iterations`` before reaching ``tolerance``."""


class _IterationCap(Exception):
    def __init__(self, x: np.ndarray, residual: float) -> None:
        super().__init__()
        self.x = x
        self.residual = residual


def conjugate_gradient(
    matrix: object,
    rhs: np.ndarray,
    *,
    preconditioner: Callable[[np.ndarray], np.ndarray] | object | None,
    x0: np.ndarray | None = None,
    tolerance: float,
    max_iterations: int,
    desc: str,
    progress: bool,
) -> np.ndarray:
    """Solve ``matrix @ x = rhs`` with pymatting's preconditioned conjugate gradient.

    Args:
        matrix: a symmetric positive (semi-)definite scipy sparse matrix, or a function
            applying it to a vector.
        rhs: (n,) float64 right-hand side.
        preconditioner: a function applying the preconditioner (pymatting's ``ichol`` or
            ``jacobi`` result), or None.
        x0: (n,) float64 first iterate (a coarse solution speeds tiles up); zeros if None.
        tolerance: stop when ``||residual|| < tolerance * ||rhs||``.
        max_iterations: stop after this many iterations, keep the iterate and warn.
        desc: the progress bar's label and the warning's subject.
        progress: show a progress bar once the solve has run for :data:`PROGRESS_DELAY` s.

    Returns:
        (n,) float64 solution.
    """
    if not np.any(rhs):
        # A zero right-hand side has the zero solution; pymatting's cg would divide 0 by 0.
        return np.zeros_like(rhs)
    decades = -math.log10(tolerance)
    bar = tqdm(
        total=round(decades, 2),
        desc=desc,
        unit="decade",
        delay=PROGRESS_DELAY,
        disable=not progress,
        leave=False,
        file=sys.stderr,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| residual 1e-{n:.1f} of 1e-{total:.1f} "
        "[{elapsed}<{remaining}{postfix}]",
    )
    iterations = 0

    def watch(A, x, b, norm_b, r, norm_r) -> None:
        nonlocal iterations
        iterations += 1
        reached = min(decades, math.log10(norm_b / max(norm_r, 1e-300)))
        if reached > bar.n:
            bar.update(reached - bar.n)
        bar.set_postfix_str(f"{iterations} it", refresh=False)
        if iterations >= max_iterations and norm_r >= tolerance * norm_b:
            raise _IterationCap(x.copy(), norm_r / norm_b)

    try:
        # one more than the cap, so that ``watch`` (not pymatting's ValueError) ends the solve
        return cg(
            matrix,
            rhs,
            x0=x0,
            rtol=tolerance,
            maxiter=max_iterations + 1,
            callback=watch,
            M=preconditioner,
        )
    except _IterationCap as cap:
        warnings.warn(
            ConvergenceWarning(
                f"{desc}: conjugate gradient stopped at max_iterations={max_iterations} with "
                f"relative residual {cap.residual:.1e} above tolerance={tolerance:g}; the "
                "matte may be inaccurate (raise max_iterations or tolerance)"
            ),
            stacklevel=2,
        )
        return cap.x
    finally:
        bar.close()
