"""Local latent codes on discrete structures, read by interpolation (FRAMEWORK.md §8; ConvONet, Peng et al. 2020).

* :class:`FeatureGrid` -- a voxel grid of features ``(batch, channel, depth=z, height=y, width=x)`` read by
  trilinear interpolation;
* :class:`FeaturePlanes` -- one or more axis-aligned feature planes ``(batch, plane, channel, height, width)``
  read by bilinear interpolation and **summed over planes** (ConvONet). ``("xz",)`` is the ground plane of
  our y-up world (a "ground plan"); ``("xz", "xy", "yz")`` are ConvONet's three planes.

Both cover the cube ``[-s, s]^3`` with ``s = half_extent * (1 + padding)`` (:class:`Bounds`; ConvONet's
unit cube ``[-0.5, 0.5]^3`` padded by 10% is the default). A world point ``p`` maps to the normalised
coordinate ``u = p / (2 s) + 0.5`` in ``[0, 1]`` (clamped, as in ConvONet), which is

* scattered into cell ``floor(u * resolution)`` by the encoders (:func:`cell_index`), and
* read with ``grid_sample(..., align_corners=True, padding_mode="border")``, i.e. the first and last
  samples of an axis sit exactly at ``u = 0`` and ``u = 1`` (ConvONet's decoder).

(That the two conventions place a cell's feature half a cell apart is ConvONet's choice, kept here.)

Plane axes: the first named axis runs along ``width``, the second along ``height``:
``xz`` -> (x, z), ``xy`` -> (x, y), ``yz`` -> (y, z) (ConvONet's ``normalize_coordinate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor

from ..errors import ConfigError

#: Which world axes (x=0, y=1, z=2) a plane spans, as (width axis, height axis).
PLANE_AXES: dict[str, tuple[int, int]] = {"xz": (0, 2), "xy": (0, 1), "yz": (1, 2)}
#: ConvONet's three planes, in its order.
TRIPLANE: tuple[str, ...] = ("xz", "xy", "yz")
#: The ground plane of sceneprior's y-up world.
GROUND_PLANE: tuple[str, ...] = ("xz",)

_EPS = 1e-5  # ConvONet's 10e-6 guard, so that u = 1 never indexes one cell past the end


@dataclass(frozen=True)
class Bounds:
    """The cube a feature structure covers: ``[-s, s]^3``, ``s = half_extent * (1 + padding)``.

    Our generator's objects lie in ``[-0.5, 0.5]^3`` (``half_extent=0.5``, ConvONet's unit cube), rooms in
    ``[-1, 1]^3`` (``half_extent=1``). ``padding=0.1`` is ONet/ConvONet's 10% margin.
    """

    half_extent: float = 0.5
    padding: float = 0.1

    @property
    def side(self) -> float:
        """Edge length of the covered cube (without ConvONet's tiny epsilon)."""
        return 2.0 * self.half_extent * (1.0 + self.padding)

    def normalise(self, points: Float[Tensor, "*batch 3"]) -> Float[Tensor, "*batch 3"]:
        """World points -> ``[0, 1]^3`` (clamped to ``[0, 1 - 1e-5]``), ConvONet's ``p / (1 + padding) + 0.5``
        for the unit cube."""
        u = points / (2.0 * self.half_extent * (1.0 + self.padding + _EPS)) + 0.5
        return u.clamp(0.0, 1.0 - _EPS)


def plane_coordinates(
    points: Float[Tensor, "batch point 3"], axes: tuple[str, ...], bounds: Bounds
) -> Float[Tensor, "batch plane point 2"]:
    """Normalised ``[0, 1]`` coordinates of each point projected on each plane (width axis first)."""
    u = bounds.normalise(points)
    return torch.stack([u[..., list(PLANE_AXES[a])] for a in axes], dim=1)


def cell_index(normalised: Float[Tensor, "*batch dim"], resolution: int) -> Int[Tensor, "*batch"]:
    """Flat index of the cell holding each normalised coordinate (``dim`` = 2 for planes, 3 for grids).

    Cell ``floor(u * resolution)`` per axis, flattened with the first coordinate fastest
    (``x + R * (y + R * z)`` for a grid), matching the ``(depth, height, width)`` = ``(z, y, x)`` layout.
    """
    cells = (normalised * resolution).long().clamp(0, resolution - 1)
    index = torch.zeros_like(cells[..., 0])
    for axis in reversed(range(cells.shape[-1])):
        index = index * resolution + cells[..., axis]
    return index


def scatter_mean(
    values: Float[Tensor, "batch point channel"], index: Int[Tensor, "batch point"], num_cells: int
) -> Float[Tensor, "batch channel cell"]:
    """Mean of the values of the points in each cell (0 where a cell holds no point), per batch item."""
    batch, _, channels = values.shape
    flat = (index + torch.arange(batch, device=index.device)[:, None] * num_cells).reshape(-1)
    total = values.new_zeros(batch * num_cells, channels).index_add_(0, flat, values.reshape(-1, channels))
    count = torch.bincount(flat, minlength=batch * num_cells).to(values.dtype).clamp_(min=1.0)
    mean = total / count[:, None]
    return rearrange(mean, "(batch cell) channel -> batch channel cell", batch=batch)


def scatter_max_gather(
    values: Float[Tensor, "batch point channel"], index: Int[Tensor, "batch point"], num_cells: int
) -> Float[Tensor, "batch point channel"]:
    """For every point, the channel-wise maximum over the points in its own cell (ConvONet's local pooling:
    ``scatter_max`` into cells, then gathered back to the points)."""
    batch, _, channels = values.shape
    flat = (index + torch.arange(batch, device=index.device)[:, None] * num_cells).reshape(-1)
    expanded = flat[:, None].expand(-1, channels)
    pooled = values.new_zeros(batch * num_cells, channels).scatter_reduce(
        0, expanded, values.reshape(-1, channels), reduce="amax", include_self=False
    )
    return pooled[flat].reshape(batch, -1, channels)


def _to_grid_sample(u: Tensor) -> Tensor:
    return 2.0 * u - 1.0


@dataclass
class FeatureGrid:
    """A voxel grid of local codes, ``features[b, :, k, j, i]`` at normalised position
    ``(i, j, k) / (resolution - 1)`` along (x, y, z). Read by trilinear interpolation with border padding."""

    features: Float[Tensor, "batch channel depth height width"]
    bounds: Bounds = Bounds()

    @property
    def channels(self) -> int:
        return self.features.shape[1]

    def sample(self, points: Float[Tensor, "batch point 3"]) -> Float[Tensor, "batch point channel"]:
        """Trilinear interpolation of the features at world ``points``."""
        grid = _to_grid_sample(self.bounds.normalise(points))[:, :, None, None, :]  # (b, n, 1, 1, 3) as (x, y, z)
        sampled = F.grid_sample(
            self.features, grid.to(self.features.dtype), mode="bilinear", padding_mode="border", align_corners=True
        )
        return rearrange(sampled, "batch channel point 1 1 -> batch point channel")


@dataclass
class FeaturePlanes:
    """Axis-aligned feature planes sharing one channel count, read by bilinear interpolation and summed
    over planes. ``axes`` names each plane (``"xz"``, ``"xy"``, ``"yz"``; see :data:`PLANE_AXES`)."""

    features: Float[Tensor, "batch plane channel height width"]
    axes: tuple[str, ...] = GROUND_PLANE
    bounds: Bounds = Bounds()

    def __post_init__(self) -> None:
        unknown = [a for a in self.axes if a not in PLANE_AXES]
        if unknown or len(self.axes) != self.features.shape[1] or len(set(self.axes)) != len(self.axes):
            raise ConfigError(
                f"feature planes: axes {self.axes} must be distinct names from {sorted(PLANE_AXES)}, "
                f"one per plane ({self.features.shape[1]} planes given)"
            )

    @property
    def channels(self) -> int:
        return self.features.shape[2]

    def sample_each(self, points: Float[Tensor, "batch point 3"]) -> Float[Tensor, "batch plane point channel"]:
        """Bilinear interpolation of every plane at the projections of world ``points``."""
        batch, planes = self.features.shape[:2]
        uv = _to_grid_sample(plane_coordinates(points, self.axes, self.bounds))
        grid = rearrange(uv, "batch plane point two -> (batch plane) point 1 two").to(self.features.dtype)
        maps = rearrange(self.features, "batch plane channel height width -> (batch plane) channel height width")
        sampled = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return rearrange(sampled, "(batch plane) channel point 1 -> batch plane point channel", batch=batch)

    def sample(self, points: Float[Tensor, "batch point 3"]) -> Float[Tensor, "batch point channel"]:
        """Sum over planes of the bilinear samples (ConvONet's aggregation)."""
        return self.sample_each(points).sum(dim=1)


#: What a local decoder can read.
LocalFeatures = FeatureGrid | FeaturePlanes
