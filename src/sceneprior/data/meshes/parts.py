"""A mesh's triangles of one material, as every mesh reader hands them over (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MeshPart:
    """Triangles of one material: ``vertices`` (n, 3) float64, ``faces`` (f, 3) int64, ``normals`` (n, 3)
    per-vertex unit normals, and either ``texture`` (h, w, 3) uint8 sRGB with ``uv`` (n, 2) (OpenGL
    convention: v = 0 at the image's bottom row), or ``vertex_colours`` (n, 3) uint8 sRGB, or only ``colour``
    (3,) sRGB in [0, 1] (also the factor of a texture)."""

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    colour: np.ndarray
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    vertex_colours: np.ndarray | None = None
    #: shade with the vertex normals (else with flat face normals: see :func:`smooth_normals_fit`)
    smooth: bool = True


def smooth_normals_fit(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, max_angle_deg: float = 45.0) -> bool:
    """Whether per-vertex normals suit the faces: at most 1% of face corners turn more than ``max_angle_deg``
    away from their face (a box whose 8 corners are shared averages its normals across hard edges: not fit)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(face_n, axis=1, keepdims=True)
    ok = length[:, 0] > 0
    if not ok.any():
        return True
    face_n = face_n[ok] / length[ok]
    corner_n = normals[faces[ok]]  # (face, 3, 3)
    cosines = np.abs(np.einsum("fj,fkj->fk", face_n, corner_n))
    return float((cosines < np.cos(np.radians(max_angle_deg))).mean()) <= 0.01
