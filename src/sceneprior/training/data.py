"""Training data in memory: every view of a split read once, kept as uint8, and random batches drawn from it
with an explicit ``torch.Generator`` (so a seed and a saved generator state make batches repeatable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..data.datasets import open_dataset
from ..data.metadata import dataset_metadata, scene_bounds  # noqa: F401  (re-exported)
from ..data.srn import SRNDataset
from ..errors import DataError
from ..models.base import TrainBatch, sample_image_rays


def open_split(root: str | Path, split: str, image_size: int | None = None, load_extras: bool = False) -> SRNDataset:
    """One split of an SRN-layout dataset root (or a split folder given directly)."""
    dataset = open_dataset(root, split=split, image_size=image_size, load_extras=load_extras)
    if not isinstance(dataset, SRNDataset):
        raise DataError(root, f"expected an SRN-layout dataset, got {type(dataset).__name__}")
    return dataset


class SplitCache:
    """All views of a split as uint8 tensors, loaded on first use of each scene."""

    def __init__(self, dataset: SRNDataset) -> None:
        self.dataset = dataset
        self._scenes: dict[int, tuple[Tensor, Tensor, Tensor]] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def scene(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        """(images uint8 (view, 3, H, W), cam2world (view, 4, 4), intrinsics (view, 3, 3))."""
        if i not in self._scenes:
            views = self.dataset[i]
            images = (views.images.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
            self._scenes[i] = (images, views.cam2world, views.intrinsics)
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


class BatchSampler:
    """Random training batches: scenes, source views and target views, and target rays when asked."""

    def __init__(self, cache: SplitCache, config: BatchConfig, generator: torch.Generator) -> None:
        self.cache = cache
        self.config = config
        self.generator = generator

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def sample(self) -> TrainBatch:
        config = self.config
        num_scenes = len(self.cache)
        scenes = torch.randperm(num_scenes, generator=self.generator)[: config.scenes_per_batch]
        if len(scenes) < config.scenes_per_batch:  # fewer scenes than the batch: draw with replacement
            scenes = torch.randint(num_scenes, (config.scenes_per_batch,), generator=self.generator)
        n_in = config.input_views[self._randint(len(config.input_views))]
        inputs, targets = [], []
        for i in scenes.tolist():
            images, cam2world, K = self.cache.scene(i)
            order = torch.randperm(images.shape[0], generator=self.generator)
            src = order[:n_in]
            rest = order[n_in:] if images.shape[0] > n_in else order
            tgt = rest[torch.randint(len(rest), (config.target_views,), generator=self.generator)] if len(rest) < config.target_views else rest[: config.target_views]
            inputs.append((images[src], cam2world[src], K[src]))
            targets.append((images[tgt], cam2world[tgt], K[tgt]))
        stack = lambda items, k: torch.stack([it[k] for it in items])  # noqa: E731
        to_float = lambda x: x.to(torch.float32) / 255.0  # noqa: E731
        batch = TrainBatch(
            scene_index=scenes.to(torch.long),
            input_images=to_float(stack(inputs, 0)), input_cam2world=stack(inputs, 1), input_intrinsics=stack(inputs, 2),
            target_images=to_float(stack(targets, 0)), target_cam2world=stack(targets, 1), target_intrinsics=stack(targets, 2),
        )
        if config.rays_per_scene is not None:
            origins, dirs, rgb = sample_image_rays(
                batch.target_images, batch.target_cam2world, batch.target_intrinsics, config.rays_per_scene, self.generator,
                object_bbox=config.object_bbox_rays,
            )
            batch.ray_origins, batch.ray_dirs, batch.ray_rgb = origins, dirs, rgb
        return batch
