"""A 2D U-Net: image -> per-pixel output channels at the input resolution (Splatter Image's backbone, CPU-sized).

Splatter Image uses the EDM "SongUNet" (128 channels, multipliers 1-2-2-2, 4 residual blocks per level, attention
at 16², REFERENCE.md §10). This is the same kind of network scaled for a CPU: residual blocks (GroupNorm, SiLU,
3x3 convolutions, skip scaled by sqrt(1/2)), strided-convolution downsampling, nearest upsampling with skip
connections, and a GroupNorm -> SiLU -> 3x3 conv head; no attention. The last layer (a 1x1 convolution) belongs to
the model that uses the U-Net, so that it can initialise each output group as it needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from ..errors import ConfigError
from .conv import group_norm


@dataclass
class UNetConfig:
    in_channels: int = 3
    #: channels at each level; level k works at 1/2^k of the input resolution
    channels: tuple[int, ...] = (32, 64, 96, 128)
    blocks_per_level: int = 1
    #: channels of the head's output (the features the model's 1x1 output layer reads)
    out_channels: int = 64


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            group_norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1),
            group_norm(c_out), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1),
        )
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        return (self.skip(x) + self.body(x)) * math.sqrt(0.5)


class UNet(nn.Module):
    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        self.stem = nn.Conv2d(config.in_channels, ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for level, c in enumerate(ch):
            c_in = ch[level - 1] if level else ch[0]
            blocks = [ResBlock(c_in if i == 0 else c, c) for i in range(config.blocks_per_level)]
            self.down_blocks.append(nn.Sequential(*blocks))
            if level + 1 < len(ch):
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.middle = ResBlock(ch[-1], ch[-1])
        self.up_blocks = nn.ModuleList()
        for level in reversed(range(len(ch) - 1)):
            self.up_blocks.append(ResBlock(ch[level + 1] + ch[level], ch[level]))
        self.head = nn.Sequential(group_norm(ch[0]), nn.SiLU(), nn.Conv2d(ch[0], config.out_channels, 3, padding=1), nn.SiLU())

    def forward(self, x: Float[Tensor, "batch channel height width"]) -> Float[Tensor, "batch out height width"]:
        levels = len(self.config.channels)
        if x.shape[-1] % 2 ** (levels - 1) or x.shape[-2] % 2 ** (levels - 1):
            raise ConfigError(f"U-Net input {tuple(x.shape[-2:])} must be divisible by {2 ** (levels - 1)}")
        h = self.stem(x)
        skips = []
        for level, block in enumerate(self.down_blocks):
            h = block(h)
            if level + 1 < levels:
                skips.append(h)
                h = self.downsample[level](h)
        h = self.middle(h)
        for block in self.up_blocks:
            skip = skips.pop()
            h = torch.nn.functional.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], 1))
        return self.head(h)
