"""User meshes (OBJ / PLY / GLB / STL / OFF, read by trimesh) -> the 3D supervision / observation of a scene:
surface points with normals, and query points with occupancy and signed distance, in the layout of the
generator's ``points.npz`` / ``sdf.npz`` (a :class:`~sceneprior.data.types.PointCloudSample`).

Inside/outside comes from the **generalised winding number** (Jacobson et al. 2013: the sum over triangles of
their solid angles seen from the point, / 4 pi; 1 inside a closed surface, 0 outside), so no ray-tracing
backend is needed. A mesh that is not watertight has no well-defined inside and is refused with a one-line
:class:`~sceneprior.errors.DataError`, as is a file trimesh cannot read or one without triangles.

The signed distance is approximate: the distance to the nearest of dense surface samples (exact to about the
sample spacing), negative where the winding number says inside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import trimesh
from jaxtyping import Float
from scipy.spatial import cKDTree

from ..data.types import PointCloudSample
from ..errors import DataError


def winding_number(
    mesh: trimesh.Trimesh, points: Float[np.ndarray, "point 3"], chunk: int = 2048
) -> Float[np.ndarray, " point"]:
    """Generalised winding number of ``points`` w.r.t. the triangles of ``mesh`` (Van Oosterom-Strackee
    solid angle per triangle), in chunks of points."""
    triangles = np.asarray(mesh.triangles, dtype=np.float64)  # (face, 3, 3)
    out = np.empty(points.shape[0], dtype=np.float64)
    for start in range(0, points.shape[0], chunk):
        p = np.asarray(points[start : start + chunk], dtype=np.float64)
        d = triangles[None, :, :, :] - p[:, None, None, :]  # (point, face, vertex, 3)
        a, b, c = d[:, :, 0], d[:, :, 1], d[:, :, 2]
        la, lb, lc = (np.linalg.norm(v, axis=-1) for v in (a, b, c))
        det = np.einsum("pfi,pfi->pf", a, np.cross(b, c))
        denom = la * lb * lc + np.einsum("pfi,pfi->pf", a, b) * lc + np.einsum("pfi,pfi->pf", b, c) * la \
            + np.einsum("pfi,pfi->pf", c, a) * lb
        out[start : start + chunk] = (2.0 * np.arctan2(det, denom)).sum(-1) / (4.0 * np.pi)
    return out


def load_mesh(path: str | Path) -> trimesh.Trimesh:
    """One triangle mesh from a file (a scene's meshes are concatenated); one-line DataError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "mesh file not found")
    try:
        mesh = trimesh.load(str(path), force="mesh", process=True)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types for bad files
        raise DataError(path, f"cannot read mesh ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise DataError(path, "no triangles found in the mesh file")
    return mesh


def samples_from_mesh(
    path: str | Path, surface_points: int = 10000, query_points: int = 20000, normalize: bool = True,
    seed: int = 0,
) -> PointCloudSample:
    """Surface samples (points, face normals) and DeepSDF-style query samples (40% surface + N(0, (0.02 s)^2),
    40% surface + N(0, (0.08 s)^2), 20% uniform in the cube [-s, s]^3, as the generator's ``sdf.npz``) of a
    watertight mesh file. ``normalize`` centres the mesh's bounding box and scales its longest side to 1
    (the generator's / ONet's unit cube, s = 0.5); otherwise s is the half longest side of the bounding box
    around the origin."""
    path = Path(path)
    mesh = load_mesh(path)
    if not mesh.is_watertight:
        raise DataError(path, "mesh is not watertight (inside/outside is undefined); close its holes first, "
                              "e.g. trimesh.repair.fill_holes")
    if normalize:
        lo, hi = mesh.bounds
        extent = float((hi - lo).max())
        if extent <= 0:
            raise DataError(path, "mesh is degenerate (zero extent)")
        mesh = mesh.copy()
        mesh.apply_translation(-(lo + hi) / 2.0)
        mesh.apply_scale(1.0 / extent)
    half = 0.5 if normalize else float(np.abs(mesh.bounds).max())
    rng = np.random.default_rng(seed)
    surface, face = trimesh.sample.sample_surface(mesh, surface_points, seed=seed)
    normals = mesh.face_normals[face]
    n_near = int(round(0.4 * query_points))
    n_far = int(round(0.4 * query_points))
    base, _ = trimesh.sample.sample_surface(mesh, n_near + n_far, seed=seed + 1)
    sigma = np.concatenate([np.full(n_near, 0.02 * half), np.full(n_far, 0.08 * half)])
    near = base + rng.normal(size=base.shape) * sigma[:, None]
    uniform = rng.uniform(-half, half, size=(query_points - n_near - n_far, 3))
    queries = np.clip(np.concatenate([near, uniform]), -half, half)
    inside = winding_number(mesh, queries) > 0.5
    dense, _ = trimesh.sample.sample_surface(mesh, max(50_000, 2 * surface_points), seed=seed + 2)
    distance, _ = cKDTree(dense).query(queries)
    sdf = np.where(inside, -distance, distance)
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return PointCloudSample(
        scene_id=path.stem, surface_points=as_tensor(surface), surface_normals=as_tensor(normals),
        query_points=as_tensor(queries), query_sdf=as_tensor(sdf), query_occupancy=as_tensor(inside),
    )
