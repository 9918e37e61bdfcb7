"""The 2D baseline (FRAMEWORK.md §2; Tatarchenko et al. 2015, REFERENCE.md §9): a CNN encodes the input view to a
latent, the latent and the camera poses go through an MLP, and a CNN decoder (transposed convolutions) paints the
target view at a fixed resolution. No 3D structure: it must learn view synthesis as an image-to-image function.

Pose input: the absolute target cam2world (its top 3x4 block, 12 numbers) and the input view's (12 more), since
our scenes live in a canonical object frame. Rendering at another resolution resizes the fixed-size output
(bilinear): this model is not resolution-invariant, which is one of the lecture's points.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..encoders import AutoDecoder, AutoDecoderConfig, ConvEncoderConfig, ConvGlobalEncoder
from ..encoders.conv import group_norm
from ..errors import ConfigError
from .base import LossOutput, ModelConfig, Preset, RenderOutput, SceneLatent, SceneModel, TrainBatch, TrainingDefaults


@dataclass
class AutoEncoderConfig(ModelConfig):
    encoder: ConvEncoderConfig = field(default_factory=ConvEncoderConfig)
    #: side of the decoded image; the decoder starts at 4x4 and doubles per channel entry
    output_size: int = 64
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32)
    pose_hidden: int = 256
    #: the auto-encoder is an encoder model; an auto-decoder table is possible but off
    autodecoder: bool = False
    latent_init_std: float = 0.01

    kind = "autoencoder"

    def build(self, num_train_scenes: int) -> "AutoEncoder":
        return AutoEncoder(self, num_train_scenes)

    def tiny(self) -> "AutoEncoderConfig":
        return replace(self, encoder=replace(self.encoder, channels=(8, 16), latent_dim=16, pool=2), output_size=32,
                       decoder_channels=(16, 8), pose_hidden=32)

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset("autoencoder", cls(),
                       TrainingDefaults(lr=2e-4, scenes_per_batch=16, target_views=2, rays_per_scene=None),
                       "2D baseline: CNN encoder + pose-conditioned transposed-conv decoder, 64² output")]


class PoseConditionedDecoder(nn.Module):
    def __init__(self, latent_dim: int, config: AutoEncoderConfig) -> None:
        super().__init__()
        self.config = config
        start = config.output_size // 2 ** len(config.decoder_channels)
        if start * 2 ** len(config.decoder_channels) != config.output_size or start < 1:
            raise ConfigError(f"output_size {config.output_size} must be a multiple of 2^{len(config.decoder_channels)}")
        self.start = start
        self.pose_mlp = nn.Sequential(nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.fc = nn.Sequential(
            nn.Linear(latent_dim + 64, config.pose_hidden), nn.ReLU(),
            nn.Linear(config.pose_hidden, config.decoder_channels[0] * start * start), nn.ReLU(),
        )
        layers: list[nn.Module] = []
        channels = list(config.decoder_channels)
        for k, c in enumerate(channels):
            out = channels[k + 1] if k + 1 < len(channels) else channels[-1]
            layers += [nn.ConvTranspose2d(c, out, 4, stride=2, padding=1), group_norm(out), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(channels[-1], 3, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, code: Float[Tensor, "batch latent"], poses: Float[Tensor, "batch 24"]) -> Float[Tensor, "batch 3 height width"]:
        x = self.fc(torch.cat([code, self.pose_mlp(poses)], -1))
        x = rearrange(x, "b (c h w) -> b c h w", h=self.start, w=self.start)
        return torch.sigmoid(self.body(x))


def _pose_vector(cam2world: Float[Tensor, "batch 4 4"]) -> Float[Tensor, "batch 12"]:
    return rearrange(cam2world[:, :3, :4], "b r c -> b (r c)")


class AutoEncoder(SceneModel):
    modes = ("encode", "autodecode", "encode+autodecode")
    uses_rays = False
    geometry_note = "a 2D image decoder"

    def __init__(self, config: AutoEncoderConfig, num_train_scenes: int) -> None:
        super().__init__()
        self.config = config
        self.encoder = ConvGlobalEncoder(config.encoder)
        self.decoder = PoseConditionedDecoder(config.encoder.latent_dim, config)
        self.latents = (
            AutoDecoder(num_train_scenes, AutoDecoderConfig(config.encoder.latent_dim, config.latent_init_std))
            if config.autodecoder else None
        )

    @property
    def latent_dim(self) -> int:
        return self.config.encoder.latent_dim

    def encode(self, images, cam2world, intrinsics) -> SceneLatent:
        codes = self.encoder(rearrange(images, "b v c h w -> (b v) c h w"))
        code = rearrange(codes, "(b v) l -> b v l", b=images.shape[0]).mean(1)
        return SceneLatent(code=code, cam2world=cam2world, intrinsics=intrinsics, image_size=tuple(images.shape[-2:]))

    def training_latent(self, batch: TrainBatch) -> SceneLatent:
        if self.latents is not None:
            latent = SceneLatent(code=self.latents(batch.scene_index))
            return self.attach_observations(latent, batch.input_images, batch.input_cam2world, batch.input_intrinsics)
        return self.encode(batch.input_images, batch.input_cam2world, batch.input_intrinsics)

    def attach_observations(self, latent: SceneLatent, images, cam2world, intrinsics) -> SceneLatent:
        return SceneLatent(code=latent.code, cam2world=cam2world, intrinsics=intrinsics, image_size=tuple(images.shape[-2:]))

    def decode(self, latent: SceneLatent, cam2world: Float[Tensor, "batch 4 4"]) -> Float[Tensor, "batch 3 height width"]:
        assert latent.code is not None
        if latent.cam2world is None:
            raise ConfigError("the auto-encoder needs the input view's pose in its latent")
        poses = torch.cat([_pose_vector(cam2world), _pose_vector(latent.cam2world[:, 0])], -1)
        return self.decoder(latent.code, poses)

    def render(self, latent, cam2world, intrinsics, height, width, chunk=8192) -> RenderOutput:
        rgb = self.decode(latent, cam2world.to(self.device))
        if rgb.shape[-2:] != (height, width):
            rgb = F.interpolate(rgb, size=(height, width), mode="bilinear", align_corners=False)
        return RenderOutput(rgb=rgb)

    def _images_loss(self, latent: SceneLatent, images, cam2world) -> LossOutput:
        batch, views = images.shape[:2]
        predictions = []
        for v in range(views):
            predictions.append(self.render(latent, cam2world[:, v], None, images.shape[-2], images.shape[-1]).rgb)  # type: ignore[arg-type]
        prediction = torch.stack(predictions, 1)
        mse = (prediction - images).pow(2).mean()
        total = self.rgb_weight * mse
        terms = {"mse": float(mse.detach()), "psnr": float(-10 * torch.log10(mse.detach().clamp(min=1e-10)))}
        if self.latent_weight > 0:
            reg = self.latent_regularizer(latent)
            total = total + self.latent_weight * reg
            terms["latent_reg"] = float(reg.detach())
        return LossOutput(total=total, terms=terms, num_rays=images.numel() // 3)

    def loss(self, batch: TrainBatch) -> LossOutput:
        latent = self.training_latent(batch)
        return self._images_loss(latent, batch.target_images, batch.target_cam2world)

    def observation_loss(self, latent, images, cam2world, intrinsics, num_rays, generator=None) -> LossOutput:
        if latent.cam2world is None:
            latent = self.attach_observations(latent, images, cam2world, intrinsics)
        return self._images_loss(latent, images, cam2world)
