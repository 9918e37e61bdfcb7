"""The training loop shared by every image model: random batches, Adam, tqdm progress (loss, rays/s),
TensorBoard scalars and image grids of held-out views, atomic safetensors checkpoints, exact resume.

Several processes (``torchrun``) train one model with DDP: see :mod:`sceneprior.training.distributed` and
``docs/DISTRIBUTED.md``. A non-finite loss or gradient never updates the weights: the step is reported with its
scenes and then skipped (``on_nonfinite="skip"``, counted and logged) or stops the run (``"stop"``, the default)."""

from __future__ import annotations

import errno
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..checkpoint import (Checkpoint, align_optimizer_state, checkpoint_dir, latest_checkpoint, load_checkpoint, load_latest_intact,
                          remove_temporaries, save_checkpoint)
from ..data.datasets import detect_format
from ..data.srn import summarise_warnings
from ..data.types import PosedViews
from ..data.image_io import atomic_write_bytes
from ..errors import ConfigError, TrainingError, WriteError
from ..inference import InferenceConfig, infer
from ..inference.shapes import preview_autodecode
from ..models import ModelConfig, SceneModel
from ..models.configs import from_plain, to_plain
from ..registry import config_from_plain, get_preset, model_of_run
from .data import BatchConfig, SplitCache, dataset_metadata, open_split
from .distributed import (
    DistContext,
    ShardedBatches,
    batch_to,
    gather_cpu_tensors,
    init_distributed,
    reduce_sum,
    shutdown,
    training_batches,
    wrap_model,
)


@dataclass
class TrainConfig:
    data: str
    preset: str
    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    lr: float = 1e-4
    latent_lr: float | None = None
    #: learning-rate schedule: constant until step ``lr_decay_start``, then a cosine decay over ``lr_decay_steps``
    #: steps to ``lr_final_scale`` times each group's rate, constant after (None: constant throughout)
    lr_decay_start: int | None = None
    lr_decay_steps: int = 1000
    lr_final_scale: float = 0.1
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
    #: loader processes that read each batch's views from disk (0: the split is held in memory)
    workers: int = 0
    #: what a non-finite loss or gradient does: "stop" the run, or "skip" the batch (counted, logged)
    on_nonfinite: str = "stop"
    #: a run that has skipped more batches than this stops
    max_skipped: int = 100
    #: "cpu", "cuda" (each process its own GPU, LOCAL_RANK) or "auto"
    device: str = "cpu"
    #: start a new run from this model's weights (a shipped model's name, a run folder or a checkpoint file; its
    #: architecture, fresh optimiser, step 0) instead of the preset's initialisation: fine-tuning on other data
    init_from: str | None = None


