"""3D-supervised shape models (DeepSDF, Occupancy Networks, Convolutional Occupancy Networks, a voxel-grid
decoder) trained on the generator's points.npz / sdf.npz; see :mod:`.models`. Their presets are listed with the
image models' in :mod:`sceneprior.registry`."""

from .batch import (
    DEFAULT_VIEW,
    ShapeBatch,
    ShapeBatches,
    ShapeCache,
    ShapeDataConfig,
    draw_queries,
    front_facing,
    surface_observation,
)
from .meshes import load_mesh, samples_from_mesh, winding_number
from .models import (
    ConvONet,
    ConvONetConfig,
    DeepSDF,
    DeepSDFConfig,
    OccNet,
    OccNetConfig,
    ShapeLatent,
    ShapeModel,
    ShapeModelConfig,
    VoxelModelConfig,
    VoxelShapeModel,
    is_shape_model,
    parameter_count,
)

__all__ = [
    "DEFAULT_VIEW", "ConvONet", "ConvONetConfig", "DeepSDF", "DeepSDFConfig", "OccNet",
    "OccNetConfig", "ShapeBatch", "ShapeBatches", "ShapeCache", "ShapeDataConfig", "ShapeLatent", "ShapeModel", "ShapeModelConfig",
    "VoxelModelConfig", "VoxelShapeModel", "draw_queries", "front_facing", "is_shape_model",
    "load_mesh", "parameter_count", "samples_from_mesh", "surface_observation", "winding_number",
]
