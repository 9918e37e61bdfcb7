"""Scene representations read by 3D-supervised fields: local feature structures (grids, ground plane,
tri-planes) and the decoders that read them or a global code (DeepSDF, Occupancy Networks, ConvONet,
voxel grids decoded by transposed 3D convolutions). See FRAMEWORK.md §3, §7, §8."""

from .decoders import Conditioning, GlobalDecoder, GlobalDecoderConfig, LocalDecoder, LocalDecoderConfig
from .features import (
    GROUND_PLANE,
    PLANE_AXES,
    TRIPLANE,
    Bounds,
    FeatureGrid,
    FeaturePlanes,
    LocalFeatures,
    cell_index,
    plane_coordinates,
    scatter_max_gather,
    scatter_mean,
)
from .global_fields import ConditionedRadianceField, HyperRadianceField, VoxelRadianceField
from .layers import ConditionalNorm, ConditionalResnetBlock
from .voxel import VoxelDecoder, VoxelDecoderConfig

__all__ = [
    "GROUND_PLANE", "PLANE_AXES", "TRIPLANE", "Bounds", "Conditioning", "ConditionalNorm", "ConditionalResnetBlock",
    "ConditionedRadianceField", "FeatureGrid", "FeaturePlanes", "HyperRadianceField", "VoxelRadianceField", "GlobalDecoder", "GlobalDecoderConfig", "LocalDecoder", "LocalDecoderConfig",
    "LocalFeatures", "VoxelDecoder", "VoxelDecoderConfig", "cell_index", "plane_coordinates",
    "scatter_max_gather", "scatter_mean",
]
