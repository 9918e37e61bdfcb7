"""Training on several processes and machines with PyTorch's own engine (``torch.distributed`` + DDP), and the
batch plans that make a run's batches independent of the number of processes and of loader workers.

Processes are started by ``torchrun`` (or anything that sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``); :func:`init_distributed` joins the process group with the backend the device
asks for (gloo on CPU, NCCL on CUDA). See ``docs/DISTRIBUTED.md``.

**Batches.** ``--batch-size`` is the *global* batch (scenes per optimisation step over all processes). The batch of
step ``s`` is a :class:`BatchPlan` drawn from a generator seeded by ``(seed, s)`` alone: the same on every process,
a permutation of the training scenes cut to the global batch, the number of input views, and one seed per batch
slot. Process ``r`` of ``W`` takes slots ``[r B/W, (r+1) B/W)`` — a distributed sampler at the level of the batch,
so within a step the processes see disjoint scenes — and draws the views and rays of each slot from that slot's
own generator. So the union of the shards is exactly the batch a single process draws with the same global batch,
resuming needs no sampler state (the plan of step ``s`` is a function of ``s``), and loader workers can prepare
batches ahead in any order.

**Auto-decoder latents.** The latent table (an ``nn.Embedding`` with dense gradients) is an ordinary parameter of
the DDP module, so its gradient is all-reduced (averaged) like every other one: rows a process did not use add a
zero to the sum; every process then holds the same averaged gradient, takes the same Adam step (Adam's moments
of every row, used or not, stay identical across processes), and the table stays replicated. Sparse gradients
are not used: NCCL cannot all-reduce them, and a dense all-reduce of a table of a few thousand rows is cheap.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from ..data.batch_plan import BatchPlan, plan_batch
from ..data.types import StoredViews
from ..errors import ConfigError, DataError, SceneError
from ..models.base import SceneModel, TrainBatch, sample_image_rays


# --------------------------------------------------------------------------------------------------- process group


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among ``world_size`` processes and the device it computes on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) writes logs, TensorBoard events and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not an integer") from None


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``cpu``, ``cuda`` (this process's GPU: ``cuda:LOCAL_RANK``), ``cuda:N`` or ``auto`` (CUDA when present)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: no CUDA device is available")
        return torch.device(f"cuda:{local_rank}") if device == "cuda" else torch.device(device)
    if device != "cpu":
        raise ConfigError(f"unknown --device {device!r} (cpu, cuda, cuda:N, auto)")
    return torch.device("cpu")


def init_distributed(device: str = "cpu", timeout_minutes: float = 30.0) -> DistContext:
    """Join the process group described by the environment (``torchrun`` sets it), or run alone.

    The backend follows the device: NCCL for CUDA, gloo for CPU. A process group that is already initialised
    (e.g. by the caller) is used as it is."""
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    torch_device = resolve_device(device, local_rank)
    if world_size <= 1 and not (dist.is_available() and dist.is_initialized()):
        return DistContext(0, 1, 0, torch_device, None)
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    backend = "nccl" if torch_device.type == "cuda" else "gloo"
    if torch_device.type == "cuda":
        torch.cuda.set_device(torch_device)
    if not dist.is_initialized():
        if not 0 <= rank < world_size:
            raise ConfigError(f"RANK={rank} is outside 0..WORLD_SIZE-1={world_size - 1}")
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if name not in os.environ:
                raise ConfigError(f"WORLD_SIZE={world_size} but {name} is not set; start the processes with torchrun")
        dist.init_process_group(backend, rank=rank, world_size=world_size, timeout=timedelta(minutes=timeout_minutes))
    else:
        rank, world_size, backend = dist.get_rank(), dist.get_world_size(), dist.get_backend()
    return DistContext(rank, world_size, local_rank, torch_device, backend)


def shutdown(ctx: DistContext) -> None:
    """Leave the process group (after the others are done)."""
    if ctx.distributed and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def reduce_sum(values: Tensor, ctx: DistContext) -> Tensor:
    """Element-wise sum of ``values`` over the processes (a copy; ``values`` alone when not distributed)."""
    out = values.detach().clone().to(ctx.device)
    if ctx.distributed:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.cpu()


def gather_cpu_tensors(value: Tensor, ctx: DistContext) -> list[Tensor]:
    """``value`` of every process (same shape and dtype everywhere), in rank order."""
    if not ctx.distributed:
        return [value.clone()]
    local = value.detach().clone().to(ctx.device) if ctx.backend == "nccl" else value.detach().clone()
    out = [torch.empty_like(local) for _ in range(ctx.world_size)]
    dist.all_gather(out, local)
    return [t.cpu() for t in out]


def free_port() -> int:
    """A TCP port that was free a moment ago (for ``MASTER_PORT`` in tests and single-machine launches)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LossModule(torch.nn.Module):
    """``forward(batch)`` is ``model.loss(batch)``: the module DDP wraps (DDP hooks ``forward`` only)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> Any:  # a TrainBatch, or the batch type of a model's own batch source
        return self.model.loss(batch)


def wrap_model(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """A module whose ``forward(batch)`` returns ``model.loss(batch)``; under several processes a DDP module that
    all-reduces (averages) gradients during ``backward``. DDP broadcasts rank 0's parameters and buffers at
    construction, so every process starts from the same weights (also after a resume)."""
    module = LossModule(model)
    if not ctx.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=False)


# --------------------------------------------------------------------------------------------------- batches


class ViewSource:
    """Views of training scenes: from a :class:`~sceneprior.training.data.SplitCache` (kept in memory) or read
    from the dataset on each request (nothing kept: datasets larger than memory, with loader workers)."""

    def __init__(self, dataset: Any, cache: Any | None = None) -> None:
        self.dataset = dataset
        self.cache = cache

    def num_views(self, i: int) -> int:
        if self.cache is not None:
            return self.cache.scene(i).num_views
        return int(self.dataset.num_views(i))

    def views(self, i: int, index: list[int]) -> StoredViews:
        """Views ``index`` of scene ``i``, in that order (images as uint8)."""
        if self.cache is not None:
            return self.cache.scene(i).select(index)
        unique = sorted(set(index))
        views = self.dataset.load_views(i, unique)
        return StoredViews.quantise(views).select([unique.index(k) for k in index])


def build_shard(plan: BatchPlan, source: ViewSource, rank: int, world_size: int, target_views: int,
                rays_per_scene: int | None, object_bbox: bool = False) -> TrainBatch:
    """The batch of process ``rank``: its slots of ``plan``, each drawn from the slot's own generator."""
    inputs, targets, rays = [], [], []
    slots = list(plan.shard(rank, world_size))
    for slot in slots:
        scene = plan.scenes[slot]
        generator = torch.Generator().manual_seed(plan.seeds[slot])
        count = source.num_views(scene)
        order = torch.randperm(count, generator=generator)
        n_in = plan.input_views
        src = order[:n_in]
        rest = order[n_in:] if count > n_in else order
        if len(rest) < target_views:
            tgt = rest[torch.randint(len(rest), (target_views,), generator=generator)]
        else:
            tgt = rest[:target_views]
        stored = source.views(scene, src.tolist() + tgt.tolist())
        images, cam2world, K = stored.float_images(), stored.cam2world, stored.intrinsics
        inputs.append((images[:n_in], cam2world[:n_in], K[:n_in]))
        targets.append((images[n_in:], cam2world[n_in:], K[n_in:]))
        if rays_per_scene is not None:
            extra = {"object_bbox": True} if object_bbox else {}  # pixelNeRF's bounding-box ray sampling
            rays.append(sample_image_rays(images[None, n_in:], cam2world[None, n_in:], K[None, n_in:], rays_per_scene,
                                          generator, **extra))
    stack = lambda items, k: torch.stack([it[k] for it in items])  # noqa: E731
    batch = TrainBatch(
        scene_index=torch.tensor([plan.scenes[s] for s in slots], dtype=torch.long),
        input_images=stack(inputs, 0), input_cam2world=stack(inputs, 1), input_intrinsics=stack(inputs, 2),
        target_images=stack(targets, 0), target_cam2world=stack(targets, 1), target_intrinsics=stack(targets, 2),
    )
    if rays:
        batch.ray_origins, batch.ray_dirs, batch.ray_rgb = (torch.cat([r[k] for r in rays]) for k in range(3))
    return batch


