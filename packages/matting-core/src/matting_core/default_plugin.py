"""matting-core's built-in plugin: the trimap baseline, core's losses and matting-data's layouts.

Built-in features are plugins like any other, so the hook API is exercised by core itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_core.hookspecs import hookimpl
from matting_core.registry import DatasetInfo, LossInfo, Measured, ModelInfo
from matting_core.trimap_baseline import TrimapBaseline, TrimapBaselineConfig

if TYPE_CHECKING:
    from matting_core.registry import DatasetRegistry, LossRegistry, ModelRegistry


@hookimpl
def matting_register_models(registry: ModelRegistry) -> None:
    registry.add(
        "trimap-baseline",
        TrimapBaseline,
        ModelInfo(
            paper="— (reference row: every model must beat it)",
            needs_trimap=True,
            input_channels=6,
            config_class=TrimapBaselineConfig,
            needs_weights=False,
            description="alpha read off the trimap: fg + unknown_value (0.5) x unknown; no parameters",
            # Trimap1 / Trimap2: SAD 19.98 / 33.06, MSE 0.2080 / 0.2226 (README's table)
            measured=(Measured(sad=26.52, mse=0.2153),),
        ),
    )


@hookimpl
def matting_register_losses(registry: LossRegistry) -> None:
    from matting_core.losses import LOSS_INFOS

    for name, (factory, papers, description) in LOSS_INFOS.items():
        registry.add(name, factory, LossInfo(papers=papers, description=description))


@hookimpl
def matting_register_datasets(registry: DatasetRegistry) -> None:
    # matting-data cannot import core, so core registers its layouts (as datasette's
    # default plugins do); each class takes the dataset root as its first argument.
    import matting_data as md

    layouts = [
        (
            "composition-1k-train",
            md.Composition1kTrain,
            "Adobe Composition-1k training set (Xu et al. 2017), composited on the fly",
            "fg/, alpha/ (or the release's 'Adobe-licensed images' and 'Other'), bg_dir= backgrounds",
        ),
        (
            "composition-1k-test",
            md.Composition1kTest,
            "Adobe Composition-1k test set: 1000 composites (50 fg x 20 VOC bg)",
            "merged/, alpha/ or alpha_copy/, trimaps/ (build it with `matting compose`)",
        ),
        (
            "distinctions-646-train",
            md.Distinctions646Train,
            "Distinctions-646 training set (Qiao et al. 2020), composited on the fly",
            "Train/FG, Train/GT, bg_dir= backgrounds",
        ),
        (
            "distinctions-646-test",
            md.Distinctions646Test,
            "Distinctions-646 test composites",
            "Test/ with Image|merged, GT|alpha, Trimap|trimaps",
        ),
        (
            "alphamatting",
            md.AlphaMattingDataset,
            "alphamatting.com benchmark (Rhemann et al. 2009), training or test, low/high res",
            "input_training_lowres/, gt_training_lowres/, trimap_training_lowres/Trimap1|2/",
        ),
        (
            "folder",
            md.FolderDataset,
            "your own images, with trimaps and/or alphas matched by file name",
            "root = images folder; trimaps=, alphas= folders",
        ),
        (
            "foreground-background",
            md.ForegroundBackgroundFolders,
            "your own foregrounds + alphas composited on the fly over a folder of backgrounds",
            "root = foregrounds folder; alpha_dir=, bg_dir= folders",
        ),
    ]
    for name, factory, description, layout in layouts:
        registry.add(name, factory, DatasetInfo(description=description, layout=layout))
