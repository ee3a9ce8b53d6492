"""Dataset layouts: where the files of each matting dataset are, read one sample at a time.

Every layout validates its folders on construction, has ``len()``, ``layout[i]`` /
``layout.load(i, rng)`` returning a sample dict of numpy arrays, ``names`` and ``describe()``.
Nothing here imports torch; wrap a layout in :class:`matting_data.torch_dataset.MattingDataset`
for a ``torch.utils.data.Dataset``.

* :class:`FolderDataset` -- your own images (+ trimaps, alphas) matched by name.
* :class:`AlphaMattingDataset` -- alphamatting.com training/test, low/high res.
* :class:`ForegroundBackgroundFolders` -- foregrounds + alphas and backgrounds, composited later.
* :class:`Composition1kTrain`, :class:`Composition1kTest` -- Adobe Composition-1k.
* :class:`Distinctions646Train`, :class:`Distinctions646Test` -- Distinctions-646.
"""

from matting_data.datasets.alphamatting import ALPHAMATTING_TRIMAPS, AlphaMattingDataset
from matting_data.datasets.base import Layout, check_index
from matting_data.datasets.composition1k import Composition1kTest, Composition1kTrain
from matting_data.datasets.distinctions646 import Distinctions646Test, Distinctions646Train
from matting_data.datasets.folder import FolderDataset
from matting_data.datasets.foreground_background import ForegroundBackgroundFolders

__all__ = [
    "ALPHAMATTING_TRIMAPS",
    "AlphaMattingDataset",
    "Composition1kTest",
    "Composition1kTrain",
    "Distinctions646Test",
    "Distinctions646Train",
    "FolderDataset",
    "ForegroundBackgroundFolders",
    "Layout",
    "check_index",
]
