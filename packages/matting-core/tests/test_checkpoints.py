"""Checkpoint I/O: safetensors + sidecar round trip, atomicity, safe pickles, fitting to a model."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from matting_core import (
    CheckpointError,
    ModelInfo,
    load_state_dict,
    load_weights,
    save_weights,
)
from matting_core.checkpoints import read_sidecar, remap_release_keys
from matting_data import atomic as _atomic


@dataclass(frozen=True)
class NetConfig:
    width: int = 4


class Net(nn.Module):
    def __init__(self, config: NetConfig | None = None) -> None:
        super().__init__()
        width = (config or NetConfig()).width
        self.encoder = nn.Conv2d(6, width, 3)
        self.norm = nn.BatchNorm2d(width)
        self.decoder = nn.Conv2d(width, 1, 1)


def _official_to_ours(state):
    """Toy official-key remap: the 'official release' calls encoder 'enc' and decoder 'dec'."""
    renamed = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        renamed[{"enc": "encoder", "dec": "decoder", "bn": "norm"}[head] + "." + rest] = value
    return renamed


INFO = ModelInfo(
    paper="-",
    needs_trimap=True,
    input_channels=6,
    config_class=NetConfig,
    remap_official=_official_to_ours,
)


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- save / load round trip -------------------------------------------------------------------


def test_round_trip_with_sidecar(tmp_path):
    torch.manual_seed(0)
    model = Net()
    path = save_weights(
        model, tmp_path / "net.pth", model_name="net", config=NetConfig(), extra={"iter": 7}
    )
    assert path == tmp_path / "net.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.safetensors"]

    sidecar = json.loads((tmp_path / "net.json").read_text())
    assert sidecar["model_name"] == "net"
    assert sidecar["config"] == {"width": 4}
    assert sidecar["extra"] == {"iter": 7}
    assert sidecar["matting_core_version"] == "0.1.0"
    assert sidecar["torch_version"] == torch.__version__
    assert sidecar["created"].endswith("+00:00")
    assert sidecar["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_sidecar(path) == sidecar

    state = load_state_dict(path)
    assert state.keys() == model.state_dict().keys()
    assert state["norm.num_batches_tracked"].dtype == torch.int64

    fresh = Net()
    report = load_weights(fresh, path, info=INFO)
    assert report.ok and not report.remapped
    assert _same_state(model, fresh)


def test_suffix_is_forced(tmp_path):
    model = Net()
    assert save_weights(model, tmp_path / "a.safetensors", model_name="net").name == "a.safetensors"
    assert save_weights(model, tmp_path / "b.pt", model_name="net").name == "b.safetensors"
    assert save_weights(model, tmp_path / "c.v1", model_name="net").name == "c.v1.safetensors"


def test_tied_and_non_contiguous_tensors_are_saved(tmp_path):
    shared = torch.arange(12.0).reshape(3, 4)
    state = {"a": shared, "b": shared, "t": shared.t(), "grad": torch.ones(2, requires_grad=True)}
    path = save_weights(state, tmp_path / "tied", model_name="x")
    loaded = load_state_dict(path)
    assert torch.equal(loaded["a"], shared) and torch.equal(loaded["b"], shared)
    assert torch.equal(loaded["t"], shared.t())


def test_sidecar_of_other_weights_is_detected(tmp_path):
    path = save_weights(Net(), tmp_path / "net", model_name="net")
    sidecar = (tmp_path / "net.json").read_text()
    save_weights(Net(NetConfig(width=2)), tmp_path / "net", model_name="net")
    (tmp_path / "net.json").write_text(sidecar)  # pair the new weights with the old sidecar
    with pytest.raises(CheckpointError, match="sha256 differs"):
        read_sidecar(path)
    assert read_sidecar(path, verify=False)["model_name"] == "net"
    assert read_sidecar(tmp_path / "missing.safetensors") is None


def test_bad_config_fails_before_writing_anything(tmp_path):
    with pytest.raises(CheckpointError, match="JSON-serialisable"):
        save_weights(Net(), tmp_path / "net", model_name="net", extra={"when": object()})
    assert list(tmp_path.iterdir()) == []


# -- atomicity --------------------------------------------------------------------------------


def test_failure_while_writing_leaves_no_target_and_no_temp(tmp_path, monkeypatch):
    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_weights(Net(), tmp_path / "net", model_name="net")
    assert list(tmp_path.iterdir()) == []


def test_failure_on_the_sidecar_keeps_the_previous_pair(tmp_path, monkeypatch):
    path = save_weights(Net(), tmp_path / "net", model_name="net", extra={"v": 1})
    before = path.read_bytes(), (tmp_path / "net.json").read_bytes()
    real_stage = _atomic._stage

    def stage(target, data):
        if target.suffix == ".json":
            raise OSError("no space for the sidecar")
        return real_stage(target, data)

    monkeypatch.setattr(_atomic, "_stage", stage)
    with pytest.raises(OSError, match="sidecar"):
        save_weights(Net(NetConfig(width=2)), tmp_path / "net", model_name="net", extra={"v": 2})
    assert (path.read_bytes(), (tmp_path / "net.json").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.safetensors"]


# -- .pth files -------------------------------------------------------------------------------


def test_pth_bare_dict(tmp_path):
    model = Net()
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    fresh = Net()
    load_weights(fresh, tmp_path / "bare.pth")
    assert _same_state(model, fresh)


def test_pth_training_container_with_module_prefix(tmp_path):
    model = Net()
    wrapped = {f"module.{k}": v for k, v in model.state_dict().items()}
    checkpoint = {"iter": 1000, "state_dict": wrapped, "opt_state_dict": {"lr": 0.1}, "best": 3.2}
    torch.save(checkpoint, tmp_path / "train.pth")
    state = load_state_dict(tmp_path / "train.pth")
    assert state.keys() == model.state_dict().keys()
    fresh = Net()
    load_weights(fresh, tmp_path / "train.pth")
    assert _same_state(model, fresh)


@pytest.mark.parametrize("key", ["model", "params"])
def test_pth_other_containers(tmp_path, key):
    tensors = {"w": torch.ones(2)}
    torch.save({key: tensors, "epoch": 3}, tmp_path / "c.pt")
    assert load_state_dict(tmp_path / "c.pt").keys() == {"w"}


def test_module_prefix_is_stripped_only_where_present(tmp_path):
    torch.save({"module.a": torch.ones(1), "b": torch.zeros(1)}, tmp_path / "mixed.pth")
    assert set(load_state_dict(tmp_path / "mixed.pth")) == {"a", "b"}


def test_dtypes_are_kept_by_load_state_dict(tmp_path):
    torch.save({"half": torch.ones(2, dtype=torch.float16)}, tmp_path / "h.pth")
    assert load_state_dict(tmp_path / "h.pth")["half"].dtype == torch.float16


class _Payload:
    """Unpickling this would run ``open(marker, 'w')``: code execution."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    torch.save({"w": torch.ones(1), "evil": _Payload(str(marker))}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError) as excinfo:
        load_state_dict(tmp_path / "evil.pth")
    message = str(excinfo.value)
    assert "evil.pth" in message
    assert "contains pickled Python objects that are not plain tensors" in message
    assert "refusing to load it (only weights_only checkpoints are accepted)" in message
    assert not marker.exists()


