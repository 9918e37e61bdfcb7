"""3D-supervised shape models (DeepSDF, Occupancy Networks, Convolutional Occupancy Networks, a voxel-grid
decoder) trained on the generator's points.npz / sdf.npz; see :mod:`.models` and :mod:`.presets`.

``sceneprior.models`` is imported first: its preset table lists the shape kinds and presets, so it imports
``.models`` and ``.presets`` of this package while loading."""

from .. import models as _models  # noqa: F401  (must come first, see above)

from .batch import (
    DEFAULT_VIEW,
    ShapeBatch,
    ShapeBatches,
    ShapeBatchSampler,
    ShapeCache,
    ShapeDataConfig,
    draw_queries,
    front_facing,
    surface_observation,
)
from .meshes import load_mesh, samples_from_mesh, winding_number
from .models import (
    SHAPE_KINDS,
    ConvONet,
    ConvONetConfig,
    DeepSDF,
    DeepSDFConfig,
    FitConfig,
    OccNet,
    OccNetConfig,
    ShapeLatent,
    ShapeModel,
    VoxelModelConfig,
    VoxelShapeModel,
    activation_memory,
    is_shape_model,
    parameter_count,
)
from .presets import shape_presets

__all__ = [
    "DEFAULT_VIEW", "SHAPE_KINDS", "ConvONet", "ConvONetConfig", "DeepSDF", "DeepSDFConfig", "FitConfig", "OccNet",
    "OccNetConfig", "ShapeBatch", "ShapeBatches", "ShapeBatchSampler", "ShapeCache", "ShapeDataConfig", "ShapeLatent", "ShapeModel",
    "VoxelModelConfig", "VoxelShapeModel", "activation_memory", "draw_queries", "front_facing", "is_shape_model",
    "load_mesh", "parameter_count", "samples_from_mesh", "shape_presets", "surface_observation", "winding_number",
]
