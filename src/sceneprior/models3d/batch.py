"""3D-supervised training data: what a shape model observes (an input point cloud) and what supervises it
(query points with occupancy and signed distance), drawn from a split's ``points.npz`` / ``sdf.npz``
(docs/DATA_FORMAT.md).

* :class:`ShapeDataConfig` -- the observation and supervision of one shape: ``input_points`` surface points
  (ONet: 300, ConvONet ShapeNet: 3000) with Gaussian noise ``input_noise`` (0.005 in both papers) and
  ``query_points`` query samples per shape per step (2048 in ONet / ConvONet).
* :class:`ShapeBatch` -- one training batch; :class:`ShapeBatches` gives the shared trainer the batch of each
  step from a step-seeded plan (repeatable, exact resume, sharded by rank), for the trainer, tests and benchmarks alike
  (:func:`sceneprior.training.training_batches`).
* :func:`front_facing` -- the partial observation of the evaluation: the surface points whose normal faces a
  view direction ``v`` (``n . v > 0``; front-facing, not occlusion-tested).
* :func:`surface_observation` -- SDF / occupancy samples made from an observed point cloud with normals
  (the point itself, SDF 0, and points ``eps`` along +-n, SDF +-eps), the observation DeepSDF-style
  test-time optimisation fits (DeepSDF builds the same kind of samples from depth maps).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..data.batch_plan import plan_batch
from ..data.srn import SRNDataset
from ..data.types import PointCloudSample
from ..encoders3d import sample_input_points
from ..errors import ConfigError, DataError


@dataclass(frozen=True)
class ShapeDataConfig:
    """What a shape model sees of a scene (input point cloud) and how many query samples supervise it."""

    input_points: int = 3000
    input_noise: float = 0.005
    query_points: int = 2048


@dataclass
class ShapeBatch:
    """A batch of shapes: observed (noisy) surface points and supervised query points.

    ``query_sdf`` is the signed distance (negative inside), ``query_occupancy`` 1 inside / 0 outside;
    ``scene_index`` indexes the training split (auto-decoders)."""

    scene_index: Int[Tensor, " batch"]
    input_points: Float[Tensor, "batch point 3"]
    query_points: Float[Tensor, "batch query 3"]
    query_occupancy: Float[Tensor, "batch query"]
    query_sdf: Float[Tensor, "batch query"]


class ShapeCache:
    """The point files of every scene of a split, read once each (float32 tensors)."""

    def __init__(self, dataset: SRNDataset) -> None:
        self.dataset = dataset
        self._scenes: dict[int, PointCloudSample] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def scene(self, i: int) -> PointCloudSample:
        if i not in self._scenes:
            try:
                self._scenes[i] = self.dataset.load_points(i)
            except DataError as exc:
                raise DataError(exc.path, f"{exc.problem} (3D presets need points.npz and sdf.npz per scene)") from None
        return self._scenes[i]


def draw_queries(
    sample: PointCloudSample, count: int, generator: torch.Generator | None = None
) -> tuple[Float[Tensor, "query 3"], Float[Tensor, " query"], Float[Tensor, " query"]]:
    """``count`` query samples of one scene (without replacement when it has enough): points, occupancy, SDF."""
    available = sample.query_points.shape[0]
    if count <= available:
        index = torch.randperm(available, generator=generator)[:count]
    else:
        index = torch.randint(available, (count,), generator=generator)
    return sample.query_points[index], sample.query_occupancy[index], sample.query_sdf[index]


class ShapeBatches:
    """The shared trainer's batch source for shape models (same protocol as ``training.distributed.ShardedBatches``):
    the batch of step ``k`` follows the step-seeded plan of ``sceneprior.data.batch_plan.plan_batch`` (which scenes, one
    seed per slot), so runs are repeatable, resume exactly, and shard by process rank under ``torchrun``."""

    def __init__(self, dataset: SRNDataset, data: ShapeDataConfig, scenes_per_batch: int, seed: int,
                 rank: int = 0, world_size: int = 1) -> None:
        if scenes_per_batch % world_size != 0:
            raise ConfigError(f"--batch-size {scenes_per_batch} (the global batch) must be a multiple of the "
                              f"number of processes ({world_size})")
        self.dataset, self.cache, self.data = dataset, ShapeCache(dataset), data
        self.scenes_per_batch, self.seed, self.rank, self.world_size = scenes_per_batch, seed, rank, world_size

    def plan(self, step: int):
        return plan_batch(self.seed, step, len(self.cache), self.scenes_per_batch, (1,))

    def scene_ids(self, step: int, ranks: list[int] | None = None) -> list[str]:
        plan = self.plan(step)
        ranks = list(range(self.world_size)) if ranks is None else ranks
        ids = self.dataset.scene_ids
        return [ids[plan.scenes[s]] for r in ranks for s in plan.shard(r, self.world_size)]

    def at(self, step: int) -> ShapeBatch:
        """This process's slots of the plan of ``step``, each drawn from its slot's own generator."""
        plan = self.plan(step)
        slots = list(plan.shard(self.rank, self.world_size))
        inputs, points, occupancy, sdf = [], [], [], []
        for slot in slots:
            generator = torch.Generator().manual_seed(plan.seeds[slot])
            sample = self.cache.scene(plan.scenes[slot])
            inputs.append(sample_input_points(sample.surface_points[None], self.data.input_points,
                                              self.data.input_noise, generator)[0])
            p, o, s = draw_queries(sample, self.data.query_points, generator)
            points.append(p)
            occupancy.append(o)
            sdf.append(s)
        return ShapeBatch(torch.tensor([plan.scenes[s] for s in slots], dtype=torch.long), torch.stack(inputs),
                          torch.stack(points), torch.stack(occupancy), torch.stack(sdf))

    def iterate(self, start: int, stop: int | None) -> Iterator[tuple[int, ShapeBatch]]:
        """(step, batch) for steps ``start + 1, start + 2, ...`` (up to ``stop`` when given)."""
        step = start + 1
        while stop is None or step <= stop:
            yield step, self.at(step)
            step += 1


#: The view direction of the partial-observation protocol: from the front-left, above (unit vector).
DEFAULT_VIEW: tuple[float, float, float] = (0.6, 0.5, 0.6245)


def front_facing(
    normals: Float[Tensor, "point 3"], view: tuple[float, float, float] = DEFAULT_VIEW
) -> Bool[Tensor, " point"]:
    """Which surface points face the direction ``view`` (pointing from the surface towards the viewer):
    ``n . v > 0``. Back faces are dropped; self-occlusion is not tested."""
    v = torch.tensor(view, dtype=normals.dtype)
    return normals @ (v / v.norm()) > 0


def surface_observation(
    points: Float[Tensor, "point 3"], normals: Float[Tensor, "point 3"], eps: tuple[float, ...] = (0.01, 0.03)
) -> tuple[Float[Tensor, "sample 3"], Float[Tensor, " sample"]]:
    """Signed-distance samples of an observed oriented point cloud: each point with SDF 0 and, for each
    ``e`` in ``eps``, ``p + e n`` (SDF ``+e``) and ``p - e n`` (SDF ``-e``); the SDF is exact to first order
    near a smooth surface. Occupancy is ``sdf < 0``."""
    unit = normals / normals.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    out_points, out_sdf = [points], [torch.zeros(points.shape[0], dtype=points.dtype)]
    for e in eps:
        out_points += [points + e * unit, points - e * unit]
        out_sdf += [torch.full((points.shape[0],), e, dtype=points.dtype), torch.full((points.shape[0],), -e, dtype=points.dtype)]
    return torch.cat(out_points), torch.cat(out_sdf)
