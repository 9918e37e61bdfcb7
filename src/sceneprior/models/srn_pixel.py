"""SRN with pixel-aligned features (Common Objects in 3D's SRN+WCE, Reizenstein et al. 2021; REFERENCE.md §1, §3),
CPU-sized.

SRN's scene function φ, LSTM ray marcher and pixel generator (:mod:`sceneprior.models.srn`), with φ conditioned on
the source images where each point projects, as well as (``global_code=True``) or instead of (``False``) a global
code:

* φ's first layer is ``W x + b + p(x)``, then LayerNorm (no affine) + ReLU and the remaining ``phi_layers - 1``
  layers as in SRN. ``W, b`` and the later layers are generated from the global code by the hypernetwork (the code
  from a conv encoder of the source views, averaged over views) or, without a global code, are plain learned layers.
* ``p(x)``, the warp-conditioned embedding: for each source view ``v`` the view's feature map (the pixelNeRF-style
  :class:`~sceneprior.encoders.FeatureMapEncoder`, projected to φ's width by a 1×1 linear map before sampling —
  linear maps commute with bilinear sampling) is sampled where ``x`` projects, plus a linear map of ``x`` rotated
  into the camera's axes; the per-view values are pooled over views by their mean, or by the learned attention of
  :class:`~sceneprior.conditioning.ViewAttentionPool` (``view_pooling="attention"``).

The marcher therefore reads the image evidence at every step (CO3D: the embedding enters the implicit function at
every marching point). Loss as SRN: 200·MSE + 1e-3·L_depth + 1·mean(z²) (on the global code, when there is one).
Inference: encode only (the feature maps need the observed images). Rendering has no fused inference path (SRN's
:func:`~sceneprior.renderers.lstm_raymarch_mlp` has no image term): it runs the training path without gradients.

Sizes: as ``srn`` (φ 4 × 128, marcher hidden 16 × 10 steps, pixel generator 6 × 128), feature maps as
``pixelnerf`` (32+32+64+128 channels at half resolution). CO3D's SRN+WCE uses a ResNet-34 feature extractor and
SRN's 256-wide layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..conditioning import HyperNetwork, ViewAttentionPool, batched_mlp, channels_last_maps, pool_views, sample_pixel_features
from ..errors import ConfigError
from ..encoders import ConvEncoderConfig, ConvGlobalEncoder, FeatureMapEncoder, FeatureMapEncoderConfig
from ..renderers import LSTMRayMarcher, lstm_raymarch
from ._parts import ln_relu_mlp, ray_sphere_entry
from .base import Preset, RayOutput, SceneLatent, SceneModel, TrainingDefaults
from .srn import SRNCoreConfig


@dataclass
class SRNPixelConfig(SRNCoreConfig):
    #: the pixel-aligned feature maps of the source views
    features: FeatureMapEncoderConfig = field(default_factory=FeatureMapEncoderConfig)
    #: condition φ on a global code as well (hypernetwork, as SRN) or on the pixel-aligned features only
    global_code: bool = True
    #: the global code's encoder (used when ``global_code``; its ``latent_dim`` is ``latent_dim``)
    encoder: ConvEncoderConfig = field(default_factory=lambda: ConvEncoderConfig(latent_dim=128))
    view_pooling: Literal["mean", "attention"] = "mean"
    attention_heads: int = 4
    attention_layers: int = 1

    kind = "srn-pixel"

    def build(self, num_train_scenes: int = 0) -> "SRNPixel":
        return SRNPixel(self)

    def tiny(self) -> "SRNPixelConfig":
        return replace(self, latent_dim=16, phi_width=32, phi_layers=2, hyper_hidden=16, hyper_hidden_layers=1,
                       marcher_steps=4, pixel_width=16, pixel_layers=2,
                       features=replace(self.features, stem_channels=8, stage_channels=(8, 16)),
                       encoder=replace(self.encoder, channels=(8, 16), latent_dim=16, pool=2))

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset(
            "srn-pixel", cls(),
            TrainingDefaults(lr=2e-4, scenes_per_batch=4, target_views=2, rays_per_scene=512, input_views=(1, 2)),
            "SRN + pixel-aligned features (CO3D's SRN+WCE): the LSTM marcher's φ reads the source images where each "
            "point projects, as well as a global code from a conv encoder",
        )]


class SRNPixel(SceneModel):
    modes = ("encode",)
    #: the marcher's depth maps are 3D-consistent (as SRN's): meshes come from fused depth maps
    geometry = "depth"

    def __init__(self, config: SRNPixelConfig) -> None:
        super().__init__()
        self.config = config
        self.rgb_weight = config.rgb_weight
        self.latent_weight = config.latent_weight
        width = config.phi_width
        self.feature_encoder = FeatureMapEncoder(config.features)
        self.project = nn.Conv2d(self.feature_encoder.out_channels, width, 1)
        self.view_xyz = nn.Linear(3, width, bias=False)
        self.attention = (ViewAttentionPool(width, config.attention_heads, config.attention_layers)
                          if config.view_pooling == "attention" else None)
        if config.global_code:
            if config.encoder.latent_dim != config.latent_dim:
                raise ConfigError(f"latent_dim is {config.latent_dim} but encoder.latent_dim is "
                                  f"{config.encoder.latent_dim}: they must match")
            self.global_encoder: ConvGlobalEncoder | None = ConvGlobalEncoder(config.encoder)
            targets = [(3, width)] + [(width, width)] * (config.phi_layers - 1)
            self.hyper: HyperNetwork | None = HyperNetwork(targets, config.latent_dim, config.hyper_hidden,
                                                           config.hyper_hidden_layers - 1, init_scale=0.1, norm_affine=False)
            self.phi_first, self.phi_rest = None, None
        else:
            self.global_encoder, self.hyper = None, None
            self.phi_first = nn.Linear(3, width)
            self.phi_rest = ln_relu_mlp([width] * config.phi_layers, norm_last=True)
        self.marcher = LSTMRayMarcher(width, config.marcher_hidden, config.marcher_steps, init_step_bias=0.0)
        sizes = [width] + [config.pixel_width] * (config.pixel_layers - 1) + [3]
        self.pixel_generator = ln_relu_mlp(sizes, norm_last=False)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, images, cam2world, intrinsics) -> SceneLatent:
        batch = images.shape[0]
        flat = rearrange(images, "b v c h w -> (b v) c h w")
        maps = rearrange(self.feature_encoder(flat), "(b v) c h w -> b v c h w", b=batch)
        code = None
        if self.global_encoder is not None:
            code = self.global_encoder(flat).unflatten(0, (batch, -1)).mean(1)
        return SceneLatent(code=code, feature_maps=maps, cam2world=cam2world, intrinsics=intrinsics,
                           image_size=(images.shape[-2], images.shape[-1]))

    def pixel_embedding(self, latent: SceneLatent) -> Callable[[Tensor], Tensor]:
        """``points (batch, N, 3) -> (batch, N, width)``: the pooled per-view embedding ``p(x)`` of the module
        docstring (the maps are projected once here, not per marching step)."""
        assert latent.feature_maps is not None and latent.cam2world is not None and latent.intrinsics is not None
        assert latent.image_size is not None
        batch = latent.feature_maps.shape[0]
        maps = channels_last_maps(rearrange(self.project(rearrange(latent.feature_maps, "b v c h w -> (b v) c h w")),
                                            "(b v) c h w -> b v c h w", b=batch))

        def embed(points: Tensor) -> Tensor:
            sampled = sample_pixel_features(maps, points, latent.cam2world, latent.intrinsics, latent.image_size)
            per_view = sampled.features + self.view_xyz(sampled.points_rotated)
            return self.attention(per_view) if self.attention is not None else pool_views(per_view, mode="mean")

        return embed

    def phi(self, latent: SceneLatent) -> Callable[[Tensor], Tensor]:
        """φ over world points ``(batch, N, 3) -> (batch, N, width)``, conditioned on the latent's code (if any)
        and its source views."""
        embed = self.pixel_embedding(latent)
        if self.hyper is not None:
            assert latent.code is not None
            params = self.hyper(latent.code)
            first, rest = params[0], params[1:]

            def phi(points: Tensor) -> Tensor:
                h = torch.baddbmm(first.bias.unsqueeze(1), points, first.weight.transpose(1, 2)) + embed(points)
                h = torch.relu(F.layer_norm(h, h.shape[-1:]))
                return batched_mlp(rest, h, last_norm=True, last_activation=torch.relu) if rest else h

            return phi
        assert self.phi_first is not None and self.phi_rest is not None

        def phi_static(points: Tensor) -> Tensor:
            h = self.phi_first(points) + embed(points)
            return self.phi_rest(torch.relu(F.layer_norm(h, h.shape[-1:])))

        return phi_static

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        t_start = ray_sphere_entry(origins, dirs, self.config.scene_radius)
        marched = lstm_raymarch(self.marcher, self.phi(latent), origins, dirs, near=t_start, jitter=self.training)
        rgb = torch.sigmoid(self.pixel_generator(marched.features))
        depth_penalty = 1e4 * torch.clamp(marched.t, max=0.0).pow(2).mean()
        return RayOutput(rgb=rgb, depth=marched.t, extra_loss=self.config.depth_weight * depth_penalty)
