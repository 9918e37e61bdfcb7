"""pixelNeRF (Yu et al. 2021; REFERENCE.md §3), CPU-sized.

Encoder: multi-scale feature maps (pixelNeRF's ResNet structure, from scratch). A query point is moved into
each source camera's frame, projected, and the feature map is sampled there (bilinear, border padding); the
point (positional encoding: 6 frequencies × factor 1.5, raw input kept) and the view direction, both in the
source camera frame, enter a ResnetFC body; each source view's feature is added through its own linear map
before blocks 0..combine_layer-1, then the per-view activations are averaged and the remaining blocks run once.
Head: ReLU → Linear(W→4), σ = ReLU, rgb = sigmoid; the density row of that linear is scaled by 0.02 with bias 0.5,
so σ starts alive at every point (with pixelNeRF's Kaiming row it started dead in some networks: see
:class:`~sceneprior.fields.ResnetFCField`). Volume rendering with separate coarse and fine networks:
``coarse_samples`` stratified samples in [near, far] from the scene's bounding box, then ``importance_samples``
from the coarse weights plus ``depth_samples`` around the coarse depth (N(0, depth_std)), the fine network
evaluated on the sorted union; last interval to far; white background. Loss = MSE(coarse) + MSE(fine).

Assembled from the shared parts: :class:`~sceneprior.encoders.FeatureMapEncoder`,
:func:`~sceneprior.conditioning.sample_pixel_features` (projection and bilinear sampling),
:class:`~sceneprior.fields.ResnetFCField` and :func:`~sceneprior.renderers.volume_render`. The feature-injection
linears are applied to the feature maps before sampling (identical result, far cheaper: see
:meth:`ResnetFCField.project_features`).

``view_pooling="attention"`` (preset ``pixelnerf-attention``) replaces the mean over source views by a learned
aggregation (IBRNet / NeRFormer-style, :class:`~sceneprior.conditioning.ViewAttentionPool`).

Defaults vs the paper: feature channels 32+32+64+128 = 256 (512), width 64 (512), samples 32 / 16 / 8
(64 / 16 / 16). ``xyz_frame="rotated"`` (default) feeds the point rotated into the source camera's axes without
the translation, as pixelNeRF's code does (``normalize_z=True``): for object-centred data the object's centre is
then always at the origin of the input. ``"view"`` feeds the full view-space point (the paper's text); the
centre then moves with the camera distance, which the network has to infer from the image — on our cars300 it
learned markedly slower (training-ray PSNR 12.2 vs 13.1 dB over steps 400–499, results/quality/pixelnerf_cpu2).
Rendering is :func:`sceneprior.renderers.volume_render` (pixelNeRF's sampling is its default scheme).
Near/far come from the scene bounds (metadata ``scene_bounds``) by a ray–box test instead of fixed numbers.
Rendering (not training) skips empty space: ``render_skip_weight``, ``render_grid`` and
``render_skip_transmittance`` (docs/IMAGE_MODELS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor

from ..conditioning import channels_last_maps, directions_to_views, sample_pixel_features
from ..data.metadata import scene_bounds
from ..encoders import FeatureMapEncoder, FeatureMapEncoderConfig
from ..fields import PositionalEncoding, ResnetFCField, pixelnerf_inputs
from ..fields.base import FieldFn, FieldOutput
from ..renderers import VolumeRenderConfig, occupancy_grid, ray_aabb, volume_render
from .base import ModelConfig, Preset, RayOutput, SceneLatent, SceneModel, TrainingDefaults


@dataclass
class PixelNeRFConfig(ModelConfig):
    encoder: FeatureMapEncoderConfig = field(default_factory=FeatureMapEncoderConfig)
    width: int = 64
    blocks: int = 5
    combine_layer: int = 3
    num_frequencies: int = 6
    freq_factor: float = 1.5
    xyz_frame: Literal["view", "rotated"] = "rotated"
    coarse_samples: int = 32
    importance_samples: int = 16
    depth_samples: int = 8
    depth_std: float = 0.01
    #: box_min (3) then box_max (3), world units
    bounds: tuple[float, ...] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    white_background: bool = True
    #: source images are resized by this factor before the encoder (pixelNeRF's SRN cars are 128²; at 64² the
    #: deepest map would be 4×4). The intrinsics still refer to the source image: only the maps are finer.
    encoder_scale: float = 1.0
    #: points per field evaluation in volume rendering. This narrow MLP (width 64) is memory-bound on a CPU: with
    #: 8,192 points a 64² view renders ~18% faster than with the renderers' general 16,384, the same pixels
    #: (results/reconstruct_speed.md)
    chunk_points: int = 8192
    #: how the per-view activations are combined at block ``combine_layer``: "mean" (pixelNeRF), "max", or
    #: "attention" (IBRNet / NeRFormer-style: ``attention_layers`` transformer layers over the source views of each
    #: point, ``attention_heads`` heads, then learned softmax weights; starts as the mean, see
    #: :class:`~sceneprior.conditioning.ViewAttentionPool`)
    view_pooling: Literal["mean", "max", "attention"] = "mean"
    attention_heads: int = 4
    attention_layers: int = 1
    #: empty-space skipping when rendering (not in training): rays that miss the box are not evaluated, and the
    #: fine network only where the coarse weights (of the sample's bin or the 2 bins on either side) exceed this
    #: (:class:`~sceneprior.renderers.VolumeRenderConfig` ``skip_weight``). None: every sample, as in training.
    render_skip_weight: float | None = 0.0
    #: with skipping: cells per axis of the occupancy grid built from the coarse network for each rendered chunk
    #: of rays (coarse samples in its empty cells, dilated by one cell, are not evaluated); 0: no grid
    render_grid: int = 16
    #: with skipping: fine samples are also skipped where the coarse pass's transmittance has fallen to this or
    #: below (behind what it found opaque; ``VolumeRenderConfig.skip_transmittance``); None: no such cut
    render_skip_transmittance: float | None = 1e-3

    kind = "pixelnerf"

    def build(self, num_train_scenes: int = 0) -> "PixelNeRF":
        return PixelNeRF(self, num_train_scenes)

    def for_dataset(self, metadata: dict) -> "PixelNeRFConfig":
        """Near/far come from the scene box: the dataset's ``scene_bounds``."""
        return replace(self, bounds=scene_bounds(metadata))

    def tiny(self) -> "PixelNeRFConfig":
        return replace(self, encoder=replace(self.encoder, stem_channels=8, stage_channels=(8, 16)), width=32,
                       blocks=2, combine_layer=1, coarse_samples=12, importance_samples=4, depth_samples=2)

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset(
            "pixelnerf", cls(),
            # lr: the paper's 1e-4 left the training-ray PSNR flat at ~12 dB for 2,180 steps (results/quality);
            # 5e-4 starts faster on our from-scratch, CPU-sized model (results/quality/pixelnerf_cpu*)
            TrainingDefaults(lr=5e-4, scenes_per_batch=4, target_views=1, rays_per_scene=128, input_views=(1, 2),
                             object_bbox_rays=True),
            "pixelNeRF: pixel-aligned features + coarse/fine volume rendering, 1 or 2 source views",
        ), Preset(
            "pixelnerf-attention", cls(view_pooling="attention"),
            TrainingDefaults(lr=5e-4, scenes_per_batch=4, target_views=1, rays_per_scene=128, input_views=(1, 2, 3),
                             object_bbox_rays=True),
            "pixelNeRF with a learned aggregation over source views (a transformer over each point's per-view "
            "features, softmax-weighted pooling; IBRNet / NeRFormer-style) instead of the mean; 1-3 source views",
        )]