@dataclass
class RunConfig:
    """Everything needed to rebuild a run's model: ``config.json`` of the run folder. The model config names its
    model (``kind``, written beside it) and builds it (:meth:`build_model`)."""

    model: ModelConfig
    train: TrainConfig
    num_train_scenes: int

    @property
    def kind(self) -> str:
        return self.model.kind

    def build_model(self) -> SceneModel:
        return self.model.build(self.num_train_scenes)

    def to_plain(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": to_plain(self.model), "train": to_plain(self.train), "num_train_scenes": self.num_train_scenes}

    @staticmethod
    def from_plain(data: dict[str, Any]) -> "RunConfig":
        model, num_train_scenes = model_of_run(data)
        if "train" not in data:
            raise ConfigError("run config lacks 'train'")
        return RunConfig(model, from_plain(TrainConfig, data["train"], "train"), num_train_scenes)


def make_run_config(config: TrainConfig, num_train_scenes: int, metadata: dict) -> RunConfig:
    model_config = get_preset(config.preset).model
    if config.model_overrides:
        merged = {**to_plain(model_config), **config.model_overrides}
        model_config = config_from_plain(model_config.kind, merged)
    return RunConfig(model_config.for_dataset(metadata), config, num_train_scenes)


def init_weights(config: TrainConfig) -> tuple[ModelConfig, dict[str, Tensor]]:
    """(model config, weights) of ``config.init_from`` (a shipped model's name, a run folder or a checkpoint file),
    checked against the preset: a fine-tuned run keeps the source's architecture, so it must be the preset's kind
    and take no model overrides."""
    from ..inference.loading import resolve_model  # inference imports training's data helpers

    assert config.init_from is not None
    path, _ = resolve_model(config.init_from)
    ckpt = load_checkpoint(path)
    model_config, _ = model_of_run(ckpt.run_config)
    kind = get_preset(config.preset).model.kind
    if model_config.kind != kind:
        raise ConfigError(f"--init-from {config.init_from}: {path} holds a {model_config.kind} model, but preset "
                          f"{config.preset} trains {kind}")
    if config.model_overrides:
        raise ConfigError(f"--init-from {config.init_from} keeps that model's architecture; --model-override cannot change it")
    return model_config, ckpt.model_state


def load_initial_weights(model: SceneModel, state: dict[str, Tensor], source: str) -> None:
    """``state`` into ``model``; an auto-decoder's table of training latents (one row per training scene of the
    source's data) is left at its initialisation when the new data has another number of scenes."""
    own = model.state_dict()
    table = {k for k in state if k.startswith("latents.")}
    if table and any(k not in own or own[k].shape != state[k].shape for k in table):
        state = {k: v for k, v in state.items() if k not in table}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("latents.")]
    if missing or unexpected:
        raise ConfigError(f"--init-from {source}: weights do not match the model (missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]})")


def lr_scale(step: int, config: TrainConfig) -> float:
    """The factor on every base learning rate at ``step`` (see ``TrainConfig.lr_decay_start``)."""
    if config.lr_decay_start is None or step <= config.lr_decay_start:
        return 1.0
    progress = min(1.0, (step - config.lr_decay_start) / max(1, config.lr_decay_steps))
    final = config.lr_final_scale
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model: SceneModel, lr: float, latent_lr: float | None) -> torch.optim.Adam:
    """Adam over the network (``lr``) and the auto-decoder's latents (``latent_lr``, default ``lr``), in PyTorch's
    fused implementation where every parameter allows it (floating point on a CPU or CUDA device): one pass over
    each parameter instead of about ten, the same update up to float rounding (~1e-8). On a CPU the unfused
    Adam was ~30% of an SRN step at 52 M parameters (results/peers/README.md)."""
    latent_params = list(model.latents.parameters()) if model.latents is not None else []
    ids = {id(p) for p in latent_params}
    groups: list[dict[str, Any]] = [{"params": [p for p in model.parameters() if id(p) not in ids], "lr": lr}]
    if latent_params:
        groups.append({"params": latent_params, "lr": latent_lr if latent_lr is not None else lr})
    params = [p for group in groups for p in group["params"]]
    fused = bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(groups, fused=fused or None)


def load_run(run_dir: str | Path, checkpoint: str | Path | None = None) -> tuple[SceneModel, RunConfig, int]:
    """The trained model of a run folder (its last checkpoint unless one is named), in eval mode."""
    path = Path(checkpoint) if checkpoint is not None else latest_checkpoint(run_dir)
    if path is None:
        raise ConfigError(f"{run_dir}: no checkpoints found (expected {run_dir}/checkpoints/step_*.safetensors)")
    ckpt = load_checkpoint(path)
    run = RunConfig.from_plain(ckpt.run_config)
    model = run.build_model()
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
    #: batches skipped for a non-finite loss or gradient (over the whole run, resumes included)
    skipped: int = 0
    #: the trained model (this process's replica; identical on every process)
    model: SceneModel | None = None
    #: whether this process is rank 0 (the one that writes and prints)
    is_main: bool = True


