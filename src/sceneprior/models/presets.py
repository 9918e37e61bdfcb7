"""Model kinds and named presets. A preset is a model config plus the training defaults that suit it on CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..encoders import ConvEncoderConfig
from ..errors import ConfigError
from .autoencoder import AutoEncoder, AutoEncoderConfig
from .base import SceneModel
from .configs import from_plain, to_plain
from .lfn import LFN, LFNConfig
from .pixelnerf import PixelNeRF, PixelNeRFConfig
from .srn import SRN, SRNConfig

# the 3D-supervised shape models (DeepSDF, ONet, ConvONet, voxel decoder) are kinds and presets too
from ..models3d.models import SHAPE_KINDS  # noqa: E402  (imports .base, loaded above)

#: model kind -> (config class, model class)
MODEL_KINDS: dict[str, tuple[type, type[SceneModel]]] = {
    "autoencoder": (AutoEncoderConfig, AutoEncoder),
    "srn": (SRNConfig, SRN),
    "lfn": (LFNConfig, LFN),
    "pixelnerf": (PixelNeRFConfig, PixelNeRF),
    **SHAPE_KINDS,
}


@dataclass
class TrainingDefaults:
    """What a preset suggests for training (each can be overridden on the command line)."""

    lr: float = 1e-4
    #: learning rate of the auto-decoder latents (None: same as ``lr``)
    latent_lr: float | None = None
    scenes_per_batch: int = 4
    target_views: int = 1
    rays_per_scene: int | None = 128  # None: full target images
    input_views: tuple[int, ...] = (1,)  # a number of source views is drawn from this per batch
    object_bbox_rays: bool = False


@dataclass
class Preset:
    name: str
    kind: str
    model: Any
    training: TrainingDefaults = field(default_factory=TrainingDefaults)
    description: str = ""


def _presets() -> dict[str, Preset]:
    return {
        "autoencoder": Preset(
            "autoencoder", "autoencoder", AutoEncoderConfig(),
            TrainingDefaults(lr=2e-4, scenes_per_batch=16, target_views=2, rays_per_scene=None),
            "2D baseline: CNN encoder + pose-conditioned transposed-conv decoder, 64² output",
        ),
        "srn": Preset(
            "srn", "srn", SRNConfig(),
            TrainingDefaults(lr=1e-4, latent_lr=1e-3, scenes_per_batch=4, target_views=2, rays_per_scene=512),
            "SRN auto-decoder: hypernetwork φ + LSTM ray marcher + pixel generator",
        ),
        "srn-encoder": Preset(
            "srn-encoder", "srn", SRNConfig(encoder=ConvEncoderConfig(latent_dim=128)),
            TrainingDefaults(lr=1e-4, scenes_per_batch=4, target_views=2, rays_per_scene=512),
            "SRN with a conv encoder instead of the auto-decoder table",
        ),
        "lfn": Preset(
            "lfn", "lfn", LFNConfig(),
            TrainingDefaults(lr=1e-4, latent_lr=1e-3, scenes_per_batch=8, target_views=2, rays_per_scene=1024),
            "Light field network auto-decoder on Plücker rays, hypernetwork-conditioned",
        ),
        "lfn-encoder": Preset(
            "lfn-encoder", "lfn", LFNConfig(encoder=ConvEncoderConfig(latent_dim=128)),
            TrainingDefaults(lr=1e-4, scenes_per_batch=8, target_views=2, rays_per_scene=1024),
            "Light field network with a conv encoder",
        ),
        "pixelnerf": Preset(
            "pixelnerf", "pixelnerf", PixelNeRFConfig(),
            # lr: the paper's 1e-4 left the training-ray PSNR flat at ~12 dB for 2,180 steps (results/quality);
            # 5e-4 starts faster on our from-scratch, CPU-sized model (results/quality/pixelnerf_cpu*)
            TrainingDefaults(lr=5e-4, scenes_per_batch=4, target_views=1, rays_per_scene=128, input_views=(1, 2),
                             object_bbox_rays=True),
            "pixelNeRF: pixel-aligned features + coarse/fine volume rendering, 1 or 2 source views",
        ),
        **_shape_presets(),
    }


def _shape_presets() -> dict[str, Preset]:
    from ..models3d.presets import shape_presets

    return shape_presets()


PRESET_NAMES = tuple(_presets())


def get_preset(name: str) -> Preset:
    presets = _presets()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; choose from: {', '.join(presets)}")
    return presets[name]


def build_model(kind: str, config: Any, num_train_scenes: int) -> SceneModel:
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; choose from: {', '.join(MODEL_KINDS)}")
    config_cls, model_cls = MODEL_KINDS[kind]
    if not isinstance(config, config_cls):
        raise ConfigError(f"model kind {kind!r} needs a {config_cls.__name__}, got {type(config).__name__}")
    return model_cls(config, num_train_scenes)


def model_config_from_plain(kind: str, data: dict) -> Any:
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}")
    return from_plain(MODEL_KINDS[kind][0], data, "model")


__all__ = ["MODEL_KINDS", "PRESET_NAMES", "Preset", "TrainingDefaults", "build_model", "get_preset", "model_config_from_plain", "to_plain"]
