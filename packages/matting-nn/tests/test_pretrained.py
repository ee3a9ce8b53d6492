"""load_pretrained: torchvision-format files load with every key accounted for; bad files are
refused with errors that name the file and the keys."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pickle

import pytest
import torch
from safetensors.torch import save_file

from matting_nn import (
    BasicBlock,
    Bottleneck,
    PretrainedBackbone,
    PretrainedWeightsError,
    ResNet,
    load_backbone_option,
    load_pretrained,
    read_weights,
    resnet34,
)


def small(**options):
    """A ResNet with one basic block per stage: the loader's logic at a fifth of ResNet-34's
    size (test_resnet checks the real architectures' keys)."""
    return ResNet(BasicBlock, (1, 1, 1, 1), **options)


def _randomised(net):
    """``net``'s state dict with every tensor random, BN statistics included, so that a load
    that skipped anything would show."""
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith(("running_var", "bn1.weight", "bn2.weight", "downsample.1.weight")):
                tensor.uniform_(0.5, 2.0)
            elif name.endswith(("running_mean", ".bias")):
                tensor.normal_()
    return net.state_dict()


@pytest.fixture(scope="module")
def imagenet_r34(tmp_path_factory):
    """A ResNet-34 state dict saved as torchvision saves its ImageNet files (with the
    classifier; test_resnet checks that these keys and shapes are torchvision's)."""
    torch.manual_seed(1)
    state = _randomised(resnet34(num_classes=1000))
    path = tmp_path_factory.mktemp("weights") / "resnet34-imagenet.pth"
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def imagenet_small(tmp_path_factory):
    """The same for :func:`small`."""
    torch.manual_seed(2)
    state = _randomised(small(num_classes=1000))
    path = tmp_path_factory.mktemp("weights") / "small-imagenet.pth"
    torch.save(state, path)
    return path, state


def _weights(state):
    return [k for k in state if not k.endswith("num_batches_tracked")]


def test_a_torchvision_file_loads_with_every_key_matched(imagenet_r34, caplog):
    path, state = imagenet_r34
    net = resnet34(num_classes=1000)
    weight_before = net.conv1.weight
    with caplog.at_level(logging.INFO, logger="matting_nn.pretrained"):
        report = load_pretrained(net, path)
    assert report.complete
    assert set(report.matched) == set(_weights(state))
    assert report.adapted == report.missing == report.unexpected == report.ignored == ()
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert net.conv1.weight is weight_before  # loaded in place: an optimiser keeps working
    assert "loaded 182/182 tensors" in caplog.text


def test_a_backbone_without_classifier_ignores_fc(imagenet_small):
    path, state = imagenet_small
    report = load_pretrained(small(), path)
    assert report.complete
    assert report.ignored == ("fc.bias", "fc.weight")
    assert len(report.matched) == len(_weights(state)) - 2
    assert "ignored the classifier fc.bias, fc.weight" in report.summary()


def test_safetensors_and_containers_load_too(imagenet_small, tmp_path):
    _, state = imagenet_small
    st = tmp_path / "r34.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, st)
    assert load_pretrained(small(num_classes=1000), st).complete
    # a trainer's checkpoint: {"state_dict": {"module." + key: ...}, "epoch": 90}
    wrapped = tmp_path / "checkpoint.pth.tar.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}, "epoch": 90}, wrapped)
    net = small(num_classes=1000)
    assert load_pretrained(net, wrapped).complete
    assert torch.equal(net.layer4[0].bn2.running_var, state["layer4.0.bn2.running_var"])


def test_a_wider_stem_gets_the_rgb_filters_and_zeros(imagenet_small):
    path, state = imagenet_small
    rgb = small().eval()
    load_pretrained(rgb, path)
    wide = small(in_channels=4).eval()
    report = load_pretrained(wide, path)
    assert report.complete and report.adapted == ("conv1.weight",)
    assert "conv1.weight" not in report.matched
    assert torch.equal(wide.conv1.weight[:, :3], state["conv1.weight"])
    assert torch.equal(wide.conv1.weight[:, 3], torch.zeros(64, 7, 7))
    # so at the start the 4-channel network computes the ImageNet features of the image,
    # whatever the trimap channel holds
    image = torch.randn(1, 3, 64, 64)
    trimap = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            wide(torch.cat([image, trimap], dim=1)).layer4, rgb(image).layer4
        )


def test_sha256_is_checked(imagenet_small):
    path, _ = imagenet_small
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_pretrained(small(), path, sha256=digest.upper()).complete
    wrong = "0" * 64
    with pytest.raises(PretrainedWeightsError, match=f"have sha256 {digest}, expected {wrong}"):
        load_pretrained(small(), path, sha256=wrong)
    with pytest.raises(PretrainedWeightsError, match="must be 64 hexadecimal digits"):
        load_pretrained(small(), path, sha256="abc")


