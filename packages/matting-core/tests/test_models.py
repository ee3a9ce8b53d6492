"""Every registered model (built-in or from an installed plugin) honours the model contract.

Parametrised over ``list_models()`` (timm style): a new model gets these tests for free.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from matting_core import create_model, get_model_info, list_models
from matting_core.plugins import model_registry

SIZE = 64


def _inputs(info, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """An RGB image in [0, 1] normalised as ``info`` says (what ``predict`` gives the model)
    and a random one-hot trimap."""
    generator = torch.Generator().manual_seed(0)
    rgb = torch.rand(batch, 3, SIZE, SIZE, generator=generator)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (info.mean, info.std))
    image = (rgb - mean) / std
    labels = torch.randint(0, 3, (batch, SIZE, SIZE), generator=generator)
    trimap = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    return image, trimap


@pytest.mark.parametrize("name", list_models())
def test_forward_backward(name):
    torch.manual_seed(0)
    info = get_model_info(name)
    model = create_model(name)
    image, trimap = _inputs(info)
    image.requires_grad_(True)
    out = model(image, trimap if info.needs_trimap else None)

    alpha = out["alpha"]
    assert alpha.shape == (1, 1, SIZE, SIZE)
    assert alpha.dtype == torch.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0

    params = [p for p in model.parameters() if p.requires_grad]
    if params:
        alpha.mean().backward()
        assert image.grad is not None and image.grad.abs().sum() > 0
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        # A model with its own patch forward (HDMatt) feeds that forward more than the plain
        # (image, trimap) call does (context patches), so some of its parameters only learn
        # there; its own tests cover them.
        if getattr(info.inference, "patch_forward", None) is None:
            assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("name", list_models())
def test_info_and_default_config(name):
    info = get_model_info(name)
    assert info.paper
    assert info.input_channels >= 3
    config = info.default_config
    assert dataclasses.is_dataclass(config)
    assert create_model(name, config=config) is not None
    assert model_registry().provider(name)


@pytest.mark.parametrize("name", list_models())
def test_declared_extra_outputs_are_returned(name):
    """What ``ModelInfo.extra_outputs`` declares is part of the output contract: ``forward``
    returns it, with the shape its kind says, on a grid that tiles the input."""
    info = get_model_info(name)
    if not info.extra_outputs:
        pytest.skip(f"{name} declares no extra outputs")
    model = create_model(name).eval()
    image, trimap = _inputs(info, batch=2)
    with torch.no_grad():
        out = model(image, trimap if info.needs_trimap else None)
    for extra in info.extra_outputs:
        assert extra.name in out, f"{name} does not return its extra output {extra.name!r}"
        value = out[extra.name]
        assert value.shape[0] == 2 and torch.isfinite(value.float()).all()
        if extra.kind == "scalars":
            assert value.shape == (2, len(extra.labels))
            continue
        channels = 2 if extra.kind == "flow" else 1
        assert value.ndim == 4 and value.shape[1] == channels, (extra.name, value.shape)
        rows, cols = value.shape[2:]
        assert SIZE % rows == 0 and SIZE // rows == SIZE // cols, (extra.name, value.shape)
