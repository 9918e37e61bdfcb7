"""Training speed and memory of each preset, measured the way the trainer runs it.

For every preset: the preset's own batch (scenes × target views × rays, as ``sceneprior train`` draws it, from
a small generated dataset) through ``model.loss`` → backward → Adam step, timed after warm-up (median of several
steps). Reported: steps/s, rays/s (or target pixels/s for image-decoding models), and memory:

- ``activation_mb``: bytes of the tensors autograd saves for the backward pass of one step (each storage once) —
  what a training step holds at its peak beyond the weights; device-independent;
- ``state_mb``: parameters + gradients + Adam's two moments (4 × parameters, float32);
- on CUDA also ``cuda_peak_mb`` from ``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..training.memory import saved_activation_bytes


@dataclass
class PresetSpeed:
    preset: str
    params: int
    scenes_per_batch: int
    rays_per_step: int
    seconds_per_step: float
    steps_per_second: float
    rays_per_second: float
    activation_mb: float
    state_mb: float
    cuda_peak_mb: float | None = None


def _tiny_dataset(folder: Path, resolution: int) -> Path:
    from ..data.generator import GeneratorConfig, generate_dataset

    return generate_dataset(GeneratorConfig(category="cars", out=str(folder / "cars"), objects=8, views=6,
                                            resolution=resolution, seed=0, workers=1, progress=False,
                                            splits=("train",)))


def preset_speed(presets: tuple[str, ...], steps: int = 5, warmup: int = 2, device: str = "cpu",
                 resolution: int = 64, data: str | None = None) -> list[PresetSpeed]:
    """Measure each preset in ``presets`` (see the module docstring)."""
    from ..registry import get_preset
    from ..training.data import BatchConfig, SplitCache, open_split
    from ..training.distributed import batch_to, training_batches

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(data) if data is not None else _tiny_dataset(Path(tmp), resolution)
        cache = SplitCache(open_split(root, "train"))
        cache.load_all()
        for name in presets:
            preset = get_preset(name)
            torch.manual_seed(0)
            model = preset.model.build(len(cache)).to(device)
            model.train()
            d = preset.training
            batch_config = BatchConfig(scenes_per_batch=d.scenes_per_batch, target_views=d.target_views,
                                       rays_per_scene=d.rays_per_scene, input_views=d.input_views,
                                       object_bbox_rays=d.object_bbox_rays)
            source = training_batches(model, cache.dataset, batch_config, seed=0, cache=cache)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
            batches = [batch_to(source.at(step), torch.device(device)) for step in range(1, steps + warmup + 1)]

            def step(batch) -> int:
                out = model.loss(batch)
                optimizer.zero_grad(set_to_none=True)
                out.total.backward()
                optimizer.step()
                return out.num_rays

            times = []
            rays = 0
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            for i, batch in enumerate(batches):
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                start = time.perf_counter()
                rays = step(batch)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                if i >= warmup:
                    times.append(time.perf_counter() - start)
            activation = saved_activation_bytes(lambda: model.loss(batches[-1]).total)
            params = sum(p.numel() for p in model.parameters())
            seconds = statistics.median(times)
            rows.append(PresetSpeed(
                preset=name, params=params, scenes_per_batch=d.scenes_per_batch, rays_per_step=rays,
                seconds_per_step=seconds, steps_per_second=1.0 / seconds, rays_per_second=rays / seconds,
                activation_mb=activation / 2**20, state_mb=4 * params * 4 / 2**20,
                cuda_peak_mb=torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None,
            ))
    return rows