def test_malicious_legacy_pickle_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    with open(tmp_path / "legacy.pt", "wb") as file:
        pickle.dump({"evil": _Payload(str(marker))}, file, protocol=2)
    with pytest.raises(CheckpointError, match="refusing to load it"):
        load_state_dict(tmp_path / "legacy.pt")
    assert not marker.exists()


# -- broken files -----------------------------------------------------------------------------


def test_truncated_safetensors(tmp_path):
    path = save_weights(Net(), tmp_path / "net", model_name="net")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"net\.safetensors.*corrupt or truncated"):
        load_state_dict(path)


def test_truncated_pth(tmp_path):
    torch.save(Net().state_dict(), tmp_path / "net.pth")
    data = (tmp_path / "net.pth").read_bytes()
    (tmp_path / "net.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"net\.pth.*corrupt"):
        load_state_dict(tmp_path / "net.pth")


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_state_dict(tmp_path / "nope.safetensors")
    (tmp_path / "weights.npz").write_bytes(b"x")
    with pytest.raises(CheckpointError, match=r"unknown suffix '\.npz'"):
        load_state_dict(tmp_path / "weights.npz")


def test_pickle_without_tensors(tmp_path):
    torch.save({"iter": 5, "loss": 0.1}, tmp_path / "empty.pth")
    with pytest.raises(CheckpointError, match=r"no tensors found.*iter, loss"):
        load_state_dict(tmp_path / "empty.pth")


# -- fitting to a model -----------------------------------------------------------------------


def test_mismatch_report_lists_keys_by_name(tmp_path):
    state = Net().state_dict()
    del state["decoder.bias"]
    state["extra.weight"] = torch.ones(1)
    state["decoder.weight"] = torch.ones(1, 8, 1, 1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as excinfo:
        load_weights(Net(), tmp_path / "bad.pth", name="net")
    message = str(excinfo.value)
    assert "does not fit model 'net'" in message
    assert "1 missing key (decoder.bias)" in message
    assert "1 unexpected key (extra.weight)" in message
    assert "1 shape mismatch (decoder.weight: checkpoint (1,8,1,1) vs model (1,4,1,1))" in message


def test_non_strict_loads_what_fits(tmp_path):
    source = Net()
    state = source.state_dict()
    del state["decoder.bias"]
    state["decoder.weight"] = torch.ones(1, 8, 1, 1)
    target = Net()
    report = load_weights(target, state, strict=False)
    assert report.missing == ("decoder.bias",)
    assert [m[0] for m in report.shape_mismatches] == ["decoder.weight"]
    assert not report.ok
    assert torch.equal(target.encoder.weight, source.encoder.weight)


def test_long_key_lists_are_cut(tmp_path):
    state = {f"junk{i}": torch.ones(1) for i in range(15)}
    with pytest.raises(
        CheckpointError, match=r"15 unexpected keys \(junk0, .*junk9, … and 5 more\)"
    ):
        load_weights(Net(), state)


def test_remap_official_is_applied_to_foreign_keys(tmp_path):
    model = Net()
    official = {}
    for key, value in model.state_dict().items():
        head, _, rest = key.partition(".")
        official[{"encoder": "enc", "decoder": "dec", "norm": "bn"}[head] + "." + rest] = value
    torch.save({"state_dict": official}, tmp_path / "official.pth")

    fresh = Net()
    report = load_weights(fresh, tmp_path / "official.pth", info=INFO)
    assert report.remapped and report.ok
    assert _same_state(model, fresh)

    with pytest.raises(CheckpointError, match="missing keys"):
        load_weights(Net(), tmp_path / "official.pth")  # no info: no remap


def test_own_keys_are_not_remapped(tmp_path):
    def exploding_remap(state):
        raise AssertionError("must not be called for our own keys")

    info = ModelInfo(
        paper="-",
        needs_trimap=True,
        input_channels=6,
        config_class=NetConfig,
        remap_official=exploding_remap,
    )
    path = save_weights(Net(), tmp_path / "own", model_name="net")
    assert not load_weights(Net(), path, info=info).remapped


def test_failing_remap_is_reported_with_the_mismatch():
    state = {"unrelated.weight": torch.ones(1)}
    with pytest.raises(CheckpointError, match="remap_official failed on it: KeyError"):
        load_weights(Net(), state, info=INFO)


def test_floating_tensors_are_cast_to_model_dtype(tmp_path):
    model = Net()
    half = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    path = save_weights(half, tmp_path / "half", model_name="net")
    assert load_state_dict(path)["encoder.weight"].dtype == torch.float16
    fresh = Net()
    report = load_weights(fresh, path)
    assert fresh.encoder.weight.dtype == torch.float32
    assert "encoder.weight" in report.cast
    assert "norm.num_batches_tracked" not in report.cast
    torch.testing.assert_close(fresh.encoder.weight, model.encoder.weight.half().float())

    double = Net().double()
    load_weights(double, path)
    assert double.decoder.weight.dtype == torch.float64


def test_remap_release_keys_strips_ddp_casts_counters_and_renames():
    state = {
        "module.decoder.gca.W.0.module.weight_bar": torch.zeros(2, 2, 1, 1),
        "module.decoder.gca.scale": torch.ones(1),
        "module.encoder.bn1.num_batches_tracked": torch.tensor(3.0),
        "decoder.conv2.bias": torch.zeros(1),
    }
    before = dict(state)
    out = remap_release_keys(
        state, [("decoder.gca.W.", "decoder.global_hop.w_out."), ("decoder.gca.", "decoder.g.")]
    )
    assert list(out) == [
        "decoder.global_hop.w_out.0.module.weight_bar",
        "decoder.g.scale",
        "encoder.bn1.num_batches_tracked",
        "decoder.conv2.bias",
    ]
    assert out["encoder.bn1.num_batches_tracked"].dtype == torch.int64
    assert out["decoder.g.scale"] is state["module.decoder.gca.scale"]
    assert state == before


# --------------------------------------------------------------------------------------------
# Weights of the wrong kind, and reproducible files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool, torch.uint8])
def test_weights_of_the_wrong_dtype_are_refused(tmp_path, dtype):
    """Right names and shapes, integer or bool values: they would load and give garbage."""
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in Net().state_dict().items()}
    path = save_weights(state, tmp_path / "ints.safetensors", model_name="net")
    model = Net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"of the wrong dtype \(encoder\.weight: checkpoint"):
        load_weights(model, path)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    report = load_weights(model, path, strict=False)
    assert (
        not report.ok and ("encoder.weight", str(dtype)[6:], "float32") in report.dtype_mismatches
    )
    assert "norm.num_batches_tracked" in report.loaded  # int into int still loads