class PixelNeRF(SceneModel):
    modes = ("encode",)
    #: a volume density: meshes are its level set (:meth:`density_field`, :meth:`density_level`)
    geometry = "density"

    def __init__(self, config: PixelNeRFConfig, num_train_scenes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.encoder = FeatureMapEncoder(config.encoder)
        self.encoding = PositionalEncoding(config.num_frequencies, config.freq_factor)
        d_in = self.encoding.out_dim + 3
        channels = self.encoder.out_channels
        nets = [ResnetFCField(d_in, channels, config.width, config.blocks, config.combine_layer, combine=config.view_pooling,
                              attention_heads=config.attention_heads, attention_layers=config.attention_layers)
                for _ in range(2)]
        self.coarse, self.fine = nets
        bounds = torch.tensor(config.bounds, dtype=torch.float32)
        self.register_buffer("box_min", bounds[:3], persistent=False)
        self.register_buffer("box_max", bounds[3:], persistent=False)

    def encode(self, images, cam2world, intrinsics) -> SceneLatent:
        batch = images.shape[0]
        flat = rearrange(images, "b v c h w -> (b v) c h w")
        if self.config.encoder_scale != 1.0:
            flat = F.interpolate(flat, scale_factor=self.config.encoder_scale, mode="bilinear", align_corners=False, antialias=self.config.encoder_scale < 1.0)
        maps = self.encoder(flat)
        return SceneLatent(
            feature_maps=rearrange(maps, "(b v) c h w -> b v c h w", b=batch),
            cam2world=cam2world, intrinsics=intrinsics, image_size=(images.shape[-2], images.shape[-1]),
        )

    def field(self, latent: SceneLatent, fine: bool = True) -> FieldFn:
        """The fine (or coarse) network conditioned on the latent's source views, as a field callable over world
        points and unit directions ``(batch, N, 3)``; the feature maps are projected once here, not per chunk."""
        return self._field(self.fine if fine else self.coarse, latent)

    def density_field(
        self, latent: SceneLatent
    ) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
        """(density_fn, colour_fn) over world points ``(N, 3)`` of scene 0: the fine network, looking from the
        first input camera's centre to each point (the direction that also gives mesh vertex colours)."""
        assert latent.cam2world is not None
        centre = latent.cam2world[0, 0, :3, 3]
        field = self.field(latent)

        def query(points: Tensor) -> tuple[Tensor, Tensor]:
            dirs = F.normalize(points - centre, dim=-1)
            out = field(points[None], dirs[None])
            return out.density[0, :, 0], out.rgb[0]

        return (lambda p: query(p)[0]), (lambda p: query(p)[1])

    def density_level(self) -> float:
        """The density at which one coarse sampling interval reaches opacity 1/2: ln 2 · samples / box diagonal."""
        bounds = np.asarray(self.config.bounds, np.float64)
        diagonal = float(np.linalg.norm(bounds[3:] - bounds[:3]))
        return math.log(2.0) * self.config.coarse_samples / diagonal

    def _field(self, net: ResnetFCField, latent: SceneLatent) -> FieldFn:
        assert latent.feature_maps is not None and latent.cam2world is not None and latent.intrinsics is not None
        assert latent.image_size is not None
        batch = latent.cam2world.shape[0]
        image_size = latent.image_size
        maps = channels_last_maps(rearrange(net.project_features(rearrange(latent.feature_maps, "b v c h w -> (b v) c h w")),
                                            "(b v) c h w -> b v c h w", b=batch))
        rotated = self.config.xyz_frame == "rotated"

        def field(points: Tensor, dirs: Tensor) -> FieldOutput:
            sampled = sample_pixel_features(maps, points, latent.cam2world, latent.intrinsics, image_size)
            xyz = sampled.points_rotated if rotated else sampled.points_view
            inputs = pixelnerf_inputs(xyz, directions_to_views(dirs, latent.cam2world), self.encoding)
            out = net(inputs, sampled.features, projected=True)
            return FieldOutput(density=out.density, rgb=out.rgb)

        return field

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        config = self.config
        near, far, _ = ray_aabb(origins, dirs, self.box_min, self.box_max)
        render_config = VolumeRenderConfig(
            num_coarse=config.coarse_samples, num_fine=config.importance_samples, num_depth_jitter=config.depth_samples,
            depth_jitter_std=config.depth_std, perturb=self.training,
            background=1.0 if config.white_background else None, last_interval="far", chunk_points=config.chunk_points,
            skip_weight=None if self.training else config.render_skip_weight,
            skip_transmittance=config.render_skip_transmittance,
        )
        coarse_field = self.field(latent, fine=False)
        grid = None
        if render_config.skip_weight is not None and config.render_grid > 0:
            grid = occupancy_grid(coarse_field, self.box_min, self.box_max, origins.shape[0], origins.mean(dim=1),
                                  config.render_grid, chunk_points=config.chunk_points)
        fine = volume_render(coarse_field, origins, dirs, near, far, render_config, fine_field=self.field(latent),
                             occupancy=grid)
        coarse = fine.coarse if fine.coarse is not None else fine
        # expected depth of background rays is meaningless: report the depth of what was hit
        depth = fine.normalized_depth()
        return RayOutput(rgb=fine.rgb, depth=depth, opacity=fine.opacity, rgb_coarse=coarse.rgb if fine.coarse is not None else None)
