"""Turntables: infer a held-out object from its input view, render it from cameras circling the world up axis
(at the input camera's distance and height), at any resolution; PNG frames + GIF (+ MP4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.image_io import to_uint8, write_png
from ..errors import ConfigError
from ..geometry import orbit, scale_intrinsics
from ..inference import InferenceConfig, infer
from ..training import load_run
from ..training.data import dataset_metadata, open_split
from .evaluate import source_views


@dataclass
class TurntableConfig:
    data: str
    scene: str
    split: str = "test"
    resolution: int | None = None
    frames: int = 36
    input_views: int = 1
    mode: str | None = None
    steps: int = 200
    mp4: bool = False


def render_turntable(run_dir: str | Path, out_dir: Path, config: TurntableConfig) -> list[Path]:
    import imageio.v2 as imageio

    model, run, _ = load_run(run_dir)
    dataset = open_split(config.data, config.split, run.train.image_size)
    if config.scene not in dataset.scene_ids:
        shown = ", ".join(dataset.scene_ids[:5])
        raise ConfigError(f"scene {config.scene!r} is not in split {config.split!r} (e.g. {shown})")
    index = dataset.scene_ids.index(config.scene)
    metadata = dataset_metadata(config.data)
    sources = source_views(metadata, config.split, dataset.num_views(index), config.input_views)
    observed = dataset.load_views(index, sources)
    mode = config.mode or ("encode" if "encode" in model.modes else "autodecode")
    init = "mean" if model.latents is not None else "zeros"
    latent = infer(model, observed, InferenceConfig(mode=mode, steps=config.steps, init=init)).latent
    size = config.resolution or observed.height
    K = scale_intrinsics(observed.intrinsics[0], size / observed.width, size / observed.height)
    up = torch.tensor(metadata.get("world_up", [0.0, 1.0, 0.0]), dtype=torch.float32)
    cameras = orbit(observed.cam2world[0], config.frames, up, torch.zeros(3))
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    frames = []
    write_png(out_dir / "input.png", observed.images[0].permute(1, 2, 0).numpy())
    for k in range(config.frames):
        with torch.no_grad():
            out = model.render(latent, cameras[k : k + 1], K[None], size, size)
        frame = to_uint8(out.rgb[0].clamp(0, 1).permute(1, 2, 0).numpy())
        path = out_dir / f"frame_{k:03d}.png"
        write_png(path, frame)
        written.append(path)
        frames.append(frame)
    gif = out_dir / "turntable.gif"
    imageio.mimsave(gif, frames, duration=1000 / 12, loop=0)
    written.append(gif)
    if config.mp4:
        mp4 = out_dir / "turntable.mp4"
        imageio.mimsave(mp4, [np.asarray(f) for f in frames], fps=12)
        written.append(mp4)
    return written
