"""The bundled GCA under ``--precision bf16`` (autocast + channels-last): the same matte to a
small tolerance, and ``auto`` picks bf16 where the hardware has it (``auto_precisions``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import matting_core.precision as precision_module
from matting_core import get_model_info, load_model, predict
from matting_data import read_alpha, read_image, read_trimap
from matting_data.bundled import samples_dir


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with bfloat16 (autocast emulates it elsewhere, slower but the same numbers)."""
    monkeypatch.setattr(precision_module, "_cpu_has", lambda name: name == "avx512_bf16")


def test_bundled_gca_in_bf16_gives_the_fp32_matte(bf16_cpu):
    assert get_model_info("gca-small").auto_precisions == ("bf16",)
    loaded = load_model("gca")
    root = samples_dir()
    image = read_image(root / "image" / "GT19.png")[0:192, 320:544]
    trimap = read_trimap(root / "trimap" / "GT19.png")[0:192, 320:544]
    truth = read_alpha(root / "alpha" / "GT19.png")[0:192, 320:544]
    unknown = trimap == 128
    assert unknown.mean() > 0.1
    fp32 = predict(loaded.model, image, trimap, info=loaded.info)
    bf16 = predict(loaded.model, image, trimap, info=loaded.info, precision="auto")
    assert next(loaded.model.parameters()).dtype == torch.float32  # autocast, not a cast
    assert bf16.dtype == np.float32
    diff = np.abs(bf16 - fp32)[unknown]
    assert 0 < diff.mean() < 0.01 and diff.max() < 0.15
    sad_fp32 = np.abs(fp32 - truth)[unknown].sum()
    sad_bf16 = np.abs(bf16 - truth)[unknown].sum()
    assert abs(sad_bf16 / sad_fp32 - 1) < 0.02
