"""Decoders of one global latent code into a radiance field (FRAMEWORK.md §3, "3D-structured decoders"), the
lecture's three boxes side by side, each a module whose :meth:`field` turns a batch of codes ``(batch, L)`` into a
:data:`~sceneprior.fields.base.FieldFn` of density and colour (no view dependence) that a renderer calls:

* :class:`HyperRadianceField` -- **hypernetwork**: an MLP per layer maps ``z`` to every weight and bias of the
  field MLP (:class:`~sceneprior.conditioning.HyperNetwork`, as in SRN / LFN) over positionally encoded points;
* :class:`ConditionedRadianceField` -- **concatenation** (the first layer sees ``[gamma(x), z]``) or **FiLM**
  (every hidden layer modulated by ``gamma_k(z), beta_k(z)``): :class:`~sceneprior.fields.ConditionedField`;
* :class:`VoxelRadianceField` -- **voxel grid**: transposed 3D convolutions upsample ``z`` to an ``N^3 x C``
  feature grid (:class:`~sceneprior.representations.voxel.VoxelDecoder`, the decoder the 3D-supervised
  ``voxel-decoder`` uses), read by trilinear interpolation and decoded by a small MLP (no positional encoding:
  all detail lives in the grid).

All three share the output convention: points are scaled by ``1 / half_extent`` (the scene box to ``[-1, 1]^3``),
density is ``density_scale * softplus(raw + density_bias)``, colour ``sigmoid``.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from ..conditioning import HyperNetwork, batched_mlp
from ..fields import ConditionedField, PositionalEncoding
from ..fields.base import FieldFn, FieldOutput
from .features import Bounds, FeatureGrid
from .voxel import VoxelDecoder, VoxelDecoderConfig


def _radiance(raw: Tensor, density_scale: float, density_bias: float) -> FieldOutput:
    return FieldOutput(density=density_scale * F.softplus(raw[..., :1] + density_bias), rgb=torch.sigmoid(raw[..., 1:4]))


class HyperRadianceField(nn.Module):
    """``z -> HyperNetwork -> MLP(gamma(x)) -> (density, rgb)``: ``hidden_layers`` width-to-width layers after the
    first, LayerNorm without affine + ReLU between layers (SRN/LFN's generated MLP)."""

    def __init__(self, latent_dim: int, width: int, hidden_layers: int, num_freqs: int, hyper_hidden: int,
                 half_extent: float, density_scale: float, density_bias: float) -> None:
        super().__init__()
        self.encoding = PositionalEncoding(num_freqs, torch.pi)
        targets = [(self.encoding.out_dim, width)] + [(width, width)] * hidden_layers + [(width, 4)]
        self.hyper = HyperNetwork(targets, latent_dim, hyper_hidden, 0, init_scale=0.1, norm_affine=True)
        self.scale, self.density_scale, self.density_bias = 1.0 / half_extent, density_scale, density_bias

    def field(self, code: Float[Tensor, "batch latent"]) -> FieldFn:
        params = self.hyper(code)

        def field_fn(points: Tensor, dirs: Tensor) -> FieldOutput:
            raw = batched_mlp(params, self.encoding(points * self.scale), hidden_norm=True)
            return _radiance(raw, self.density_scale, self.density_bias)

        return field_fn


class ConditionedRadianceField(nn.Module):
    """:class:`~sceneprior.fields.ConditionedField` (``"concat"`` or ``"film"``) as a radiance field."""

    def __init__(self, latent_dim: int, width: int, hidden_layers: int, num_freqs: int, conditioning: str,
                 half_extent: float, density_scale: float, density_bias: float) -> None:
        super().__init__()
        self.net = ConditionedField(latent_dim, width, hidden_layers, num_freqs, torch.pi, "density", conditioning,  # type: ignore[arg-type]
                                    density_activation="softplus", density_bias=density_bias)
        self.scale, self.density_scale = 1.0 / half_extent, density_scale

    def field(self, code: Float[Tensor, "batch latent"]) -> FieldFn:
        def field_fn(points: Tensor, dirs: Tensor) -> FieldOutput:
            out = self.net(points * self.scale, None, code)
            return FieldOutput(density=self.density_scale * out.density, rgb=out.rgb)

        return field_fn


class VoxelRadianceField(nn.Module):
    """``z -> VoxelDecoder -> N^3 x C grid``; a point's trilinear sample -> ``Linear(C, width) -> ReLU ->
    Linear(width, 4)`` -> (density, rgb). The grid covers the scene cube ``[-half_extent, half_extent]^3``."""

    def __init__(self, voxels: VoxelDecoderConfig, width: int, half_extent: float, density_scale: float,
                 density_bias: float) -> None:
        super().__init__()
        self.decoder = VoxelDecoder(replace(voxels, bounds=Bounds(half_extent=half_extent, padding=0.0)))
        self.head = nn.Sequential(nn.Linear(voxels.out_channels, width), nn.ReLU(), nn.Linear(width, 4))
        self.density_scale, self.density_bias = density_scale, density_bias

    def grid(self, code: Float[Tensor, "batch latent"]) -> FeatureGrid:
        return self.decoder(code)

    def field(self, code: Float[Tensor, "batch latent"]) -> FieldFn:
        grid = self.grid(code)

        def field_fn(points: Tensor, dirs: Tensor) -> FieldOutput:
            shape = points.shape
            raw = self.head(grid.sample(points.reshape(shape[0], -1, 3)))
            return _radiance(raw, self.density_scale, self.density_bias).map(lambda t: t.reshape(*shape[:-1], t.shape[-1]))

        return field_fn


__all__ = ["ConditionedRadianceField", "HyperRadianceField", "VoxelRadianceField"]