def _rng_state(ctx: DistContext, step: int) -> dict[str, Tensor]:
    """RNG states of every process (``torch`` is rank 0's, ``torch.rank<r>`` the others', ``cuda.rank<r>`` on
    GPUs) and the step batch plans continue from (``sampler``; plans depend only on seed and step). A collective:
    every process calls it."""
    states = gather_cpu_tensors(torch.get_rng_state(), ctx)
    out = {"torch": states[0], "sampler": torch.tensor([step], dtype=torch.int64)}
    out.update({f"torch.rank{r}": state for r, state in enumerate(states) if r > 0})
    if ctx.device.type == "cuda":
        cuda = gather_cpu_tensors(torch.cuda.get_rng_state(ctx.device), ctx)
        out.update({f"cuda.rank{r}": state for r, state in enumerate(cuda)})
    return out


def _restore_rng(rng: dict[str, Tensor], ctx: DistContext, seed: int) -> None:
    key = "torch" if ctx.rank == 0 else f"torch.rank{ctx.rank}"
    if key in rng:
        torch.set_rng_state(rng[key])
    else:  # resumed with more processes than saved: a fresh stream for this one
        torch.manual_seed(seed * 1009 + ctx.rank)
    if ctx.device.type == "cuda" and f"cuda.rank{ctx.rank}" in rng:
        torch.cuda.set_rng_state(rng[f"cuda.rank{ctx.rank}"], ctx.device)


def _nonfinite(loss: Tensor, model: SceneModel) -> str | None:
    """Why this process's step must not be taken (a non-finite loss or gradient), or None."""
    value = float(loss.detach())
    if not math.isfinite(value):
        return f"loss is {value}"
    grads = [(name, p.grad) for name, p in model.named_parameters() if p.grad is not None]
    if not grads:
        return None
    # fast path: a NaN or an infinity anywhere makes its tensor's sum non-finite (one read of each gradient, no
    # mask); only then is each gradient checked element by element (a sum can also overflow on finite values)
    sums = torch.stack([g.sum().to(torch.float64) for _, g in grads])
    if bool(torch.isfinite(sums).all()):
        return None
    for name, g in grads:
        if not bool(torch.isfinite(g).all()):
            return f"gradient of {name} is not finite"
    return None


def _image_grid(model: SceneModel, val: SplitCache | None, train: SplitCache, config: TrainConfig) -> Tensor | None:
    """Rows: input view | rendered target | ground-truth target, for a few held-out scenes (auto-decoder models
    infer their latent with a short auto-decoding run). Returns (3, H, W) in [0, 1]."""
    cache = val if val is not None else train
    rows = []
    for i in range(min(config.val_scenes, len(cache))):
        stored = cache.scene(i)
        images, cam2world, K = stored.float_images(), stored.cam2world, stored.intrinsics
        src, tgt = 0, images.shape[0] // 2
        observed = PosedViews(images[None, [src]], cam2world[None, [src]], K[None, [src]])
        mode = "encode" if "encode" in model.modes else "autodecode"
        inference = InferenceConfig(mode=mode, steps=config.val_autodecode_steps, lr=1e-2, rays_per_step=1024,
                                    init="mean" if model.latents is not None else "zeros")
        latent = infer(model, observed, inference).latent
        with torch.no_grad():
            out = model.render(latent, cam2world[None, tgt], K[None, tgt], images.shape[-2], images.shape[-1])
        rows.append(torch.cat([images[src], out.rgb[0].clamp(0, 1).float().cpu(), images[tgt]], -1))
    return torch.cat(rows, -2) if rows else None


def train(run_dir: str | Path, config: TrainConfig, resume: bool = False, reset_optimizer: bool = False) -> TrainResult:
    """Train the preset of ``config`` into ``run_dir`` (checkpoints/, tb/, config.json, metrics.jsonl). Under
    ``torchrun`` every process calls this; rank 0 alone writes. ``reset_optimizer``: resume with fresh optimiser
    moments instead of the checkpoint's."""
    run_dir = Path(run_dir)
    check_train_config(config)
    owns_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    ctx = init_distributed(config.device)
    try:
        return _train(run_dir, config, resume, ctx, reset_optimizer)
    except OSError as exc:  # disk full, read-only, no permission: one line naming the file
        if exc.errno not in WRITE_ERRNOS:
            raise
        raise WriteError(exc.filename or run_dir, exc) from None
    finally:
        if owns_group:
            shutdown(ctx)


