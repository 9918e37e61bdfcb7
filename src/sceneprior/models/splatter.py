"""Splatter Image (Szymanowicz, Rupprecht, Vedaldi, CVPR 2024; REFERENCE.md §10), CPU-sized.

One forward pass of a U-Net maps the input image to one 3D Gaussian per pixel — the *splatter image* — and a new
view is rendered by splatting (:func:`sceneprior.renderers.gaussians.rasterize_gaussians`). The latent is that
per-pixel parameter map (``SceneLatent.feature_maps``, with the input cameras), so it is pixel-aligned like
pixelNeRF's features, but it decodes to an explicit scene instead of conditioning a field.

Per pixel (channels, in Splatter Image's order): depth 1, offset 3, opacity 1, scale 3, rotation 4, colour 3.
* Position: the pixel's camera ray ``K^-1 (u, v, 1)`` (z = 1, so the depth is z-depth) times
  ``z = z_centre + (2 sigmoid(raw) - 1) r``, plus the offset (raw, no activation), in the input camera's frame,
  then moved to the world by its cam2world. Splatter Image maps sigmoid to a fixed [znear, zfar] per dataset; here
  the interval is centred on the scene-bounds centre's z-depth in the input camera with r the bounds' half
  diagonal, so it follows the camera distance and comes from the dataset's metadata (``scene_bounds``).
* Opacity sigmoid, scale exp, rotation L2-normalised and predicted in the camera frame (left-multiplied by the
  input camera's rotation quaternion), colour = SH DC: ``rgb = max(0, C0 dc + 0.5)`` (SH degree 0: our data are
  Lambertian; Splatter Image uses degree 1).
* The last 1x1 convolution is initialised per group as Splatter Image does for cars: xavier-uniform weights with
  gains (depth 1, offset 1e-6, opacity 1e-3, scale 1e-3, rotation 1, colour 5), biases (0, 0, -3, ln 0.02 ... here
  ln of ``init_scale``, 0, 0).
* Two input views: shared weights, each view's Gaussians placed in the world and concatenated (N·H·W
  Gaussians), as Splatter Image merges them; there is no cross-view attention (the U-Net has no attention).

Training renders whole target images (white background) and minimises their MSE; the U-Net is
:class:`sceneprior.encoders.unet.UNet`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..data.metadata import scene_bounds
from ..encoders.unet import UNet, UNetConfig
from ..geometry import camera_directions, pixel_centers
from ..renderers.gaussians import GaussianRasterConfig, Gaussians, matrix_to_quaternion, quaternion_multiply, rasterize_gaussians
from .base import LossOutput, ModelConfig, Preset, RenderOutput, SceneLatent, SceneModel, TrainBatch, TrainingDefaults

#: the zeroth spherical-harmonic basis constant (3DGS's C0)
SH_C0 = 0.28209479177387814
#: channel groups of the splatter image, in order
GROUPS = (("depth", 1), ("offset", 3), ("opacity", 1), ("scale", 3), ("rotation", 4), ("color", 3))


@dataclass
class SplatterConfig(ModelConfig):
    unet: UNetConfig = field(default_factory=UNetConfig)
    #: box_min (3) then box_max (3), world units (set from the dataset's metadata when training)
    bounds: tuple[float, ...] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    #: initial Gaussian scale (world units; Splatter Image's cars: 0.02) and opacity logit (cars: -3)
    init_scale: float = 0.02
    init_opacity_logit: float = -3.0
    #: output-layer init gains per group (Splatter Image's cars)
    init_gains: tuple[float, ...] = (1.0, 1e-6, 1e-3, 1e-3, 1.0, 5.0)
    white_background: bool = True
    #: tile side of the CPU rasteriser
    tile_size: int = 4

    kind = "splatter"

    def build(self, num_train_scenes: int = 0) -> "SplatterImage":
        return SplatterImage(self, num_train_scenes)

    def for_dataset(self, metadata: dict) -> "SplatterConfig":
        """The depth interval comes from the scene box: the dataset's ``scene_bounds``."""
        return replace(self, bounds=scene_bounds(metadata))

    def tiny(self) -> "SplatterConfig":
        return replace(self, unet=UNetConfig(channels=(8, 16), out_channels=8))

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset(
            "splatter", cls(),
            # Splatter Image: 8 objects x 4 target images at lr 5e-5 for 900k GPU steps; on the CPU fewer targets per
            # step and a larger rate (results/quality/splatter_vs_pixelnerf)
            TrainingDefaults(lr=2e-4, scenes_per_batch=4, target_views=3, rays_per_scene=None, input_views=(1,)),
            "Splatter Image: U-Net -> one 3D Gaussian per input pixel, rendered by Gaussian splatting",
        )]


def splatter_channels() -> int:
    return sum(n for _, n in GROUPS)


