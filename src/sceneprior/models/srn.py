"""Scene Representation Networks (Sitzmann et al. 2019; REFERENCE.md §1), CPU-sized.

φ: a hypernetwork-conditioned MLP 3 → W features (``phi_layers`` layers, every one Linear → LayerNorm(no affine)
→ ReLU); an LSTM ray marcher (hidden 16, 10 steps) walks each ray; a pixel generator (6 linear layers,
LN+ReLU between) maps φ at the final point to colour. Depth comes free (the marched distance).

Defaults vs the paper: latent 128 (256), φ width 128 (256), hypernetwork hidden 128 (256), pixel generator
width 128 (256); colour through a sigmoid to [0, 1] (the paper emits [-1, 1] linearly). Marching starts where
the ray enters the bounding sphere of the scene (``scene_radius``) instead of 0.05 from the camera, so the
marcher does not have to learn the long first step. Trained on random rays, not full images (rays are
independent in SRN, so the objective is the same in expectation). The start is jittered by N(0, 5e-4²) in
training, as in SRN. Hypernetwork and marcher are :mod:`sceneprior.conditioning` / :mod:`sceneprior.renderers`. Loss = 200·MSE + 1e-3·L_depth + 1·mean(z²),
with L_depth = 1e4·mean(min(t, 0)²), as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from jaxtyping import Float
from torch import Tensor

from ..conditioning import HyperNetwork, batched_mlp
from ..encoders import ConvEncoderConfig
from ..geometry import get_rays
from ..renderers import LSTMRayMarcher, lstm_raymarch, lstm_raymarch_mlp
from ..renderers.lstm_marcher import centred_linear, ln_relu_layers, run_chunks
from ._parts import GlobalLatentModel, ln_relu_mlp, ray_sphere_entry
from .base import ModelConfig, Preset, RayOutput, SceneLatent, TrainingDefaults

#: rays per chunk of the inference path (its activations stay in a core's cache)
INFERENCE_CHUNK = 2048


@dataclass
class SRNCoreConfig(ModelConfig):
    """SRN's hyper-parameters (φ and its hypernetwork, the LSTM marcher, the pixel generator, the loss weights),
    shared by every model built on SRN's marcher (``srn``, ``srn-pixel``). Not a model itself: no ``kind``."""

    latent_dim: int = 128
    phi_width: int = 128
    phi_layers: int = 4
    hyper_hidden: int = 128
    hyper_hidden_layers: int = 2
    marcher_hidden: int = 16
    marcher_steps: int = 10
    pixel_width: int = 128
    pixel_layers: int = 6
    scene_radius: float = 0.9
    rgb_weight: float = 200.0
    latent_weight: float = 1.0
    depth_weight: float = 1e-3


@dataclass
class SRNConfig(SRNCoreConfig):
    #: None: auto-decoder (one latent per training scene, the paper's default); else a conv encoder
    encoder: ConvEncoderConfig | None = None
    latent_init_std: float = 0.01

    kind = "srn"

    def build(self, num_train_scenes: int) -> "SRN":
        return SRN(self, num_train_scenes)

    def tiny(self) -> "SRNConfig":
        encoder = None if self.encoder is None else replace(self.encoder, channels=(8, 16), latent_dim=16, pool=2)
        return replace(self, latent_dim=16, phi_width=32, phi_layers=2, hyper_hidden=16, hyper_hidden_layers=1,
                       marcher_steps=4, pixel_width=16, pixel_layers=2, encoder=encoder)

    @classmethod
    def presets(cls) -> list[Preset]:
        return [
            Preset("srn", cls(),
                   TrainingDefaults(lr=1e-4, latent_lr=1e-3, scenes_per_batch=4, target_views=2, rays_per_scene=512),
                   "SRN auto-decoder: hypernetwork φ + LSTM ray marcher + pixel generator"),
            Preset("srn-encoder", cls(encoder=ConvEncoderConfig(latent_dim=128)),
                   TrainingDefaults(lr=1e-4, scenes_per_batch=4, target_views=2, rays_per_scene=512),
                   "SRN with a conv encoder instead of the auto-decoder table"),
        ]


