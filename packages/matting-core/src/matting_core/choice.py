"""The model ``matting predict`` runs without ``--model``: the best the installed plugins offer.

Plugins state what their models scored on the photos bundled with matting-data
(:class:`~matting_core.registry.Measured` entries of ``ModelInfo.measured``: the mean SAD and
MSE of ``matting evaluate`` on GT17-GT20 with both trimaps, alone and with refiners).
:func:`best_model` ranks every combination the installed plugins can run without a
checkpoint by that SAD (then MSE, then name):

- with a trimap: the models that need one (a refined combination only if its refiner is
  installed too);
- without: the trimap-free models; one that states no figures still runs (after the measured
  ones), since there is nothing else;
- none: an :class:`~matting_core.errors.InputError` saying what to give or install.

The figures are the plugins' own claims, measured on four photos; they rank models for a
sensible default, not for a paper's table.
"""

from __future__ import annotations

from dataclasses import dataclass

from matting_core.errors import CheckpointError, InputError
from matting_core.registry import Measured, ModelInfo

__all__ = ["ModelChoice", "best_model"]


@dataclass(frozen=True)
class ModelChoice:
    """What :func:`best_model` picked.

    :param model: the registered name (``PLUGIN:NAME`` for an ambiguous one).
    :param refine: the refiner to run after it, or None.
    :param measured: the figures it was ranked by, or None for an unmeasured model.
    """

    model: str
    refine: str | None
    measured: Measured | None

    def describe(self) -> str:
        """``'gca' refined by 'closed-form' (mean SAD 1.52, MSE 0.0048 on ...)``."""
        what = f"{self.model!r}" + (f" refined by {self.refine!r}" if self.refine else "")
        if self.measured is None:
            return f"{what} (no measured figures)"
        return (
            f"{what} (mean SAD {self.measured.sad:.2f}, MSE {self.measured.mse:.4f} on the "
            "bundled photos GT17-GT20 with both trimaps)"
        )


def best_model(*, trimap: bool) -> ModelChoice:
    """The best model (and refiner) of the installed plugins for an input with or without a
    trimap (see the module docstring for the ranking).

    :param trimap: whether the input comes with a trimap.
    :raises InputError: no installed model can run on such an input without a checkpoint.
    """
    from matting_core.plugins import model_registry, refiner_registry

    models = model_registry()
    refiners = refiner_registry()
    ranked: list[tuple[tuple[float, float, int, str, str], ModelChoice]] = []
    for entry in models.entries():
        info = entry.info
        if info.needs_trimap != trimap or not _runs_without_checkpoint(info):
            continue
        name = f"{entry.provider}:{entry.name}" if models.is_ambiguous(entry.name) else entry.name
        usable = [m for m in info.measured if m.refine is None or m.refine in refiners]
        for measured in usable:
            key = (measured.sad, measured.mse, 0, name, measured.refine or "")
            ranked.append((key, ModelChoice(name, measured.refine, measured)))
        if not usable and not trimap:  # an unmeasured trimap-free model still beats nothing
            ranked.append(
                ((float("inf"), float("inf"), 1, name, ""), ModelChoice(name, None, None))
            )
    if not ranked:
        if trimap:
            raise InputError(
                "no installed model runs without --checkpoint on an image with a trimap; "
                "install a plugin (matting-classical, matting-gca) or give --model and "
                "--checkpoint"
            )
        raise InputError(
            "no trimap-free model is installed, so an image without a trimap cannot be "
            "matted: give its trimap (TRIMAP, or --trimaps DIR; 'matting trimap' makes one) "
            "or install a plugin with a trimap-free model"
        )
    return min(ranked, key=lambda item: item[0])[1]


def _runs_without_checkpoint(info: ModelInfo) -> bool:
    """No weights needed, or bundled weights that are installed."""
    if not info.needs_weights:
        return True
    if info.default_weights is None:
        return False
    try:
        info.default_weights_path()
    except CheckpointError:  # a missing resource: the model cannot run as installed
        return False
    return True