#: errors of writes the user can fix (space, permissions), reported as one line naming the file
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)
#: learning rates above this are refused (Adam's steps are about lr in size; a rate of 1 already jumps across
#: the whole range of normalised weights)
MAX_LR = 1.0


def check_train_config(config: TrainConfig) -> None:
    """Every hyper-parameter a user gives, checked before any work (API and CLI alike): one ConfigError naming
    the flag and the value."""
    if config.steps is None and config.minutes is None:
        raise ConfigError("give --steps or --minutes")
    for flag, value in (("--lr", config.lr), ("--latent-lr", config.latent_lr)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 < value <= MAX_LR):
            raise ConfigError(f"{flag} must be a finite number in (0, {MAX_LR:g}], got {value!r}")
    if config.steps is not None and not (isinstance(config.steps, int) and config.steps >= 1):
        raise ConfigError(f"--steps must be a whole number >= 1, got {config.steps!r}")
    if config.minutes is not None and not (math.isfinite(config.minutes) and config.minutes > 0):
        raise ConfigError(f"--minutes must be a finite number > 0, got {config.minutes!r}")
    counts = {"--batch-size": (config.batch.scenes_per_batch, 1), "--target-views": (config.batch.target_views, 1),
              "--rays": (config.batch.rays_per_scene, 0), "--log-every": (config.log_every, 1),
              "--image-every": (config.image_every, 0), "--checkpoint-every": (config.checkpoint_every, 0),
              "--keep": (config.keep_checkpoints, 1), "--workers": (config.workers, 0), "--seed": (config.seed, 0)}
    for flag, (value, low) in counts.items():
        if value is None and flag == "--rays":  # whole images (the autoencoder)
            continue
        if not (isinstance(value, int) and value >= low):
            raise ConfigError(f"{flag} must be a whole number >= {low}, got {value!r}")
    views = tuple(config.batch.input_views)
    if not views or not all(isinstance(v, int) and v >= 1 for v in views):
        raise ConfigError(f"--input-views must be whole numbers >= 1, got {' '.join(map(str, views)) or 'nothing'}")
    if config.image_size is not None and not 8 <= config.image_size <= 4096:
        raise ConfigError(f"--image-size must be in 8..4096, got {config.image_size}")
    if config.on_nonfinite not in ("skip", "stop"):
        raise ConfigError(f"on_nonfinite must be 'skip' or 'stop', got {config.on_nonfinite!r}")
    if config.lr_decay_start is not None and (config.lr_decay_steps < 1 or not 0.0 < config.lr_final_scale <= 1.0):
        raise ConfigError(f"learning-rate schedule: --lr-decay-steps must be >= 1 (got {config.lr_decay_steps}) and "
                          f"--lr-final-scale in (0, 1] (got {config.lr_final_scale})")


@dataclass
class _Data:
    """The run's data: the training split (and its in-memory cache), the val split when the dataset has one."""

    train: Any
    train_cache: SplitCache
    val: Any | None
    val_cache: SplitCache | None
    metadata: dict


def _open_data(config: TrainConfig) -> _Data:
    train_split = open_split(config.data, "train", config.image_size)
    # a dataset without a val split trains too (grids show training scenes); a val split that is broken is an error
    location = detect_format(config.data)
    has_val = location.has_split("val")
    val_split = open_split(config.data, "val", config.image_size) if has_val else None
    return _Data(train_split, SplitCache(train_split), val_split, SplitCache(val_split) if val_split is not None else None,
                 dataset_metadata(config.data))


