"""Training data: a split of a dataset, its views held in memory as uint8 (:class:`SplitCache`), and what a
batch holds (:class:`BatchConfig`). Batches themselves are drawn by :func:`sceneprior.training.training_batches`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.datasets import AnyDataset, open_dataset
from ..data.metadata import dataset_metadata, scene_bounds  # noqa: F401  (re-exported)
from ..data.types import StoredViews


def open_split(root: str | Path, split: str, image_size: int | None = None, load_extras: bool = False) -> AnyDataset:
    """One split of a dataset in any layout :func:`~sceneprior.data.datasets.open_dataset` reads: an SRN root or
    split folder, NeRF-Blender scenes (one scene: the frames of ``split``'s transforms file), NMR."""
    return open_dataset(root, split=split, image_size=image_size, load_extras=load_extras)


class SplitCache:
    """All views of a split as uint8 tensors, loaded on first use of each scene."""

    def __init__(self, dataset: AnyDataset) -> None:
        self.dataset = dataset
        self._scenes: dict[int, StoredViews] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def scene(self, i: int) -> StoredViews:
        """Every view of scene ``i``, images as uint8."""
        if i not in self._scenes:
            self._scenes[i] = StoredViews.quantise(self.dataset[i])
        return self._scenes[i]

    def load_all(self) -> None:
        for i in range(len(self)):
            self.scene(i)


@dataclass
class BatchConfig:
    scenes_per_batch: int = 4
    target_views: int = 1
    rays_per_scene: int | None = 128
    input_views: tuple[int, ...] = (1,)
    #: draw rays inside each target view's 2D object bounding box (pixelNeRF's early-training sampling)
    object_bbox_rays: bool = False
