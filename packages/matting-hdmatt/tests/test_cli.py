"""``matting predict`` with HDMatt on a real photo, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matting_core import predict, save_weights
from matting_core.cli import main
from matting_core.models import get_model_config
from matting_data import read_alpha, read_image, read_trimap, write_image

_TINY = {
    "backbone_layers": (1, 1, 1, 1),
    "aspp_channels": 16,
    "key_channels": 8,
    "value_channels": 8,
    "decoder_width": 0.125,
}


@pytest.fixture
def photo(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A 144 x 200 window of GT02 (hair against a background) with its trimap."""
    root = shared_data / "alphamatting_training_lowres"
    image = read_image(root / "image" / "GT02.png")
    trimap = read_trimap(root / "trimap" / "GT02.png")
    ys, xs = np.nonzero(trimap == 128)
    y, x = int(ys.mean()) - 72, int(xs.mean()) - 100
    write_image(tmp_path / "image.png", image[y : y + 144, x : x + 200])
    write_image(tmp_path / "trimap.png", trimap[y : y + 144, x : x + 200])
    return tmp_path / "image.png", tmp_path / "trimap.png"


@pytest.fixture
def weights(tiny_model, tmp_path: Path) -> Path:
    config = get_model_config("hdmatt-small", **_TINY)
    return save_weights(
        tiny_model, tmp_path / "w.safetensors", model_name="hdmatt-small", config=config
    )


@pytest.mark.parametrize("tile", [64, 96])
def test_predict_through_the_cli_at_two_tile_sizes(photo, weights, tmp_path, tile, tiny_model):
    image, trimap = photo
    out = tmp_path / f"alpha-{tile}.png"
    argv = ["predict", "--model", "hdmatt-small", "--checkpoint", str(weights)]
    argv += [str(image), str(trimap), "-o", str(out), "--tile", str(tile), "--overlap", "16"]
    assert main(argv) == 0
    alpha = read_alpha(out)
    known = read_trimap(trimap)
    assert alpha.shape == known.shape == (144, 200)
    assert (alpha[known == 255] == 1).all() and (alpha[known == 0] == 0).all()
    # the same as the API with the model's own patch forward at that tile
    import dataclasses

    from matting_core import get_model_info

    info = get_model_info("hdmatt-small")
    strategy = dataclasses.replace(info.inference, tile=tile, overlap=16)
    expected = predict(tiny_model, read_image(image), known, info=info, strategy=strategy)
    np.testing.assert_allclose(alpha, expected, atol=1 / 255 + 1e-6)


def test_bad_input_is_one_sentence_and_exit_code_2(photo, weights, tmp_path, capsys):
    image, _ = photo
    bad_trimap = tmp_path / "bad.png"
    write_image(bad_trimap, np.zeros((10, 10, 3), np.float32))  # another size than the image
    out = tmp_path / "never.png"
    base = ["predict", "--model", "hdmatt-small", "--checkpoint", str(weights)]
    for argv in (
        [*base, str(image), str(bad_trimap), "-o", str(out)],
        [*base, str(tmp_path / "missing.png"), str(bad_trimap), "-o", str(out)],
        [*base, str(image), "-o", str(out)],  # no trimap
        [*base, str(image), str(bad_trimap), "-o", str(out), "--tile", "64", "--overlap", "64"],
    ):
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err and "Traceback" not in err and len(err.splitlines()) == 1, err
        assert not out.exists()
