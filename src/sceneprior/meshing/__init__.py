"""Meshes from any field over world points (SDF, occupancy, density) by marching cubes, plain or
coarse-to-fine (ONet's MISE idea), with optional vertex colours; PLY / GLB export."""

from .marching import (
    ColorFn,
    FieldFn,
    FieldGrid,
    MeshingConfig,
    evaluate_field_on_grid,
    evaluate_points,
    export_mesh,
    extract_mesh,
    mesh_from_grid,
)

__all__ = [
    "ColorFn", "FieldFn", "FieldGrid", "MeshingConfig", "evaluate_field_on_grid", "evaluate_points", "export_mesh",
    "extract_mesh", "mesh_from_grid",
]
