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

from ..data.types import SceneViews, ViewBatch
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


def observations_from_views(views: SceneViews | ViewBatch) -> tuple[Tensor, Tensor, Tensor]:
    """(images (batch, view, 3, H, W), cam2world (batch, view, 4, 4), intrinsics (batch, view, 3, 3))."""
    if isinstance(views, SceneViews):
        return views.images[None], views.cam2world[None], views.intrinsics[None]
    return views.images, views.cam2world, views.intrinsics


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
    observations: SceneViews | ViewBatch | tuple[Tensor, Tensor, Tensor],
    config: InferenceConfig,
    given: Float[Tensor, "batch latent"] | None = None,
) -> InferenceResult:
    """The latent of the observed scene(s), by ``config.mode``; ``losses`` logs the objective per step."""
    if config.mode not in model.modes:
        raise ConfigError(f"{type(model).__name__} supports modes {', '.join(model.modes)}; got {config.mode!r}")
    images, cam2world, intrinsics = observations if isinstance(observations, tuple) else observations_from_views(observations)
    images, cam2world, intrinsics = (x.to(model.device) for x in (images, cam2world, intrinsics))
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
            latent = model.initial_latent(batch, "given", encoded.code, observed=(images, cam2world, intrinsics))
        else:
            latent = model.initial_latent(batch, config.init, given, observed=(images, cam2world, intrinsics))
        assert latent.code is not None
        code = latent.code.detach().clone().requires_grad_(True)
        latent.code = code
        generator = torch.Generator().manual_seed(config.seed)

        def objective(step: int) -> Tensor:
            return model.observation_loss(latent, images, cam2world, intrinsics, config.rays_per_step, generator).total

        losses = optimise_code(code, objective, config.steps, config.lr)
        return InferenceResult(latent=latent.detach(), losses=losses, seconds=time.perf_counter() - start)
