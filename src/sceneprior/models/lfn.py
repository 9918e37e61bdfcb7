"""Light Field Networks (Sitzmann et al. 2021; REFERENCE.md §2), CPU-sized.

A ray, in Plücker coordinates (d, o×d), goes straight to colour through a hypernetwork-conditioned MLP: one
network evaluation per ray. φ: 6 → W, ``hidden_layers`` W → W (LayerNorm no affine + ReLU), linear W → 3; one
hypernetwork MLP per φ parameter tensor (z → hidden, LayerNorm with affine, ReLU → parameters, output init
kaiming/10), from :mod:`sceneprior.conditioning`; rendering by :func:`sceneprior.renderers.light_field_render`.

Defaults vs the paper: latent 128 (256), width 128 (256), 4 hidden layers (6), hypernetwork hidden 128 (256);
colour through a sigmoid to [0, 1]. Loss = 200·MSE + 1·mean(z²) as in the paper. Auto-decoder by default
(latents N(0, 0.01)); an encoder variant uses the conv global encoder.

Depth (geometry "depth"): LFN's sparse depth from the derivatives of colour with respect to the ray
(:func:`sceneprior.renderers.light_field_depth`, the paper's ``util.light_field_depth_map``: 5 draws of shifts
``U(±5e-3)`` of the two endpoints of a unit segment of the ray, depth ``D ∂c/∂t / (∂c/∂s + ∂c/∂t)``, kept where
``|∂c/∂s + ∂c/∂t| >= 5``, depth > 0 and its std over draws <= 0.01). It is computed when the model renders for
inference (eval mode, no autograd graph requested: ``eval``, ``reconstruct``, ``render``), never in training;
rays whose estimate fails the paper's checks get NaN depth (unknown, not background), so depth error is measured
on the pixels LFN gives depth for, normals come from the depth map where neighbours are known, and meshes from
fusing rendered depth maps (unknown pixels neither add surface nor carve space). The draws use a fixed seed
(``depth_seed``), so a render is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from jaxtyping import Float
from torch import Tensor

from ..conditioning import HyperNetwork, batched_mlp
from ..encoders import ConvEncoderConfig
from ..renderers import LightFieldFn, light_field_depth, light_field_render
from ._parts import GlobalLatentModel
from .base import ModelConfig, Preset, RayOutput, SceneLatent, TrainingDefaults


@dataclass
class LFNConfig(ModelConfig):
    latent_dim: int = 128
    width: int = 128
    hidden_layers: int = 4
    hyper_hidden: int = 128
    hyper_hidden_layers: int = 1
    rgb_weight: float = 200.0
    latent_weight: float = 1.0
    encoder: ConvEncoderConfig | None = None
    latent_init_std: float = 0.01
    #: LFN's sparse depth (the paper's values): draws per ray, endpoint shift range, minimum colour gradient,
    #: maximum std of the estimate over draws, and the seed of the draws
    depth_draws: int = 5
    depth_offset_range: float = 5e-3
    depth_min_gradient: float = 5.0
    depth_max_std: float = 0.01
    depth_seed: int = 0

    kind = "lfn"

    def build(self, num_train_scenes: int) -> "LFN":
        return LFN(self, num_train_scenes)

    def tiny(self) -> "LFNConfig":
        encoder = None if self.encoder is None else replace(self.encoder, channels=(8, 16), latent_dim=16, pool=2)
        return replace(self, latent_dim=16, width=16, hidden_layers=1, hyper_hidden=16, encoder=encoder)

    @classmethod
    def presets(cls) -> list[Preset]:
        return [
            Preset("lfn", cls(),
                   TrainingDefaults(lr=1e-4, latent_lr=1e-3, scenes_per_batch=8, target_views=2, rays_per_scene=1024),
                   "Light field network auto-decoder on Plücker rays, hypernetwork-conditioned"),
            Preset("lfn-encoder", cls(encoder=ConvEncoderConfig(latent_dim=128)),
                   TrainingDefaults(lr=1e-4, scenes_per_batch=8, target_views=2, rays_per_scene=1024),
                   "Light field network with a conv encoder"),
        ]


class LFN(GlobalLatentModel):
    #: sparse depth from the light field's derivatives (LFN §3.3): meshes come from fused depth maps
    geometry = "depth"
    geometry_note = "a light field (it maps rays to colours)"
    def __init__(self, config: LFNConfig, num_train_scenes: int) -> None:
        super().__init__()
        self.config = config
        self.rgb_weight = config.rgb_weight
        self.latent_weight = config.latent_weight
        width = config.width
        targets = [(6, width)] + [(width, width)] * config.hidden_layers + [(width, 3)]
        # hyper_hidden_layers counts every hidden layer (LFN: 1); the shared HyperNetwork counts those after the
        # first. LFN: LayerNorm with affine, separate MLPs for each layer's weight and bias.
        self.hyper = HyperNetwork(targets, config.latent_dim, config.hyper_hidden, config.hyper_hidden_layers - 1,
                                  init_scale=0.1, norm_affine=True, split_bias=True)
        self.setup_global_latent(config.latent_dim, config.latent_init_std, config.encoder, num_train_scenes)

    def light_field(self, latent: SceneLatent) -> LightFieldFn:
        """The light field of the scenes of ``latent``: Plücker coordinates ``(batch, ray, 6)`` -> colour."""
        assert latent.code is not None
        params = self.hyper(latent.code)
        return lambda coords: torch.sigmoid(batched_mlp(params, coords, hidden_norm=True))

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        light_field = self.light_field(latent)
        rgb = light_field_render(light_field, origins, dirs).rgb
        if self.training or torch.is_grad_enabled():  # training and auto-decoding need colour only
            return RayOutput(rgb=rgb)
        return RayOutput(rgb=rgb, depth=self.depth(light_field, origins, dirs))

    def depth(self, light_field: LightFieldFn, origins: Float[Tensor, "batch ray 3"],
              dirs: Float[Tensor, "batch ray 3"]) -> Float[Tensor, "batch ray"]:
        """LFN's sparse depth along each unit ray (NaN where the estimate fails the paper's checks)."""
        c = self.config
        generator = torch.Generator(device=origins.device).manual_seed(c.depth_seed)
        est = light_field_depth(light_field, origins, dirs, num_draws=c.depth_draws, offset_range=c.depth_offset_range,
                                min_gradient=c.depth_min_gradient, max_std=c.depth_max_std, generator=generator)
        return torch.where(est.valid, est.depth, torch.full_like(est.depth, float("nan")))
