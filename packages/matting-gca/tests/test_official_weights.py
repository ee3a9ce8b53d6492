"""Official checkpoints: key remap on the release's manifest, and output parity.

The parity case (``shared/fixtures/gca-official``) holds the official code's output for a
deterministic checkpoint built by ``make_ckpt.py``: the raw network output, the GCA scales
and offsets, and the demo's alpha after its pre- and post-processing.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import cv2
import numpy as np
import pytest
import torch

from matting_core import load_state_dict, load_weights, predict
from matting_core.cli import main
from matting_core.inference import Padding, prepare_inputs
from matting_core.testing import assert_levels_match
from matting_gca.model import GCA_INFO, GCAMatting, remap_official_keys

CASE = "case_128x160"
# The fixture's trimap holds every gray level; demo.py reads them with these thresholds.
DEMO_THRESHOLDS = (85, 170)
#: How close our float alpha is to the release's (float32 convolutions, summed in another order).
ALPHA_ATOL = 1e-5


def _manifest_state(manifest: dict, prefix: str = "module.", float_counters: bool = False):
    state = OrderedDict()
    for row in manifest["tensors"]:
        dtype = torch.int64 if row["dtype"] == "int64" else torch.float32
        if float_counters:
            dtype = torch.float32  # the release's loader casts every value with .float()
        state[prefix + row["key"]] = torch.zeros(row["shape"], dtype=dtype)
    return state


# --------------------------------------------------------------------------------------------
# Remap (pure, on keys.json)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["module.", ""])
def test_remap_covers_every_official_key_with_matching_shapes(official_manifest, prefix):
    model_state = GCAMatting().state_dict()
    remapped = remap_official_keys(_manifest_state(official_manifest, prefix))
    assert set(remapped) == set(model_state)
    for key, value in remapped.items():
        assert value.shape == model_state[key].shape, key
        assert value.dtype == model_state[key].dtype, key


def test_remap_accepts_float_counters_and_is_pure(official_manifest):
    state = _manifest_state(official_manifest, float_counters=True)
    before = {k: (v.dtype, v.data_ptr()) for k, v in state.items()}
    remapped = remap_official_keys(state)
    counters = [k for k in remapped if k.endswith("num_batches_tracked")]
    assert len(counters) == 72
    assert all(remapped[k].dtype == torch.int64 for k in counters)
    assert {k: (v.dtype, v.data_ptr()) for k, v in state.items()} == before  # input untouched
    assert remapped is not state
    # spectral-norm keys keep their inner ".module." part
    assert "encoder.conv1.module.weight_bar" in remapped


def test_remap_is_identity_on_our_own_keys():
    state = GCAMatting().state_dict()
    remapped = remap_official_keys(state)
    assert list(remapped) == list(state)
    assert all(remapped[k] is state[k] for k in state)


# --------------------------------------------------------------------------------------------
# Parity with the release's output
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected(gca_fixtures) -> dict[str, np.ndarray]:
    # "case_128x160/raw" -> "raw", "meta/checkpoint_state_sha256" -> "checkpoint_state_sha256"
    with np.load(gca_fixtures / "expected_128x160.npz") as data:
        return {k.split("/", 1)[1]: data[k] for k in data.files}


@pytest.fixture(scope="module")
def official_model(official_checkpoint) -> GCAMatting:
    model = GCAMatting()
    report = load_weights(model, official_checkpoint, info=GCA_INFO, name="gca")
    assert report.ok and len(report.loaded) == 578
    return model.eval()


def test_built_checkpoint_is_the_one_the_fixture_was_made_with(official_checkpoint, expected):
    # sha256 over (key without "module.", raw tensor bytes) in file order.
    digest = hashlib.sha256()
    for key, value in load_state_dict(official_checkpoint).items():
        digest.update(key.encode())
        digest.update(value.numpy().tobytes())
    assert digest.hexdigest() == str(expected["checkpoint_state_sha256"])


@pytest.mark.parametrize("chunk", [1024, None, 5])
def test_raw_output_matches_the_release(official_model, expected, chunk):
    official_model.set_attention_chunk(chunk)
    image = torch.from_numpy(expected["input_image"])[None]
    trimap = torch.from_numpy(expected["input_trimap"])[None]
    with torch.no_grad():
        out = official_model(image, trimap)
    official_model.set_attention_chunk(1024)
    raw = out["alpha"][0, 0].numpy()
    assert raw.shape == expected["raw"].shape == (192, 224)
    np.testing.assert_allclose(raw, expected["raw"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(out["scale_1"].numpy(), expected["scale_1"], rtol=1e-6)
    np.testing.assert_allclose(out["scale_2"].numpy(), expected["scale_2"], rtol=1e-6)
    np.testing.assert_array_equal(out["offset_1"][0].numpy(), expected["offset_1"])
    np.testing.assert_array_equal(out["offset_2"][0].numpy(), expected["offset_2"])


def test_eval_forward_leaves_the_weights_alone(official_model, expected):
    before = {k: v.clone() for k, v in official_model.state_dict().items()}
    with torch.no_grad():
        official_model(
            torch.from_numpy(expected["input_image"])[None],
            torch.from_numpy(expected["input_trimap"])[None],
        )
    assert all(torch.equal(v, before[k]) for k, v in official_model.state_dict().items())


def _read_case(gca_fixtures):
    image = cv2.imread(str(gca_fixtures / f"{CASE}_image.png"))[:, :, ::-1]
    trimap = cv2.imread(str(gca_fixtures / f"{CASE}_trimap.png"), cv2.IMREAD_GRAYSCALE)
    return np.ascontiguousarray(image), trimap


def test_core_preprocessing_matches_the_release_demo(gca_fixtures, expected):
    # GCA_INFO.pad_margin = 32 reproduces demo.py: a 32 px reflect border on every side.
    image, trimap = _read_case(gca_fixtures)
    image_t, trimap_t, _ = prepare_inputs(image, trimap, GCA_INFO, DEMO_THRESHOLDS)
    padding = Padding.for_size(*trimap.shape, GCA_INFO.pad_multiple, GCA_INFO.pad_margin)
    np.testing.assert_array_equal(
        padding.apply(image_t, GCA_INFO.pad_mode)[0].numpy(), expected["input_image"]
    )
    np.testing.assert_array_equal(
        padding.apply(trimap_t, GCA_INFO.pad_mode)[0].numpy(), expected["input_trimap"]
    )


def test_core_predict_alpha_matches_the_release_demo(gca_fixtures, expected, official_model):
    image, trimap = _read_case(gca_fixtures)
    alpha = predict(official_model, image, trimap, info=GCA_INFO, trimap_thresholds=DEMO_THRESHOLDS)
    assert alpha.shape == (128, 160)
    np.testing.assert_allclose(alpha, expected["alpha"], atol=ALPHA_ATOL, rtol=0)
    # The demo truncates when it writes uint8; truncating ours gives its levels wherever the
    # float is not within the tolerance of an integer (the last bits depend on summation
    # order, which thread count and processor change).
    assert_levels_match(alpha, expected["alpha_u8"], atol=ALPHA_ATOL, rounding="floor")
    png = cv2.imread(str(gca_fixtures / f"{CASE}_alpha.png"), cv2.IMREAD_GRAYSCALE)
    assert_levels_match(alpha, png, atol=ALPHA_ATOL, rounding="floor")


def test_matting_predict_with_an_official_checkpoint(gca_fixtures, official_checkpoint, tmp_path):
    out = tmp_path / "alpha.png"
    argv = [
        "predict",
        "--model",
        "gca",
        "--checkpoint",
        str(official_checkpoint),
        str(gca_fixtures / f"{CASE}_image.png"),
        str(gca_fixtures / f"{CASE}_trimap.png"),
        "-o",
        str(out),
        "--trimap-thresholds",
        "85,170",
    ]
    assert main(argv) == 0
    ours = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE).astype(int)
    official = cv2.imread(str(gca_fixtures / f"{CASE}_alpha.png"), cv2.IMREAD_GRAYSCALE)
    # We round to the nearest 8-bit level where the demo truncates: at most one level apart.
    assert np.abs(ours - official).max() <= 1
