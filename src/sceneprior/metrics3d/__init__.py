"""3D metrics (ConvONet protocol): volumetric IoU, Chamfer-L1 (and DeepSDF's squared Chamfer), normal
consistency and F-score. See :mod:`.metrics` for definitions and units."""

from .metrics import (
    PredictionKind,
    SurfaceMetrics,
    SurfaceMetricsConfig,
    chamfer_deepsdf,
    chamfer_l1,
    evaluate_mesh,
    evaluate_point_clouds,
    fscore,
    inside_from_prediction,
    nearest_neighbours,
    normal_consistency,
    reference_edge,
    sample_surface,
    volumetric_iou,
)

__all__ = [
    "PredictionKind", "SurfaceMetrics", "SurfaceMetricsConfig", "chamfer_deepsdf", "chamfer_l1", "evaluate_mesh",
    "evaluate_point_clouds", "fscore", "inside_from_prediction", "nearest_neighbours", "normal_consistency",
    "reference_edge", "sample_surface", "volumetric_iou",
]
