"""One global latent code per scene decoded into a radiance field, volume rendered: the lecture's
3D-structured decoders compared on equal terms (FRAMEWORK.md §3; Xie et al., "Neural Fields in Visual Computing
and Beyond" §2.1.3 for concatenation and FiLM).

Everything but the decoder is shared: a conv encoder (:class:`~sceneprior.encoders.ConvGlobalEncoder`, the code
is the mean over input views) or an auto-decoder table gives ``z``; the decoder turns ``z`` into a field of
density and colour over the scene box (:mod:`sceneprior.representations.global_fields`); rays are volume rendered
inside the box (:func:`sceneprior.renderers.volume_render`: ``coarse_samples`` stratified + ``importance_samples``
from the coarse weights, one network, white background). The decoder is the config's ``conditioning``:

* ``"hypernetwork"``: z -> every weight of the field MLP (SRN / LFN's conditioning, here with volume rendering);
* ``"concat"``: the field's first layer sees ``[gamma(x), z]``;
* ``"film"``: every hidden layer is modulated, ``gamma_k(z) * h + beta_k(z)`` (pi-GAN style);
* ``"voxels"``: transposed 3D convolutions upsample z to a ``voxel_resolution^3 x voxel_channels`` grid (the
  3D-supervised ``voxel-decoder``'s :class:`~sceneprior.representations.VoxelDecoder`), read by trilinear
  interpolation and a small MLP (the lecture's "decoder" box: image-supervised, DVR/NeRF-style rendering).

Presets ``global-hypernet``, ``global-concat``, ``global-film``, ``global-voxels`` share the encoder, field width
and depth, sampling and training defaults, so they differ only in how z reaches the field. Sizes are CPU-sized:
latent 128, field 128 wide with 3 hidden layers, 6 frequencies, 48 + 16 samples per ray, grid 32^3 x 16.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor, nn

from ..data.metadata import scene_bounds
from ..encoders import ConvEncoderConfig
from ..fields.base import FieldFn
from ..renderers import VolumeRenderConfig, ray_aabb, volume_render
from ..representations import ConditionedRadianceField, HyperRadianceField, VoxelDecoderConfig, VoxelRadianceField
from ._parts import GlobalLatentModel
from .base import ModelConfig, Preset, RayOutput, SceneLatent, TrainingDefaults

Conditioning = Literal["hypernetwork", "concat", "film", "voxels"]


@dataclass
class GlobalFieldConfig(ModelConfig):
    conditioning: Conditioning = "film"
    latent_dim: int = 128
    #: None: auto-decoder (one latent per training scene); else a conv encoder
    encoder: ConvEncoderConfig | None = field(default_factory=lambda: ConvEncoderConfig(latent_dim=128))
    width: int = 128
    hidden_layers: int = 3
    num_frequencies: int = 6
    hyper_hidden: int = 64
    voxel_resolution: int = 32
    voxel_channels: int = 16
    voxel_base_channels: int = 128
    voxel_head_width: int = 64
    density_scale: float = 10.0
    density_bias: float = -1.0
    coarse_samples: int = 48
    importance_samples: int = 16
    #: box_min (3) then box_max (3): rays are sampled inside it; fields and grids cover the cube around it
    bounds: tuple[float, ...] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    latent_init_std: float = 0.01
    latent_weight: float = 0.0
    chunk_points: int = 16384

    kind = "global-field"

    def build(self, num_train_scenes: int = 0) -> "GlobalField":
        return GlobalField(self, num_train_scenes)

    def tiny(self) -> "GlobalFieldConfig":
        encoder = None if self.encoder is None else replace(self.encoder, channels=(8, 16), latent_dim=16, pool=2)
        return replace(self, latent_dim=16, encoder=encoder, width=16, hidden_layers=1, num_frequencies=2,
                       hyper_hidden=16, voxel_resolution=8, voxel_channels=4, voxel_base_channels=16,
                       voxel_head_width=16, coarse_samples=8, importance_samples=4)

    @classmethod
    def presets(cls) -> list[Preset]:
        training = TrainingDefaults(lr=5e-4, scenes_per_batch=4, target_views=2, rays_per_scene=256)
        return [
            Preset("global-hypernet", cls(conditioning="hypernetwork"), replace(training),
                   "Global latent (conv encoder) -> hypernetwork-generated MLP field -> volume rendering"),
            Preset("global-concat", cls(conditioning="concat"), replace(training),
                   "Global latent (conv encoder) concatenated to the field's input -> volume rendering"),
            Preset("global-film", cls(conditioning="film"), replace(training),
                   "Global latent (conv encoder) -> FiLM on every hidden layer of the field -> volume rendering"),
            Preset("global-voxels", cls(conditioning="voxels"), replace(training),
                   "Global latent (conv encoder) -> transposed 3D convs -> 32^3 feature grid + small MLP -> volume rendering"),
        ]

    def for_dataset(self, metadata: dict) -> "GlobalFieldConfig":
        """The scene box from ``metadata.json`` ``scene_bounds`` when it has one (else the config's own)."""
        if metadata.get("scene_bounds") is None:
            return self
        return replace(self, bounds=scene_bounds(metadata))

    @property
    def half_extent(self) -> float:
        return max(abs(v) for v in self.bounds)


class GlobalField(GlobalLatentModel):
    #: a volume density decoded from the global code (meshes are its level set)
    geometry = "density"

    def __init__(self, config: GlobalFieldConfig, num_train_scenes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.latent_weight = config.latent_weight
        common = dict(half_extent=config.half_extent, density_scale=config.density_scale, density_bias=config.density_bias)
        self.decoder: nn.Module
        if config.conditioning == "hypernetwork":
            self.decoder = HyperRadianceField(config.latent_dim, config.width, config.hidden_layers,
                                              config.num_frequencies, config.hyper_hidden, **common)
        elif config.conditioning == "voxels":
            voxels = VoxelDecoderConfig(latent_dim=config.latent_dim, resolution=config.voxel_resolution,
                                        out_channels=config.voxel_channels, base_channels=config.voxel_base_channels,
                                        min_channels=config.voxel_channels)
            self.decoder = VoxelRadianceField(voxels, config.voxel_head_width, **common)
        else:
            self.decoder = ConditionedRadianceField(config.latent_dim, config.width, config.hidden_layers,
                                                    config.num_frequencies, config.conditioning, **common)
        self.setup_global_latent(config.latent_dim, config.latent_init_std, config.encoder, num_train_scenes)
        bounds = torch.tensor(config.bounds, dtype=torch.float32)
        self.register_buffer("box_min", bounds[:3], persistent=False)
        self.register_buffer("box_max", bounds[3:], persistent=False)

    def field(self, latent: SceneLatent) -> FieldFn:
        assert latent.code is not None
        return self.decoder.field(latent.code)

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        config = self.config
        near, far, _ = ray_aabb(origins, dirs, self.box_min, self.box_max)
        render_config = VolumeRenderConfig(num_coarse=config.coarse_samples, num_fine=config.importance_samples,
                                           num_depth_jitter=0, perturb=self.training, background=1.0,
                                           last_interval="far", chunk_points=config.chunk_points)
        out = volume_render(self.field(latent), origins, dirs, near, far, render_config)
        return RayOutput(rgb=out.rgb, depth=out.normalized_depth(), opacity=out.opacity,
                         rgb_coarse=None if out.coarse is None else out.coarse.rgb)

    def density_field(self, latent: SceneLatent) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
        """(density_fn, colour_fn) over world points ``(N, 3)`` of scene 0 (the field has no view dependence)."""
        field_fn = self.field(latent.index(0))

        def query(points: Tensor) -> tuple[Tensor, Tensor]:
            out = field_fn(points[None], torch.zeros_like(points)[None])
            return out.density[0, :, 0], out.rgb[0]

        return (lambda p: query(p)[0]), (lambda p: query(p)[1])

    def density_level(self) -> float:
        """The density at which one coarse sampling interval reaches opacity 1/2: ln 2 · samples / box diagonal."""
        lo, hi = torch.tensor(self.config.bounds[:3]), torch.tensor(self.config.bounds[3:])
        return math.log(2.0) * self.config.coarse_samples / float((hi - lo).norm())


__all__ = ["GlobalField", "GlobalFieldConfig"]
