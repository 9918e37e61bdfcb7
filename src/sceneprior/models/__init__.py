"""Image models as assemblies of encoders, conditioning, fields and renderers, behind one interface
(:class:`SceneModel`): the 2D auto-encoder baseline, SRN, LFN and pixelNeRF."""

from .autoencoder import AutoEncoder, AutoEncoderConfig
from .base import LossOutput, RayOutput, RenderOutput, SceneLatent, SceneModel, TrainBatch, sample_image_rays
from .lfn import LFN, LFNConfig
from .pixelnerf import PixelNeRF, PixelNeRFConfig
from .presets import MODEL_KINDS, PRESET_NAMES, Preset, TrainingDefaults, build_model, get_preset, model_config_from_plain
from .srn import SRN, SRNConfig

__all__ = [
    "AutoEncoder", "AutoEncoderConfig", "LFN", "LFNConfig", "LossOutput", "MODEL_KINDS", "PRESET_NAMES", "PixelNeRF",
    "PixelNeRFConfig", "Preset", "RayOutput", "RenderOutput", "SRN", "SRNConfig", "SceneLatent", "SceneModel",
    "TrainBatch", "TrainingDefaults", "build_model", "get_preset", "model_config_from_plain", "sample_image_rays",
]
