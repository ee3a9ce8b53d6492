"""Training recipes: step and epoch, loss-weight schedules, runs in epochs, adversarial
training (a frozen discriminator during the generator step, separate real and fake passes,
logged scores, warm-up and update ratio, λ_GAN = 0), a pretrained backbone, and datasets that
lack what the recipe reads.

matting-nn is imported here, in the tests only (core's source never imports it): the GAN that
learns uses its real PatchGAN, the pretrained run its ``PretrainedBackbone`` option.
"""

from __future__ import annotations

import dataclasses
import sys
import types
from dataclasses import dataclass

import pytest
import torch
import training_support as support
from safetensors.torch import save_file
from torch import nn

from matting_core import ModelInfo, hookimpl, list_models, load_model
from matting_core.checkpoints import read_sidecar
from matting_core.errors import ConfigError
from matting_core.plugins import register_plugin
from matting_core.training import AdversarialRecipe, SupervisedRecipe, config_from_dict, train
from matting_core.training.logger import read_metrics
from matting_nn import PatchGANDiscriminator, PretrainedBackbone, load_backbone_option

PATCHGAN_MODEL = "train-tiny-patchgan"
PRETRAINED_MODEL = "train-tiny-pretrained"


# --------------------------------------------------------------------------------------------
# Two more test models: a PatchGAN recipe, and a network with a pretrained backbone
# --------------------------------------------------------------------------------------------


class PatchGANRecipe(AdversarialRecipe):
    """pix2pix's PatchGAN (matting-nn) on image ‖ alpha, from ``[adversarial] options``."""

    def build_discriminator(self) -> nn.Module:
        return PatchGANDiscriminator(in_channels=4, **self.adv.options)


@dataclass(frozen=True)
class PretrainedTinyConfig(PretrainedBackbone):
    width: int = 8


