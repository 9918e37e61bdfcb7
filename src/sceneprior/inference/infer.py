"""Inference of a scene latent from posed observations.

* ``encode``: ``model.encode(images, cameras)``, one forward pass.
* ``autodecode``: a fresh latent (zeros — LFN; the mean of the training latents; or a given one), every network
  weight frozen, Adam steps on the latent alone minimising the model's observation loss (its training loss on
  the observed views: 200·MSE + mean(z²) for SRN/LFN), as in SRN / LFN / DeepSDF test-time optimisation.
* ``encode+autodecode``: the same optimisation started from the encoder's latent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from ..data.types import PosedViews, SceneViews
from ..errors import ConfigError
from ..models.base import SceneLatent, SceneModel


@dataclass
class InferenceConfig:
    mode: Literal["encode", "autodecode", "encode+autodecode"] = "encode"
    steps: int = 200
    lr: float = 1e-2
    init: Literal["zeros", "mean", "given"] = "zeros"
    #: random rays of the observed views per step (None: every pixel, as SRN's full-image batches)
    rays_per_step: int | None = 2048
    seed: int = 0


@dataclass
class InferenceResult:
    latent: SceneLatent
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def observations_from_views(views: SceneViews | PosedViews) -> PosedViews:
    """Observed views as a batch (the views of one scene: a batch of one)."""
    return PosedViews.of_scene(views) if isinstance(views, SceneViews) else views


@contextlib.contextmanager
def frozen(model: SceneModel):
    """Every parameter of ``model`` with requires_grad off, and eval mode, restored afterwards."""
    flags = [p.requires_grad for p in model.parameters()]
    was_training = model.training
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(was_training)


def optimise_code(code: Tensor, objective: Callable[[int], Tensor], steps: int, lr: float,
                  lr_drop_step: int | None = None) -> list[float]:
    """The auto-decoding loop of every model: Adam on ``code`` (a leaf tensor) alone, ``steps`` steps minimising
    ``objective(step)``, the rate cut 10x from step ``lr_drop_step`` on (DeepSDF); gradients on even when called
    under ``no_grad``. Freeze the model's weights around it (:func:`frozen`). Returns the loss of every step."""
    optimizer = torch.optim.Adam([code], lr=lr)
    losses: list[float] = []
    with torch.enable_grad():
        for step in range(steps):
            if step == lr_drop_step:
                for group in optimizer.param_groups:
                    group["lr"] = lr / 10
            loss = objective(step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    return losses


def infer(
    model: SceneModel,
    observations: SceneViews | PosedViews,
    config: InferenceConfig,
    given: Float[Tensor, "batch latent"] | None = None,
) -> InferenceResult:
    """The latent of the observed scene(s), by ``config.mode``; ``losses`` logs the objective per step."""
    if config.mode not in model.modes:
        raise ConfigError(f"{type(model).__name__} supports modes {', '.join(model.modes)}; got {config.mode!r}")
    observed = observations_from_views(observations).to(model.device)
    images, cam2world, intrinsics = observed.images, observed.cam2world, observed.intrinsics
    if given is not None:
        given = given.to(model.device)
    start = time.perf_counter()
    with frozen(model):
        if config.mode == "encode":
            with torch.no_grad():
                latent = model.encode(images, cam2world, intrinsics)
            return InferenceResult(latent=latent, seconds=time.perf_counter() - start)
        batch = images.shape[0]
        if config.mode == "encode+autodecode":
            with torch.no_grad():
                encoded = model.encode(images, cam2world, intrinsics)
            latent = model.initial_latent(batch, "given", encoded.code, observed=observed)
        else:
            latent = model.initial_latent(batch, config.init, given, observed=observed)
        assert latent.code is not None
        code = latent.code.detach().clone().requires_grad_(True)
        latent.code = code
        generator = torch.Generator().manual_seed(config.seed)

        def objective(step: int) -> Tensor:
            return model.observation_loss(latent, images, cam2world, intrinsics, config.rays_per_step, generator).total

        losses = optimise_code(code, objective, config.steps, config.lr)
        return InferenceResult(latent=latent.detach(), losses=losses, seconds=time.perf_counter() - start)