@dataclass
class _Failure:
    """A one-line error raised in a loader worker, carried to the main process as text (a ``DataError`` does
    not survive DataLoader's re-raise as one line)."""

    message: str


class _ShardDataset(torch.utils.data.Dataset):
    def __init__(self, source: ViewSource, seed: int, num_scenes: int, batch: Any, rank: int, world_size: int) -> None:
        self.source, self.seed, self.num_scenes, self.batch = source, seed, num_scenes, batch
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:  # steps are drawn from an unbounded sampler
        return 2**62

    def __getitem__(self, step: int) -> TrainBatch | _Failure:
        plan = plan_batch(self.seed, step, self.num_scenes, self.batch.scenes_per_batch, tuple(self.batch.input_views))
        try:
            return build_shard(plan, self.source, self.rank, self.world_size, self.batch.target_views, self.batch.rays_per_scene,
                               self.batch.object_bbox_rays)
        except SceneError as exc:
            return _Failure(str(exc))


class _Steps(torch.utils.data.Sampler):
    def __init__(self, start: int, stop: int | None) -> None:
        self.start, self.stop = start, stop

    def __iter__(self) -> Iterator[int]:
        step = self.start
        while self.stop is None or step < self.stop:
            yield step
            step += 1


class ShardedBatches:
    """This process's batch of every step from ``start`` on (``step`` counts from 1, like the trainer's steps).

    ``workers == 0``: batches are built in this process from the in-memory cache. ``workers > 0``: a DataLoader
    of that many processes reads just the views each batch needs from disk (nothing is kept in memory) and
    prepares ``prefetch`` batches per worker ahead. Both give the same batches for the same seed."""

    def __init__(self, dataset: Any, cache: Any | None, batch: Any, seed: int, ctx: DistContext, workers: int = 0,
                 prefetch: int = 2) -> None:
        if batch.scenes_per_batch % ctx.world_size != 0:
            raise ConfigError(f"--batch-size {batch.scenes_per_batch} (the global batch) must be a multiple of the "
                              f"number of processes ({ctx.world_size})")
        if workers < 0:
            raise ConfigError(f"--workers must be 0 or more, got {workers}")
        self.dataset, self.batch, self.seed, self.ctx, self.workers, self.prefetch = dataset, batch, seed, ctx, workers, prefetch
        self.source = ViewSource(dataset, cache if workers == 0 else None)
        self.num_scenes = len(dataset)

    def plan(self, step: int) -> BatchPlan:
        return plan_batch(self.seed, step, self.num_scenes, self.batch.scenes_per_batch, tuple(self.batch.input_views))

    def scene_ids(self, step: int, ranks: list[int] | None = None) -> list[str]:
        """Ids of the scenes of step ``step`` (of the given processes' shards; all by default)."""
        plan = self.plan(step)
        ranks = list(range(self.ctx.world_size)) if ranks is None else ranks
        ids = self.dataset.scene_ids
        return [ids[plan.scenes[s]] for r in ranks for s in plan.shard(r, self.ctx.world_size)]

    def at(self, step: int) -> TrainBatch:
        """This process's batch of ``step``, built here (from the in-memory cache, or read from the dataset)."""
        return build_shard(self.plan(step), self.source, self.ctx.rank, self.ctx.world_size, self.batch.target_views,
                           self.batch.rays_per_scene, self.batch.object_bbox_rays)

    def iterate(self, start: int, stop: int | None) -> Iterator[tuple[int, TrainBatch]]:
        """(step, batch) for steps ``start + 1, start + 2, ...`` (up to ``stop`` when given)."""
        first, last = start + 1, None if stop is None else stop + 1
        if self.workers == 0:
            for step in _Steps(first, last):
                yield step, self.at(step)
            return
        dataset = _ShardDataset(self.source, self.seed, self.num_scenes, self.batch, self.ctx.rank, self.ctx.world_size)
        loader = torch.utils.data.DataLoader(dataset, batch_size=None, sampler=_Steps(first, last),
                                             num_workers=self.workers, prefetch_factor=self.prefetch)
        for step, batch in zip(_Steps(first, last), loader):
            if isinstance(batch, _Failure):
                raise DataError(None, batch.message)
            yield step, batch


def training_batches(model: SceneModel, dataset: Any, batch: Any, seed: int, ctx: DistContext | None = None,
                     workers: int = 0, cache: Any | None = None) -> Any:
    """The one batch path of training, tests and benchmarks: the model's own batch source (the shape models'
    point clouds) or this process's share of the step-seeded posed-view batches (:class:`ShardedBatches`). Both
    have ``at(step)``, ``iterate(start, stop)`` and ``scene_ids(step, ranks)``; the batch of a step depends only on
    ``seed`` and the step. ``cache``: a :class:`~sceneprior.training.data.SplitCache` of ``dataset`` (views kept in
    memory; None: read as needed)."""
    ctx = ctx if ctx is not None else DistContext()
    own = model.batch_source(dataset, batch, seed, ctx)
    if own is not None:
        return own
    return ShardedBatches(dataset, cache, batch, seed, ctx, workers)


def batch_to(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor on ``device`` (the batch itself when it is already there)."""
    if device.type == "cpu":
        return batch
    moved = {name: (value.to(device, non_blocking=True) if isinstance(value, Tensor) else value)
             for name, value in batch.__dict__.items()}
    return type(batch)(**moved)  # any batch dataclass (image TrainBatch, 3D ShapeBatch)
