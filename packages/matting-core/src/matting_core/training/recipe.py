"""Training recipes: what a model contributes to training (DESIGN §7).

The engine (:mod:`matting_core.training.engine`) owns the loop: data, steps, schedules, AMP,
gradient accumulation, checkpoints, logging, DDP and resume.  A recipe says only what is
specific to a model:

- which networks exist: ``{"generator": …}`` and, for GANs, ``"discriminator"``;
- the train/val transforms and datasets;
- how one batch becomes the generator's outputs and a dict of named, weighted loss terms
  (and, for GANs, the discriminator's terms).

:class:`SupervisedRecipe` works for any registered model whose
``forward(image, trimap_onehot) -> {"alpha": (B, 1, H, W)}``, with the loss terms of
``[loss]``.  :class:`AdversarialRecipe` adds a discriminator (AlphaGAN, HAttMatting), which
the plugin's subclass builds; the engine alternates the generator and discriminator updates.
A plugin whose model needs more (extra outputs supervised, a different discriminator input)
subclasses one of them and names it in its ``ModelInfo.training_recipe``; :func:`recipe_for`
picks it up.

Batches are dicts of tensors on the training device: ``image`` (B, 3, H, W) RGB in [0, 1]
(the recipe normalises it with the model's mean/std), ``alpha`` (B, 1, H, W), ``trimap``
(B, 1, H, W) {0, 0.5, 1}, ``trimap_onehot`` (B, 3, H, W) [bg, unknown, fg], and ``fg`` /
``bg`` (B, 3, H, W) where the dataset has them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from matting_core.errors import ConfigError, PluginError
from matting_core.losses import MattingLoss

if TYPE_CHECKING:
    from torch.utils.data import Dataset

    from matting_core.registry import ModelInfo
    from matting_core.training.config import TrainConfig

__all__ = [
    "AdversarialRecipe",
    "Batch",
    "LossTerms",
    "Outputs",
    "SupervisedRecipe",
    "TrainingRecipe",
    "Transform",
    "recipe_for",
]

#: A batch: name → tensor on the training device (see the module docstring).
Batch = dict[str, Tensor]
#: The generator's result: at least ``"alpha"`` (B, 1, H, W) in [0, 1].
Outputs = dict[str, Tensor]
#: A sample transform: ``transform(sample, rng) -> sample`` on numpy arrays.
Transform = Callable[[dict[str, np.ndarray], np.random.Generator], dict[str, np.ndarray]]


@dataclass
class LossTerms:
    """Named loss terms with their weights; the objective is ``Σ weight · value``.

    :param values: name → scalar tensor (with grad).
    :param weights: name → weight; a term without a weight counts with 1.
    :param logged: name → scalar tensor logged beside the terms but not part of the
        objective (the discriminator's ``d_real`` / ``d_fake``).
    """

    values: dict[str, Tensor] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    logged: dict[str, Tensor] = field(default_factory=dict)

    def add(self, name: str, value: Tensor, weight: float = 1.0) -> None:
        """Add one term."""
        self.values[name] = value
        self.weights[name] = float(weight)

    def log(self, name: str, value: Tensor) -> None:
        """Log ``value`` (detached) under ``name`` without adding it to the objective."""
        self.logged[name] = value.detach()

    def total(self) -> Tensor:
        """The weighted sum, a scalar tensor."""
        if not self.values:
            raise ConfigError("the recipe produced no loss terms (is [loss] terms empty?)")
        terms = [self.weights.get(name, 1.0) * value for name, value in self.values.items()]
        return torch.stack([t.float() for t in terms]).sum()


class TrainingRecipe:
    """Base of every recipe.  The engine calls, in this order:

    1. :meth:`setup` once, with the config, the model's info and the device;
    2. :meth:`build_networks`, then :meth:`build_dataset` for ``"train"`` and ``"val"``; the
       first training sample is checked against :meth:`required_keys` (a dataset that lacks
       what the recipe needs is a ``ConfigError`` before step 0);
    3. per optimiser step: :meth:`on_epoch` when a new epoch begins (also for the first
       epoch of a run or of a resumed run), then :meth:`on_step`;
    4. per micro-batch: :meth:`forward`, :meth:`generator_loss` (and, when
       :attr:`adversarial`, :meth:`discriminator_loss`).

    :attr:`step` and :attr:`epoch` (0-based) are the current optimiser step and epoch, so
    loss weights, curricula or augmentation strength can follow them.

    Validation is not the recipe's: it runs :func:`matting_core.predict` with the model's
    ``ModelInfo`` (:mod:`matting_core.training.validation`), so that it scores what
    ``matting predict`` would write.
    """

    #: True when the recipe trains a discriminator too.
    adversarial: ClassVar[bool] = False

    cfg: TrainConfig
    info: ModelInfo
    device: torch.device
    #: The optimiser step being taken (0-based), set by :meth:`on_step`.
    step: int = 0
    #: The epoch it belongs to (0-based), set by :meth:`on_step`.
    epoch: int = 0

    def setup(self, cfg: TrainConfig, info: ModelInfo, device: torch.device) -> None:
        """Remember the config, the model's info and the device; build loss modules."""
        self.cfg = cfg
        self.info = info
        self.device = device
        self._mean = torch.tensor(info.mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(info.std, device=device).view(1, 3, 1, 1)

    # -- progress ----------------------------------------------------------------------------

    def on_epoch(self, epoch: int) -> None:
        """A new epoch begins (0-based); called before its first :meth:`on_step`.  The default
        does nothing; a recipe may re-tune per-epoch things here."""

    def on_step(self, step: int, epoch: int) -> None:
        """Optimiser step ``step`` of epoch ``epoch`` begins (both 0-based).  The default
        records them as :attr:`step` and :attr:`epoch`; an override calls ``super()``."""
        self.step = step
        self.epoch = epoch

    def required_keys(self) -> dict[str, str]:
        """Batch entries the recipe reads → why, checked on the first training sample.

        The default: ``image`` and ``alpha``, and ``trimap_onehot`` for a model that takes a
        trimap.  Subclasses add theirs (``fg`` / ``bg`` for a composite) with ``super()``.
        """
        keys = {"image": "the network's input", "alpha": "the ground truth"}
        if self.info.needs_trimap:
            keys["trimap_onehot"] = f"model {self.cfg.model.name!r} takes a trimap"
        return keys

    # -- networks and data -------------------------------------------------------------------

    def build_networks(self) -> dict[str, nn.Module]:
        """``{"generator": model}`` (and ``"discriminator"`` for GANs), on the CPU, in
        training mode.  The default builds ``[model]`` from the registry (its ``options`` read
        as :func:`matting_core.models.options_from_config_file` reads them)."""
        from matting_core.models import create_model, options_from_config_file

        name = self.cfg.model.name
        return {
            "generator": create_model(
                name, **options_from_config_file(name, self.cfg.model.options)
            )
        }

    def train_transform(self) -> Transform | None:
        """The per-sample training transform: a ``data.crop_size`` crop centred on an unknown
        pixel, then a random horizontal flip (matting-data's augmentation; paper plugins
        return their pipeline from :mod:`matting_data.pipelines`)."""
        from matting_data.augmentation import Compose, CropCenteredOnUnknown, RandomHorizontalFlip

        return Compose(
            [CropCenteredOnUnknown(size=self.cfg.data.crop_size), RandomHorizontalFlip(0.5)]
        )

    def val_transform(self) -> Transform | None:
        """The per-sample validation transform (default: none, whole images)."""
        return None

    def build_dataset(self, split: str) -> Dataset[Any] | None:
        """The torch dataset of ``split`` (``"train"`` or ``"val"``), or None without one.

        The registered dataset factory is called with ``(root, **options)``.  If it returns
        a torch ``Dataset`` it is used as it is (its items must already be tensors); otherwise
        it is a matting-data layout, wrapped in ``matting_data.torch_dataset.MattingDataset``
        with this recipe's transform and ``run.seed``.
        """
        from torch.utils.data import Dataset

        from matting_core.models import create_dataset

        data = self.cfg.data
        if split == "train":
            name, root, options, transform = (
                data.train,
                data.train_root,
                data.train_options,
                self.train_transform(),
            )
        elif split == "val":
            if data.val is None:
                return None
            name, root, options, transform = (
                data.val,
                data.val_root,
                data.val_options,
                self.val_transform(),
            )
        else:
            raise ValueError(f"unknown split {split!r}")
        try:
            obj = create_dataset(name, root, **options)
        except ConfigError as exc:
            raise ConfigError(f"data.{split}_options: {exc}") from exc
        if isinstance(obj, Dataset):
            return obj
        from matting_data.torch_dataset import MattingDataset

        return MattingDataset(obj, transform, seed=self.cfg.run.seed)

    # -- one batch ---------------------------------------------------------------------------

    def normalise(self, image: Tensor) -> Tensor:
        """``(image − mean) / std`` with the model's ``ModelInfo`` statistics.

        :param image: (B, 3, H, W) RGB in [0, 1].
        """
        return (image - self._mean.to(image.dtype)) / self._std.to(image.dtype)

    def forward(self, generator: nn.Module, batch: Batch) -> Outputs:
        """The generator's outputs for ``batch``: ``generator(normalised image, trimap)``,
        with the one-hot trimap only for models that need one."""
        from matting_core.inference import check_model_output, describe_model

        trimap = batch["trimap_onehot"] if self.info.needs_trimap else None
        image = batch["image"]
        outputs = generator(self.normalise(image), trimap)
        check_model_output(
            outputs,
            batch=image.shape[0],
            size=tuple(image.shape[-2:]),
            model=describe_model(generator, self.cfg.model.name),
            values=False,
        )
        return dict(outputs)

    def generator_loss(
        self, nets: Mapping[str, nn.Module], batch: Batch, outputs: Outputs
    ) -> LossTerms:
        """The generator's weighted loss terms for one micro-batch."""
        raise NotImplementedError

    def discriminator_loss(
        self, nets: Mapping[str, nn.Module], batch: Batch, outputs: Outputs
    ) -> LossTerms:
        """The discriminator's loss terms (adversarial recipes only); ``outputs`` are
        detached from the generator."""
        raise NotImplementedError(f"{type(self).__name__} trains no discriminator")


class SupervisedRecipe(TrainingRecipe):
    """The default recipe: one generator trained with the ``[loss]`` terms.

    Each term is a registered loss (``create_loss(name, **loss.options[name])``).  A
    :class:`matting_core.losses.MattingLoss` is called as ``loss(outputs, batch)`` and reads
    what it needs; any other loss module as ``loss(outputs["alpha"], batch["alpha"])``.  Loss
    terms are computed in float32, outside autocast.
    """

    def setup(self, cfg: TrainConfig, info: ModelInfo, device: torch.device) -> None:
        super().setup(cfg, info, device)
        from matting_core.models import create_loss

        if not cfg.loss.terms:
            raise ConfigError(
                "loss.terms: no loss terms; the supervised recipe needs at least one, "
                "e.g. terms = { l1_unknown = 1.0 }"
            )
        losses = {}
        for name in cfg.loss.terms:
            try:
                loss = create_loss(name, **cfg.loss.options.get(name, {}))
            except LookupError as exc:
                raise ConfigError(f"loss.terms.{name}: {exc}") from exc
            except ConfigError as exc:
                raise ConfigError(f"loss.options.{name}: {exc}") from exc
            if not callable(loss):
                raise PluginError(
                    f"loss {name!r} built a {type(loss).__name__}, which is not callable"
                )
            losses[name] = loss.to(device) if isinstance(loss, nn.Module) else loss
        self.losses = losses

    def required_keys(self) -> dict[str, str]:
        keys = super().required_keys()
        for name, loss in self.losses.items():
            reads = loss.required_keys() if isinstance(loss, MattingLoss) else ("alpha",)
            for key in reads:
                keys.setdefault(key, f"the {name!r} loss")
        return keys

    def loss_weight(self, name: str) -> float:
        """The weight of loss term ``name`` at the current step and epoch (``[loss]`` terms,
        or its ``[loss.schedules]`` entry)."""
        return self.cfg.loss.weight(name, self.step, self.epoch)

    def generator_loss(
        self, nets: Mapping[str, nn.Module], batch: Batch, outputs: Outputs
    ) -> LossTerms:
        terms = LossTerms()
        # losses compare in float32 even when the forward ran under autocast
        outputs32 = {k: v.float() if v.is_floating_point() else v for k, v in outputs.items()}
        for name in self.cfg.loss.terms:
            weight = self.loss_weight(name)
            loss = self.losses[name]
            if isinstance(loss, MattingLoss):
                value = loss(outputs32, batch)
            else:  # a plain (prediction, target) loss, e.g. torch.nn.L1Loss
                value = loss(outputs32["alpha"], batch["alpha"])
            terms.add(name, value, weight)
        return terms


class AdversarialRecipe(SupervisedRecipe):
    """A supervised generator plus a discriminator trained against it (pix2pix's recipe).

    The generator's objective is the ``[loss]`` terms plus λ_GAN (``adversarial.weight``) ×
    the generator side of ``adversarial.gan_loss``; the discriminator minimises its own side
    on real and generated inputs.  By default the discriminator judges ``(image, alpha)``
    pairs, HAttMatting's ``D(I, A)``; AlphaGAN's plugin overrides :meth:`discriminator_input`
    (and :meth:`required_keys`) to feed a composite over a new background plus the trimap.
    The discriminator itself comes from the plugin's recipe (:meth:`build_discriminator`);
    core imports no network code.

    The engine takes each generator step with the discriminator frozen: its parameters do
    not require gradients and every one of its tensors (parameters and buffers: BatchNorm
    statistics, spectral-norm vectors) is bit-identical afterwards.  Then, on the steps
    :meth:`discriminator_due` allows (``d_every``, after ``warmup_steps``), it updates the
    discriminator ``d_steps`` times on the generator's detached outputs.  Real and generated
    inputs go through the discriminator in separate forward passes, as pix2pix does, so a
    BatchNorm discriminator never mixes their statistics.  ``weight = 0`` trains the
    generator exactly as the supervised recipe does (the discriminator is never run).

    Logged per step: ``loss/adversarial`` (the generator side, unweighted), ``d_loss``,
    ``d_loss/real``, ``d_loss/fake``, and ``d_real`` / ``d_fake``, the discriminator's mean
    score on real and generated inputs (:attr:`matting_core.losses.GANLoss.score`).

    The engine runs only :meth:`forward` under autocast; a recipe that wants its
    discriminator in mixed precision wraps those calls in ``torch.autocast`` itself.
    """

    adversarial = True

    def setup(self, cfg: TrainConfig, info: ModelInfo, device: torch.device) -> None:
        from matting_core.losses import GAN_LOSSES
        from matting_core.training.config import AdversarialConfig

        super().setup(cfg, info, device)
        self.adv = cfg.adversarial if cfg.adversarial is not None else AdversarialConfig()
        self.gan = GAN_LOSSES[self.adv.gan_loss]

    def build_networks(self) -> dict[str, nn.Module]:
        nets = super().build_networks()
        nets["discriminator"] = self.build_discriminator()
        return nets

    def build_discriminator(self) -> nn.Module:
        """The discriminator, ``(B, C, H, W) → logits`` of any shape, on the CPU.

        Core builds no networks: each adversarial recipe supplies its own discriminator,
        usually from ``[adversarial]`` (``discriminator`` names it, ``options`` are its
        constructor options), e.g. ``matting_nn.PatchGANDiscriminator(**options)``.

        :raises PluginError: the recipe does not override this method.
        """
        raise PluginError(
            f"{type(self).__name__} builds no discriminator: an adversarial recipe must "
            "override build_discriminator (e.g. with matting_nn.PatchGANDiscriminator)"
        )

    def discriminator_input(self, batch: Batch, alpha: Tensor) -> Tensor:
        """What the discriminator judges for a given alpha: (B, 4, H, W) = image ‖ alpha."""
        return torch.cat([batch["image"], alpha.to(batch["image"].dtype)], dim=1)

    def adversarial_active(self) -> bool:
        """Whether the adversarial term is part of the generator's objective at this step:
        λ_GAN > 0 and the warm-up is over."""
        return self.adv.weight > 0 and self.step >= self.adv.warmup_steps

    def discriminator_due(self) -> bool:
        """Whether the engine updates the discriminator after this generator step: the
        adversarial term is active and the step is one of every ``d_every``."""
        return (
            self.adversarial_active()
            and (self.step - self.adv.warmup_steps) % self.adv.d_every == 0
        )

    def generator_loss(
        self, nets: Mapping[str, nn.Module], batch: Batch, outputs: Outputs
    ) -> LossTerms:
        terms = super().generator_loss(nets, batch, outputs)
        if self.adversarial_active():
            fake = nets["discriminator"](self.discriminator_input(batch, outputs["alpha"]))
            terms.add("adversarial", self.gan.generator(fake.float()), self.adv.weight)
        return terms

    def discriminator_loss(
        self, nets: Mapping[str, nn.Module], batch: Batch, outputs: Outputs
    ) -> LossTerms:
        discriminator = nets["discriminator"]
        # two forward passes, as pix2pix: a BatchNorm discriminator normalises real and fake
        # inputs each with its own batch statistics
        real = discriminator(self.discriminator_input(batch, batch["alpha"])).float()
        fake = discriminator(self.discriminator_input(batch, outputs["alpha"].detach())).float()
        terms = LossTerms()
        terms.add("real", self.gan.real(real))
        terms.add("fake", self.gan.fake(fake))
        terms.log("d_real", self.gan.score(real))
        terms.log("d_fake", self.gan.score(fake))
        return terms


def recipe_for(cfg: TrainConfig) -> TrainingRecipe:
    """The recipe of ``cfg.model.name``: its ``ModelInfo.training_recipe`` if it has one, else
    :class:`SupervisedRecipe`.

    :raises ConfigError: unknown model (``model.name: …``), or ``[adversarial]`` given for a
        model whose recipe trains no discriminator (core has no discriminator of its own: an
        adversarial recipe comes from the model's plugin).
    :raises PluginError: ``training_recipe`` does not build a :class:`TrainingRecipe`.
    """
    from matting_core.models import get_model_info

    try:
        info = get_model_info(cfg.model.name)
    except LookupError as exc:
        raise ConfigError(f"model.name: {exc}") from exc
    factory = getattr(info, "training_recipe", None)
    recipe = SupervisedRecipe() if factory is None else factory()
    if not isinstance(recipe, TrainingRecipe):
        raise PluginError(
            f"ModelInfo.training_recipe of model {cfg.model.name!r} built "
            f"{type(recipe).__name__}, not a matting_core.training.TrainingRecipe"
        )
    if cfg.adversarial is not None and not recipe.adversarial:
        raise ConfigError(
            f"adversarial: model {cfg.model.name!r} trains no discriminator (its plugin gives "
            "no adversarial training recipe); remove [adversarial]"
        )
    return recipe
