"""Tiny untrained models saved as real runs (safetensors checkpoint + JSON config), for tests and for trying the
pipeline before a trained model is available. Their output is meaningless; every stage still runs."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..models import build_model
from ..models.autoencoder import AutoEncoderConfig
from ..models.lfn import LFNConfig
from ..models.pixelnerf import PixelNeRFConfig
from ..models.srn import SRNConfig
from .prior import ViewPrior


def tiny_config(kind: str) -> object:
    from ..encoders import ConvEncoderConfig, FeatureMapEncoderConfig

    if kind == "pixelnerf":
        return PixelNeRFConfig(encoder=FeatureMapEncoderConfig(stem_channels=8, stage_channels=(8, 16)), width=32,
                               blocks=2, combine_layer=1, coarse_samples=12, importance_samples=4, depth_samples=2)
    if kind == "srn":
        return SRNConfig(latent_dim=16, phi_width=32, phi_layers=2, hyper_hidden=16, hyper_hidden_layers=1,
                         marcher_steps=4, pixel_width=16, pixel_layers=2)
    if kind == "srn-encoder":  # SRN with a conv global encoder (the shipped default's architecture, tiny)
        from dataclasses import replace

        return replace(tiny_config("srn"), encoder=ConvEncoderConfig(channels=(8, 16), latent_dim=16, pool=2))
    if kind == "lfn":
        return LFNConfig(latent_dim=16, width=16, hidden_layers=1, hyper_hidden=16)
    if kind == "autoencoder":
        return AutoEncoderConfig(encoder=ConvEncoderConfig(channels=(8, 16), latent_dim=16, pool=2), output_size=32,
                                 decoder_channels=(16, 8), pose_hidden=32)
    raise ValueError(kind)


def save_tiny_run(run_dir: str | Path, kind: str = "pixelnerf", resolution: int = 32, seed: int = 0,
                  num_train_scenes: int = 4, view_prior: ViewPrior | None = None, data: str | Path | None = None) -> Path:
    """An untrained tiny model of ``kind`` (pixelnerf, srn, srn-encoder, lfn, autoencoder) saved with the
    checkpoint writer as ``run_dir``, with a ``view_prior.json`` unless ``data`` names the dataset it was
    (notionally) trained on."""
    from ..training.checkpoint import save_checkpoint
    from ..training.trainer import RunConfig, TrainConfig

    torch.manual_seed(seed)
    config = tiny_config(kind)
    model_kind = "srn" if kind == "srn-encoder" else kind
    model = build_model(model_kind, config, num_train_scenes)
    run = RunConfig(model_kind, config, TrainConfig(data=str(data or ""), preset=kind, steps=0, image_size=resolution),
                    num_train_scenes)
    run_dir = Path(run_dir)
    save_checkpoint(run_dir, 0, model, None, {"torch": torch.get_rng_state()}, run.to_plain())
    if data is None:
        prior = view_prior or ViewPrior(resolution=resolution, category="cars", source="tiny test model")
        (run_dir / "view_prior.json").write_text(json.dumps(prior.to_json(), indent=2) + "\n")
    return run_dir
