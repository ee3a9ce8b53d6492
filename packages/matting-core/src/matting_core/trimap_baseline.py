"""The trimap baseline: the reference row every matting model must beat.

It reads the answer off the trimap: known foreground is 1, known background is 0, and every
unknown pixel gets one constant (0.5 by default).  The rule is
:func:`matting_core.evaluation.baseline_alpha`, which ``matting evaluate --baseline`` applies
too, so the model and the evaluation's reference row are one baseline.  It has no parameters and ignores the
image; a learned model that does not beat it on the unknown region has learned nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from matting_core.errors import ConfigError
from matting_core.evaluation import baseline_alpha
from matting_core.inference import check_model_inputs

__all__ = ["TrimapBaseline", "TrimapBaselineConfig"]


@dataclass(frozen=True)
class TrimapBaselineConfig:
    """Options of :class:`TrimapBaseline`.

    :param unknown_value: alpha given to every pixel of the trimap's unknown region, in [0, 1].
    """

    unknown_value: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.unknown_value <= 1.0:
            raise ConfigError(f"unknown_value must be in [0, 1], got {self.unknown_value}")


class TrimapBaseline(nn.Module):
    """Alpha straight from the trimap: ``fg + unknown_value * unknown``.

    Args:
        config: the options; the default config when None.

    Shape:
        - image: (B, 3, H, W) float normalised RGB (only its shape is used).
        - trimap: (B, 3, H, W) float one-hot [bg, unknown, fg].
        - returns ``{"alpha": (B, 1, H, W)}`` in [0, 1], the trimap's dtype.

    Example:
        >>> trimap = torch.zeros(1, 3, 2, 2)
        >>> trimap[:, 0, 0, 0] = trimap[:, 1, 0, 1] = trimap[:, 2, 1, :] = 1
        >>> TrimapBaseline()(torch.zeros(1, 3, 2, 2), trimap)["alpha"].flatten().tolist()
        [0.0, 0.5, 1.0, 1.0]
    """

    def __init__(self, config: TrimapBaselineConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else TrimapBaselineConfig()

    def forward(self, image: Tensor, trimap: Tensor | None) -> dict[str, Tensor]:
        check_model_inputs(image, trimap, model="the trimap baseline")
        unknown, foreground = trimap[:, 1:2], trimap[:, 2:3]
        return {"alpha": baseline_alpha(foreground, unknown, self.config.unknown_value)}
