"""Meshes from any field over world points by marching cubes (scikit-image), plain or coarse-to-fine.

The field is a callable ``field_fn(points (N, 3)) -> (N,)`` over world points (a torch function: an SDF
decoder, an occupancy network's logits, a NeRF's density, ...), evaluated in chunks without gradients.
:class:`MeshingConfig` says where the surface is:

* ``inside="below"``: inside where ``value < level`` (signed distances, level 0: :meth:`MeshingConfig.for_sdf`);
* ``inside="above"``: inside where ``value > level`` (occupancy logits or probabilities, densities:
  :meth:`MeshingConfig.for_occupancy_logits` with ONet's threshold 0.2 in logit space,
  :meth:`MeshingConfig.for_density`).

The grid has ``resolution`` cells (``resolution + 1`` samples) per axis over ``[bound_min, bound_max]``
(ONet's default box: the unit cube padded by 10%). With ``coarse_resolution`` set, the grid is built
coarse-to-fine in the spirit of ONet's MISE: evaluate the coarse grid, then repeatedly halve the cell size
and evaluate only the new samples of cells that straddle the level set (dilated by one cell); every other
sample takes the trilinear interpolation of its coarser cell, which cannot create a crossing there.
Coarse-to-fine only finds surfaces the coarse grid sees: a structure thinner than a coarse cell that no
coarse sample falls inside (a room's 4 cm wall under a 16^3 start over [-1.05, 1.05]^3) is dropped whole;
use the dense grid (``coarse_resolution=None``) for thin geometry.
Faces are oriented with outward normals (positive volume for a closed surface).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import trimesh
from jaxtyping import Bool, Float
from scipy import ndimage
from skimage import measure
from torch import Tensor

from ..errors import ConfigError

FieldFn = Callable[[Tensor], Tensor]
"""``points (N, 3) -> values (N,)`` (a trailing singleton dimension is accepted)."""
ColorFn = Callable[[Tensor], Tensor]
"""``points (N, 3) -> rgb (N, 3)`` in [0, 1]."""

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class MeshingConfig:
    resolution: int = 128
    bound_min: Vec3 = (-0.55, -0.55, -0.55)
    bound_max: Vec3 = (0.55, 0.55, 0.55)
    level: float = 0.0
    inside: Literal["below", "above"] = "below"
    #: None: evaluate every sample of the grid; else start at this many cells per axis and refine by 2x
    #: steps up to ``resolution`` (which must then be ``coarse_resolution * 2^k``)
    coarse_resolution: int | None = None
    chunk_size: int = 65536
    device: str = "cpu"

    @staticmethod
    def for_sdf(**kwargs: object) -> "MeshingConfig":
        """Signed distances: the surface is the zero level, inside is negative."""
        return MeshingConfig(**{"level": 0.0, "inside": "below", **kwargs})  # type: ignore[arg-type]

    @staticmethod
    def for_occupancy_logits(threshold: float = 0.2, **kwargs: object) -> "MeshingConfig":
        """Occupancy logits, surface at probability ``threshold`` (ONet/ConvONet use 0.2)."""
        level = math.log(threshold) - math.log1p(-threshold)
        return MeshingConfig(**{"level": level, "inside": "above", **kwargs})  # type: ignore[arg-type]

    @staticmethod
    def for_density(threshold: float, **kwargs: object) -> "MeshingConfig":
        """Volume densities (e.g. NeRF's sigma): inside where the density exceeds ``threshold``."""
        return MeshingConfig(**{"level": threshold, "inside": "above", **kwargs})  # type: ignore[arg-type]

    @property
    def voxel_size(self) -> np.ndarray:
        return (np.asarray(self.bound_max, np.float64) - np.asarray(self.bound_min, np.float64)) / self.resolution


@dataclass
class FieldGrid:
    """Field values on the samples of a regular grid: ``values[i, j, k]`` at
    ``bound_min + (i, j, k) * voxel_size``; ``evaluated`` marks the samples where the field was called
    (the others hold interpolated values)."""

    values: Float[np.ndarray, "x y z"]
    evaluated: Bool[np.ndarray, "x y z"]
    bound_min: Float[np.ndarray, "3"]
    voxel_size: Float[np.ndarray, "3"]

    @property
    def num_evaluated(self) -> int:
        return int(self.evaluated.sum())


def evaluate_points(
    field_fn: FieldFn, points: Float[np.ndarray, "point 3"], chunk_size: int = 65536, device: str = "cpu"
) -> Float[np.ndarray, " point"]:
    """Call ``field_fn`` on ``points`` in chunks (no gradients, float32 on ``device``)."""
    out = np.empty(points.shape[0], dtype=np.float64)
    with torch.no_grad():
        for start in range(0, points.shape[0], chunk_size):
            chunk = torch.as_tensor(points[start : start + chunk_size], dtype=torch.float32, device=device)
            values = field_fn(chunk)
            if values.numel() != chunk.shape[0]:
                raise ConfigError(f"meshing: the field returned {tuple(values.shape)} values for {chunk.shape[0]} points")
            out[start : start + chunk.shape[0]] = values.reshape(-1).double().cpu().numpy()
    return out


def _evaluate_flat(field_fn: FieldFn, flat: np.ndarray, shape: tuple[int, int, int], config: MeshingConfig,
                   voxel_size: np.ndarray) -> np.ndarray:
    """Evaluate the field at grid samples given by flat indices (coordinates made chunk by chunk)."""
    out = np.empty(flat.shape[0], dtype=np.float64)
    step = config.chunk_size
    origin = np.asarray(config.bound_min, np.float64)
    for start in range(0, flat.shape[0], step):
        ijk = np.stack(np.unravel_index(flat[start : start + step], shape), axis=-1)
        out[start : start + step] = evaluate_points(field_fn, origin + ijk * voxel_size, step, config.device)
    return out


def _inside_positive(values: np.ndarray, config: MeshingConfig) -> np.ndarray:
    return values - config.level if config.inside == "above" else config.level - values


def _upsample(array: np.ndarray, fill: float | bool | None) -> np.ndarray:
    """(n+1)^3 samples -> (2n+1)^3: even samples copied, odd ones the mean of their neighbours (exact
    trilinear interpolation), or ``fill`` when given (for masks)."""
    for axis in range(3):
        a = np.moveaxis(array, axis, 0)
        out = np.empty((2 * a.shape[0] - 1,) + a.shape[1:], dtype=a.dtype)
        out[0::2] = a
        out[1::2] = fill if fill is not None else 0.5 * (a[:-1] + a[1:])
        array = np.moveaxis(out, 0, axis)
    return np.ascontiguousarray(array)


def _crossing_cells(inside: np.ndarray) -> np.ndarray:
    """Cells whose 8 corners are not all on one side of the level set."""
    corners = [inside[i : inside.shape[0] - 1 + i, j : inside.shape[1] - 1 + j, k : inside.shape[2] - 1 + k]
               for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    any_in = np.logical_or.reduce(corners)
    all_in = np.logical_and.reduce(corners)
    return any_in & ~all_in


def _samples_of_cells(cells: np.ndarray) -> np.ndarray:
    """Samples (corners) of the marked cells: (n)^3 cell mask -> (n+1)^3 sample mask."""
    padded = np.pad(cells, 1)
    n = cells.shape
    return np.logical_or.reduce([padded[i : i + n[0] + 1, j : j + n[1] + 1, k : k + n[2] + 1]
                                 for i in (0, 1) for j in (0, 1) for k in (0, 1)])


def evaluate_field_on_grid(field_fn: FieldFn, config: MeshingConfig) -> FieldGrid:
    """Field values on the ``(resolution + 1)^3`` samples, plainly or coarse-to-fine (see the module doc)."""
    r = config.resolution
    bound_min = np.asarray(config.bound_min, np.float64)
    if config.coarse_resolution is None:
        shape = (r + 1, r + 1, r + 1)
        values = _evaluate_flat(field_fn, np.arange(np.prod(shape)), shape, config, config.voxel_size).reshape(shape)
        return FieldGrid(values, np.ones(shape, dtype=bool), bound_min, config.voxel_size)
    r0 = config.coarse_resolution
    steps = 0
    while r0 * 2**steps < r:
        steps += 1
    if r0 < 1 or r0 * 2**steps != r:
        raise ConfigError(f"meshing: resolution {r} must be coarse_resolution {r0} times a power of two")
    extent = np.asarray(config.bound_max, np.float64) - bound_min
    shape = (r0 + 1,) * 3
    values = _evaluate_flat(field_fn, np.arange(np.prod(shape)), shape, config, extent / r0).reshape(shape)
    evaluated = np.ones(shape, dtype=bool)
    active = np.ones((r0,) * 3, dtype=bool)
    for step in range(1, steps + 1):
        cells = r0 * 2**step
        active = active & _crossing_cells(_inside_positive(values, config) > 0)
        active = ndimage.binary_dilation(active, structure=np.ones((3, 3, 3), dtype=bool))
        values = _upsample(values, None)
        evaluated = _upsample(evaluated, False)
        active = active.repeat(2, 0).repeat(2, 1).repeat(2, 2)  # the fine cells inside active coarse cells
        todo = _samples_of_cells(active) & ~evaluated
        flat = np.flatnonzero(todo)
        shape = (cells + 1,) * 3
        values.reshape(-1)[flat] = _evaluate_flat(field_fn, flat, shape, config, extent / cells)
        evaluated.reshape(-1)[flat] = True
    return FieldGrid(values, evaluated, bound_min, config.voxel_size)


def mesh_from_grid(
    grid: FieldGrid, level: float = 0.0, inside: Literal["below", "above"] = "below"
) -> trimesh.Trimesh:
    """Marching cubes of the level set of ``grid`` (an empty mesh when the level is never crossed)."""
    f = grid.values - level if inside == "above" else level - grid.values
    if not (f.max() > 0 > f.min()):
        return trimesh.Trimesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64), process=False)
    # f increases inwards: "ascent" makes skimage wind the faces so that normals point outwards
    verts, faces, _, _ = measure.marching_cubes(
        f, level=0.0, spacing=tuple(grid.voxel_size), gradient_direction="ascent", allow_degenerate=False
    )
    return trimesh.Trimesh(vertices=verts + grid.bound_min, faces=faces, process=False)


