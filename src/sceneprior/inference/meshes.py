"""Geometry of an inferred scene, whatever the model: densities to mesh, depth-map fusion, normals from depth.

Models declare their geometry (:attr:`sceneprior.models.SceneModel.geometry`):

* "density" (pixelNeRF): :meth:`~sceneprior.models.SceneModel.density_field` queries its fine network at world
  points (seen from the input camera's centre, the direction that also gives the vertex colours) and the mesh is
  the level set of the density at :meth:`~sceneprior.models.SceneModel.density_level` (marching cubes,
  :mod:`sceneprior.meshing`).
* "depth" (SRN, LFN) has neither a density nor an SDF (its LSTM ray marcher finds surfaces), but its depth maps are
  3D-consistent: the mesh is the zero level of a truncated signed distance fused from depth maps rendered around
  the object (TSDF fusion with space carving of background pixels), coloured from those renders.
  LFN's depth is sparse (LFN's derivative estimate, NaN where it fails its checks): its unknown pixels are not
  background, so fusion carves only where the render shows background.
* "sdf" (``sdf-sphere``, ``sdf-volsdf``): :meth:`~sceneprior.models.SceneModel.sdf_field` gives the signed
  distance of the inferred scene; the mesh is its zero level set.
* "none" (the auto-encoder, a 2D decoder): no 3D geometry at all; meshing it raises :class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import trimesh
from jaxtyping import Bool, Float
from torch import Tensor

from ..errors import ConfigError, SceneError
from ..geometry import project, unproject_depth
from ..meshing import FieldGrid, MeshingConfig, evaluate_field_on_grid, mesh_from_grid
from ..models.base import SceneModel


@dataclass
class DepthView:
    """One rendered view for fusion: z-depth (NaN where there is no surface, or where it is unknown) and colour.
    ``background`` marks the pixels known to see no surface (they carve space); None: every NaN-depth pixel is
    background. A model with sparse depth (LFN) leaves pixels unknown: NaN depth but not background."""

    depth: Float[np.ndarray, "height width"]
    rgb: Float[np.ndarray, "height width 3"]
    cam2world: Float[Tensor, "4 4"]
    K: Float[Tensor, "3 3"]
    background: Bool[np.ndarray, "height width"] | None = None


def grid_points(bounds: tuple[float, ...], resolution: int) -> Float[np.ndarray, "point 3"]:
    lo, hi = np.asarray(bounds[:3], np.float64), np.asarray(bounds[3:], np.float64)
    axes = [np.linspace(lo[i], hi[i], resolution + 1) for i in range(3)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def _lookup(view: DepthView, points: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixel index or -1, z of each point in the view's camera, in-image flag)."""
    uv, z = project(points, view.cam2world, view.K)
    height, width = view.depth.shape
    col = torch.floor(uv[:, 0]).long().numpy()
    row = torch.floor(uv[:, 1]).long().numpy()
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height) & (z.numpy() > 1e-6)
    index = np.where(inside, row.clip(0, height - 1) * width + col.clip(0, width - 1), -1)
    return index, z.numpy().astype(np.float64), inside


def fuse_depth_maps(views: list[DepthView], bounds: tuple[float, ...], resolution: int) -> FieldGrid:
    """Truncated signed distance (positive outside) on the grid's samples, averaged over the views that see each
    sample within the truncation band; samples that project onto a background pixel of any view are carved
    (outside); pixels with unknown depth (NaN, not background) neither add distance nor carve. The truncation is
    3 voxels."""
    points_np = grid_points(bounds, resolution)
    points = torch.as_tensor(points_np, dtype=torch.float32)
    voxel = (np.asarray(bounds[3:]) - np.asarray(bounds[:3])) / resolution
    trunc = 3.0 * float(voxel.max())
    total = np.zeros(len(points_np))
    weight = np.zeros(len(points_np))
    carved = np.zeros(len(points_np), dtype=bool)
    for view in views:
        index, z, inside = _lookup(view, points)
        depth = view.depth.reshape(-1)[np.where(inside, index, 0)].astype(np.float64)
        if view.background is None:
            background = inside & ~np.isfinite(depth)
        else:
            background = inside & view.background.reshape(-1)[np.where(inside, index, 0)]
        carved |= background
        sdf = depth - z
        use = inside & np.isfinite(depth) & (sdf > -trunc)
        total[use] += np.clip(sdf[use], -trunc, trunc)
        weight[use] += 1.0
    values = np.where(weight > 0, total / np.maximum(weight, 1e-9), trunc)
    values[carved] = np.maximum(values[carved], trunc)
    shape = (resolution + 1,) * 3
    return FieldGrid(values.reshape(shape), np.ones(shape, bool), np.asarray(bounds[:3], np.float64), voxel)


def colours_from_views(vertices: Float[np.ndarray, "point 3"], views: list[DepthView], tolerance: float) -> np.ndarray:
    """Mean colour of each vertex over the views where it is visible (its z matches the rendered depth within
    ``tolerance``); vertices seen by none take the colour of the view whose depth comes closest."""
    points = torch.as_tensor(vertices, dtype=torch.float32)
    total = np.zeros((len(vertices), 3))
    count = np.zeros(len(vertices))
    best_error = np.full(len(vertices), np.inf)
    best_colour = np.full((len(vertices), 3), 0.6)
    for view in views:
        index, z, inside = _lookup(view, points)
        safe = np.where(inside, index, 0)
        depth = view.depth.reshape(-1)[safe]
        error = np.where(inside & np.isfinite(depth), np.abs(depth - z), np.inf)
        colour = view.rgb.reshape(-1, 3)[safe]
        visible = error < tolerance
        total[visible] += colour[visible]
        count[visible] += 1
        closer = error < best_error
        best_error[closer] = error[closer]
        best_colour[closer] = colour[closer]
    return np.where(count[:, None] > 0, total / np.maximum(count[:, None], 1), best_colour)


