"""Small building blocks of the image models, kept private to ``sceneprior.models``.

The hypernetwork, the renderers and the ray-box test come from :mod:`sceneprior.conditioning` and
:mod:`sceneprior.renderers`; what is left here is specific to these models: SRN's LN+ReLU pixel generator and
its marching start, the global-latent source (auto-decoder table or conv encoder) that SRN and LFN share, and
what the models that lift image features into a box share (``lifting``, ``groundplan``): per-view feature maps,
points-shaped fields, volume rendering inside the box and meshing its density.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..conditioning.lifting import OcclusionAwarePooling
from ..encoders import (
    AutoDecoder,
    AutoDecoderConfig,
    ConvEncoderConfig,
    ConvGlobalEncoder,
    FeatureMapEncoder,
    FeatureMapEncoderConfig,
)
from ..errors import ConfigError
from ..fields.base import FieldFn, FieldOutput
from ..renderers import VolumeRenderConfig, VolumeRenderOutput, ray_aabb, volume_render
from .base import RayOutput, SceneLatent, SceneModel

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


# ----------------------------------------------------------------------------------------- lifted features in a box


def points_field(decode: Callable[[Float[Tensor, "batch point 3"]], FieldOutput]) -> FieldFn:
    """A field over points of any shape ``(batch, ..., 3)`` from ``decode`` over ``(batch, point, 3)``."""

    def field_fn(points: Tensor, dirs: Tensor) -> FieldOutput:
        shape = points.shape
        out = decode(points.reshape(shape[0], -1, 3))
        return out.map(lambda t: t.reshape(*shape[:-1], t.shape[-1]))

    return field_fn


class LiftedBoxModel(SceneModel):
    """A model that lifts per-view image features into a box (``lifting``, ``groundplan``): a 2D CNN with a 1x1 head
    gives each view features and a depth channel (:meth:`setup_lifting`, :meth:`view_maps`), pooled over views with
    occlusion-aware weights; its scene is a view-independent density field inside the box ``config.bounds`` (min
    xyz, max xyz), volume rendered between each ray's entry into the box and its exit (``config.coarse_samples``,
    ``config.importance_samples``, ``config.chunk_points``); subclasses give :meth:`field`."""

    def setup_lifting(self, encoder: FeatureMapEncoderConfig, features: int) -> None:
        """``encoder`` (feature maps), ``head`` (``features`` channels + one of depth), ``pool`` (over views)."""
        self.encoder = FeatureMapEncoder(encoder)
        self.head = nn.Conv2d(self.encoder.out_channels, features + 1, 1)
        self.pool = OcclusionAwarePooling(features)

    def view_maps(self, images: Float[Tensor, "batch view 3 height width"]) -> Float[Tensor, "batch view channel fh fw"]:
        """``head(encoder(image))`` of every view of every scene."""
        maps = self.head(self.encoder(rearrange(images, "b v c h w -> (b v) c h w")))
        return rearrange(maps, "(b v) c h w -> b v c h w", b=images.shape[0])

    def setup_box(self, bounds: tuple[float, ...]) -> None:
        box = torch.tensor(bounds, dtype=torch.float32)
        self.register_buffer("box_min", box[:3], persistent=False)
        self.register_buffer("box_max", box[3:], persistent=False)

    def field(self, latent) -> FieldFn:  # noqa: ANN001
        raise NotImplementedError

    def render_box(self, field: FieldFn, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]
                   ) -> VolumeRenderOutput:
        config = self.config
        near, far, _ = ray_aabb(origins, dirs, self.box_min, self.box_max)
        render_config = VolumeRenderConfig(num_coarse=config.coarse_samples, num_fine=config.importance_samples,
                                           num_depth_jitter=0, perturb=self.training, background=1.0,
                                           last_interval="far", chunk_points=config.chunk_points)
        return volume_render(field, origins, dirs, near, far, render_config)

    def render_rays(self, latent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]  # noqa: ANN001
                    ) -> RayOutput:
        out = self.render_box(self.field(latent), origins, dirs)
        return RayOutput(rgb=out.rgb, depth=out.normalized_depth(), opacity=out.opacity,
                         rgb_coarse=None if out.coarse is None else out.coarse.rgb)

    def density_field(self, latent) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:  # noqa: ANN001
        """(density_fn, colour_fn) of :meth:`field` over world points ``(N, 3)`` of scene 0 (no view dependence)."""
        field = self.field(latent.index(0))

        def query(points: Tensor) -> tuple[Tensor, Tensor]:
            out = field(points[None], torch.zeros_like(points)[None])
            return out.density[0, :, 0], out.rgb[0]

        return (lambda p: query(p)[0]), (lambda p: query(p)[1])

    def density_level(self) -> float:
        """The density at which one coarse sampling interval reaches opacity 1/2: ln 2 · samples / box diagonal."""
        lo, hi = torch.tensor(self.config.bounds[:3]), torch.tensor(self.config.bounds[3:])
        return math.log(2.0) * self.config.coarse_samples / float((hi - lo).norm())