def test_a_file_of_another_network_is_refused_naming_the_keys(imagenet_small):
    path, _ = imagenet_small
    net = ResNet(Bottleneck, (1, 1, 1, 1))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(PretrainedWeightsError) as info:
        load_pretrained(net, path)
    message = str(info.value)
    assert "do not fit ResNet" in message
    assert "(41 of 85 tensors fit)" in message
    assert "missing from the file: layer1.0.conv3.weight, layer1.0.bn3.weight" in message
    assert "and 17 more" in message  # long lists are cut, not dumped
    assert (
        "shapes that do not fit: layer1.0.conv1.weight (file [64, 64, 3, 3], "
        "backbone [64, 64, 1, 1])"
    ) in message
    # strict: nothing was loaded
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_missing_and_unexpected_keys(imagenet_small, tmp_path):
    _, state = imagenet_small
    partial = dict(state)
    removed = partial.pop("layer4.0.bn2.weight")
    partial["layer5.0.conv1.weight"] = torch.zeros(1)
    bad = tmp_path / "partial.pth"
    torch.save(partial, bad)
    with pytest.raises(PretrainedWeightsError) as info:
        load_pretrained(small(), bad)
    assert "missing from the file: layer4.0.bn2.weight" in str(info.value)
    assert "not in the backbone: layer5.0.conv1.weight" in str(info.value)
    # not strict: everything else loads and the report says what did not
    net = small()
    kept = net.layer4[0].bn2.weight.clone()
    report = load_pretrained(net, bad, strict=False)
    assert not report.complete
    assert report.missing == ("layer4.0.bn2.weight",)
    assert report.unexpected == ("layer5.0.conv1.weight",)
    assert torch.equal(net.layer4[0].bn2.weight, kept) and not torch.equal(kept, removed)
    assert torch.equal(net.layer4[0].bn2.bias, state["layer4.0.bn2.bias"])
    # BN counters are not weights: a file without them is complete
    no_counters = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(no_counters, bad)
    assert load_pretrained(small(), bad).complete


def test_non_finite_values_are_refused(imagenet_small, tmp_path):
    _, state = imagenet_small
    broken = dict(state)
    broken["layer2.0.conv1.weight"] = broken["layer2.0.conv1.weight"].clone()
    broken["layer2.0.conv1.weight"][0, 0, 0, 0] = float("nan")
    bad = tmp_path / "nan.pth"
    torch.save(broken, bad)
    with pytest.raises(
        PretrainedWeightsError, match=r"NaN or infinite values in layer2\.0\.conv1\.weight"
    ):
        load_pretrained(small(), bad)


class _Payload:
    """An object whose unpickling would run code."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return {}


def test_bad_files_are_refused(imagenet_small, tmp_path):
    path, _ = imagenet_small
    with pytest.raises(PretrainedWeightsError, match="does not exist"):
        load_pretrained(small(), tmp_path / "nowhere.pth")
    with pytest.raises(PretrainedWeightsError, match="is a directory"):
        read_weights(tmp_path)
    other = tmp_path / "weights.npz"
    other.write_bytes(b"x")
    with pytest.raises(PretrainedWeightsError, match=r"unknown suffix '\.npz'"):
        read_weights(other)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[: 1 << 16])
    with pytest.raises(PretrainedWeightsError, match="corrupt, truncated or not a PyTorch file"):
        load_pretrained(small(), truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(PretrainedWeightsError, match="not a valid safetensors file"):
        load_pretrained(small(), garbage)
    unsafe = tmp_path / "unsafe.pth"
    with open(unsafe, "wb") as f:
        pickle.dump({"conv1.weight": _Payload()}, f, protocol=2)
    with pytest.raises(PretrainedWeightsError, match="holds pickled Python objects"):
        load_pretrained(small(), unsafe)
    assert not _Payload.ran
    odd = tmp_path / "odd.pth"
    torch.save({"conv1.weight": torch.zeros(1), "note": "hello", "epoch": 3}, odd)
    with pytest.raises(PretrainedWeightsError, match="entries that are not tensors: note, epoch"):
        read_weights(odd)
    torch.save([torch.zeros(1)], odd)
    with pytest.raises(PretrainedWeightsError, match="hold a list, not a state dict"):
        read_weights(odd)


# --------------------------------------------------------------------------------------------
# The model option
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PaperConfig(PretrainedBackbone):
    """A plugin's model config with the option mixed in."""

    width: int = 32


def test_the_pretrained_backbone_option(imagenet_small):
    path, state = imagenet_small
    assert [f.name for f in dataclasses.fields(PaperConfig)] == [
        "pretrained_backbone",
        "pretrained_backbone_sha256",
        "width",
    ]
    net = small(in_channels=4)
    assert load_backbone_option(net, PaperConfig()) is None
    report = load_backbone_option(net, PaperConfig(pretrained_backbone=str(path)))
    assert report is not None and report.complete and report.adapted == ("conv1.weight",)
    assert torch.equal(net.layer3[0].conv2.weight, state["layer3.0.conv2.weight"])
    config = PaperConfig(pretrained_backbone=str(path), pretrained_backbone_sha256="f" * 64)
    with pytest.raises(PretrainedWeightsError, match="expected ffff"):
        load_backbone_option(small(), config)
