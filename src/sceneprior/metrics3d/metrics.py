"""3D reconstruction metrics in the ConvONet protocol (Peng et al. 2020; REFERENCE.md §5-§6), DeepSDF's
Chamfer as an option.

Units: every distance is in **world units** (the units of the points given). Our generator's objects lie
in ``[-0.5, 0.5]^3``, so distances are fractions of that unit cube's edge, like ONet/ConvONet's
unit-normalised ShapeNet; their tables print Chamfer-L1 multiplied by 10 (REFERENCE.md §5).

* Volumetric IoU on uniform points: ``|pred & gt| / |pred | gt|``, predictions thresholded by
  :func:`inside_from_prediction` (occupancy probability >= 0.2 as ONet/ConvONet's ``test.threshold``,
  or ``sdf < 0``), ground truth ``occupancy >= 0.5``.
* From point sets sampled on the surfaces (100k points on the predicted mesh in ConvONet), with nearest
  neighbours by a k-d tree: *accuracy* = mean distance pred -> gt, *completeness* = mean gt -> pred,
  **Chamfer-L1** = ``(accuracy + completeness) / 2`` (mean Euclidean distances, not squared);
  ConvONet's Chamfer-L2 = mean of the two mean *squared* distances;
  **DeepSDF's Chamfer** = the *sum* of the two mean squared distances (DeepSDF samples 30k points and
  prints it x1e3).
* **Normal consistency**: mean ``|cos|`` between a point's normal and its nearest neighbour's, averaged
  over both directions (orientation-free, as in ConvONet).
* **F-score** at distance ``tau``: precision = share of pred points within ``tau`` of gt (``<=``),
  recall = share of gt points within ``tau`` of pred, ``F = 2PR / (P + R)``. ``tau`` defaults to 1% of
  the reference edge (ConvONet's reported threshold; 1.5% and 2% are computed too), the reference edge
  being the longest side of the ground-truth points' bounding box unless given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import trimesh
from jaxtyping import Bool, Float, Shaped
from scipy.spatial import cKDTree
from torch import Tensor

from ..errors import ConfigError

PredictionKind = Literal["logit", "probability", "sdf", "density"]


def inside_from_prediction(
    values: Float[Tensor, "*batch point"], kind: PredictionKind, threshold: float | None = None
) -> Bool[Tensor, "*batch point"]:
    """Which points a prediction calls inside.

    ``probability``: ``p >= threshold`` (default 0.2, ONet/ConvONet); ``logit``: ``sigmoid(l) >= threshold``
    (default 0.2); ``sdf``: ``sdf < threshold`` (default 0); ``density``: ``sigma > threshold`` (required).
    """
    if kind in ("probability", "logit"):
        t = 0.2 if threshold is None else threshold
        if not 0.0 < t < 1.0:
            raise ConfigError(f"IoU: occupancy threshold {t} must lie in (0, 1)")
        if kind == "probability":
            return values >= t
        return values >= math.log(t) - math.log1p(-t)
    if kind == "sdf":
        return values < (0.0 if threshold is None else threshold)
    if kind == "density":
        if threshold is None:
            raise ConfigError("IoU: a density threshold is required")
        return values > threshold
    raise ConfigError(f"IoU: unknown prediction kind {kind!r} (logit, probability, sdf, density)")


def volumetric_iou(
    pred_inside: Shaped[Tensor, "*batch point"], gt_inside: Shaped[Tensor, "*batch point"]
) -> Float[Tensor, "*batch"]:
    """IoU of two occupancy labellings of the same points (non-boolean inputs are thresholded at 0.5, as
    ONet's ``compute_iou``). Defined as 1 where both are empty; float64."""
    pred = pred_inside if pred_inside.dtype == torch.bool else pred_inside >= 0.5
    gt = gt_inside if gt_inside.dtype == torch.bool else gt_inside >= 0.5
    union = (pred | gt).sum(-1).double()
    intersection = (pred & gt).sum(-1).double()
    return torch.where(union > 0, intersection / union.clamp(min=1), torch.ones_like(union))


@dataclass(frozen=True)
class SurfaceMetricsConfig:
    #: points sampled on a predicted mesh (ConvONet: 100k; DeepSDF: 30k)
    num_samples: int = 100_000
    #: F-score thresholds as fractions of the reference edge; the first is the headline ``fscore``
    fscore_thresholds: tuple[float, ...] = (0.01, 0.015, 0.02)
    #: None: the longest side of the ground-truth points' bounding box
    reference_edge: float | None = None
    seed: int = 0
    workers: int = 1


@dataclass
class SurfaceMetrics:
    """Surface metrics of a prediction against ground truth (distances in world units)."""

    accuracy: float
    completeness: float
    chamfer_l1: float
    chamfer_l2: float
    chamfer_deepsdf: float
    normals_accuracy: float
    normals_completeness: float
    normal_consistency: float
    fscore: float
    precision: float
    recall: float
    #: (threshold in world units, F-score) for every configured threshold
    fscores: tuple[tuple[float, float], ...]


def nearest_neighbours(
    source: Float[np.ndarray, "point 3"], target: Float[np.ndarray, "target 3"], workers: int = 1
) -> tuple[Float[np.ndarray, " point"], np.ndarray]:
    """Distance from each source point to its nearest target point, and that point's index."""
    dist, idx = cKDTree(target).query(source, k=1, workers=workers)
    return dist, idx


def chamfer_l1(pred: Float[np.ndarray, "point 3"], gt: Float[np.ndarray, "target 3"]) -> float:
    """ConvONet's Chamfer-L1: mean of the two directions' mean nearest-neighbour (Euclidean) distances."""
    return 0.5 * (nearest_neighbours(pred, gt)[0].mean() + nearest_neighbours(gt, pred)[0].mean())


def chamfer_deepsdf(pred: Float[np.ndarray, "point 3"], gt: Float[np.ndarray, "target 3"]) -> float:
    """DeepSDF's Chamfer: the sum of the two directions' mean squared nearest-neighbour distances."""
    return float(np.square(nearest_neighbours(pred, gt)[0]).mean() + np.square(nearest_neighbours(gt, pred)[0]).mean())


def _unit(normals: np.ndarray) -> np.ndarray:
    return normals / np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)


