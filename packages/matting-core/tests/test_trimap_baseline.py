"""The trimap baseline: alpha = foreground + unknown_value x unknown, read off the trimap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matting_core import ConfigError, InputError, ShapeError
from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig


def _one_hot(labels: list[list[int]]) -> torch.Tensor:
    """(1, 3, H, W) one-hot [bg, unknown, fg] trimap from a grid of 0/1/2 labels."""
    index = torch.tensor(labels)
    return torch.nn.functional.one_hot(index, 3).permute(2, 0, 1).unsqueeze(0).float()


TRIMAP = [
    [0, 1, 2],
    [2, 1, 0],
]


def test_hand_computed_alpha():
    alpha = TrimapBaseline()(torch.randn(1, 3, 2, 3), _one_hot(TRIMAP))["alpha"]
    assert alpha.shape == (1, 1, 2, 3)
    assert alpha[0, 0].tolist() == [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]]


def test_unknown_value_is_configurable():
    model = TrimapBaseline(TrimapBaselineConfig(unknown_value=0.25))
    alpha = model(torch.zeros(1, 3, 2, 3), _one_hot(TRIMAP))["alpha"]
    assert alpha[0, 0].tolist() == [[0.0, 0.25, 1.0], [1.0, 0.25, 0.0]]


def test_batch_shape_and_image_is_ignored():
    trimap = torch.cat([_one_hot(TRIMAP), _one_hot([[2, 2, 2], [0, 0, 0]])])
    model = TrimapBaseline()
    a = model(torch.zeros(2, 3, 2, 3), trimap)["alpha"]
    b = model(torch.randn(2, 3, 2, 3), trimap)["alpha"]
    assert a.shape == (2, 1, 2, 3)
    assert torch.equal(a, b)
    assert a[1, 0].tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_has_no_parameters():
    assert list(TrimapBaseline().parameters()) == []
    assert TrimapBaseline().state_dict() == {}


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_config_is_validated(value):
    with pytest.raises(ConfigError, match="unknown_value"):
        TrimapBaselineConfig(unknown_value=value)


def test_bad_inputs():
    model = TrimapBaseline()
    with pytest.raises(InputError, match="needs a trimap"):
        model(torch.zeros(1, 3, 2, 2), None)
    with pytest.raises(ShapeError, match=r"trimap must be \(B, 3, H, W\)"):
        model(torch.zeros(1, 3, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ShapeError, match=r"image must be \(B, 3, H, W\)"):
        model(torch.zeros(3, 2, 2), torch.zeros(3, 2, 2))


def test_the_model_and_evaluate_baseline_are_one_baseline(shared_data):
    """The registered model (through predict, the one-hot a training batch gets) and
    ``matting evaluate --baseline`` give the same alpha on a real trimap."""
    from matting_core import predict
    from matting_core.evaluation import trimap_baseline_alpha
    from matting_core.inference import trimap_one_hot
    from matting_data import read_image, read_trimap
    from matting_data.torch_dataset import trimap_tensors

    root = shared_data / "alphamatting_training_lowres"
    trimap = read_trimap(root / "trimap" / "GT04.png")
    image = read_image(root / "image" / "GT04.png")
    model = TrimapBaseline(TrimapBaselineConfig(unknown_value=0.3))
    alpha = predict(model, image, trimap)
    np.testing.assert_array_equal(alpha, trimap_baseline_alpha(trimap, 0.3))
    # one one-hot encoding for inference and training batches
    assert torch.equal(trimap_one_hot(trimap)[0], trimap_tensors(trimap)[1])