def _resume_or_start(run_dir: Path, config: TrainConfig, resume: bool, data: _Data, is_main: bool = True
                     ) -> tuple[RunConfig, TrainConfig, Path | None, Checkpoint | None]:
    """(run config, the train config in force, checkpoint path, checkpoint): a resumed run continues from its
    newest intact checkpoint (damaged newer ones are reported and set aside) and keeps its saved settings except
    those that do not change the numbers (and a new schedule or length); flags that would change the model are
    an error."""
    found = load_latest_intact(run_dir, set_aside=is_main, warn=_warn if is_main else None) if resume else None
    if resume and found is None:
        raise ConfigError(f"{run_dir}: --resume given but no checkpoint found")
    if found is None:
        if run_dir.exists() and any(run_dir.glob("checkpoints/step_*.safetensors")):
            raise ConfigError(f"{run_dir}: already holds checkpoints; use --resume or another --out")
        return make_run_config(config, len(data.train), data.metadata), config, None, None
    checkpoint, ckpt = found
    run = RunConfig.from_plain(ckpt.run_config)
    _check_resume_matches(run, config, checkpoint)
    if config.steps is not None:
        run.train.steps = config.steps
    if config.minutes is not None:
        run.train.minutes = config.minutes
    run.train.progress = config.progress
    for name in ("workers", "on_nonfinite", "max_skipped", "device", "log_every"):  # no effect on the numbers
        setattr(run.train, name, getattr(config, name))
    if config.lr_decay_start is not None:  # a schedule given on resume (e.g. anneal the end of a run) replaces the saved one
        for name in ("lr_decay_start", "lr_decay_steps", "lr_final_scale"):
            setattr(run.train, name, getattr(config, name))
    return run, run.train, checkpoint, ckpt


def _build(run: RunConfig, config: TrainConfig, ctx: DistContext, checkpoint: Path | None, ckpt: Checkpoint | None,
           reset_optimizer: bool, initial: dict[str, Tensor] | None = None
           ) -> tuple[SceneModel, torch.optim.Adam, list[float], int, int]:
    """(model, optimiser, base learning rates, start step, batches skipped so far), restored from ``ckpt``; a new
    run starts from ``initial`` weights when given (``--init-from``)."""
    torch.manual_seed(config.seed)
    model = run.build_model().to(ctx.device)
    model.train()
    optimizer = make_optimizer(model, config.lr, config.latent_lr)
    base_lrs = [group["lr"] for group in optimizer.param_groups]  # the schedule scales these (a checkpoint's are scaled)
    if ctx.rank > 0:  # the same initial weights (DDP broadcasts rank 0's), another stream for stochastic rendering
        torch.manual_seed(config.seed * 1009 + ctx.rank)
    if ckpt is None:
        if initial is not None:
            load_initial_weights(model, initial, str(config.init_from))
        return model, optimizer, base_lrs, 0, 0
    model.load_state_dict(ckpt.model_state)
    if ckpt.optimizer_state is not None and not reset_optimizer:
        optimizer.load_state_dict(align_optimizer_state(ckpt.optimizer_state, model, optimizer, checkpoint))
    _restore_rng(ckpt.rng, ctx, config.seed)
    return model, optimizer, base_lrs, ckpt.step, int(ckpt.extra.get("skipped", 0))