class SRN(GlobalLatentModel):
    #: its LSTM marcher finds surfaces and its depth maps are 3D-consistent: meshes come from fused depth maps
    geometry = "depth"
    def __init__(self, config: SRNConfig, num_train_scenes: int) -> None:
        super().__init__()
        self.config = config
        self.rgb_weight = config.rgb_weight
        self.latent_weight = config.latent_weight
        width = config.phi_width
        targets = [(3, width)] + [(width, width)] * (config.phi_layers - 1)
        # hyper_hidden_layers counts every hidden layer (SRN: 2); the shared HyperNetwork counts those after the first
        self.hyper = HyperNetwork(targets, config.latent_dim, config.hyper_hidden, config.hyper_hidden_layers - 1,
                                  init_scale=0.1, norm_affine=False)
        self.marcher = LSTMRayMarcher(width, config.marcher_hidden, config.marcher_steps, init_step_bias=0.0)
        sizes = [width] + [config.pixel_width] * (config.pixel_layers - 1) + [3]
        self.pixel_generator = ln_relu_mlp(sizes, norm_last=False)
        self.setup_global_latent(config.latent_dim, config.latent_init_std, config.encoder, num_train_scenes)

    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        assert latent.code is not None
        if not self.training and not torch.is_grad_enabled():
            return self._render_rays_inference(latent, origins, dirs)
        params = self.hyper(latent.code)
        phi = lambda points: batched_mlp(params, points, last_norm=True, last_activation=torch.relu)  # noqa: E731
        t_start = ray_sphere_entry(origins, dirs, self.config.scene_radius)
        marched = lstm_raymarch(self.marcher, phi, origins, dirs, near=t_start, jitter=self.training)
        t = marched.t
        rgb = torch.sigmoid(self.pixel_generator(marched.features))
        depth_penalty = 1e4 * torch.clamp(t, max=0.0).pow(2).mean()
        return RayOutput(rgb=rgb, depth=t, extra_loss=self.config.depth_weight * depth_penalty)

    @torch.no_grad()
    def _render_rays_inference(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        """``render_rays`` in eval mode without gradients: the same results up to float32 rounding, computed
        faster (:func:`sceneprior.renderers.lstm_raymarch_mlp`; the pixel generator's LayerNorms folded the same
        way)."""
        assert latent.code is not None
        params = self.hyper(latent.code)
        t_start = ray_sphere_entry(origins, dirs, self.config.scene_radius)
        t = torch.empty_like(t_start)
        rgb = torch.empty(*origins.shape[:2], 3, dtype=origins.dtype, device=origins.device)
        pixel = self._pixel_layers()
        last_w, last_b = pixel[-1]
        for b in range(origins.shape[0]):
            layers = [(p.weight[b], p.bias[b]) for p in params]

            @torch.no_grad()
            def work(s: int, e: int, b: int = b, layers: list = layers) -> None:
                t[b, s:e], features = lstm_raymarch_mlp(self.marcher, layers, origins[b, s:e], dirs[b, s:e],
                                                        t_start[b, s:e], chunk=e - s)
                rgb[b, s:e] = torch.sigmoid(torch.addmm(last_b, ln_relu_layers(features, pixel[:-1]), last_w))

            run_chunks(work, origins.shape[1], INFERENCE_CHUNK)
        depth_penalty = 1e4 * torch.clamp(t, max=0.0).pow(2).mean()
        return RayOutput(rgb=rgb, depth=t, extra_loss=self.config.depth_weight * depth_penalty)

    @torch.no_grad()
    def pixel_features(self, latent: SceneLatent, cam2world: Float[Tensor, "4 4"], K: Float[Tensor, "3 3"], height: int,
                       width: int) -> Float[Tensor, "pixel channel"]:
        """φ at the point where the LSTM ray marcher stops on each pixel's ray (what the pixel generator reads), as
        :meth:`render_rays` computes it (Kohli et al.'s features for few-label segmentation)."""
        assert latent.code is not None
        origins, dirs, _ = get_rays(cam2world[None].float(), K[None].float(), height, width)
        origins, dirs = origins.reshape(1, -1, 3), dirs.reshape(1, -1, 3)
        params = self.hyper(latent.code[:1])
        phi = lambda points: batched_mlp(params, points, last_norm=True, last_activation=torch.relu)  # noqa: E731
        t_start = ray_sphere_entry(origins, dirs, self.config.scene_radius)
        return lstm_raymarch(self.marcher, phi, origins, dirs, near=t_start, jitter=False).features[0]

    def _pixel_layers(self) -> list[tuple[Tensor, Tensor]]:
        """The pixel generator as ``(W^T, b)`` per linear layer, those followed by a LayerNorm centred
        (:func:`sceneprior.renderers.lstm_marcher.centred_linear`); the last one as is."""
        modules = list(self.pixel_generator)
        out = []
        for k, module in enumerate(modules):
            if isinstance(module, torch.nn.Linear):
                normed = k + 1 < len(modules) and isinstance(modules[k + 1], torch.nn.LayerNorm)
                if normed:
                    norm = modules[k + 1]
                    assert norm.weight is None and abs(norm.eps - 1e-5) < 1e-12, "pixel generator: LayerNorm must have no affine, eps 1e-5"
                weight, bias = centred_linear(module.weight, module.bias) if normed else (module.weight, module.bias)
                out.append((weight.detach().t().contiguous(), bias.detach()))
        return out

