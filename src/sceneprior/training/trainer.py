"""The training loop shared by every image model: random batches, Adam, tqdm progress (loss, rays/s),
TensorBoard scalars and image grids of held-out views, atomic safetensors checkpoints, exact resume."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from ..models import SceneModel, build_model, get_preset, model_config_from_plain
from ..models.configs import from_plain, to_plain
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from .data import BatchConfig, BatchSampler, SplitCache, dataset_metadata, open_split, scene_bounds


@dataclass
class TrainConfig:
    data: str
    preset: str
    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    lr: float = 1e-4
    latent_lr: float | None = None
    batch: BatchConfig = field(default_factory=BatchConfig)
    image_size: int | None = None
    log_every: int = 10
    image_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    val_scenes: int = 4
    #: auto-decoding steps used for the held-out images of auto-decoder models in TensorBoard
    val_autodecode_steps: int = 30
    progress: bool = True
    #: fields of the preset's model config to replace (plain JSON values, e.g. {"width": 64})
    model_overrides: dict | None = None


@dataclass
class RunConfig:
    """Everything needed to rebuild a run's model: ``config.json`` of the run folder."""

    kind: str
    model: Any
    train: TrainConfig
    num_train_scenes: int

    def to_plain(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": to_plain(self.model), "train": to_plain(self.train), "num_train_scenes": self.num_train_scenes}

    @staticmethod
    def from_plain(data: dict[str, Any]) -> "RunConfig":
        try:
            kind = data["kind"]
            return RunConfig(kind, model_config_from_plain(kind, data["model"]), from_plain(TrainConfig, data["train"], "train"), int(data["num_train_scenes"]))
        except KeyError as exc:
            raise ConfigError(f"run config lacks {exc}") from None


def make_run_config(config: TrainConfig, num_train_scenes: int, metadata: dict) -> RunConfig:
    preset = get_preset(config.preset)
    model_config = preset.model
    if config.model_overrides:
        merged = {**to_plain(model_config), **config.model_overrides}
        model_config = model_config_from_plain(preset.kind, merged)
    if preset.kind == "pixelnerf":
        model_config.bounds = scene_bounds(metadata)
    return RunConfig(preset.kind, model_config, config, num_train_scenes)


def make_optimizer(model: SceneModel, lr: float, latent_lr: float | None) -> torch.optim.Adam:
    latent_params = list(model.latents.parameters()) if model.latents is not None else []
    ids = {id(p) for p in latent_params}
    groups: list[dict[str, Any]] = [{"params": [p for p in model.parameters() if id(p) not in ids], "lr": lr}]
    if latent_params:
        groups.append({"params": latent_params, "lr": latent_lr if latent_lr is not None else lr})
    return torch.optim.Adam(groups)


def load_run(run_dir: str | Path, checkpoint: str | Path | None = None) -> tuple[SceneModel, RunConfig, int]:
    """The trained model of a run folder (its last checkpoint unless one is named), in eval mode."""
    path = Path(checkpoint) if checkpoint is not None else latest_checkpoint(run_dir)
    if path is None:
        raise ConfigError(f"{run_dir}: no checkpoints found (expected {run_dir}/checkpoints/step_*.safetensors)")
    ckpt = load_checkpoint(path)
    run = RunConfig.from_plain(ckpt.run_config)
    model = build_model(run.kind, run.model, run.num_train_scenes)
    model.load_state_dict(ckpt.model_state)
    model.eval()
    return model, run, ckpt.step


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    losses: list[tuple[int, float]]
    seconds: float
    rays_per_second: float
    steps_per_second: float
    checkpoint: Path | None


def _rng_state(generator: torch.Generator) -> dict[str, Tensor]:
    return {"torch": torch.get_rng_state(), "sampler": generator.get_state()}


def _image_grid(model: SceneModel, val: SplitCache | None, train: SplitCache, config: TrainConfig) -> Tensor | None:
    """Rows: input view | rendered target | ground-truth target, for a few held-out scenes (auto-decoder models
    infer their latent with a short auto-decoding run). Returns (3, H, W) in [0, 1]."""
    from ..inference import InferenceConfig, infer

    cache = val if val is not None else train
    rows = []
    for i in range(min(config.val_scenes, len(cache))):
        images, cam2world, K = cache.scene(i)
        images = images.to(torch.float32) / 255.0
        src, tgt = 0, images.shape[0] // 2
        observed = (images[None, [src]], cam2world[None, [src]], K[None, [src]])
        mode = "encode" if "encode" in model.modes else "autodecode"
        inference = InferenceConfig(mode=mode, steps=config.val_autodecode_steps, lr=1e-2, rays_per_step=1024,
                                    init="mean" if model.latents is not None else "zeros")
        latent = infer(model, observed, inference).latent
        with torch.no_grad():
            out = model.render(latent, cam2world[None, tgt], K[None, tgt], images.shape[-2], images.shape[-1])
        rows.append(torch.cat([images[src], out.rgb[0].clamp(0, 1), images[tgt]], -1))
    return torch.cat(rows, -2) if rows else None


def train(run_dir: str | Path, config: TrainConfig, resume: bool = False) -> TrainResult:
    """Train the preset of ``config`` into ``run_dir`` (checkpoints/, tb/, config.json, metrics.jsonl)."""
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    run_dir = Path(run_dir)
    if config.steps is None and config.minutes is None:
        raise ConfigError("give --steps or --minutes")
    train_split = open_split(config.data, "train", config.image_size)
    try:
        val_split = open_split(config.data, "val", config.image_size)
    except Exception:  # noqa: BLE001 - a dataset without a val split trains too (grids show training scenes)
        val_split = None
    metadata = dataset_metadata(config.data)
    train_cache = SplitCache(train_split)
    val_cache = SplitCache(val_split) if val_split is not None else None

    start_step = 0
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None:
        raise ConfigError(f"{run_dir}: --resume given but no checkpoint found")
    if checkpoint is not None:
        ckpt = load_checkpoint(checkpoint)
        run = RunConfig.from_plain(ckpt.run_config)
        if config.steps is not None:
            run.train.steps = config.steps
        if config.minutes is not None:
            run.train.minutes = config.minutes
        run.train.progress = config.progress
        config = run.train
    else:
        if run_dir.exists() and any(run_dir.glob("checkpoints/step_*.safetensors")):
            raise ConfigError(f"{run_dir}: already holds checkpoints; use --resume or another --out")
        run = make_run_config(config, len(train_split), metadata)

    torch.manual_seed(config.seed)
    model = build_model(run.kind, run.model, run.num_train_scenes)
    model.train()
    optimizer = make_optimizer(model, config.lr, config.latent_lr)
    generator = torch.Generator().manual_seed(config.seed + 1)
    if checkpoint is not None:
        model.load_state_dict(ckpt.model_state)
        if ckpt.optimizer_state is not None:
            optimizer.load_state_dict(ckpt.optimizer_state)
        torch.set_rng_state(ckpt.rng["torch"])
        generator.set_state(ckpt.rng["sampler"])
        start_step = ckpt.step
    sampler = BatchSampler(train_cache, config.batch, generator)
    if config.progress:
        print(f"loading {len(train_cache)} training scenes into memory ...", flush=True)
    train_cache.load_all()  # before the clock starts: rays/s measures training, not PNG decoding

    writer = SummaryWriter(str(run_dir / "tb"))
    plain = run.to_plain()
    (run_dir).mkdir(parents=True, exist_ok=True)
    total_steps = config.steps if config.steps is not None else 10**12
    deadline = time.monotonic() + 60.0 * config.minutes if config.minutes is not None else math.inf
    losses: list[tuple[int, float]] = []
    step = start_step
    rays = 0
    started = time.perf_counter()
    bar = tqdm(total=None if config.steps is None else total_steps, initial=start_step, disable=not config.progress,
               dynamic_ncols=True, desc=f"train {config.preset}")
    metrics_file = open(run_dir / "metrics.jsonl", "a")
    last_path = checkpoint
    try:
        while step < total_steps and time.monotonic() < deadline:
            batch = sampler.sample()
            out = model.loss(batch)
            optimizer.zero_grad(set_to_none=True)
            out.total.backward()
            optimizer.step()
            step += 1
            loss = float(out.total.detach())
            if not math.isfinite(loss):
                raise ConfigError(f"loss became {loss} at step {step}; lower --lr")
            losses.append((step, loss))
            rays += out.num_rays
            elapsed = time.perf_counter() - started
            bar.update(1)
            if step % config.log_every == 0 or step == total_steps:
                rate = rays / max(elapsed, 1e-9)
                bar.set_postfix(loss=f"{loss:.4g}", psnr=f"{out.terms.get('psnr', 0):.2f}", rays_s=f"{rate:.0f}")
                writer.add_scalar("train/loss", loss, step)
                for name, value in out.terms.items():
                    writer.add_scalar(f"train/{name}", value, step)
                writer.add_scalar("train/rays_per_second", rate, step)
                metrics_file.write(json.dumps({"step": step, "loss": loss, **out.terms, "rays_per_second": rate}) + "\n")
                metrics_file.flush()
            if config.image_every > 0 and step % config.image_every == 0:
                grid = _image_grid(model, val_cache, train_cache, config)
                model.train()
                if grid is not None:
                    writer.add_image("val/input_render_truth", grid, step)
            if config.checkpoint_every > 0 and step % config.checkpoint_every == 0:
                last_path = save_checkpoint(run_dir, step, model, optimizer, _rng_state(generator), plain, config.keep_checkpoints)
        if last_path is None or step != start_step:
            last_path = save_checkpoint(run_dir, step, model, optimizer, _rng_state(generator), plain, config.keep_checkpoints)
    finally:
        bar.close()
        writer.close()
        metrics_file.close()
    seconds = time.perf_counter() - started
    done = step - start_step
    return TrainResult(run_dir, step, losses, seconds, rays / max(seconds, 1e-9), done / max(seconds, 1e-9), last_path)
