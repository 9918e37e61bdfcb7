"""``sceneprior train``: train an image model preset on a dataset into a run folder."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..registry import PRESET_NAMES

    p = subparsers.add_parser(
        "train",
        help="train an image model (autoencoder, srn, lfn, pixelnerf, ...) on posed images, or a 3D shape model "
        "(deepsdf, occnet, convonet-*, voxel-*) on points.npz / sdf.npz",
        description="Train a preset on the train split of DATA (SRN layout). Writes RUN/checkpoints/*.safetensors, "
        "RUN/config.json, RUN/metrics.jsonl and TensorBoard logs in RUN/tb (loss curves, held-out view grids).",
    )
    p.add_argument("--preset", required=True, choices=PRESET_NAMES)
    p.add_argument("--data", required=True, help="dataset root (SRN layout, e.g. from 'sceneprior data generate')")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--steps", type=int, default=None, help="train until this many steps in total")
    p.add_argument("--minutes", type=float, default=None, help="train for this many minutes (wall clock)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint of --out")
    p.add_argument("--init-from", metavar="MODEL", default=None,
                   help="start a new run from MODEL's weights (a shipped model's name, a run folder or a checkpoint; "
                        "same kind as --preset, its architecture kept, fresh optimiser, step 0): fine-tune it on --data")
    p.add_argument("--reset-optimizer", action="store_true",
                   help="with --resume: start fresh optimizer moments instead of the checkpoint's (e.g. a checkpoint "
                   "whose optimizer state no longer fits the model's layout)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=None,
                   help="scenes per step over all processes (the global batch; preset default otherwise)")
    p.add_argument("--rays", type=int, default=None, help="rays per scene per step (ray-based models)")
    p.add_argument("--target-views", type=int, default=None, help="target views per scene per step")
    p.add_argument("--input-views", type=int, nargs="+", default=None, metavar="N",
                   help="source views per scene per step for models that encode views (pixel-aligned presets), like "
                   "the official pixelNeRF's -V; several values: one is drawn per step (preset default otherwise, "
                   "e.g. pixelnerf: 1 2)")
    p.add_argument("--all-rays", action="store_true", help="draw rays from whole images even where the preset "
                   "draws them inside the object's 2D bounding box (pixelNeRF)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--lr-decay-start", type=int, default=None, metavar="STEP",
                   help="keep the learning rates constant until STEP, then decay them (cosine) over --lr-decay-steps "
                   "to --lr-final-scale times their value; with --resume it replaces the run's schedule (e.g. to "
                   "anneal the last steps of a run). Default: constant")
    p.add_argument("--lr-decay-steps", type=int, default=1000, metavar="N")
    p.add_argument("--lr-final-scale", type=float, default=0.1, metavar="F")
    p.add_argument("--latent-lr", type=float, default=None, help="learning rate of auto-decoder latents")
    p.add_argument("--image-size", type=int, default=None, help="resize images to this size (default: as stored)")
    p.add_argument("--image-every", type=int, default=500, help="steps between held-out image grids (0: never)")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--keep", type=int, default=3, help="checkpoints kept")
    p.add_argument("--model-override", action="append", default=[], metavar="FIELD=JSON",
                   help="replace a field of the preset's model config, e.g. --model-override width=64 (repeatable)")
    p.add_argument("--log-every", type=int, default=10, help="steps between logged losses (metrics.jsonl, TensorBoard)")
    p.add_argument("--workers", type=int, default=0,
                   help="loader processes reading each batch's views from disk (0: hold the training split in memory)")
    p.add_argument("--on-nonfinite", choices=["stop", "skip"], default="stop",
                   help="a NaN/Inf loss or gradient stops the run (default) or skips the batch (counted, logged)")
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda (each torchrun process uses GPU LOCAL_RANK, NCCL) or auto; see docs/DISTRIBUTED.md")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fastest on a shared machine, where spinning threads collide)")
    p.set_defaults(func=run)


def _overrides(items: list[str]) -> dict | None:
    """``["width=64", "encoder={...}"]`` -> ``{"width": 64, "encoder": {...}}`` (values are JSON, else strings)."""
    import json

    from ..errors import ConfigError

    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--model-override {item!r}: expected FIELD=VALUE")
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out or None


def run(args: argparse.Namespace) -> int:
    import torch as _torch

    _torch.set_num_threads(max(1, args.threads))
    from ..errors import ConfigError
    from ..registry import get_preset
    from ..training import BatchConfig, TrainConfig, train

    if args.steps is None and args.minutes is None:
        raise ConfigError("give --steps N or --minutes M")
    if args.resume and args.init_from is not None:
        raise ConfigError("--init-from starts a new run from another model's weights; --resume continues --out's own run: give one")
    preset = get_preset(args.preset)
    defaults = preset.training
    if args.input_views is not None and min(args.input_views) < 1:
        raise ConfigError(f"--input-views {' '.join(map(str, args.input_views))}: every value must be 1 or more")
    config = TrainConfig(
        data=args.data, preset=args.preset, steps=args.steps, minutes=args.minutes, seed=args.seed,
        lr=args.lr if args.lr is not None else defaults.lr,
        latent_lr=args.latent_lr if args.latent_lr is not None else defaults.latent_lr,
        lr_decay_start=args.lr_decay_start, lr_decay_steps=args.lr_decay_steps, lr_final_scale=args.lr_final_scale,
        batch=BatchConfig(
            scenes_per_batch=args.batch_size if args.batch_size is not None else defaults.scenes_per_batch,
            target_views=args.target_views if args.target_views is not None else defaults.target_views,
            rays_per_scene=args.rays if args.rays is not None else defaults.rays_per_scene,
            input_views=tuple(args.input_views) if args.input_views is not None else defaults.input_views,
            object_bbox_rays=defaults.object_bbox_rays and not args.all_rays,
        ),
        image_size=args.image_size, image_every=args.image_every, checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep, progress=not args.no_progress, log_every=max(1, args.log_every),
        workers=args.workers, on_nonfinite=args.on_nonfinite, device=args.device,
        model_overrides=_overrides(args.model_override), init_from=args.init_from,
    )
    result = train(args.out, config, resume=args.resume, reset_optimizer=args.reset_optimizer)
    last = result.losses[-1][1] if result.losses else float("nan")
    if not result.is_main:  # under torchrun, rank 0 reports
        return 0
    print(f"trained {args.preset} to step {result.step}: last loss {last:.5g}, {result.steps_per_second:.2f} steps/s, "
          f"{result.rays_per_second:.0f} rays/s; checkpoint {result.checkpoint}")
    return 0
