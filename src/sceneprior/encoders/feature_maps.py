"""Multi-scale feature maps for pixel-aligned features, with pixelNeRF's structure (REFERENCE.md §3).

pixelNeRF uses an ImageNet-pretrained ResNet34 and keeps four maps: the stem (conv 7x7 stride 2 + norm + ReLU,
H/2), then after a max-pool layer1 (H/4), layer2 (H/8) and layer3 (H/16); each is bilinearly upsampled
(align_corners) to H/2 and all are concatenated (64+64+128+256 = 512 channels). No pretrained weights exist
offline, so this is the same structure trained from scratch with CPU-sized channels
(default 32+32+64+128 = 256) and 1 basic residual block per stage (ResNet34 has 3, 4, 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from .conv import group_norm


@dataclass
class FeatureMapEncoderConfig:
    stem_channels: int = 32
    stage_channels: tuple[int, ...] = (32, 64, 128)
    blocks_per_stage: int = 1

    @property
    def out_channels(self) -> int:
        return self.stem_channels + sum(self.stage_channels)


class BasicBlock(nn.Module):
    """ResNet basic block: conv3x3-norm-ReLU-conv3x3-norm plus a (projected) skip, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = group_norm(out_channels)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), group_norm(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return F.relu(y + self.skip(x))


class FeatureMapEncoder(nn.Module):
    """Images in [0, 1] -> a feature map at half resolution with ``config.out_channels`` channels."""

    def __init__(self, config: FeatureMapEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.stem = nn.Sequential(
            nn.Conv2d(3, config.stem_channels, 7, stride=2, padding=3, bias=False),
            group_norm(config.stem_channels),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        stages = []
        previous = config.stem_channels
        for k, channels in enumerate(config.stage_channels):
            blocks = [BasicBlock(previous, channels, stride=1 if k == 0 else 2)]
            blocks += [BasicBlock(channels, channels, 1) for _ in range(config.blocks_per_stage - 1)]
            stages.append(nn.Sequential(*blocks))
            previous = channels
        self.stages = nn.ModuleList(stages)

    @property
    def out_channels(self) -> int:
        return self.config.out_channels

    def forward(self, images: Float[Tensor, "batch 3 height width"]) -> Float[Tensor, "batch channel height2 width2"]:
        x = self.stem(images * 2.0 - 1.0)
        maps = [x]
        x = self.pool(x)
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        size = maps[0].shape[-2:]
        upsampled = [maps[0]] + [F.interpolate(m, size=size, mode="bilinear", align_corners=True) for m in maps[1:]]
        return torch.cat(upsampled, dim=1)