class PretrainedTiny(nn.Module):
    """A two-convolution "backbone" that takes ImageNet-style weights, and a head."""

    def __init__(self, config: PretrainedTinyConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = nn.Sequential(
            nn.Conv2d(6, config.width, 3, padding=1), nn.ReLU(), nn.Conv2d(config.width, 8, 1)
        )
        self.head = nn.Conv2d(8, 1, 3, padding=1)
        self.report = load_backbone_option(self.backbone, config)

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
        features = torch.relu(self.backbone(torch.cat([image, trimap], dim=1)))
        return {"alpha": torch.sigmoid(self.head(features))}


@hookimpl
def matting_register_models(registry):
    base = ModelInfo(
        paper="— (recipe tests)",
        needs_trimap=True,
        input_channels=6,
        config_class=support.TinyConfig,
        pad_multiple=4,
        training_recipe=PatchGANRecipe,
    )
    registry.add(PATCHGAN_MODEL, support.TinyMattingNet, base)
    registry.add(
        PRETRAINED_MODEL,
        PretrainedTiny,
        dataclasses.replace(base, config_class=PretrainedTinyConfig, training_recipe=None),
    )


_PLUGIN = types.ModuleType("matting_recipe_tests")
_PLUGIN.matting_register_models = matting_register_models


@pytest.fixture(autouse=True)
def plugins():
    support.ensure_plugin()
    if PATCHGAN_MODEL not in list_models():
        register_plugin(_PLUGIN, "matting-recipe-tests")
    with support.single_thread():
        yield


def config(**sections):
    return config_from_dict(support.base_config(**sections))


def _gan_config(**sections):
    defaults = {
        "run": {"steps": 4, "checkpoint_every": 0},
        "model": {"name": support.GAN_MODEL},
        "loss": {"terms": {"l1_unknown": 1.0}},
        "adversarial": {"options": {"base_channels": 4}},
    }
    for name, values in sections.items():
        defaults.setdefault(name, {}).update(values)
    return config(**defaults)


def _tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer of ``module``, cloned."""
    return {
        **{f"param:{k}": v.detach().clone() for k, v in module.named_parameters()},
        **{f"buffer:{k}": v.detach().clone() for k, v in module.named_buffers()},
    }


# --------------------------------------------------------------------------------------------
# Step, epoch and loss-weight schedules; runs set in epochs
# --------------------------------------------------------------------------------------------


class RecordingRecipe(SupervisedRecipe):
    """Records what the engine tells it, and the weights it uses."""

    def __init__(self) -> None:
        self.epochs_begun: list[int] = []
        self.seen: list[tuple[int, int, float]] = []

    def on_epoch(self, epoch: int) -> None:
        self.epochs_begun.append(epoch)

    def on_step(self, step: int, epoch: int) -> None:
        super().on_step(step, epoch)
        weight = self.loss_weight("ssim") if "ssim" in self.cfg.loss.terms else None
        self.seen.append((step, epoch, weight))


def test_a_run_in_epochs_tells_the_recipe_step_epoch_and_scheduled_weights(tmp_path):
    # 4 samples, global batch 2 in 2 micro-batches of 1: 2 steps per epoch
    cfg = config(
        run={"steps": 0, "epochs": 3, "checkpoint_every": 0, "log_every": 1},
        data={"train_options": {"height": 48, "width": 48, "length": 4}, "batch_size": 2},
        optim={"accumulate": 2},
        loss={
            "terms": {"l1_unknown": 1.0, "ssim": 0.1},
            "schedules": {"ssim": {"unit": "epoch", "milestones": [1], "values": [0.1, 0.025]}},
        },
    )
    recipe = RecordingRecipe()
    result = train(cfg, tmp_path / "epochs", progress=False, recipe=recipe)
    assert result.step == 6  # 3 epochs × 4 micro-batches / 2 per step
    assert recipe.epochs_begun == [0, 1, 2]
    assert recipe.seen == [
        (0, 0, 0.1),
        (1, 0, 0.1),
        (2, 1, 0.025),
        (3, 1, 0.025),
        (4, 2, 0.025),
        (5, 2, 0.025),
    ]
    rows = read_metrics(result.run_dir, "train")
    assert [r["epoch"] for r in rows][-1] == 2


def test_a_step_schedule(tmp_path):
    cfg = config(
        run={"steps": 5, "checkpoint_every": 0},
        loss={
            "terms": {"l1_unknown": 1.0, "ssim": 1.0},
            "schedules": {"ssim": {"unit": "step", "milestones": [2, 4], "values": [1, 0.5, 0]}},
        },
    )
    recipe = RecordingRecipe()
    train(cfg, tmp_path / "steps", progress=False, recipe=recipe)
    assert [weight for _, _, weight in recipe.seen] == [1.0, 1.0, 0.5, 0.5, 0.0]


@pytest.mark.filterwarnings("ignore:resuming with a changed config")
def test_a_resumed_run_is_told_its_epoch_again(tmp_path):
    common = {
        "data": {"train_options": {"height": 48, "width": 48, "length": 4}, "batch_size": 2},
    }
    run_dir = tmp_path / "resume"
    train(config(run={"steps": 3, "checkpoint_every": 3}, **common), run_dir, progress=False)
    recipe = RecordingRecipe()
    result = train(
        config(run={"steps": 5, "checkpoint_every": 0}, **common),
        run_dir,
        progress=False,
        resume=True,
        recipe=recipe,
    )
    assert result.resumed_from == 3
    # 2 steps per epoch: step 3 is in epoch 1, step 4 begins epoch 2
    assert recipe.epochs_begun == [1, 2]
    assert [(step, epoch) for step, epoch, _ in recipe.seen] == [(3, 1), (4, 2)]


# --------------------------------------------------------------------------------------------
# Adversarial training done right
# --------------------------------------------------------------------------------------------


class CheckingGANRecipe(PatchGANRecipe):
    """Snapshots the discriminator before each step and checks it in the D step and at the
    next step: the generator step may change none of its tensors."""

    def __init__(self) -> None:
        self.checked_in_d_step = 0
        self.checked_without_d_step = 0
        self.d_batch_sizes: list[int] = []
        self.frozen_in_g_step: list[bool] = []
        self.steps_with_d_update: list[int] = []

    def setup(self, cfg, info, device):
        super().setup(cfg, info, device)
        self._before: dict[str, torch.Tensor] | None = None
        self._d_updated = False

    def build_networks(self):
        nets = super().build_networks()
        self.discriminator = nets["discriminator"]
        self.discriminator.register_forward_hook(
            lambda module, args, out: self.d_batch_sizes.append(args[0].shape[0])
        )
        return nets

    def on_step(self, step, epoch):
        if self._before is not None and not self._d_updated:
            _assert_identical(self._before, _tensors(self.discriminator))
            self.checked_without_d_step += 1
        super().on_step(step, epoch)
        self._before = _tensors(self.discriminator)
        self._d_updated = False

    def generator_loss(self, nets, batch, outputs):
        self.frozen_in_g_step.append(
            not any(p.requires_grad for p in nets["discriminator"].parameters())
        )
        return super().generator_loss(nets, batch, outputs)

    def discriminator_loss(self, nets, batch, outputs):
        if not self._d_updated:
            _assert_identical(self._before, _tensors(self.discriminator))
            self.checked_in_d_step += 1
            self.steps_with_d_update.append(self.step)
            self._d_updated = True
        return super().discriminator_loss(nets, batch, outputs)


def _assert_identical(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> None:
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert not changed, f"the generator step changed {changed}"


def test_a_generator_step_leaves_every_discriminator_tensor_bit_identical(tmp_path):
    # BatchNorm (running statistics) and spectral norm (power-iteration vectors) are the
    # buffers a forward in training mode changes
    class SpectralPatchGAN(CheckingGANRecipe):
        def build_discriminator(self):
            d = super().build_discriminator()
            first = d.model[0]
            d.model[0] = nn.utils.parametrizations.spectral_norm(first)
            return d

    recipe = SpectralPatchGAN()
    cfg = _gan_config(
        run={"steps": 5},
        model={"name": PATCHGAN_MODEL},
        adversarial={
            "options": {"base_channels": 4, "n_layers": 2, "norm": "batch"},
            "d_every": 2,
            "d_steps": 2,
        },
    )
    train(cfg, tmp_path / "frozen", progress=False, recipe=recipe)
    d = recipe.discriminator
    assert any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    assert any("_u" in name for name, _ in d.named_buffers())  # spectral norm's vector
    assert all(recipe.frozen_in_g_step) and len(recipe.frozen_in_g_step) == 5
    assert recipe.steps_with_d_update == [0, 2, 4]  # d_every = 2
    assert recipe.checked_in_d_step == 3 and recipe.checked_without_d_step == 2
    # the discriminator is trainable again after each generator step, and did learn
    assert all(p.requires_grad for p in d.parameters())
    # per D step: a real pass and a fake pass of the per-rank batch each (never one of 2B)
    d_passes = recipe.d_batch_sizes
    assert set(d_passes) == {2}


def test_gan_logs_real_and_fake_scores_and_every_term(tmp_path):
    cfg = _gan_config(loss={"terms": {"l1_unknown": 1.0, "ssim": 0.1}})
    result = train(cfg, tmp_path / "logged", progress=False)
    row = read_metrics(result.run_dir, "train")[-1]
    expected = {"loss", "loss/l1_unknown", "loss/ssim", "loss/adversarial"}
    expected |= {"d_loss", "d_loss/real", "d_loss/fake", "d_real", "d_fake"}
    assert expected <= set(row)
    assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1  # probabilities for gan_bce
    assert row["d_loss"] == pytest.approx(row["d_loss/real"] + row["d_loss/fake"], rel=1e-5)


def test_warm_up_trains_the_generator_alone_first(tmp_path):
    recipe = CheckingGANRecipe()
    cfg = _gan_config(
        run={"steps": 5},
        model={"name": PATCHGAN_MODEL},
        adversarial={"options": {"base_channels": 4, "n_layers": 1}, "warmup_steps": 3},
    )
    result = train(cfg, tmp_path / "warmup", progress=False, recipe=recipe)
    rows = read_metrics(result.run_dir, "train")  # log_every = 1: row n is step n - 1
    assert ["loss/adversarial" in r for r in rows] == [False, False, False, True, True]
    assert recipe.steps_with_d_update == [3, 4]


def test_lambda_gan_zero_is_the_supervised_baseline(tmp_path):
    gan = _gan_config(run={"steps": 4}, adversarial={"weight": 0.0, "d_steps": 3})
    plain = config(run={"steps": 4, "checkpoint_every": 0}, loss={"terms": {"l1_unknown": 1.0}})
    gan_result = train(gan, tmp_path / "gan", progress=False)
    plain_result = train(plain, tmp_path / "plain", progress=False)
    gan_weights = support.weights_of(gan_result.weights)
    plain_weights = support.weights_of(plain_result.weights)
    assert gan_weights.keys() == plain_weights.keys()
    different = [k for k in gan_weights if not torch.equal(gan_weights[k], plain_weights[k])]
    assert not different
    state = torch.load(gan_result.checkpoint, weights_only=True)
    assert not state["optimizers"]["discriminator"]["state"]  # never stepped
    assert not any("adversarial" in r or "d_loss" in r for r in read_metrics(gan_result.run_dir))


def test_a_tiny_generator_and_patchgan_learn_on_real_crops(tmp_path):
    """A few dozen steps on real GT01 crops: the generator's error falls well below where it
    started and the discriminator tells real from generated mattes."""
    cfg = config(
        run={"steps": 48, "checkpoint_every": 0, "log_every": 8, "seed": 1},
        model={"name": PATCHGAN_MODEL, "options": {"width": 8}},
        data={
            "train_options": {"height": 96, "width": 96, "length": 16},
            "crop_size": 48,
            "batch_size": 4,
        },
        optim={"lr": 3e-3},
        loss={"terms": {"l1_unknown": 1.0}},
        adversarial={
            "options": {"base_channels": 8, "n_layers": 2, "norm": "batch"},
            "weight": 0.05,
            "optim": {"name": "adam", "lr": 1e-3, "betas": [0.5, 0.999]},
        },
    )
    result = train(cfg, tmp_path / "learns", progress=False)
    rows = read_metrics(result.run_dir, "train")  # means over 8 steps each
    first, last = rows[0], rows[-1]
    # the matting error on the unknown region halves (measured here: 0.275 → 0.072)
    assert last["loss/l1_unknown"] < 0.5 * first["loss/l1_unknown"], rows
    # the discriminator learns to tell real from generated mattes (measured: its scores part
    # by 0.59 and its loss falls to 0.51, against 2 ln 2 = 1.39 for a coin), and the
    # generator pushes back (the gap closes again to 0.28 by the end)
    assert max(r["d_real"] - r["d_fake"] for r in rows) > 0.4, rows
    assert min(r["d_loss"] for r in rows) < 0.75, rows
    assert all(r["d_real"] > r["d_fake"] for r in rows), rows


# --------------------------------------------------------------------------------------------
# A pretrained backbone, loaded before step 0 and not asked for again at inference
# --------------------------------------------------------------------------------------------


def test_a_config_names_a_pretrained_backbone(tmp_path):
    torch.manual_seed(7)
    imagenet = PretrainedTiny(PretrainedTinyConfig()).backbone.state_dict()
    path = tmp_path / "backbone-imagenet.safetensors"
    save_file({k: v.contiguous() for k, v in imagenet.items()}, str(path))

    class Checking(SupervisedRecipe):
        loaded_before_step_0: bool | None = None

        def build_networks(self):
            nets = super().build_networks()
            self.generator = nets["generator"]
            return nets

        def on_step(self, step, epoch):
            if step == 0:
                state = self.generator.backbone.state_dict()
                self.loaded_before_step_0 = all(torch.equal(state[k], imagenet[k]) for k in state)
            super().on_step(step, epoch)

    cfg = config(
        run={"steps": 2, "checkpoint_every": 0},
        model={"name": PRETRAINED_MODEL, "options": {"pretrained_backbone": str(path)}},
    )
    recipe = Checking()
    result = train(cfg, tmp_path / "pretrained", progress=False, recipe=recipe)
    assert recipe.loaded_before_step_0 is True
    assert recipe.generator.report.complete
    # the weights' sidecar does not name the ImageNet file: inference never looks for it
    sidecar = read_sidecar(result.weights)
    assert sidecar["config"]["pretrained_backbone"] is None
    path.unlink()
    loaded = load_model(PRETRAINED_MODEL, result.weights)
    trained = support.weights_of(result.weights)
    assert all(torch.equal(v, trained[k]) for k, v in loaded.model.state_dict().items())


def test_a_missing_pretrained_backbone_fails_before_training(tmp_path):
    cfg = config(
        model={
            "name": PRETRAINED_MODEL,
            "options": {"pretrained_backbone": str(tmp_path / "absent.pth")},
        }
    )
    with pytest.raises(Exception, match=r"absent\.pth") as info:
        train(cfg, tmp_path / "absent", progress=False)
    from matting_core.errors import is_user_error

    assert is_user_error(info.value)
    assert not (tmp_path / "absent").exists()


# --------------------------------------------------------------------------------------------
# A dataset that lacks what the recipe reads
# --------------------------------------------------------------------------------------------


def test_a_composition_loss_on_a_dataset_without_foregrounds(tmp_path):
    cfg = config(loss={"terms": {"l1_unknown": 1.0, "composition": 1.0}})
    with pytest.raises(ConfigError) as info:
        train(cfg, tmp_path / "no-fg", progress=False)
    message = str(info.value)
    assert message.startswith("data.train: dataset 'gt01-tiny' gives ")
    assert "training needs 'fg' (the 'composition' loss), 'bg' (the 'composition' loss)" in message
    assert not (tmp_path / "no-fg").exists()


def test_a_trimap_based_crop_on_a_dataset_without_trimaps(tmp_path):
    cfg = config(data={"train_options": {"height": 48, "width": 48, "length": 4, "drop": "trimap"}})
    with pytest.raises(ConfigError) as info:
        train(cfg, tmp_path / "no-trimap", progress=False)
    message = str(info.value)
    assert message.startswith("data.train: dataset 'gt01-tiny' cannot make a train sample: ")
    assert "CropCenteredOnUnknown needs sample['trimap']" in message
    assert "its samples hold alpha, image, name" in message


def test_the_check_reads_one_sample_only(tmp_path, monkeypatch):
    calls = []
    original = support.GT01Layout.load

    def counting(self, index, rng=None):
        calls.append(index)
        return original(self, index, rng)

    monkeypatch.setattr(support.GT01Layout, "load", counting)
    with pytest.raises(ConfigError):
        train(config(loss={"terms": {"composition": 1.0}}), tmp_path / "one", progress=False)
    assert calls == [0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