class _Log:
    """What rank 0 writes while training: the progress bar, TensorBoard events and ``metrics.jsonl`` (other
    processes hold a disabled bar and write nothing)."""

    def __init__(self, run_dir: Path, config: TrainConfig, ctx: DistContext, start_step: int, total_steps: int) -> None:
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        self.writer = None
        self.metrics = None
        if ctx.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            remove_temporaries(run_dir)  # a checkpoint write cut short by a kill
            # the steps after the checkpoint were logged by the interrupted run and are logged again now: drop them
            self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=start_step + 1 if start_step > 0 else None)
            _trim_metrics(run_dir / "metrics.jsonl", start_step)
            self.metrics = open(run_dir / "metrics.jsonl", "a")
        self.bar = tqdm(total=None if config.steps is None else total_steps, initial=start_step,
                        disable=not (config.progress and ctx.is_main), dynamic_ncols=True, desc=f"train {config.preset}")

    def step(self, step: int, loss: float, terms: dict[str, float], rates: tuple[float, float], lr: float) -> None:
        """``rates``: (the step's own rays/s, rays/s since the start): ``rays_per_second`` and
        ``rays_per_second_since_start`` in ``metrics.jsonl`` (see :class:`RayRate`)."""
        assert self.writer is not None and self.metrics is not None
        rate, mean = rates
        self.bar.set_postfix(loss=f"{loss:.4g}", psnr=f"{terms.get('psnr', 0):.2f}", rays_s=f"{mean:.0f}")
        self.writer.add_scalar("train/loss", loss, step)
        for name, value in terms.items():
            self.writer.add_scalar(f"train/{name}", value, step)
        self.writer.add_scalar("train/rays_per_second", rate, step)
        self.writer.add_scalar("train/rays_per_second_since_start", mean, step)
        self.writer.add_scalar("train/lr", lr, step)
        self.metrics.write(json.dumps({"step": step, "loss": loss, **terms, "rays_per_second": rate,
                                       "rays_per_second_since_start": mean, "lr": lr}) + "\n")
        self.metrics.flush()

    def skipped(self, step: int, message: str, where: str, skipped: int, scenes: list[str]) -> None:
        from tqdm import tqdm

        assert self.writer is not None and self.metrics is not None
        tqdm.write(f"warning: {message}; batch skipped ({skipped} so far)", file=sys.stderr)
        self.writer.add_scalar("train/skipped_batches", skipped, step)
        self.metrics.write(json.dumps({"step": step, "skipped": True, "reason": where, "scenes": scenes}) + "\n")
        self.metrics.flush()

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
        if self.metrics is not None:
            self.metrics.close()


def _backward(module: Any, model: SceneModel, optimizer: torch.optim.Optimizer, batch: Any, ctx: DistContext,
              deadline: float) -> tuple[Any, str | None, Tensor]:
    """Loss and gradients of one step; then one all-reduce of (loss sum, whether any process is out of time,
    which processes saw a non-finite loss or gradient). Returns (loss output, this process's reason not to step,
    the reduced statistics)."""
    out = module(batch_to(batch, ctx.device))
    optimizer.zero_grad(set_to_none=True)
    out.total.backward()
    reason = _nonfinite(out.total, model)
    stats = torch.zeros(2 + ctx.world_size, dtype=torch.float64)
    stats[0] = float(out.total.detach()) if reason is None else 0.0
    stats[1] = float(time.monotonic() >= deadline)
    stats[2 + ctx.rank] = float(reason is not None)
    return out, reason, reduce_sum(stats, ctx)