def density_mesh(
    density_fn: Callable[[Tensor], Tensor], colour_fn: Callable[[Tensor], Tensor], bounds: tuple[float, ...],
    resolution: int, level: float,
) -> tuple[trimesh.Trimesh, str]:
    """Marching cubes of ``density_fn`` at ``level``; if the density never reaches it (an untrained or weak model),
    at the 97th percentile of the grid's densities instead (said in the returned note)."""
    coarse = resolution // 4 if resolution % 4 == 0 and resolution >= 32 else None
    config = MeshingConfig.for_density(level, resolution=resolution, bound_min=tuple(bounds[:3]),
                                       bound_max=tuple(bounds[3:]), coarse_resolution=coarse, chunk_size=16384)
    grid = evaluate_field_on_grid(density_fn, config)
    note = f"density level {level:.3g}"
    if not (grid.values.max() > level > grid.values.min()):
        if coarse is not None:  # the coarse grid saw no crossing: evaluate every sample
            config = MeshingConfig.for_density(level, resolution=resolution, bound_min=tuple(bounds[:3]),
                                               bound_max=tuple(bounds[3:]), chunk_size=16384)
            grid = evaluate_field_on_grid(density_fn, config)
        if not (grid.values.max() > level > grid.values.min()):
            new_level = float(np.percentile(grid.values, 97.0))
            if not grid.values.max() > new_level > grid.values.min():
                raise SceneError("the inferred density is constant over the scene box: there is no surface to mesh")
            note = f"density never crosses {level:.3g}; meshed at the 97th percentile {new_level:.3g} instead"
            level = new_level
    mesh = mesh_from_grid(grid, level, "above")
    mesh = _colour(mesh, colour_fn)
    return mesh, note


def sdf_mesh(
    sdf_fn: Callable[[Tensor], Tensor], colour_fn: Callable[[Tensor], Tensor], bounds: tuple[float, ...], resolution: int,
) -> tuple[trimesh.Trimesh, str]:
    """Marching cubes of the zero level set of ``sdf_fn`` (negative inside), vertex colours from ``colour_fn``."""
    config = MeshingConfig.for_sdf(resolution=resolution, bound_min=tuple(bounds[:3]), bound_max=tuple(bounds[3:]),
                                   chunk_size=16384)
    grid = evaluate_field_on_grid(sdf_fn, config)
    if not grid.values.max() > 0.0 > grid.values.min():
        raise SceneError("the inferred signed distance does not change sign in the scene box: there is no surface to mesh")
    return _colour(mesh_from_grid(grid, 0.0, "below"), colour_fn), "zero level set of the SDF"


def _colour(mesh: trimesh.Trimesh, colour_fn: Callable[[Tensor], Tensor]) -> trimesh.Trimesh:
    rgb = np.empty((len(mesh.vertices), 3))
    with torch.no_grad():
        for start in range(0, len(mesh.vertices), 16384):
            chunk = torch.as_tensor(mesh.vertices[start : start + 16384], dtype=torch.float32)
            rgb[start : start + len(chunk)] = colour_fn(chunk).reshape(-1, 3).double().numpy()
    return with_vertex_colours(mesh, rgb)


def with_vertex_colours(mesh: trimesh.Trimesh, rgb: np.ndarray) -> trimesh.Trimesh:
    rgba = np.concatenate([np.clip(rgb, 0.0, 1.0) * 255.0, np.full((len(rgb), 1), 255.0)], 1)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=np.round(rgba).astype(np.uint8))
    return mesh


def fused_mesh(views: list[DepthView], bounds: tuple[float, ...], resolution: int) -> trimesh.Trimesh:
    grid = fuse_depth_maps(views, bounds, resolution)
    mesh = mesh_from_grid(grid, 0.0, "below")
    if len(mesh.vertices) == 0:
        raise SceneError("the fused depth maps hold no surface inside the scene box: there is nothing to mesh")
    return with_vertex_colours(mesh, colours_from_views(np.asarray(mesh.vertices), views, 2.0 * float(grid.voxel_size.max())))


def normals_from_depth(
    depth: Float[np.ndarray, "height width"], cam2world: Float[Tensor, "4 4"], K: Float[Tensor, "3 3"]
) -> Float[np.ndarray, "height width 3"]:
    """World-space unit normals of a z-depth map (NaN where the depth or a neighbour is missing), facing the
    camera: the cross product of the unprojected points' central differences along image x and y."""
    filled = np.where(np.isfinite(depth), depth, 0.0)
    points = unproject_depth(torch.as_tensor(filled, dtype=torch.float64), cam2world.double(), K.double()).numpy()
    points[~np.isfinite(depth)] = np.nan
    du = np.full_like(points, np.nan)
    dv = np.full_like(points, np.nan)
    du[:, 1:-1] = points[:, 2:] - points[:, :-2]
    dv[1:-1] = points[2:] - points[:-2]
    # image x (right) and y (down) span the surface; x × y points away from the camera in OpenCV
    normals = -np.cross(du, dv)
    norm = np.linalg.norm(normals, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = normals / norm
    normals[~(norm[..., 0] > 1e-12)] = np.nan
    return normals


def require_geometry(model: SceneModel) -> str:
    """The model's :attr:`~sceneprior.models.SceneModel.geometry`; a model without 3D geometry is an error."""
    if model.geometry == "none":
        raise ConfigError(f"{type(model).__name__} is {model.geometry_note} with no 3D geometry (no density, SDF or depth): "
                          "it cannot be meshed; use a pixelnerf, srn or lfn model")
    return model.geometry
