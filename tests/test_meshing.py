"""Marching cubes of analytic fields: sphere SDF (vertex error, volume, orientation), coarse-to-fine equals
plain with fewer evaluations, occupancy logits / densities, vertex colours, PLY / GLB export."""

import math

import numpy as np
import pytest
import torch
import trimesh

from sceneprior.errors import ConfigError
from sceneprior.meshing import MeshingConfig, evaluate_field_on_grid, export_mesh, extract_mesh

RADIUS = 0.3


def sphere_sdf(points: torch.Tensor) -> torch.Tensor:
    return points.norm(dim=-1) - RADIUS


class Counting:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, points):
        self.calls += points.shape[0]
        return self.fn(points)


def test_sphere_sdf_mesh_vertices_volume_and_orientation():
    config = MeshingConfig.for_sdf(resolution=48)
    mesh = extract_mesh(sphere_sdf, config)
    h = config.voxel_size.max()
    radial = np.linalg.norm(mesh.vertices, axis=1)
    # vertices come from linear interpolation along grid edges of an exact SDF: far below one cell
    assert np.abs(radial - RADIUS).max() < 0.05 * h
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(4 / 3 * math.pi * RADIUS**3, rel=0.01)  # positive: outward faces
    assert (np.einsum("ij,ij->i", mesh.face_normals, mesh.triangles_center) > 0).all()


def test_coarse_to_fine_equals_plain_with_fewer_evaluations():
    plain_fn, fine_fn = Counting(sphere_sdf), Counting(sphere_sdf)
    plain = extract_mesh(plain_fn, MeshingConfig.for_sdf(resolution=64))
    fine = extract_mesh(fine_fn, MeshingConfig.for_sdf(resolution=64, coarse_resolution=16))
    assert plain_fn.calls == 65**3
    assert fine_fn.calls < 0.3 * plain_fn.calls
    assert len(fine.vertices) == len(plain.vertices) and len(fine.faces) == len(plain.faces)
    a = plain.vertices[np.lexsort(plain.vertices.T)]
    b = fine.vertices[np.lexsort(fine.vertices.T)]
    assert np.abs(a - b).max() < 1e-9
    grid = evaluate_field_on_grid(sphere_sdf, MeshingConfig.for_sdf(resolution=64, coarse_resolution=16))
    assert grid.num_evaluated == fine_fn.calls


def test_coarse_to_fine_keeps_the_sign_everywhere():
    config = MeshingConfig.for_sdf(resolution=32, coarse_resolution=8)
    grid = evaluate_field_on_grid(sphere_sdf, config)
    axis = config.bound_min[0] + np.arange(33) * config.voxel_size[0]
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    exact = np.sqrt(x**2 + y**2 + z**2) - RADIUS
    assert np.array_equal(grid.values < 0, exact < 0)
    assert np.allclose(grid.values[grid.evaluated], exact[grid.evaluated], atol=1e-6)


def test_occupancy_logits_box_with_colours_and_thresholds():
    half = torch.tensor([0.3, 0.2, 0.1])

    def box_logits(p):  # a smooth occupancy: logit = 50 * (inside margin)
        return 50.0 * (half - p.abs()).min(dim=-1).values[:, None]  # (N, 1) is accepted

    config = MeshingConfig.for_occupancy_logits(0.2, resolution=40, coarse_resolution=10)
    assert config.level == pytest.approx(math.log(0.2 / 0.8))
    mesh = extract_mesh(box_logits, config, color_fn=lambda p: (p + 0.5).clamp(0, 1))
    # the 0.2 level of 50 * margin sits 0.028 outside the box
    grow = -config.level / 50.0
    expected = float(torch.prod(2 * (half + grow)))
    assert mesh.volume == pytest.approx(expected, rel=0.03)
    colours = mesh.visual.vertex_colors
    assert colours.shape == (len(mesh.vertices), 4)
    assert np.abs(colours[:, :3] / 255.0 - np.clip(mesh.vertices + 0.5, 0, 1)).max() <= 0.5 / 255 + 1e-9


def test_density_threshold_and_empty_field():
    density = lambda p: 100.0 * (p.norm(dim=-1) < RADIUS).float()  # noqa: E731
    mesh = extract_mesh(density, MeshingConfig.for_density(50.0, resolution=32))
    assert abs(np.linalg.norm(mesh.vertices, axis=1) - RADIUS).max() < MeshingConfig(resolution=32).voxel_size.max()
    empty = extract_mesh(lambda p: p.norm(dim=-1) + 1.0, MeshingConfig.for_sdf(resolution=8))
    assert len(empty.vertices) == 0 and len(empty.faces) == 0


def test_export_ply_and_glb_round_trip(tmp_path):
    mesh = extract_mesh(sphere_sdf, MeshingConfig.for_sdf(resolution=16), color_fn=lambda p: torch.ones_like(p) * 0.5)
    ply = trimesh.load(export_mesh(mesh, tmp_path / "sphere.ply"), process=False)
    assert np.allclose(ply.vertices, mesh.vertices, atol=1e-6) and np.array_equal(ply.faces, mesh.faces)
    assert np.array_equal(ply.visual.vertex_colors, mesh.visual.vertex_colors)
    glb = trimesh.load(export_mesh(mesh, tmp_path / "sphere.glb"), force="mesh", process=False)
    assert len(glb.vertices) == len(mesh.vertices)
    assert glb.volume == pytest.approx(mesh.volume, rel=1e-4)
    with pytest.raises(ConfigError):
        export_mesh(mesh, tmp_path / "sphere.obj")


def test_bad_configs_and_bad_fields():
    with pytest.raises(ConfigError):
        extract_mesh(sphere_sdf, MeshingConfig.for_sdf(resolution=48, coarse_resolution=10))
    with pytest.raises(ConfigError):
        extract_mesh(lambda p: p[:2, 0], MeshingConfig.for_sdf(resolution=4))
