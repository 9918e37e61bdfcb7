"""Lifting 2D features into a 3D feature grid (DeepVoxels, Sitzmann et al. CVPR 2019; Learnt Stereo Machines,
Kar et al. 2017; FRAMEWORK.md §8; REFERENCE.md §7, §20), conditioned on one or several posed views.

Encoder: a 2D CNN (:class:`~sceneprior.encoders.FeatureMapEncoder` + a 1x1 head) gives each source view a
feature map and a depth map. Lifting: every voxel centre of a ``grid``³ grid over the scene's cube is projected
into every source view and the features are sampled bilinearly there (DeepVoxels' lifting); the views are
merged with learned, occlusion-aware visibility weights (:class:`~sceneprior.conditioning.lifting.OcclusionAwarePooling`:
a softmax over views of scores from each view's feature, the voxel's depth in the view and its gap to the depth
the view sees), not a plain mean. A 3D U-Net (:class:`~sceneprior.encoders3d.UNet3D`, DeepVoxels' inpainting
network) turns the lifted volume into the feature grid, read by trilinear interpolation
(:class:`~sceneprior.representations.FeatureGrid`); a small MLP decodes [grid feature, positional encoding of
the point] to density and colour, volume rendered (:func:`sceneprior.renderers.volume_render`).

Differences from DeepVoxels, stated: DeepVoxels fits one scene, keeps a persistent 32³×64 grid updated by a
GRU over training steps and renders by projecting the grid into the target frustum with an occlusion network
and a 2D U-Net, trained with L1 + GAN. Here the grid is *inferred per scene* from the source views in one
forward pass (a prior over scenes, as in the rest of the framework), occlusion reasoning weighs the source
views during lifting, and rendering is emission-absorption volume rendering of a decoded field with an MSE
loss. Grid 32³ × 8-16 channels instead of 32³ × 64 (CPU-sized).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..conditioning.lifting import grid_points, unproject
from ..data.metadata import scene_bounds
from ..encoders import FeatureMapEncoderConfig
from ..encoders3d import UNet3D, UNet3DConfig
from ..fields import PositionalEncoding
from ..fields.base import FieldFn, FieldOutput
from ..representations import Bounds, FeatureGrid
from ._parts import LiftedBoxModel, points_field
from .base import ModelConfig, Preset, SceneLatent, TrainingDefaults


@dataclass
class LiftingConfig(ModelConfig):
    encoder: FeatureMapEncoderConfig = field(default_factory=lambda: FeatureMapEncoderConfig(16, (16, 32, 64)))
    #: lifted feature channels per view (plus one depth channel)
    features: int = 16
    grid: int = 32
    unet_levels: int = 3
    unet_feature_maps: int = 8
    grid_channels: int = 16
    decoder_width: int = 64
    num_frequencies: int = 4
    coarse_samples: int = 48
    importance_samples: int = 16
    #: box_min (3) then box_max (3): rays are sampled inside it; the grid covers the cube around it
    bounds: tuple[float, ...] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    chunk_points: int = 16384

    kind = "lifting"

    def build(self, num_train_scenes: int = 0) -> "LiftedGrid":
        return LiftedGrid(self, num_train_scenes)

    def tiny(self) -> "LiftingConfig":
        return replace(self, encoder=replace(self.encoder, stem_channels=8, stage_channels=(8, 16, 16)), features=8,
                       grid=16, unet_levels=2, unet_feature_maps=4, grid_channels=8, decoder_width=32,
                       coarse_samples=16, importance_samples=8)

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset(
            "lifting", cls(),
            TrainingDefaults(lr=5e-4, scenes_per_batch=4, target_views=2, rays_per_scene=256, input_views=(1, 2)),
            "DeepVoxels-style lifting: 2D features unprojected into a 3D grid (occlusion-aware over views), 3D U-Net, "
            "volume rendering",
        )]

    def for_dataset(self, metadata: dict) -> "LiftingConfig":
        """The scene box from ``metadata.json`` ``scene_bounds`` when it has one (else the config's own)."""
        if metadata.get("scene_bounds") is None:
            return self
        return replace(self, bounds=scene_bounds(metadata))

    @property
    def half_extent(self) -> float:
        return max(abs(v) for v in self.bounds)


@dataclass
class GridLatent(SceneLatent):
    """A batch of scenes as 3D feature grids ``(batch, channel, z, y, x)`` over the cube ``[-s, s]^3``."""

    grid: Float[Tensor, "batch channel depth height width"] | None = None

    @property
    def batch_size(self) -> int:
        assert self.grid is not None
        return self.grid.shape[0]

    def detach(self) -> "GridLatent":
        return replace(self, grid=None if self.grid is None else self.grid.detach())

    def index(self, i: int) -> "GridLatent":
        take = lambda t: None if t is None else t[i : i + 1]  # noqa: E731
        return replace(self, grid=take(self.grid), cam2world=take(self.cam2world), intrinsics=take(self.intrinsics))


class LiftedGrid(LiftedBoxModel):
    modes = ("encode",)
    #: a volume density decoded from the grid (meshes are its level set)
    geometry = "density"

    def __init__(self, config: LiftingConfig, num_train_scenes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.setup_lifting(config.encoder, config.features)
        self.project = nn.Conv3d(self.pool.out_channels, config.unet_feature_maps, 1)
        self.unet = UNet3D(UNet3DConfig(config.unet_feature_maps, config.grid_channels, config.unet_levels,
                                        config.unet_feature_maps, num_groups=min(8, config.unet_feature_maps)))
        self.encoding = PositionalEncoding(config.num_frequencies, freq_factor=torch.pi)
        w = config.decoder_width
        self.decoder = nn.Sequential(nn.Linear(config.grid_channels + self.encoding.out_dim, w), nn.ReLU(),
                                     nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 4))
        self.setup_box(config.bounds)

    @property
    def grid_bounds(self) -> Bounds:
        return Bounds(half_extent=self.config.half_extent, padding=0.0)

    def lift(self, images: Float[Tensor, "batch view 3 height width"], cam2world: Float[Tensor, "batch view 4 4"],
             intrinsics: Float[Tensor, "batch view 3 3"]) -> Float[Tensor, "batch channel gz gy gx"]:
        """The lifted volume before the 3D U-Net: per voxel, the occlusion-weighted features of the views."""
        batch = images.shape[0]
        maps = self.view_maps(images)
        s, n = self.config.half_extent, self.config.grid
        points = grid_points((-s, -s, -s), (s, s, s), (n, n, n), images.dtype).to(images.device)
        flat = points.reshape(1, -1, 3).expand(batch, -1, -1)
        samples = unproject(maps[:, :, :-1], F.softplus(maps[:, :, -1:] + 1.0), flat, cam2world, intrinsics,
                            (images.shape[-2], images.shape[-1]))
        return rearrange(self.pool(samples), "b (z y x) c -> b c z y x", z=n, y=n, x=n)

    def encode(self, images, cam2world, intrinsics) -> GridLatent:
        grid = self.unet(self.project(self.lift(images, cam2world, intrinsics)))
        return GridLatent(cam2world=cam2world, intrinsics=intrinsics, image_size=(images.shape[-2], images.shape[-1]), grid=grid)

    def field(self, latent: GridLatent) -> FieldFn:
        assert latent.grid is not None
        grid = FeatureGrid(latent.grid, self.grid_bounds)
        scale = 1.0 / self.config.half_extent

        def decode(flat: Tensor) -> FieldOutput:
            raw = self.decoder(torch.cat([grid.sample(flat), self.encoding(flat * scale)], dim=-1))
            return FieldOutput(density=F.softplus(raw[..., :1] - 1.0) * 10.0, rgb=torch.sigmoid(raw[..., 1:]))

        return points_field(decode)


    # render_rays, density_field and density_level: LiftedBoxModel's (the grid's field inside the box)


__all__ = ["GridLatent", "LiftedGrid", "LiftingConfig"]
