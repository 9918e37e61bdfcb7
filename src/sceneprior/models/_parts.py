"""Small building blocks of the image models, kept private to ``sceneprior.models``.

The hypernetwork, the renderers and the ray-box test come from :mod:`sceneprior.conditioning` and
:mod:`sceneprior.renderers`; what is left here is specific to these models: SRN's LN+ReLU pixel generator and
its marching start, and the global-latent source (auto-decoder table or conv encoder) that SRN and LFN share.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..encoders import AutoDecoder, AutoDecoderConfig, ConvEncoderConfig, ConvGlobalEncoder
from ..errors import ConfigError
from .base import SceneLatent, SceneModel

# ----------------------------------------------------------------------------------------- MLPs


def ln_relu_mlp(sizes: list[int], norm_last: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k + 2 < len(sizes) or norm_last:
            layers += [nn.LayerNorm(sizes[k + 1], elementwise_affine=False), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------------------- ray geometry


def ray_sphere_entry(origins: Tensor, dirs: Tensor, radius: float) -> Tensor:
    """Distance along each unit ray to where it enters the sphere of ``radius`` at the origin (the closest
    approach for rays that miss it), never negative."""
    b = (origins * dirs).sum(-1)
    c = (origins * origins).sum(-1) - radius**2
    disc = b * b - c
    t = -b - torch.sqrt(disc.clamp(min=0.0))
    return torch.where(disc > 0, t, -b).clamp(min=0.0)


# ----------------------------------------------------------------------------------------- global latents


class GlobalLatentModel(SceneModel):
    """A model with one global code per scene, from an auto-decoder table or a conv encoder (SRN, LFN)."""

    def setup_global_latent(
        self, latent_dim: int, latent_init_std: float, encoder: ConvEncoderConfig | None, num_train_scenes: int
    ) -> None:
        """Auto-decoder table when ``encoder`` is None, else the conv global encoder; sets ``modes`` to match."""
        if encoder is None:
            self.latents = AutoDecoder(num_train_scenes, AutoDecoderConfig(latent_dim, latent_init_std))
            self.encoder = None
            self.modes = ("autodecode",)
        else:
            if encoder.latent_dim != latent_dim:
                raise ConfigError(
                    f"latent_dim is {latent_dim} but encoder.latent_dim is {encoder.latent_dim}: they must match "
                    f"(override both, e.g. --model-override latent_dim={latent_dim} "
                    f"--model-override 'encoder={{\"latent_dim\": {latent_dim}}}')")
            self.latents = None
            self.encoder = ConvGlobalEncoder(encoder)
            self.modes = ("encode", "autodecode", "encode+autodecode")

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, images, cam2world, intrinsics) -> SceneLatent:
        """The mean over input views of the encoder's code of each view."""
        if self.encoder is None:
            return super().encode(images, cam2world, intrinsics)
        batch = images.shape[0]
        codes = self.encoder(images.flatten(0, 1)).unflatten(0, (batch, -1))
        return SceneLatent(code=codes.mean(1))