def extract_mesh(
    field_fn: FieldFn, config: MeshingConfig = MeshingConfig(), color_fn: ColorFn | None = None
) -> trimesh.Trimesh:
    """Evaluate ``field_fn`` on the grid of ``config`` and return the mesh of its level set, with vertex
    colours from ``color_fn`` (evaluated at the vertices) when given."""
    grid = evaluate_field_on_grid(field_fn, config)
    mesh = mesh_from_grid(grid, config.level, config.inside)
    if color_fn is not None and len(mesh.vertices):
        rgb = np.empty((len(mesh.vertices), 3), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(mesh.vertices), config.chunk_size):
                chunk = torch.as_tensor(mesh.vertices[start : start + config.chunk_size], dtype=torch.float32,
                                        device=config.device)
                rgb[start : start + chunk.shape[0]] = color_fn(chunk).reshape(-1, 3).double().cpu().numpy()
        rgba = np.concatenate([np.clip(rgb, 0.0, 1.0) * 255.0, np.full((len(rgb), 1), 255.0)], axis=1)
        mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=np.round(rgba).astype(np.uint8))
    return mesh


def export_mesh(mesh: trimesh.Trimesh, path: str | Path) -> Path:
    """Write ``mesh`` as PLY (binary, with vertex colours) or GLB, chosen by the file suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".ply", ".glb"):
        raise ConfigError(f"{path}: mesh export supports .ply and .glb")
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path, file_type=suffix[1:])
    return path
