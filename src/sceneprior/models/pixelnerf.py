"""pixelNeRF (Yu et al. 2021; REFERENCE.md §3), CPU-sized.

Encoder: multi-scale feature maps (pixelNeRF's ResNet structure, from scratch). A query point is moved into
each source camera's frame, projected, and the feature map is sampled there (bilinear, border padding); the
point (positional encoding: 6 frequencies × factor 1.5, raw input kept) and the view direction, both in the
source camera frame, enter a ResnetFC body; each source view's feature is added through its own linear map
before blocks 0..combine_layer-1, then the per-view activations are averaged and the remaining blocks run once.
Head: ReLU → Linear(W→4), σ = ReLU, rgb = sigmoid. Volume rendering with separate coarse and fine networks:
``coarse_samples`` stratified samples in [near, far] from the scene's bounding box, then ``importance_samples``
from the coarse weights plus ``depth_samples`` around the coarse depth (N(0, depth_std)), the fine network
evaluated on the sorted union; last interval to far; white background. Loss = MSE(coarse) + MSE(fine).

The feature-injection linears are applied to the feature maps before sampling (identical result, far
cheaper: see :meth:`PixelAlignedField.project_features`).

Defaults vs the paper: feature channels 32+32+64+128 = 256 (512), width 64 (512), samples 32 / 16 / 8
(64 / 16 / 16). ``xyz_frame="view"`` feeds the full view-space point (the paper text); pixelNeRF's code uses
the rotated point without translation (``"rotated"``), which only differs when camera distances vary.
Rendering is :func:`sceneprior.renderers.volume_render` (pixelNeRF's sampling is its default scheme).
Near/far come from the scene bounds (metadata ``scene_bounds``) by a ray–box test instead of fixed numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..encoders import FeatureMapEncoder, FeatureMapEncoderConfig
from ..fields import ResnetBlockFC
from ..fields.base import FieldFn, FieldOutput
from ..renderers import VolumeRenderConfig, ray_aabb, volume_render
from ._parts import positional_encoding
from .base import RayOutput, SceneLatent, SceneModel


@dataclass
class PixelNeRFConfig:
    encoder: FeatureMapEncoderConfig = field(default_factory=FeatureMapEncoderConfig)
    width: int = 64
    blocks: int = 5
    combine_layer: int = 3
    num_frequencies: int = 6
    freq_factor: float = 1.5
    xyz_frame: Literal["view", "rotated"] = "view"
    coarse_samples: int = 32
    importance_samples: int = 16
    depth_samples: int = 8
    depth_std: float = 0.01
    #: box_min (3) then box_max (3), world units
    bounds: tuple[float, ...] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    white_background: bool = True


class PixelAlignedField(nn.Module):
    """The ResnetFC body of pixelNeRF, conditioned on features sampled from each source view."""

    def __init__(self, config: PixelNeRFConfig, feature_dim: int) -> None:
        super().__init__()
        self.config = config
        d_in = 3 * (1 + 2 * config.num_frequencies) + 3
        self.lin_in = nn.Linear(d_in, config.width)
        self.inject = nn.ModuleList(nn.Linear(feature_dim, config.width) for _ in range(config.combine_layer))
        self.blocks = nn.ModuleList(ResnetBlockFC(config.width) for _ in range(config.blocks))
        self.lin_out = nn.Linear(config.width, 4)

    def forward(
        self, xyz: Float[Tensor, "batch view point 3"], dirs: Float[Tensor, "batch view point 3"],
        injected: Float[Tensor, "batch view point injected"],
    ) -> tuple[Float[Tensor, "batch point"], Float[Tensor, "batch point 3"]]:
        """``injected`` holds the per-block feature projections ``inject[k](feature)`` concatenated (see
        :meth:`project_features`)."""
        x = torch.cat([positional_encoding(xyz, self.config.num_frequencies, self.config.freq_factor), dirs], -1)
        h = self.lin_in(x)
        width = self.config.width
        for k, block in enumerate(self.blocks):
            if k == self.config.combine_layer:
                h = h.mean(1)
            if k < self.config.combine_layer:
                h = h + injected[..., k * width : (k + 1) * width]
            h = block(h)
        if self.config.combine_layer >= len(self.blocks):
            h = h.mean(1)
        out = self.lin_out(F.relu(h))
        return F.relu(out[..., 0]), torch.sigmoid(out[..., 1:])

    def project_features(self, maps: Float[Tensor, "image channel height width"]) -> Float[Tensor, "image injected height width"]:
        """The feature-injection linears applied to every pixel of the feature maps. Linear maps commute with
        bilinear sampling (its weights sum to one), so projecting the maps once and sampling the projections is
        exactly pixelNeRF's sample-then-project, at a cost per feature-map pixel instead of per query point."""
        weight = torch.cat([layer.weight for layer in self.inject], 0)
        bias = torch.cat([layer.bias for layer in self.inject], 0)
        return F.conv2d(maps, weight[:, :, None, None], bias)


