"""The hooks a matting plugin can implement.  This module is the reference.

A plugin is a plain module of top-level functions marked with ``matting_core.hookimpl``,
named by an entry point in the group ``matting``::

    [project.entry-points.matting]
    gca = "matting_gca.plugin"

Core imports every such module once, on first registry use, and calls each implementation
with only the arguments it asks for (an implementation may accept fewer arguments than the
spec, so specs can grow without breaking plugins).  A misspelt hook name is reported as a
warning naming the plugin.  ``docs/hooks.md`` mirrors these docstrings; a test keeps the two
in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from matting_core.registry import (
        CommandRegistry,
        DatasetRegistry,
        LossRegistry,
        ModelRegistry,
        RefinerRegistry,
    )

#: The project name of matting's hooks; plugins use :data:`hookimpl`, not this.
PROJECT_NAME = "matting"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


@hookspec
def matting_register_models(registry: ModelRegistry) -> None:
    """Register the plugin's models.

    Called once per process, the first time a model is looked up (``list_models``,
    ``create_model``, ``matting list``), with the model registry.  Call
    ``registry.add(name, factory, info)`` once per model:

    - ``name``: the paper's short name, lowercase letters, digits, ``-`` and ``_``
      (``gca``, ``gca-small``).  If another plugin registers the name too, a
      ``DuplicateNameWarning`` names both and the name is ambiguous (never resolved by
      load order): using it is an ``AmbiguousNameError``, ``PLUGIN:NAME`` picks one.
    - ``factory``: ``factory(config) -> torch.nn.Module``, called with an instance of
      ``info.config_class`` (usually the model class itself).  The module's
      ``forward(image, trimap)`` takes ``image`` (B, 3, H, W) float32 normalised RGB and
      ``trimap`` (B, 3, H, W) float32 one-hot [bg, unknown, fg] (None for trimap-free models)
      and returns a dict holding at least ``"alpha"``: (B, 1, H, W) float32 in [0, 1].  Other
      entries the model wants drawn (attention offsets, scale or propagation maps) are
      declared in ``info.extra_outputs`` and then belong to its output contract: ``forward``
      returns each of them for every input (``matting predict --save-extras`` draws them).
    - ``info``: a ``matting_core.ModelInfo`` (paper, ``needs_trimap``, ``input_channels``,
      ``config_class``, normalisation, padding, ``needs_weights``, bundled weights,
      ``remap_official``, ``description``, ``training_recipe``, ``extra_outputs``; every
      field in ``docs/hooks.md``).

    :param registry: the model registry; only its ``add`` method is meant for plugins.
    :returns: None.  Register through ``registry.add``; a return value is ignored.

    If the hook raises, the models it added are removed again and one ``PluginLoadWarning``
    names the plugin; other plugins are unaffected.

    Example::

        from matting_core import ModelInfo, hookimpl

        from matting_gca.model import GCAConfig, GCAMatting, remap_official_keys


        @hookimpl
        def matting_register_models(registry):
            registry.add(
                "gca",
                GCAMatting,
                ModelInfo(
                    paper="Li & Lu, Natural Image Matting via Guided Contextual Attention, AAAI 2020",
                    needs_trimap=True,
                    input_channels=6,
                    config_class=GCAConfig,
                    remap_official=remap_official_keys,
                ),
            )
    """


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


@hookspec
def matting_register_losses(registry: LossRegistry) -> None:
    """Register the plugin's loss functions.

    Called once per process, the first time a loss is looked up (``list_losses``,
    ``create_loss``), with the loss registry.  Call ``registry.add(name, factory, info)``
    once per loss:

    - ``name``: lowercase letters, digits, ``-`` and ``_`` (``l1_unknown``,
      ``alpha-gradient``): the key of ``[loss] terms`` in a training config.
    - ``factory``: ``factory(**options) -> torch.nn.Module``; ``create_loss(name, **options)``
      checks the options against the factory's signature, so give every option a keyword
      parameter with a default.  The module returns a scalar tensor.  The training engine
      calls a ``matting_core.MattingLoss`` subclass as ``loss(outputs, batch)`` (the
      network's output dict and the batch dict; its ``required_keys()`` are checked before
      step 0), any other module as ``loss(pred_alpha, gt_alpha)``.
    - ``info``: a ``matting_core.LossInfo`` (the papers that use it, a description).

    :param registry: the loss registry; only its ``add`` method is meant for plugins.
    :returns: None.  Register through ``registry.add``; a return value is ignored.

    Example::

        from matting_core import LossInfo, hookimpl

        from my_matting.losses import AlphaGradientLoss  # a matting_core.MattingLoss


        @hookimpl
        def matting_register_losses(registry):
            registry.add(
                "alpha-gradient",
                AlphaGradientLoss,
                LossInfo(papers=("A. Author, 2025",), description="L1 between alpha gradients"),
            )
    """


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@hookspec
def matting_register_datasets(registry: DatasetRegistry) -> None:
    """Register the plugin's dataset layouts.

    Called once per process, the first time a dataset is looked up (``list_datasets``,
    ``get_dataset_info``), with the dataset registry.  Call
    ``registry.add(name, factory, info)`` once per dataset:

    - ``name``: lowercase letters, digits, ``-`` and ``_`` (``composition-1k-train``,
      ``small-photos``).
    - ``factory``: ``factory(root, **options)`` builds the dataset from its root directory: a
      layout (``__len__`` and ``load(index, rng)`` returning a numpy sample: ``image``,
      ``alpha``, ``trimap``, ``fg``, ``bg``…, see ``docs/hooks.md``) or a torch ``Dataset``
      of tensor dicts.
    - ``info``: a ``matting_core.DatasetInfo`` (a description and the expected layout).

    :param registry: the dataset registry; only its ``add`` method is meant for plugins.
    :returns: None.  Register through ``registry.add``; a return value is ignored.

    Example::

        from matting_core import DatasetInfo, hookimpl

        from my_matting.data import SmallPhotos


        @hookimpl
        def matting_register_datasets(registry):
            registry.add(
                "small-photos",
                SmallPhotos,
                DatasetInfo(description="photos resized", layout="image/, alpha/, trimap/"),
            )
    """


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@hookspec
def matting_register_commands(registry: CommandRegistry) -> None:
    """Register the plugin's subcommands of the ``matting`` command line.

    Called once per process, when the ``matting`` command builds its parser, with the command
    registry.  Call ``registry.add(name, add_arguments, info)`` once per subcommand:

    - ``name``: the subcommand, lowercase letters, digits, ``-`` and ``_`` (``serve``).  A
      name of one of core's own commands (``predict``, ``train``…) is ignored with a
      ``DuplicateNameWarning`` naming the plugin; a name two plugins register is only
      available as ``matting PLUGIN:NAME``.
    - ``add_arguments``: ``add_arguments(parser)`` adds the subcommand's options to an
      ``argparse.ArgumentParser``; keep it free of heavy imports, ``matting --help`` runs it.
    - ``info``: a ``matting_core.CommandInfo`` (``help``: one line for ``matting --help``;
      ``run``: ``run(args) -> int``, called with the parsed ``argparse.Namespace`` and
      returning the exit code; ``description``: the text of ``matting NAME --help``).

    ``run`` gets core's error handling: a ``MattingError``, ``DataError`` or
    ``MetricInputError`` it raises, or an exception whose class sets
    ``matting_user_error = True``, is printed as one sentence with exit code 2.  Import the
    heavy dependencies (a web framework, torch) inside ``run``.

    :param registry: the command registry; only its ``add`` method is meant for plugins.
    :returns: None.  Register through ``registry.add``; a return value is ignored.

    If the hook or ``add_arguments`` raises, one ``PluginLoadWarning`` names the plugin, the
    command is left out and every other command works.

    Example::

        from matting_core import CommandInfo, hookimpl


        def add_arguments(parser):
            parser.add_argument("--port", type=int, default=8000)


        def run(args):
            from my_plugin.server import serve

            return serve(port=args.port)


        @hookimpl
        def matting_register_commands(registry):
            registry.add(
                "serve",
                add_arguments,
                CommandInfo(help="mat photos by hand in a local web page", run=run),
            )
    """


# --------------------------------------------------------------------------------------------
# Refiners
# --------------------------------------------------------------------------------------------


@hookspec
def matting_register_refiners(registry: RefinerRegistry) -> None:
    """Register the plugin's refiners: second stages that improve any model's matte.

    Called once per process, the first time a refiner is looked up (``matting predict
    --refine NAME``, ``predict(..., refine=NAME)``, ``matting list refiners``), with the
    refiner registry.  Call ``registry.add(name, factory, info)`` once per refiner: ``name``
    as for models (``closed-form``); ``factory(config) -> refiner``, called with an instance
    of ``info.config_class`` (a dataclass whose fields are the ``--refine-set`` options);
    ``info`` a ``matting_core.RefinerInfo``.  The refiner is a callable
    ``refiner(image, trimap, alpha) -> alpha`` on numpy arrays: ``image`` (H, W, 3) float32
    RGB in [0, 1], ``trimap`` (H, W) uint8 0 / 128 / 255 (all 128 when the model ran without
    a trimap), ``alpha`` (H, W) float32 in [0, 1], the network's matte with the trimap's
    known pixels already set; it returns the refined (H, W) float alpha.  Core checks the
    result (shape, finite values; else a ``PluginError`` naming the plugin), clips it to
    [0, 1] and sets the trimap's known pixels back to the network's, so a refiner only ever
    changes the unknown region.

    :param registry: the refiner registry; only its ``add`` method is meant for plugins.
    :returns: None.  Register through ``registry.add``; a return value is ignored.

    Example::

        from dataclasses import dataclass

        import numpy as np

        from matting_core import RefinerInfo, hookimpl


        @dataclass(frozen=True)
        class SnapConfig:
            threshold: float = 0.1


        def snap(config):
            def refine(image, trimap, alpha):
                low, high = alpha < config.threshold, alpha > 1 - config.threshold
                return np.where(low, 0.0, np.where(high, 1.0, alpha))

            return refine


        @hookimpl
        def matting_register_refiners(registry):
            registry.add("snap", snap, RefinerInfo(SnapConfig, "alpha near 0 / 1 set to 0 / 1"))
    """