def _train(run_dir: Path, config: TrainConfig, resume: bool, ctx: DistContext, reset_optimizer: bool = False) -> TrainResult:
    """The loop, in named steps: open the data, resume or start the run, build the model and optimiser, draw
    batches, then per step: backward, skip or stop on non-finite values, optimiser step with the scheduled rate,
    log, preview, checkpoint."""
    if ctx.is_main:
        _check_writable(run_dir)
    data = _open_data(config)
    if ctx.is_main:  # what the data check calls warnings: usable, with parts that are not read
        for line in summarise_warnings([*data.train.warnings, *(data.val.warnings if data.val is not None else [])]):
            _warn(f"warning: {line}")
    run, config, checkpoint, ckpt = _resume_or_start(run_dir, config, resume, data, ctx.is_main)
    initial = None
    if ckpt is None and config.init_from is not None:  # a new run from another model: its architecture and weights
        run.model, initial = init_weights(config)
    model, optimizer, base_lrs, start_step, skipped = _build(run, config, ctx, checkpoint, ckpt, reset_optimizer, initial)
    # the model's own training data (the 3D shape models: points.npz / sdf.npz), else posed-view batches
    batches = training_batches(model, data.train, config.batch, config.seed, ctx, config.workers, data.train_cache)
    # posed views are held in memory (with workers, each batch's views are read from disk as needed)
    if config.workers == 0 and isinstance(batches, ShardedBatches):
        if config.progress and ctx.is_main:
            print(f"loading {len(data.train_cache)} training scenes into memory ...", flush=True)
        data.train_cache.load_all()  # before the clock starts: rays/s measures training, not PNG decoding
    module = wrap_model(model, ctx)

    plain = run.to_plain()
    total_steps = config.steps if config.steps is not None else 10**12
    deadline = time.monotonic() + 60.0 * config.minutes if config.minutes is not None else math.inf
    losses: list[tuple[int, float]] = []
    step = start_step
    started = time.perf_counter()
    rate = RayRate(started)
    log = _Log(run_dir, config, ctx, start_step, total_steps)
    last_path = checkpoint
    stream = batches.iterate(start_step, total_steps) if step < total_steps else iter(())
    try:
        for step, batch in stream:
            out, reason, stats = _backward(module, model, optimizer, batch, ctx, deadline)
            bad = [r for r in range(ctx.world_size) if stats[2 + r] > 0]
            log.bar.update(1)
            if bad:
                optimizer.zero_grad(set_to_none=True)
                where = reason or f"non-finite loss or gradient on process {', '.join(map(str, bad))}"
                message = (f"step {step}: {where} (batch of scenes {', '.join(batches.scene_ids(step, bad))})")
                if config.on_nonfinite == "stop":
                    raise TrainingError(f"{message}; stopped (--on-nonfinite skip skips such batches); lower --lr "
                                        "or check these scenes")
                skipped += 1
                if ctx.is_main:
                    log.skipped(step, message, where, skipped, batches.scene_ids(step, bad))
                if skipped > config.max_skipped:
                    raise TrainingError(f"{message}; more than {config.max_skipped} batches skipped for non-finite "
                                        "values, stopping; lower --lr")
            else:
                scale = lr_scale(step, config)
                for group, base in zip(optimizer.param_groups, base_lrs):
                    group["lr"] = base * scale
                optimizer.step()
                loss = float(stats[0]) / ctx.world_size  # the mean over the global batch
                losses.append((step, loss))
                rates = rate.step(time.perf_counter(), out.num_rays * ctx.world_size)
                if ctx.is_main and (step % config.log_every == 0 or step == total_steps):
                    log.step(step, loss, out.terms, rates, base_lrs[0] * scale)
            if ctx.is_main and config.image_every > 0 and step % config.image_every == 0:
                _preview(model, data, config, log, step)
            if config.checkpoint_every > 0 and step % config.checkpoint_every == 0:
                last_path = _checkpoint(run_dir, step, model, optimizer, ctx, plain, config, skipped)
            rate.lap(time.perf_counter())
            if stats[1] > 0:  # --minutes: every process stops after the same step
                break
        if last_path is None or step != start_step:
            last_path = _checkpoint(run_dir, step, model, optimizer, ctx, plain, config, skipped)
    finally:
        if hasattr(stream, "close"):
            stream.close()  # stops loader workers
        log.close()
    seconds = time.perf_counter() - started
    done = step - start_step
    return TrainResult(run_dir, step, losses, seconds, rate.rays / max(seconds, 1e-9), done / max(seconds, 1e-9), last_path,
                       skipped, model, ctx.is_main)


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class RayRate:
    """Training throughput as ``metrics.jsonl`` logs it: each step's own rays/s (its rays over the seconds from the
    end of the previous step's bookkeeping, which includes drawing its batch, to the end of its optimiser step) and
    the mean since this process started (every ray over the whole wall time, previews and checkpoints included).
    Times are passed in (``time.perf_counter()`` values), so the arithmetic is testable without a clock."""

    started: float
    rays: int = 0
    last: float | None = None  # when the previous step's bookkeeping ended (None: the start)

    def step(self, now: float, rays: int) -> tuple[float, float]:
        """(this step's rays/s, rays/s since the start) for a step of ``rays`` rays that ended at ``now``."""
        since = self.started if self.last is None else self.last
        self.rays += rays
        return rays / max(now - since, 1e-9), self.rays / max(now - self.started, 1e-9)

    def lap(self, now: float) -> None:
        """The step's bookkeeping (logging, preview, checkpoint) ended at ``now``; the next step's clock starts."""
        self.last = now


