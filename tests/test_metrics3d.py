"""3D metrics on analytic cases: IoU of boxes, Chamfer of shifted planes, F-score of clusters, normal
consistency of a sphere mesh, DeepSDF's squared Chamfer, empty predictions."""

import math

import numpy as np
import pytest
import torch

from sceneprior.errors import ConfigError
from sceneprior.meshing import MeshingConfig, extract_mesh
from sceneprior.metrics3d import (
    SurfaceMetricsConfig,
    chamfer_deepsdf,
    chamfer_l1,
    evaluate_mesh,
    evaluate_point_clouds,
    fscore,
    inside_from_prediction,
    normal_consistency,
    sample_surface,
    volumetric_iou,
)


def cell_centres(n: int = 40) -> torch.Tensor:
    """n^3 cell centres of [-0.5, 0.5]^3 (spacing 1/n; box faces at multiples of 0.05 fall between them)."""
    axis = (torch.arange(n, dtype=torch.float64) + 0.5) / n - 0.5
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)


def in_box(points: torch.Tensor, lo: float, hi: float, shift: float = 0.0) -> torch.Tensor:
    p = points.clone()
    p[:, 0] -= shift
    return ((p >= lo) & (p <= hi)).all(-1)


def test_iou_self_disjoint_and_offset_boxes():
    p = cell_centres()
    a = in_box(p, -0.25, 0.25)
    assert volumetric_iou(a, a).item() == 1.0
    assert volumetric_iou(in_box(p, -0.45, -0.3), in_box(p, 0.1, 0.4)).item() == 0.0
    # boxes of side 0.5 offset by 0.1 along x: intersection 0.4 * 0.5^2, union 2 * 0.5^3 - that -> 2/3
    b = in_box(p, -0.25, 0.25, shift=0.1)
    assert volumetric_iou(a, b).item() == pytest.approx(2 / 3, abs=1e-12)
    # batched, with float ground truth (thresholded at 0.5) and an empty pair defined as 1
    pred = torch.stack([a, torch.zeros_like(a)])
    gt = torch.stack([b.double(), torch.zeros_like(a, dtype=torch.float64)])
    assert torch.allclose(volumetric_iou(pred, gt), torch.tensor([2 / 3, 1.0], dtype=torch.float64))


def test_inside_from_prediction_thresholds():
    logits = torch.tensor([-1.3, -1.5, 2.0])  # logit(0.2) = -1.386
    assert inside_from_prediction(logits, "logit").tolist() == [True, False, True]
    assert inside_from_prediction(torch.sigmoid(logits), "probability").tolist() == [True, False, True]
    assert inside_from_prediction(torch.tensor([-0.1, 0.0, 0.2]), "sdf").tolist() == [True, False, False]
    assert inside_from_prediction(torch.tensor([1.0, 20.0]), "density", 10.0).tolist() == [False, True]
    with pytest.raises(ConfigError):
        inside_from_prediction(torch.tensor([1.0]), "density")


def plane_points(n: int = 60, z: float = 0.0) -> np.ndarray:
    axis = np.linspace(-0.5, 0.5, n)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([x.ravel(), y.ravel(), np.full(x.size, z)], axis=-1)


def test_chamfer_of_identical_and_shifted_sets():
    gt = plane_points()
    assert chamfer_l1(gt, gt) == 0.0 and chamfer_deepsdf(gt, gt) == 0.0
    delta = 0.004  # below the lattice spacing: each point's nearest neighbour is straight across
    shifted = plane_points(z=delta)
    assert chamfer_l1(shifted, gt) == pytest.approx(delta, rel=1e-9)
    assert chamfer_deepsdf(shifted, gt) == pytest.approx(2 * delta**2, rel=1e-9)
    m = evaluate_point_clouds(shifted, gt)
    assert m.accuracy == pytest.approx(delta) and m.completeness == pytest.approx(delta)
    assert m.chamfer_l1 == pytest.approx(delta) and m.chamfer_l2 == pytest.approx(delta**2)
    assert math.isnan(m.normal_consistency)


def test_fscore_analytic_cases():
    gt = plane_points()
    near, far = plane_points(z=0.004), plane_points(z=0.03)
    assert fscore(near, gt, 0.01) == (1.0, 1.0, 1.0)
    assert fscore(far, gt, 0.01) == (0.0, 0.0, 0.0)
    # prediction = one of two far-apart clusters: precision 1, recall 1/2 -> F = 2/3
    cluster_b = plane_points(z=5.0)
    f, precision, recall = fscore(gt, np.concatenate([gt, cluster_b]), 0.01)
    assert (precision, recall) == (1.0, 0.5) and f == pytest.approx(2 / 3)
    # default threshold: 1% of the ground truth's longest bounding-box side (here 1.0), plus 1.5% and 2%
    m = evaluate_point_clouds(plane_points(z=0.012), gt)
    assert [t for t, _ in m.fscores] == pytest.approx([0.01, 0.015, 0.02])
    assert [f for _, f in m.fscores] == [0.0, 1.0, 1.0] and m.fscore == 0.0


def fibonacci_sphere(n: int, radius: float) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    return radius * np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=-1)


def test_sphere_mesh_against_analytic_sphere():
    radius = 0.3
    mesh = extract_mesh(lambda p: p.norm(dim=-1) - radius, MeshingConfig.for_sdf(resolution=48))
    gt = fibonacci_sphere(20000, radius)
    gt_normals = gt / radius
    config = SurfaceMetricsConfig(num_samples=20000, reference_edge=1.0)  # the unit cube, as ConvONet's data
    m = evaluate_mesh(mesh, gt, gt_normals, config)
    assert m.normal_consistency > 0.995
    # with 20k points a side, Chamfer is dominated by the sampling: compare with a perfect sphere's samples
    rng = np.random.default_rng(1)
    perfect = rng.normal(size=(20000, 3))
    perfect *= radius / np.linalg.norm(perfect, axis=1, keepdims=True)
    assert m.chamfer_l1 < 1.1 * chamfer_l1(perfect, gt)
    assert m.fscore > 0.99
    points, normals = sample_surface(mesh, 5000, seed=0)
    assert np.allclose(np.linalg.norm(points, axis=1), radius, atol=0.002)
    assert normal_consistency(points, normals, gt, gt_normals) == pytest.approx(m.normal_consistency, abs=2e-3)
    assert normal_consistency(points, -normals, gt, gt_normals) == pytest.approx(m.normal_consistency, abs=2e-3)
    # random normals: E|cos| of uniform directions is 1/2
    rng = np.random.default_rng(0)
    random_normals = rng.normal(size=normals.shape)
    assert normal_consistency(points, random_normals, gt, gt_normals) == pytest.approx(0.5, abs=0.02)


def test_empty_prediction_gets_worst_values():
    gt = plane_points()
    m = evaluate_point_clouds(np.zeros((0, 3)), gt)
    assert m.chamfer_l1 == pytest.approx(math.sqrt(3)) and m.fscore == 0.0 and m.normal_consistency == -1.0
    empty = extract_mesh(lambda p: p.norm(dim=-1) + 1.0, MeshingConfig.for_sdf(resolution=4))
    assert evaluate_mesh(empty, gt).fscore == 0.0