def normal_consistency(
    pred_points: Float[np.ndarray, "point 3"], pred_normals: Float[np.ndarray, "point 3"],
    gt_points: Float[np.ndarray, "target 3"], gt_normals: Float[np.ndarray, "target 3"],
) -> float:
    """Mean ``|cos|`` between normals of nearest neighbours, averaged over both directions."""
    _, to_gt = nearest_neighbours(pred_points, gt_points)
    _, to_pred = nearest_neighbours(gt_points, pred_points)
    pn, gn = _unit(pred_normals), _unit(gt_normals)
    accuracy = np.abs((pn * gn[to_gt]).sum(-1)).mean()
    completeness = np.abs((gn * pn[to_pred]).sum(-1)).mean()
    return float(0.5 * (accuracy + completeness))


def fscore(
    pred: Float[np.ndarray, "point 3"], gt: Float[np.ndarray, "target 3"], threshold: float
) -> tuple[float, float, float]:
    """(F-score, precision, recall) at distance ``threshold`` (world units; a point within ``<=`` counts)."""
    precision = float((nearest_neighbours(pred, gt)[0] <= threshold).mean())
    recall = float((nearest_neighbours(gt, pred)[0] <= threshold).mean())
    return _f(precision, recall), precision, recall


def _f(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2.0 * precision * recall / (precision + recall)


def reference_edge(gt_points: Float[np.ndarray, "point 3"]) -> float:
    """The longest side of the axis-aligned bounding box of ``gt_points``."""
    return float((gt_points.max(0) - gt_points.min(0)).max())


def evaluate_point_clouds(
    pred_points: Float[np.ndarray, "point 3"], gt_points: Float[np.ndarray, "target 3"],
    pred_normals: Float[np.ndarray, "point 3"] | None = None, gt_normals: Float[np.ndarray, "target 3"] | None = None,
    config: SurfaceMetricsConfig = SurfaceMetricsConfig(),
) -> SurfaceMetrics:
    """All surface metrics from two point sets (normal metrics are NaN without normals). An empty
    prediction gets ConvONet's worst-case values, scaled to the reference edge: distances ``sqrt(3)``
    edges, normals -1, F-scores 0."""
    edge = config.reference_edge if config.reference_edge is not None else reference_edge(gt_points)
    taus = tuple(t * edge for t in config.fscore_thresholds)
    if len(pred_points) == 0:
        worst = math.sqrt(3.0) * edge
        return SurfaceMetrics(worst, worst, worst, worst**2, 2 * worst**2, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0,
                              tuple((t, 0.0) for t in taus))
    d_pred, i_pred = nearest_neighbours(pred_points, gt_points, config.workers)  # accuracy direction
    d_gt, i_gt = nearest_neighbours(gt_points, pred_points, config.workers)  # completeness direction
    accuracy, completeness = float(d_pred.mean()), float(d_gt.mean())
    acc2, comp2 = float(np.square(d_pred).mean()), float(np.square(d_gt).mean())
    if pred_normals is not None and gt_normals is not None:
        pn, gn = _unit(pred_normals), _unit(gt_normals)
        n_acc = float(np.abs((pn * gn[i_pred]).sum(-1)).mean())
        n_comp = float(np.abs((gn * pn[i_gt]).sum(-1)).mean())
    else:
        n_acc = n_comp = float("nan")
    scores = []
    for tau in taus:
        p, r = float((d_pred <= tau).mean()), float((d_gt <= tau).mean())
        scores.append((tau, _f(p, r), p, r))
    return SurfaceMetrics(
        accuracy=accuracy, completeness=completeness, chamfer_l1=0.5 * (accuracy + completeness),
        chamfer_l2=0.5 * (acc2 + comp2), chamfer_deepsdf=acc2 + comp2,
        normals_accuracy=n_acc, normals_completeness=n_comp, normal_consistency=0.5 * (n_acc + n_comp),
        fscore=scores[0][1], precision=scores[0][2], recall=scores[0][3],
        fscores=tuple((tau, f) for tau, f, _, _ in scores),
    )


def sample_surface(
    mesh: trimesh.Trimesh, count: int, seed: int = 0
) -> tuple[Float[np.ndarray, "point 3"], Float[np.ndarray, "point 3"]]:
    """``count`` points uniformly (by area) on ``mesh`` and the normals of their faces."""
    if len(mesh.faces) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    points, face = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return np.asarray(points, dtype=np.float64), np.asarray(mesh.face_normals[face], dtype=np.float64)


def evaluate_mesh(
    mesh: trimesh.Trimesh, gt_points: Float[np.ndarray, "target 3"], gt_normals: Float[np.ndarray, "target 3"] | None = None,
    config: SurfaceMetricsConfig = SurfaceMetricsConfig(),
) -> SurfaceMetrics:
    """Surface metrics of a predicted mesh against ground-truth surface samples (e.g. ``points.npz``)."""
    points, normals = sample_surface(mesh, config.num_samples, config.seed)
    return evaluate_point_clouds(points, gt_points, normals, gt_normals, config)
