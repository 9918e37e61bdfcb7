"""Image models as assemblies of encoders, conditioning, fields and renderers, behind one interface
(:class:`SceneModel`): the 2D auto-encoder baseline, SRN, LFN, pixelNeRF and Splatter Image. Every model's config
builds it (:class:`ModelConfig`); the registry of models and presets is :mod:`sceneprior.registry`."""

from .autoencoder import AutoEncoder, AutoEncoderConfig
from .base import (LossOutput, ModelConfig, Preset, RayOutput, RenderOutput, SceneLatent, SceneModel, TrainBatch,
                   TrainingDefaults, sample_image_rays)
from .lfn import LFN, LFNConfig
from .pixelnerf import PixelNeRF, PixelNeRFConfig
from .splatter import SplatterConfig, SplatterImage
from .srn import SRN, SRNConfig

__all__ = [
    "AutoEncoder", "AutoEncoderConfig", "LFN", "LFNConfig", "LossOutput", "ModelConfig", "PixelNeRF",
    "PixelNeRFConfig", "Preset", "RayOutput", "RenderOutput", "SRN", "SRNConfig", "SceneLatent", "SceneModel",
    "SplatterConfig", "SplatterImage",
    "TrainBatch", "TrainingDefaults", "sample_image_rays",
]
