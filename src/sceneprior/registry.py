"""The one registry of models and presets, image and 3D alike.

A model's config names its model (its class-level ``kind``) and builds it (``config.build(num_train_scenes)``);
its presets come from the config class (``presets()``). This module only lists the config classes, one line per
model, and looks them up by ``kind`` -- the name stored beside the model config in a run's ``config.json``. No
other module dispatches on a kind or preset name: code that behaves differently per model asks the model (the
capabilities declared on :class:`~sceneprior.models.SceneModel`). See docs/ARCHITECTURE.md, "Adding a model".
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .models.autoencoder import AutoEncoderConfig
from .models.base import ModelConfig, Preset
from .models.configs import from_plain
from .models.global_field import GlobalFieldConfig
from .models.groundplan import GroundPlanConfig
from .models.lfn import LFNConfig
from .models.lifting import LiftingConfig
from .models.pixelnerf import PixelNeRFConfig
from .models.sdf_image import SDFImageConfig
from .models.splatter import SplatterConfig
from .models.srn import SRNConfig
from .models.srn_pixel import SRNPixelConfig
from .models3d.models import ConvONetConfig, DeepSDFConfig, OccNetConfig, VoxelModelConfig

#: every model's config class, one line per model; the order is the order presets are listed in
MODEL_CONFIGS: tuple[type[ModelConfig], ...] = (
    AutoEncoderConfig,
    SRNConfig,
    SRNPixelConfig,
    LFNConfig,
    PixelNeRFConfig,
    SDFImageConfig,
    SplatterConfig,
    LiftingConfig,
    GlobalFieldConfig,
    GroundPlanConfig,
    DeepSDFConfig,
    OccNetConfig,
    ConvONetConfig,
    VoxelModelConfig,
)


def _by_kind() -> dict[str, type[ModelConfig]]:
    table: dict[str, type[ModelConfig]] = {}
    for cls in MODEL_CONFIGS:
        if cls.kind in table:
            raise ConfigError(f"model kind {cls.kind!r} is registered twice ({table[cls.kind].__name__}, {cls.__name__})")
        table[cls.kind] = cls
    return table


MODEL_KINDS: tuple[str, ...] = tuple(_by_kind())


def config_class(kind: str) -> type[ModelConfig]:
    """The config class registered under ``kind``."""
    table = _by_kind()
    if kind not in table:
        raise ConfigError(f"unknown model kind {kind!r}; choose from: {', '.join(table)}")
    return table[kind]


def config_from_plain(kind: str, data: dict[str, Any]) -> Any:
    """A model config of ``kind`` from its plain JSON (a run's ``config.json`` ``model`` entry)."""
    return from_plain(config_class(kind), data, "model")


def model_of_run(run_config: dict[str, Any]) -> tuple[ModelConfig, int]:
    """(model config, number of training scenes) of a run's ``config.json`` (``kind`` beside ``model``): what
    rebuilds its model, ``config.build(num_train_scenes)``, without the training settings."""
    try:
        return config_from_plain(run_config["kind"], run_config["model"]), int(run_config["num_train_scenes"])
    except KeyError as exc:
        raise ConfigError(f"run config lacks {exc}") from None


def presets(base: type[ModelConfig] = ModelConfig) -> dict[str, Preset]:
    """Every preset (fresh configs on every call) whose config is a ``base``, by name."""
    table: dict[str, Preset] = {}
    for cls in MODEL_CONFIGS:
        for preset in cls.presets():
            if preset.name in table:
                raise ConfigError(f"preset {preset.name!r} is defined twice")
            if not isinstance(preset.model, cls):
                raise ConfigError(f"preset {preset.name!r} of {cls.__name__} holds a {type(preset.model).__name__}")
            if isinstance(preset.model, base):
                table[preset.name] = preset
    return table


PRESET_NAMES: tuple[str, ...] = tuple(presets())


def get_preset(name: str) -> Preset:
    table = presets()
    if name not in table:
        raise ConfigError(f"unknown preset {name!r}; choose from: {', '.join(table)}")
    return table[name]


__all__ = ["MODEL_CONFIGS", "MODEL_KINDS", "PRESET_NAMES", "config_class", "config_from_plain", "get_preset", "model_of_run",
           "presets"]
