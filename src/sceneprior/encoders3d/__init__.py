"""Encoders of 3D observations (point clouds) into global or local latent codes: ONet's ResNet-PointNet,
ConvONet's local-pool PointNet with 2D / 3D U-Nets. See FRAMEWORK.md §7, §8 and REFERENCE.md §5, §6."""

from .pointnet import (
    FeatureKind,
    LocalPointNet,
    LocalPointNetConfig,
    PointNetEncoder,
    PointNetEncoderConfig,
    sample_input_points,
)
from .unet import UNet2D, UNet2DConfig, UNet3D, UNet3DConfig

__all__ = [
    "FeatureKind", "LocalPointNet", "LocalPointNetConfig", "PointNetEncoder", "PointNetEncoderConfig",
    "UNet2D", "UNet2DConfig", "UNet3D", "UNet3DConfig", "sample_input_points",
]