def test_whole_float_counters_still_load_into_integer_buffers():
    state = Net().state_dict()
    state["norm.num_batches_tracked"] = torch.tensor(7.0)  # a release loader's .float() copy
    model = Net()
    report = load_weights(model, state)
    assert report.ok and "norm.num_batches_tracked" in report.cast
    assert model.norm.num_batches_tracked.dtype == torch.int64
    assert int(model.norm.num_batches_tracked) == 7
    state["norm.num_batches_tracked"] = torch.tensor(7.5)
    with pytest.raises(CheckpointError, match="wrong dtype"):
        load_weights(Net(), state)


def test_identical_weights_give_identical_files(tmp_path):
    """safetensors writes its metadata from a hash map: the order (and the sha256) varied."""
    torch.manual_seed(0)
    state = Net().state_dict()
    digests = {
        hashlib.sha256(
            save_weights(state, tmp_path / f"w{i}.safetensors", model_name="net").read_bytes()
        ).hexdigest()
        for i in range(12)
    }
    assert len(digests) == 1
    loaded = load_state_dict(tmp_path / "w0.safetensors")
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    from safetensors import safe_open

    with safe_open(str(tmp_path / "w0.safetensors"), "pt") as handle:
        assert handle.metadata() == {"format": "pt", "model_name": "net"}
