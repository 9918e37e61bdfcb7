"""Conditioning a voxel grid by predicting its parameters (FRAMEWORK.md §3, "Voxel grid"): a global latent
``(batch, L)`` is viewed as a ``1 x 1 x 1 x L`` volume and upsampled by transposed 3D convolutions to an
``N x N x N x C`` :class:`~.features.FeatureGrid`, which a field reads by trilinear interpolation (e.g. with
:class:`~.decoders.LocalDecoder`, or directly as ``C = 1`` occupancy / SDF values).

Layout: the first transposed convolution (kernel 4, stride 1) maps ``1^3 -> 4^3`` (as in DCGAN-style
generators); each further one (kernel 4, stride 2, padding 1) doubles the size, so ``resolution`` must be
``4 * 2^k``. Hidden layers are followed by ReLU; the last layer is linear.
"""

from __future__ import annotations

from dataclasses import dataclass

from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..errors import ConfigError
from .features import Bounds, FeatureGrid


@dataclass(frozen=True)
class VoxelDecoderConfig:
    latent_dim: int = 256
    resolution: int = 32
    out_channels: int = 32
    #: channels after the 4^3 layer; halved (not below ``min_channels``) at every doubling
    base_channels: int = 256
    min_channels: int = 32
    bounds: Bounds = Bounds()


class VoxelDecoder(nn.Module):
    def __init__(self, config: VoxelDecoderConfig = VoxelDecoderConfig()) -> None:
        super().__init__()
        self.config = config
        doublings = 0
        size = 4
        while size < config.resolution:
            size *= 2
            doublings += 1
        if size != config.resolution:
            raise ConfigError(f"voxel decoder: resolution {config.resolution} must be 4 * 2^k (4, 8, 16, 32, 64, ...)")
        channels = config.base_channels
        layers: list[nn.Module] = [nn.ConvTranspose3d(config.latent_dim, channels, kernel_size=4, stride=1)]
        for _ in range(doublings):
            nxt = max(channels // 2, config.min_channels)
            layers += [nn.ReLU(), nn.ConvTranspose3d(channels, nxt, kernel_size=4, stride=2, padding=1)]
            channels = nxt
        layers += [nn.ReLU(), nn.Conv3d(channels, config.out_channels, kernel_size=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, latent: Float[Tensor, "batch latent"]) -> FeatureGrid:
        volume = self.net(rearrange(latent, "batch latent -> batch latent 1 1 1"))
        return FeatureGrid(volume, self.config.bounds)