class PixelNeRF(SceneModel):
    modes = ("encode",)

    def __init__(self, config: PixelNeRFConfig, num_train_scenes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.encoder = FeatureMapEncoder(config.encoder)
        self.coarse = PixelAlignedField(config, self.encoder.out_channels)
        self.fine = PixelAlignedField(config, self.encoder.out_channels)
        bounds = torch.tensor(config.bounds, dtype=torch.float32)
        self.register_buffer("box_min", bounds[:3], persistent=False)
        self.register_buffer("box_max", bounds[3:], persistent=False)

    def encode(self, images, cam2world, intrinsics) -> SceneLatent:
        batch = images.shape[0]
        maps = self.encoder(rearrange(images, "b v c h w -> (b v) c h w"))
        return SceneLatent(
            feature_maps=rearrange(maps, "(b v) c h w -> b v c h w", b=batch),
            cam2world=cam2world, intrinsics=intrinsics, image_size=(images.shape[-2], images.shape[-1]),
        )

    def _field(self, net: PixelAlignedField, latent: SceneLatent) -> FieldFn:
        """The field of ``net`` conditioned on the latent's source views, as a callable for the renderer; the
        feature maps are projected once here, not per chunk of points."""
        assert latent.feature_maps is not None and latent.cam2world is not None and latent.intrinsics is not None
        assert latent.image_size is not None
        batch = latent.cam2world.shape[0]
        rotation = latent.cam2world[:, :, None, :3, :3]  # b v 1 3 3
        centre = latent.cam2world[:, :, None, :3, 3]
        K = latent.intrinsics[:, :, None]
        height, width = latent.image_size
        maps = net.project_features(rearrange(latent.feature_maps, "b v c h w -> (b v) c h w"))

        def field(points: Tensor, dirs: Tensor) -> FieldOutput:
            p = points[:, None]
            x_cam = ((p - centre).unsqueeze(-2) @ rotation).squeeze(-2)  # R^T (p - c): b v N 3
            d_cam = (dirs[:, None].unsqueeze(-2) @ rotation).squeeze(-2)
            z = x_cam[..., 2].clamp(min=1e-4)
            u = K[..., 0, 0] * x_cam[..., 0] / z + K[..., 0, 2]
            v = K[..., 1, 1] * x_cam[..., 1] / z + K[..., 1, 2]
            grid = torch.stack([u / width * 2.0 - 1.0, v / height * 2.0 - 1.0], -1)  # pixel edges at ±1
            grid = rearrange(grid, "b v n two -> (b v) n 1 two")
            sampled = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)
            features = rearrange(sampled, "(b v) c n 1 -> b v n c", b=batch)
            xyz = x_cam if self.config.xyz_frame == "view" else (p.unsqueeze(-2) @ rotation).squeeze(-2)
            sigma, rgb = net(xyz, d_cam, features)
            return FieldOutput(density=sigma[..., None], rgb=rgb)

        return field

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        config = self.config
        near, far, _ = ray_aabb(origins, dirs, self.box_min, self.box_max)
        render_config = VolumeRenderConfig(
            num_coarse=config.coarse_samples, num_fine=config.importance_samples, num_depth_jitter=config.depth_samples,
            depth_jitter_std=config.depth_std, perturb=self.training,
            background=1.0 if config.white_background else None, last_interval="far",
        )
        fine = volume_render(self._field(self.coarse, latent), origins, dirs, near, far, render_config,
                             fine_field=self._field(self.fine, latent))
        coarse = fine.coarse if fine.coarse is not None else fine
        # expected depth of background rays is meaningless: report the depth of what was hit
        depth = fine.normalized_depth()
        return RayOutput(rgb=fine.rgb, depth=depth, opacity=fine.opacity, rgb_coarse=coarse.rgb if fine.coarse is not None else None)