def mean_rays_per_second(row: dict) -> float | None:
    """Rays/s since the start of the run's process, from one ``metrics.jsonl`` record (None: not a step record).
    Logs written before the step's own rate was logged hold this mean under ``rays_per_second``."""
    if "rays_per_second_since_start" in row:
        return float(row["rays_per_second_since_start"])
    return float(row["rays_per_second"]) if "rays_per_second" in row else None


def _check_resume_matches(run: RunConfig, config: TrainConfig, checkpoint: Path) -> None:
    """Flags that would change what a resumed run is must agree with the run (they cannot be changed midway)."""
    saved = run.train
    if config.preset != saved.preset:
        raise ConfigError(f"{checkpoint.parent.parent}: --resume continues a {saved.preset} run, but --preset is "
                          f"{config.preset}; give --preset {saved.preset}, or another --out for a new {config.preset} run")
    if config.model_overrides and config.model_overrides != (saved.model_overrides or {}):
        raise ConfigError(f"{checkpoint.parent.parent}: --resume continues a run with model overrides "
                          f"{saved.model_overrides or {}}, but --model-override gives {config.model_overrides}; the "
                          "model of a run cannot change")


def _trim_metrics(path: Path, last_step: int) -> None:
    """Drop the records of ``metrics.jsonl`` after ``last_step`` (written by a run interrupted after its last
    checkpoint; the resumed run logs those steps again). A file without such records is left untouched."""
    if not path.is_file():
        return
    lines = path.read_bytes().splitlines(keepends=True)
    kept = []
    for line in lines:
        try:
            step = json.loads(line).get("step", 0)
        except (ValueError, AttributeError):
            continue  # a line cut short by the kill
        if isinstance(step, int) and step <= last_step:
            kept.append(line if line.endswith(b"\n") else line + b"\n")
    if kept != lines:
        atomic_write_bytes(path, b"".join(kept))


def _check_writable(run_dir: Path) -> None:
    """A run folder that cannot be written is one line before any work (not a TensorBoard thread's traceback)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as exc:
        raise WriteError(exc.filename or run_dir, exc) from None


def _preview(model: SceneModel, data: _Data, config: TrainConfig, log: _Log, step: int) -> None:
    """The TensorBoard image of ``step``: the model's own (shape models), else input | render | truth rows."""
    grid = model.preview(data.val if data.val is not None else data.train, preview_autodecode)
    if grid is None:
        grid = _image_grid(model, data.val_cache, data.train_cache, config)
    model.train()
    if grid is not None:
        assert log.writer is not None
        log.writer.add_image("val/input_render_truth", grid, step)


def _checkpoint(run_dir: Path, step: int, model: SceneModel, optimizer: torch.optim.Optimizer, ctx: DistContext,
                plain: dict, config: TrainConfig, skipped: int) -> Path:
    """Rank 0 writes the checkpoint of ``step`` (every process takes part in gathering the RNG states)."""
    rng = _rng_state(ctx, step)
    path = checkpoint_dir(run_dir) / f"step_{step:08d}.safetensors"
    if ctx.is_main:
        path = save_checkpoint(run_dir, step, model, optimizer, rng, plain, config.keep_checkpoints,
                               extra={"world_size": ctx.world_size, "skipped": skipped})
    return path
