"""Global convolutional encoder: one image -> one latent vector (the encoder of the 2D auto-encoder baseline
and of the SRN / LFN encoder variants)."""

from __future__ import annotations

from dataclasses import dataclass

from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 8 groups of at least 2 channels (so a 1x1 map still normalises): independent of the batch, so one image encodes the same way in training and
    at test time (BatchNorm would not)."""
    groups = next((g for g in (8, 4, 2) if channels % g == 0 and channels // g >= 2), 1)  # >= 2 channels per group
    return nn.GroupNorm(groups, channels)


@dataclass
class ConvEncoderConfig:
    """Stride-2 conv stages (3x3, GroupNorm, ReLU), then the map pooled to ``pool`` x ``pool`` and a linear map
    to ``latent_dim``. Pooling to a small grid (not to 1x1) keeps where things are in the image."""

    channels: tuple[int, ...] = (32, 64, 128, 256)
    latent_dim: int = 256
    pool: int = 4


class ConvGlobalEncoder(nn.Module):
    """Images in [0, 1] (fed to the network in [-1, 1] as SRN / pixelNeRF do) -> latent codes."""

    def __init__(self, config: ConvEncoderConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        previous = 3
        for channels in config.channels:
            layers += [
                nn.Conv2d(previous, channels, 3, stride=2, padding=1),
                group_norm(channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(channels, channels, 3, padding=1),
                group_norm(channels),
                nn.ReLU(inplace=True),
            ]
            previous = channels
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(config.pool)
        self.head = nn.Linear(previous * config.pool * config.pool, config.latent_dim)

    def forward(self, images: Float[Tensor, "batch 3 height width"]) -> Float[Tensor, "batch latent"]:
        features = self.pool(self.body(images * 2.0 - 1.0))
        return self.head(rearrange(features, "b c h w -> b (c h w)"))
