"""Tiny untrained models saved as real runs (safetensors checkpoint + JSON config), for tests and for trying the
pipeline before a trained model is available. Their output is meaningless; every stage still runs."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..inference.prior import ViewPrior
from ..registry import get_preset


def tiny_config(preset: str) -> object:
    """The tiny variant (:meth:`~sceneprior.models.ModelConfig.tiny`) of a preset's model config."""
    return get_preset(preset).model.tiny()


def save_tiny_run(run_dir: str | Path, preset: str = "pixelnerf", resolution: int = 32, seed: int = 0,
                  num_train_scenes: int = 4, view_prior: ViewPrior | None = None, data: str | Path | None = None) -> Path:
    """An untrained tiny model of a preset (e.g. pixelnerf, srn, srn-encoder, lfn, autoencoder) saved with the
    checkpoint writer as ``run_dir``, with a ``view_prior.json`` unless ``data`` names the dataset it was
    (notionally) trained on."""
    from ..checkpoint import save_checkpoint
    from .trainer import RunConfig, TrainConfig

    torch.manual_seed(seed)
    config = tiny_config(preset)
    model = config.build(num_train_scenes)
    run = RunConfig(config, TrainConfig(data=str(data or ""), preset=preset, steps=0, image_size=resolution),
                    num_train_scenes)
    run_dir = Path(run_dir)
    save_checkpoint(run_dir, 0, model, None, {"torch": torch.get_rng_state()}, run.to_plain())
    if data is None:
        prior = view_prior or ViewPrior(resolution=resolution, category="cars", source="tiny test model")
        (run_dir / "view_prior.json").write_text(json.dumps(prior.to_json(), indent=2) + "\n")
    return run_dir
