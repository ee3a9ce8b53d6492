"""Inference precision: float32, or a reduced-precision autocast with channels-last tensors.

``predict(..., precision=...)`` and ``matting predict --precision`` take one of
:data:`PRECISIONS`:

- ``fp32``: float32 throughout, the reference (the default);
- ``bf16``: ``torch.autocast`` with bfloat16 and ``channels_last`` memory; on CUDA devices
  that support bfloat16 and on CPUs with AVX512-BF16 or AMX (elsewhere bfloat16 is emulated
  and slower than float32, so it is refused);
- ``fp16``: ``torch.autocast`` with float16 and ``channels_last``; on CUDA and MPS, and on
  CPUs with AMX-FP16;
- ``auto``: the first mode of the model's ``ModelInfo.auto_precisions`` (the reduced modes
  whose change of the mean SAD on the bundled photos was measured under 1%, fastest first)
  that the device supports, else ``fp32``.

Attention softmaxes run in float32 under autocast whatever the mode
(:func:`matting_nn.contextual_attention.attention_softmax`), and the alpha is returned as
float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from matting_core.errors import InputError

__all__ = [
    "PRECISIONS",
    "REDUCED_PRECISIONS",
    "precision_context",
    "precision_supported",
    "prepare_input",
    "prepare_model",
    "resolve_precision",
]

#: Every value ``--precision`` accepts.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: The autocast modes and their dtypes.
REDUCED_PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _cpu_has(feature: str) -> bool:
    """Whether this CPU has ``feature`` (torch's own probe; False where torch lacks it)."""
    probe = getattr(torch.cpu, f"_is_{feature}_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:
        return False


def precision_supported(precision: str, device: str | torch.device) -> bool:
    """Whether ``precision`` (fp32, bf16, fp16) runs natively on ``device``."""
    device = torch.device(device)
    if precision == "fp32":
        return True
    if device.type == "cuda":
        return precision == "fp16" or torch.cuda.is_bf16_supported()
    if device.type == "mps":
        return precision == "fp16"
    if device.type == "cpu":
        if precision == "bf16":
            return _cpu_has("avx512_bf16") or _cpu_has("amx_tile")
        return _cpu_has("amx_fp16")
    return False


def _hardware(device: torch.device) -> str:
    if device.type == "cpu":
        return "this CPU"
    if device.type == "cuda":
        return f"CUDA device {torch.cuda.get_device_name(device)!r}"
    return f"device {str(device)!r}"


def resolve_precision(
    precision: str, device: str | torch.device, auto: tuple[str, ...] = ()
) -> str:
    """The mode to run: ``precision`` itself, checked, or ``auto`` resolved.

    Args:
        precision: one of :data:`PRECISIONS`.
        device: where the model runs.
        auto: the model's ``ModelInfo.auto_precisions``, for ``auto``.

    Returns:
        ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    Raises:
        InputError: an unknown mode, or one the device does not support (one sentence
            naming the hardware and what it lacks).
    """
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return next((p for p in auto if precision_supported(p, device)), "fp32")
    if not precision_supported(precision, device):
        needs = {
            "bf16": "a CUDA GPU with bfloat16 or a CPU with AVX512-BF16 or AMX",
            "fp16": "a CUDA or MPS GPU or a CPU with AMX-FP16",
        }[precision]
        raise InputError(
            f"precision {precision} is not supported by {_hardware(device)}: it needs "
            f"{needs}; use --precision fp32 (or auto)"
        )
    return precision


def prepare_model(model: nn.Module, precision: str) -> nn.Module:
    """``model`` in the memory format ``precision`` runs with (channels-last for the reduced
    modes, where convolutions are fastest; contiguous for fp32), in place."""
    fmt = torch.channels_last if precision in REDUCED_PRECISIONS else torch.contiguous_format
    return model.to(memory_format=fmt)


def prepare_input(x: torch.Tensor, precision: str) -> torch.Tensor:
    """A (B, C, H, W) input in the memory format ``precision`` runs with."""
    if precision in REDUCED_PRECISIONS:
        return x.contiguous(memory_format=torch.channels_last)
    return x


@contextlib.contextmanager
def precision_context(precision: str, device: str | torch.device) -> Iterator[None]:
    """``torch.autocast`` for a reduced mode on ``device``; nothing for ``fp32``."""
    dtype = REDUCED_PRECISIONS.get(precision)
    if dtype is None:
        yield
        return
    with torch.autocast(torch.device(device).type, dtype=dtype):
        yield
