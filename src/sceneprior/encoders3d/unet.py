"""The U-Nets that ConvONet runs on its scattered features (Peng et al. 2020), sizes configurable.

* :class:`UNet2D` (planes; after Ronneberger et al. 2015 as used by ConvONet): ``depth`` levels of two 3x3
  convolutions with ReLU, 2x2 max pooling between levels, ``start_filters * 2^i`` channels at level ``i``;
  the decoder upsamples by 2x2 transposed convolutions that halve the channels, concatenates the skip and
  applies two 3x3 convolutions with ReLU; a final 1x1 convolution. No normalisation; Xavier-normal weights,
  zero biases. ConvONet on ShapeNet: depth 4, 32 start filters (64^2 planes -> 8^2 at the bottom).
* :class:`UNet3D` (grids; after Çiçek et al. 2016 as used by ConvONet): ``num_levels`` levels of two
  (GroupNorm(8) -> 3^3 conv -> ReLU) units, ``feature_maps * 2^i`` channels, 2^3 max pooling; the decoder
  upsamples by nearest-neighbour interpolation, concatenates the skip and applies two such units; a final
  1^3 convolution. ConvONet on ShapeNet: 3 levels, 32 feature maps (32^3 grid -> 8^3 at the bottom).

Both keep the spatial size, which must be divisible by ``2^(levels - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from ..errors import ConfigError


@dataclass(frozen=True)
class UNet2DConfig:
    in_channels: int = 32
    out_channels: int = 32
    depth: int = 4
    start_filters: int = 32


class _DoubleConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class UNet2D(nn.Module):
    def __init__(self, config: UNet2DConfig = UNet2DConfig()) -> None:
        super().__init__()
        self.config = config
        if config.depth < 1:
            raise ConfigError(f"2D U-Net: depth {config.depth} must be at least 1")
        channels = [config.start_filters * 2**i for i in range(config.depth)]
        self.down = nn.ModuleList(
            [_DoubleConv2d(config.in_channels if i == 0 else channels[i - 1], channels[i]) for i in range(config.depth)]
        )
        self.upconv = nn.ModuleList(
            [nn.ConvTranspose2d(channels[i], channels[i - 1], 2, stride=2) for i in reversed(range(1, config.depth))]
        )
        self.up = nn.ModuleList([_DoubleConv2d(2 * channels[i - 1], channels[i - 1]) for i in reversed(range(1, config.depth))])
        self.final = nn.Conv2d(channels[0], config.out_channels, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # as ConvONet's U-Net (transposed convolutions keep PyTorch's default)
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Float[Tensor, "batch channel height width"]) -> Float[Tensor, "batch channel_out height width"]:
        factor = 2 ** (self.config.depth - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ConfigError(f"2D U-Net of depth {self.config.depth}: plane size {tuple(x.shape[-2:])} not divisible by {factor}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.config.depth - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for upconv, block in zip(self.upconv, self.up):
            x = block(torch.cat([upconv(x), skips.pop()], dim=1))
        return self.final(x)


@dataclass(frozen=True)
class UNet3DConfig:
    in_channels: int = 32
    out_channels: int = 32
    num_levels: int = 3
    feature_maps: int = 32
    num_groups: int = 8


class _NormConvReLU3d(nn.Sequential):
    """GroupNorm -> 3^3 conv (no bias, as it follows a norm) -> ReLU (pytorch-3dunet's order ``"gcr"``)."""

    def __init__(self, in_channels: int, out_channels: int, num_groups: int) -> None:
        groups = num_groups if in_channels >= num_groups else 1
        if in_channels % groups:
            raise ConfigError(f"3D U-Net: {in_channels} channels are not divisible into {groups} groups")
        super().__init__(
            nn.GroupNorm(groups, in_channels),
            nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.ReLU(),
        )


class UNet3D(nn.Module):
    def __init__(self, config: UNet3DConfig = UNet3DConfig()) -> None:
        super().__init__()
        self.config = config
        if config.num_levels < 1:
            raise ConfigError(f"3D U-Net: num_levels {config.num_levels} must be at least 1")
        f = [config.feature_maps * 2**i for i in range(config.num_levels)]
        g = config.num_groups
        encoders = []
        for i, out in enumerate(f):
            cin = config.in_channels if i == 0 else f[i - 1]
            mid = max(out // 2, cin)  # encoder units first go to out/2 channels (not fewer than the input)
            encoders.append(nn.Sequential(_NormConvReLU3d(cin, mid, g), _NormConvReLU3d(mid, out, g)))
        self.encoders = nn.ModuleList(encoders)
        self.decoders = nn.ModuleList(
            [
                nn.Sequential(_NormConvReLU3d(f[i] + f[i - 1], f[i - 1], g), _NormConvReLU3d(f[i - 1], f[i - 1], g))
                for i in reversed(range(1, config.num_levels))
            ]
        )
        self.final = nn.Conv3d(f[0], config.out_channels, 1)

    def forward(
        self, x: Float[Tensor, "batch channel depth height width"]
    ) -> Float[Tensor, "batch channel_out depth height width"]:
        factor = 2 ** (self.config.num_levels - 1)
        if any(s % factor for s in x.shape[-3:]):
            raise ConfigError(f"3D U-Net of {self.config.num_levels} levels: grid {tuple(x.shape[-3:])} not divisible by {factor}")
        skips = []
        for i, encoder in enumerate(self.encoders):
            if i > 0:
                x = F.max_pool3d(x, 2)
            x = encoder(x)
            skips.append(x)
        skips.pop()
        for decoder in self.decoders:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-3:], mode="nearest")
            x = decoder(torch.cat([skip, x], dim=1))
        return self.final(x)
