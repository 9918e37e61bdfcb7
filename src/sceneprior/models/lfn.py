"""Light Field Networks (Sitzmann et al. 2021; REFERENCE.md §2), CPU-sized.

A ray, in Plücker coordinates (d, o×d), goes straight to colour through a hypernetwork-conditioned MLP: one
network evaluation per ray. φ: 6 → W, ``hidden_layers`` W → W (LayerNorm no affine + ReLU), linear W → 3; one
hypernetwork MLP per φ parameter tensor (z → hidden, LayerNorm with affine, ReLU → parameters, output init
kaiming/10), from :mod:`sceneprior.conditioning`; rendering by :func:`sceneprior.renderers.light_field_render`.

Defaults vs the paper: latent 128 (256), width 128 (256), 4 hidden layers (6), hypernetwork hidden 128 (256);
colour through a sigmoid to [0, 1]. Loss = 200·MSE + 1·mean(z²) as in the paper. Auto-decoder by default
(latents N(0, 0.01)); an encoder variant uses the conv global encoder. No depth (LFN's sparse depth from
light-field derivatives is not implemented).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from jaxtyping import Float
from torch import Tensor

from ..conditioning import HyperNetwork, batched_mlp
from ..encoders import ConvEncoderConfig
from ..renderers import light_field_render
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

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        assert latent.code is not None
        params = self.hyper(latent.code)
        light_field = lambda coords: torch.sigmoid(batched_mlp(params, coords, hidden_norm=True))  # noqa: E731
        return RayOutput(rgb=light_field_render(light_field, origins, dirs).rgb)
