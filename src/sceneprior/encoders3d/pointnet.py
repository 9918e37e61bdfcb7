"""Point-cloud encoders: a global code (Occupancy Networks) or local codes on a grid / planes (ConvONet).

* :class:`PointNetEncoder` -- ONet's ResNet-PointNet (Mescheder et al. 2019): ``Linear(3 -> 2h)``, 5
  ResNet blocks ``2h -> h``; after each of the first four blocks the per-point features are max-pooled over
  all points and the pooled vector is concatenated back to every point; after the last block a max-pool
  and ``Linear(h -> c_dim)`` of its ReLU. Published sizes: ``hidden=512``, ``c_dim=512``.
* :class:`LocalPointNet` -- ConvONet's local-pool PointNet (Peng et al. 2020): the same ResNet trunk
  (``hidden=32``), but the pooling between blocks is a max over the points **of the same cell** (of each
  plane / of the grid; summed over planes) and a final ``Linear(h -> c_dim=32)`` gives per-point features,
  which are averaged into cells (``scatter_mean``) and refined by a U-Net into a
  :class:`~sceneprior.representations.FeaturePlanes` (``plane_xz``: the ground plane of our y-up world;
  ``triplane``: xz, xy, yz) or a :class:`~sceneprior.representations.FeatureGrid` (``grid``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from ..errors import ConfigError
from ..fields import ResnetBlockFC
from ..representations.features import (
    GROUND_PLANE,
    TRIPLANE,
    Bounds,
    FeatureGrid,
    FeaturePlanes,
    cell_index,
    plane_coordinates,
    scatter_max_gather,
    scatter_mean,
)
from .unet import UNet2D, UNet2DConfig, UNet3D, UNet3DConfig


@dataclass(frozen=True)
class PointNetEncoderConfig:
    c_dim: int = 512
    hidden: int = 512
    num_blocks: int = 5


class PointNetEncoder(nn.Module):
    """Point cloud ``(batch, point, 3)`` -> global code ``(batch, c_dim)``; invariant to point order."""

    def __init__(self, config: PointNetEncoderConfig = PointNetEncoderConfig()) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.fc_pos = nn.Linear(3, 2 * h)
        self.blocks = nn.ModuleList([ResnetBlockFC(2 * h, h) for _ in range(config.num_blocks)])
        self.fc_c = nn.Linear(h, config.c_dim)

    def forward(self, points: Float[Tensor, "batch point 3"]) -> Float[Tensor, "batch latent"]:
        net = self.blocks[0](self.fc_pos(points))
        for block in self.blocks[1:]:
            pooled = net.max(dim=1, keepdim=True).values.expand_as(net)
            net = block(torch.cat([net, pooled], dim=-1))
        return self.fc_c(torch.relu(net.max(dim=1).values))


def sample_input_points(
    surface_points: Float[Tensor, "batch point 3"], count: int, noise_std: float = 0.005,
    generator: torch.Generator | None = None,
) -> Float[Tensor, "batch input_point 3"]:
    """The observed point cloud of ONet / ConvONet training: ``count`` surface points per scene drawn without
    replacement (with replacement if there are fewer), plus Gaussian noise of std ``noise_std``
    (ONet: 300 points; ConvONet ShapeNet: 3000 points; both 0.005)."""
    batch, available, _ = surface_points.shape
    if count <= available:
        index = torch.stack([torch.randperm(available, generator=generator)[:count] for _ in range(batch)])
    else:
        index = torch.randint(available, (batch, count), generator=generator)
    index = index.to(surface_points.device)
    picked = torch.gather(surface_points, 1, index[..., None].expand(-1, -1, 3))
    noise = torch.randn(picked.shape, generator=generator, dtype=picked.dtype).to(picked.device)
    return picked + noise_std * noise


FeatureKind = Literal["plane_xz", "triplane", "grid"]


@dataclass(frozen=True)
class LocalPointNetConfig:
    """ConvONet's ShapeNet settings by default: 3-plane / 1-plane 64^2 with a depth-4 U-Net, or a 32^3 grid
    with a 3-level 3D U-Net; ``c_dim = 32``, ``hidden = 32``, padding 0.1 around the unit cube.
    ``unet2d`` / ``unet3d`` = None skips the U-Net (the U-Net's in/out channels are set to ``c_dim``)."""

    kind: FeatureKind = "triplane"
    c_dim: int = 32
    hidden: int = 32
    num_blocks: int = 5
    plane_resolution: int = 64
    grid_resolution: int = 32
    bounds: Bounds = Bounds()
    unet2d: UNet2DConfig | None = field(default_factory=UNet2DConfig)
    unet3d: UNet3DConfig | None = field(default_factory=UNet3DConfig)


class LocalPointNet(nn.Module):
    """Point cloud ``(batch, point, 3)`` in world coordinates -> local codes on planes or a grid."""

    def __init__(self, config: LocalPointNetConfig = LocalPointNetConfig()) -> None:
        super().__init__()
        if config.kind not in ("plane_xz", "triplane", "grid"):
            raise ConfigError(f"local PointNet: unknown feature kind {config.kind!r} (plane_xz, triplane, grid)")
        self.config = config
        h = config.hidden
        self.fc_pos = nn.Linear(3, 2 * h)
        self.blocks = nn.ModuleList([ResnetBlockFC(2 * h, h) for _ in range(config.num_blocks)])
        self.fc_c = nn.Linear(h, config.c_dim)
        self.unet: nn.Module | None = None
        if config.kind == "grid" and config.unet3d is not None:
            self.unet = UNet3D(replace(config.unet3d, in_channels=config.c_dim, out_channels=config.c_dim))
        if config.kind != "grid" and config.unet2d is not None:
            self.unet = UNet2D(replace(config.unet2d, in_channels=config.c_dim, out_channels=config.c_dim))

    @property
    def axes(self) -> tuple[str, ...]:
        return GROUND_PLANE if self.config.kind == "plane_xz" else TRIPLANE

    def cell_indices(self, points: Float[Tensor, "batch point 3"]) -> Int[Tensor, "batch structure point"]:
        """Flat cell index of each point in each plane (``structure`` = planes) or in the grid (one structure)."""
        config = self.config
        if config.kind == "grid":
            return cell_index(config.bounds.normalise(points), config.grid_resolution)[:, None, :]
        return cell_index(plane_coordinates(points, self.axes, config.bounds), config.plane_resolution)

    def point_features(
        self, points: Float[Tensor, "batch point 3"], index: Int[Tensor, "batch structure point"]
    ) -> Float[Tensor, "batch point channel"]:
        """The PointNet trunk with local max-pooling (per cell, summed over planes) between blocks."""
        cells = self.num_cells
        net = self.blocks[0](self.fc_pos(points))
        for block in self.blocks[1:]:
            pooled = sum(scatter_max_gather(net, index[:, s], cells) for s in range(index.shape[1]))
            net = block(torch.cat([net, pooled], dim=-1))
        return self.fc_c(net)

    @property
    def num_cells(self) -> int:
        config = self.config
        return config.grid_resolution**3 if config.kind == "grid" else config.plane_resolution**2

    def forward(self, points: Float[Tensor, "batch point 3"]) -> FeatureGrid | FeaturePlanes:
        config = self.config
        index = self.cell_indices(points)
        c = self.point_features(points, index)
        structures = index.shape[1]
        # average into cells of every structure at once: fold structures into the batch
        folded = scatter_mean(
            c.repeat_interleave(structures, dim=0), rearrange(index, "batch s point -> (batch s) point"), self.num_cells
        )
        if config.kind == "grid":
            r = config.grid_resolution
            volume = rearrange(folded, "batch channel (d h w) -> batch channel d h w", d=r, h=r, w=r)
            if self.unet is not None:
                volume = self.unet(volume)
            return FeatureGrid(volume, config.bounds)
        r = config.plane_resolution
        planes = rearrange(folded, "bs channel (h w) -> bs channel h w", h=r, w=r)
        if self.unet is not None:
            planes = self.unet(planes)  # one U-Net shared by all planes, as in ConvONet
        planes = rearrange(planes, "(batch s) channel h w -> batch s channel h w", s=structures)
        return FeaturePlanes(planes, self.axes, config.bounds)
