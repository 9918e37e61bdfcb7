"""Inference of a shape model's latent from an observed point cloud (FRAMEWORK.md §5 for the 3D-supervised
models): encoding (the model's point encoder, one forward pass) or auto-decoding (DeepSDF's test-time
optimisation of a global code, weights frozen, on SDF samples made from the oriented points)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from ..encoders3d import sample_input_points
from ..errors import ConfigError
from ..models3d.batch import surface_observation
from ..models3d.models import ShapeLatent, ShapeModel
from .infer import frozen, optimise_code


@dataclass
class FitConfig:
    """Test-time latent optimisation (DeepSDF: 800 Adam steps, lr 5e-3 cut 10x at step 400, reg 1e-4 mean(z^2),
    init N(0, 0.01)); the latent starts from ``init``: zeros, the mean training code, or a random N(0, 0.01)."""

    steps: int = 200
    lr: float = 5e-3
    samples_per_step: int = 4096
    init: Literal["zeros", "mean", "random"] = "mean"
    reg: float = 1e-4
    seed: int = 0


def fit_shape_latent(
    model: ShapeModel, points: Float[Tensor, "sample 3"], sdf: Float[Tensor, " sample"], config: FitConfig = FitConfig()
) -> tuple[ShapeLatent, list[float]]:
    """Auto-decoding: a global code (weights frozen) optimised to explain SDF samples of one shape (occupancy
    models fit ``sdf < 0`` on the samples off the surface). Returns the latent and the loss of every step."""
    if model.latents is None:
        raise ConfigError(f"{type(model).__name__} has no auto-decoder table; use its encoder")
    generator = torch.Generator().manual_seed(config.seed)
    dim = model.latent_dim
    device = model.latents.codes.weight.device
    if config.init == "mean":
        code = model.latents.mean_code()[None].clone()
    elif config.init == "random":
        code = 0.01 * torch.randn(1, dim, generator=generator).to(device)
    else:
        code = torch.zeros(1, dim, device=device)
    points, sdf = points.to(device), sdf.to(device)
    if model.geometry == "occupancy":
        keep = sdf != 0
        points, sdf = points[keep], sdf[keep]
    occupancy = (sdf < 0).to(points.dtype)
    code.requires_grad_(True)

    def objective(step: int) -> Tensor:
        count = min(config.samples_per_step, points.shape[0])
        index = torch.randperm(points.shape[0], generator=generator)[:count].to(device)
        values = model.decode(ShapeLatent(code=code), points[index][None])[0]
        loss, _ = model.value_loss(values, occupancy[index], sdf[index])
        return loss + config.reg * code.pow(2).mean()

    with frozen(model):
        # DeepSDF cuts the rate 10x half-way
        losses = optimise_code(code, objective, config.steps, config.lr, lr_drop_step=config.steps // 2)
    return ShapeLatent(code=code.detach()), losses


def preview_autodecode(model: ShapeModel, points: Float[Tensor, "sample 3"], sdf: Float[Tensor, " sample"]) -> ShapeLatent:
    """A short fit (30 steps, lr 1e-2) for the trainer's TensorBoard previews (:meth:`ShapeModel.preview`)."""
    return fit_shape_latent(model, points, sdf, FitConfig(steps=30, lr=1e-2))[0]


def infer_shape_latent(
    model: ShapeModel, points: Float[Tensor, "point 3"], normals: Float[Tensor, "point 3"], fit: FitConfig,
    generator: torch.Generator,
) -> tuple[ShapeLatent, list[float]]:
    """The latent of one observed oriented point cloud: the encoder's (``data.input_points`` of the points, with
    the training noise), or a code fitted by :func:`fit_shape_latent` (auto-decoders) to SDF samples made from at
    most ``data.input_points`` of the points."""
    data = model.data
    if model.latents is None:
        observed = sample_input_points(points[None], data.input_points, data.input_noise, generator)
        with torch.no_grad():
            return model.encode_points(observed), []
    if points.shape[0] > data.input_points:
        keep = torch.randperm(points.shape[0], generator=generator)[: data.input_points]
        points, normals = points[keep], normals[keep]
    scale = model.bounds.half_extent / 0.5
    samples, sdf = surface_observation(points, normals, eps=(0.01 * scale, 0.03 * scale))
    return fit_shape_latent(model, samples, sdf, fit)
