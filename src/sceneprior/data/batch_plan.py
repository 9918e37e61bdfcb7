"""Step-seeded batch plans: which scenes (and how many input views) the batch of training step ``k`` holds, and
one seed per slot, a function of the run's seed and ``k`` only. Every batch source (posed views in
:mod:`sceneprior.training.distributed`, point clouds in :mod:`sceneprior.models3d.batch`) follows them, so runs
are repeatable, resume exactly and shard by process rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def step_seed(seed: int, step: int) -> int:
    """A 62-bit seed for the batch of ``step`` of a run seeded ``seed`` (independent streams per step)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(step) & 0xFFFFFFFFFFFF, 0x5CE9E]).generate_state(2, np.uint32)
    return (int(state[0]) << 30) ^ int(state[1])


@dataclass(frozen=True)
class BatchPlan:
    """The global batch of one step: scene of each slot, number of input views, and each slot's seed."""

    step: int
    scenes: tuple[int, ...]
    input_views: int
    seeds: tuple[int, ...]

    def shard(self, rank: int, world_size: int) -> range:
        """Slots of process ``rank``: a contiguous block of ``len(scenes) / world_size`` slots."""
        per = len(self.scenes) // world_size
        return range(rank * per, (rank + 1) * per)


def plan_batch(seed: int, step: int, num_scenes: int, scenes_per_batch: int, input_views: tuple[int, ...]) -> BatchPlan:
    """The plan of ``step``: distinct scenes while the split has enough, else drawn with replacement."""
    generator = torch.Generator().manual_seed(step_seed(seed, step))
    scenes = torch.randperm(num_scenes, generator=generator)[:scenes_per_batch]
    if len(scenes) < scenes_per_batch:
        scenes = torch.randint(num_scenes, (scenes_per_batch,), generator=generator)
    n_in = input_views[int(torch.randint(len(input_views), (1,), generator=generator))]
    seeds = torch.randint(2**62, (scenes_per_batch,), generator=generator, dtype=torch.int64)
    return BatchPlan(step, tuple(scenes.tolist()), int(n_in), tuple(seeds.tolist()))