class SplatterImage(SceneModel):
    modes = ("encode",)
    uses_rays = False
    #: rendered z-depth (and alpha) from any camera: meshed by fusing depth maps (TSDF), as SRN
    geometry = "depth"

    def __init__(self, config: SplatterConfig, num_train_scenes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.unet = UNet(config.unet)
        self.out = nn.Conv2d(config.unet.out_channels, splatter_channels(), 1)
        biases = (0.0, 0.0, config.init_opacity_logit, math.log(config.init_scale), 0.0, 0.0)
        with torch.no_grad():
            start = 0
            for (name, n), gain, bias in zip(GROUPS, config.init_gains, biases):
                weight = torch.empty(n, config.unet.out_channels, 1, 1)
                nn.init.xavier_uniform_(weight, gain=gain)
                self.out.weight[start : start + n] = weight
                self.out.bias[start : start + n] = bias
                start += n
        bounds = torch.tensor(config.bounds, dtype=torch.float32)
        self.register_buffer("box_min", bounds[:3], persistent=False)
        self.register_buffer("box_max", bounds[3:], persistent=False)

    # ------------------------------------------------------------------ latents
    def encode(self, images, cam2world, intrinsics) -> SceneLatent:
        batch = images.shape[0]
        raw = self.out(self.unet(rearrange(images, "b v c h w -> (b v) c h w")))
        return SceneLatent(feature_maps=rearrange(raw, "(b v) c h w -> b v c h w", b=batch), cam2world=cam2world,
                           intrinsics=intrinsics, image_size=(images.shape[-2], images.shape[-1]))

    def gaussians(self, latent: SceneLatent) -> Gaussians:
        """The 3D Gaussians of a latent: every pixel of every input view, in world coordinates."""
        assert latent.feature_maps is not None and latent.cam2world is not None and latent.intrinsics is not None
        maps = latent.feature_maps
        batch, views, _, height, width = maps.shape
        raw = dict(zip([g for g, _ in GROUPS], torch.split(rearrange(maps, "b v c h w -> b v (h w) c"), [n for _, n in GROUPS], -1)))
        K = latent.intrinsics
        cam2world = latent.cam2world
        uv = pixel_centers(height, width, dtype=maps.dtype, device=maps.device).reshape(1, 1, -1, 2).expand(batch, views, -1, 2)
        rays = camera_directions(uv, K[:, :, None])  # b v hw 3, z = 1
        centre = 0.5 * (self.box_min + self.box_max)
        radius = 0.5 * float((self.box_max - self.box_min).norm())
        centre_cam = torch.einsum("bvji,bvj->bvi", cam2world[..., :3, :3], centre - cam2world[..., :3, 3])
        z = centre_cam[..., 2:3, None] + (2.0 * torch.sigmoid(raw["depth"]) - 1.0) * radius  # b v hw 1
        points_cam = rays * z + raw["offset"]
        means = torch.einsum("bvij,bvnj->bvni", cam2world[..., :3, :3], points_cam) + cam2world[:, :, None, :3, 3]
        q_cam2world = matrix_to_quaternion(cam2world[..., :3, :3])[:, :, None].expand(-1, -1, height * width, -1)
        rotations = quaternion_multiply(q_cam2world, F.normalize(raw["rotation"], dim=-1))
        flat = lambda t: rearrange(t, "b v n c -> b (v n) c")  # noqa: E731
        return Gaussians(
            means=flat(means), scales=flat(torch.exp(raw["scale"])), rotations=flat(rotations),
            opacities=flat(torch.sigmoid(raw["opacity"]))[..., 0],
            colors=flat((SH_C0 * raw["color"] + 0.5).clamp_min(0.0)),
        )

    def gaussian_splats(self, latent: SceneLatent) -> Gaussians:
        return self.gaussians(latent)

    # ------------------------------------------------------------------ rendering
    def raster_config(self, normals: bool = False) -> GaussianRasterConfig:
        return GaussianRasterConfig(background=1.0 if self.config.white_background else None, normals=normals,
                                    tile_size=self.config.tile_size)

    def render(self, latent, cam2world, intrinsics, height, width, chunk=8192) -> RenderOutput:
        cam2world, intrinsics = cam2world.to(self.device), intrinsics.to(self.device)
        out = rasterize_gaussians(self.gaussians(latent), cam2world, intrinsics, height, width, self.raster_config(normals=True))
        # an image: colours above 1 (3DGS clamps colours only at 0) are clipped; training sees the unclipped values
        return RenderOutput(rgb=out.rgb.clamp(0.0, 1.0), depth=out.depth, normals=out.normals, opacity=out.alpha)

    # ------------------------------------------------------------------ objectives
    def loss(self, batch: TrainBatch) -> LossOutput:
        latent = self.training_latent(batch)
        targets = batch.target_images
        views = targets.shape[1]
        gaussians = self.gaussians(latent).repeat_views(views)
        out = rasterize_gaussians(gaussians, rearrange(batch.target_cam2world, "b v r c -> (b v) r c"),
                                  rearrange(batch.target_intrinsics, "b v r c -> (b v) r c"),
                                  targets.shape[-2], targets.shape[-1], self.raster_config())
        mse = (out.rgb - rearrange(targets, "b v c h w -> (b v) c h w")).pow(2).mean()
        terms = {"mse": float(mse.detach()), "psnr": float(-10 * torch.log10(mse.detach().clamp(min=1e-10)))}
        return LossOutput(total=self.rgb_weight * mse, terms=terms, num_rays=targets.numel() // 3)
