"""Conditional ground plans (Sharma et al., "Neural Groundplans", ICLR 2023; FRAMEWORK.md §8, REFERENCE.md §8).

A ground plan is a 2D feature grid on the ground (the x-z plane of our y-up world), a
:class:`~sceneprior.representations.FeaturePlanes` with the single plane ``("xz",)``. It is made from images by

1. *lifting*: every cell's vertical column is sampled at ``column_samples`` heights; each sample takes the
   image features where it projects (:func:`sceneprior.conditioning.lifting.unproject`, merged over views by
   :class:`~sceneprior.conditioning.lifting.OcclusionAwarePooling`);
2. *integrating along the column* (:class:`ColumnIntegral`): each sample's feature and its height encoding go
   through a shared linear map and the column is summed (a learned integral over height), giving one feature
   per cell;
3. refining it with a 2D U-Net (in the model).

A 3D point is decoded by :class:`PlanDecoder` from the plan bilinearly sampled at its (x, z) and its height y
(positional encoding): density and colour, volume rendered. Two plans, *static* and *dynamic*, are decoded by
two decoders and composited by :func:`composite_densities`: the densities add, the colour is the
density-weighted mean -- the standard way to render two volumes together, under which the composite render is
exactly the sum of each density's contribution under the shared transmittance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..fields.base import FieldOutput
from ..fields.encoding import PositionalEncoding
from .features import GROUND_PLANE, Bounds, FeaturePlanes


@dataclass(frozen=True)
class PlanGeometry:
    """Where a ground plan lies: cells over ``[-half_extent, half_extent]^2`` in (x, z) (first and last cells on
    the edges, :class:`FeaturePlanes`' ``align_corners=True`` reading), columns from ``y_min`` to ``y_max``."""

    half_extent: float = 1.0
    resolution: int = 32
    y_min: float = -0.37
    y_max: float = 0.2
    column_samples: int = 8

    @property
    def bounds(self) -> Bounds:
        return Bounds(half_extent=self.half_extent, padding=0.0)

    @property
    def cell(self) -> float:
        return 2.0 * self.half_extent / (self.resolution - 1)

    def column_points(self, dtype: torch.dtype = torch.float32) -> Float[Tensor, "z y x 3"]:
        """World points of every column sample, indexed ``[z, y, x]``."""
        s, n = self.half_extent, self.resolution
        lin = torch.linspace(-s, s, n, dtype=dtype)
        ys = torch.linspace(self.y_min, self.y_max, self.column_samples, dtype=dtype)
        z, y, x = torch.meshgrid(lin, ys, lin, indexing="ij")
        return torch.stack([x, y, z], dim=-1)

    def height01(self, y: Tensor) -> Tensor:
        """Height normalised to [0, 1] over the columns (the decoders' height coordinate)."""
        return (y - self.y_min) / (self.y_max - self.y_min)


class ColumnIntegral(nn.Module):
    """Lifted column samples ``(batch, z, y, x, channel)`` -> plan features ``(batch, out, z, x)``: a shared linear
    map of [feature, height encoding] summed over the column's samples (divided by their number)."""

    def __init__(self, channels: int, out_channels: int, num_freqs: int = 3) -> None:
        super().__init__()
        self.encoding = PositionalEncoding(num_freqs, freq_factor=torch.pi, in_dim=1)
        self.linear = nn.Linear(channels + self.encoding.out_dim, out_channels)

    def forward(self, samples: Float[Tensor, "batch z y x channel"], height01: Float[Tensor, " y"]) -> Float[Tensor, "batch out z x"]:
        batch, nz, ny, nx, _ = samples.shape
        enc = self.encoding(height01[:, None].to(samples.dtype))  # (y, e)
        enc = enc[None, None, :, None, :].expand(batch, nz, ny, nx, enc.shape[-1])
        per_sample = self.linear(torch.cat([samples, enc], dim=-1))
        return rearrange(per_sample.mean(dim=2), "b z x c -> b c z x")


class PlanDecoder(nn.Module):
    """A field over a ground plan: MLP([plan feature at (x, z), gamma(height)]) -> density (softplus) and colour
    (sigmoid). ``density_bias`` starts the field nearly empty."""

    def __init__(self, channels: int, width: int = 64, layers: int = 3, num_freqs: int = 6, density_bias: float = -1.0) -> None:
        super().__init__()
        self.encoding = PositionalEncoding(num_freqs, freq_factor=torch.pi, in_dim=1)
        dims = [channels + self.encoding.out_dim] + [width] * layers
        body: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            body += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(*body)
        self.head = nn.Linear(width, 4)
        with torch.no_grad():
            self.head.bias[0] = density_bias

    def forward(self, features: Float[Tensor, "*b channel"], height01: Float[Tensor, "*b 1"]) -> FieldOutput:
        raw = self.head(self.body(torch.cat([features, self.encoding(height01)], dim=-1)))
        return FieldOutput(density=nn.functional.softplus(raw[..., :1]) * 10.0, rgb=torch.sigmoid(raw[..., 1:]))


def plan_at(features: Float[Tensor, "batch channel z x"], geometry: PlanGeometry) -> FeaturePlanes:
    """The plan as the shared feature-plane structure (one ``"xz"`` plane)."""
    return FeaturePlanes(features[:, None], GROUND_PLANE, geometry.bounds)


def composite_densities(static: FieldOutput, dynamic: FieldOutput) -> tuple[FieldOutput, Float[Tensor, "*b 1"]]:
    """Two volumes rendered together: density ``s + d``, colour ``(s c_s + d c_d) / (s + d)``; also the dynamic
    share ``d / (s + d)`` of the density (composited along a ray it is the dynamic part of the weights)."""
    assert static.density is not None and dynamic.density is not None and static.rgb is not None and dynamic.rgb is not None
    total = static.density + dynamic.density
    safe = total.clamp_min(1e-8)
    rgb = (static.density * static.rgb + dynamic.density * dynamic.rgb) / safe
    share = dynamic.density / safe
    return FieldOutput(density=total, rgb=rgb, features=share), share
