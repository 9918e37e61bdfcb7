"""Decoders of 3D-supervised fields: a point (and its code) -> an occupancy logit or a signed distance.

* :class:`LocalDecoder` -- ConvONet's decoder (Peng et al. 2020): reads local codes from a
  :class:`~.features.FeatureGrid` or :class:`~.features.FeaturePlanes` by interpolation and adds
  ``Linear(c)`` before each of its ResNet blocks.
* :class:`GlobalDecoder` -- one global code per scene (FRAMEWORK.md §7), three conditionings:

  - ``"concat"``: DeepSDF (Park et al. 2019): ``[z, x]`` through 8 weight-normalised FC layers of 512
    with ReLU and dropout 0.2, the input concatenated again at layer 4, a linear output and ``tanh``;
  - ``"cbatchnorm"``: Occupancy Networks (Mescheder et al. 2019) ``DecoderCBatchNorm``: ``Linear(3 -> 256)``,
    5 ResNet blocks whose normalisations are conditional batch norms ``gamma(z) * BN(x) + beta(z)``, then
    CBN -> ReLU -> ``Linear(256 -> 1)`` (a logit);
  - ``"film"``: the same network with the batch norm removed, i.e. FiLM ``gamma(z) * x + beta(z)``
    (our variant; it makes each point's output independent of the other points in the batch).

  With ``"cbatchnorm"`` a point's output depends on the other points of the batch in training mode; call
  ``.eval()`` (running statistics) before meshing or evaluating, as ONet does.

Widths and depths are configurable (defaults are the published ones); the output is one value per point:
an occupancy logit (ONet/ConvONet, train with BCE-with-logits) or a signed distance (DeepSDF, clamped L1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from ..errors import ConfigError
from ..fields import ResnetBlockFC
from .features import FeatureGrid, FeaturePlanes
from .layers import ConditionalNorm, ConditionalResnetBlock


@dataclass(frozen=True)
class LocalDecoderConfig:
    """ConvONet ``LocalDecoder``: width 32, 5 blocks, ``c_dim`` = the feature channels (32)."""

    c_dim: int = 32
    hidden: int = 32
    num_blocks: int = 5
    leaky: bool = False


class LocalDecoder(nn.Module):
    """``net = Linear(3 -> h)(x)``; for each block ``net = block(net + Linear(c -> h)(c(x)))``;
    ``out = Linear(h -> 1)(relu(net))``, where ``c(x)`` is the interpolated local code (summed over planes)."""

    def __init__(self, config: LocalDecoderConfig = LocalDecoderConfig()) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.fc_p = nn.Linear(3, h)
        self.fc_c = nn.ModuleList([nn.Linear(config.c_dim, h) for _ in range(config.num_blocks)])
        self.blocks = nn.ModuleList([ResnetBlockFC(h) for _ in range(config.num_blocks)])
        self.fc_out = nn.Linear(h, 1)

    def forward(
        self, points: Float[Tensor, "batch point 3"], features: FeatureGrid | FeaturePlanes
    ) -> Float[Tensor, "batch point"]:
        c = features.sample(points)
        net = self.fc_p(points)
        for fc_c, block in zip(self.fc_c, self.blocks):
            net = block(net + fc_c(c))
        act = F.leaky_relu(net, 0.2) if self.config.leaky else torch.relu(net)
        return self.fc_out(act)[..., 0]


Conditioning = Literal["concat", "cbatchnorm", "film"]


@dataclass(frozen=True)
class GlobalDecoderConfig:
    """A decoder conditioned on one global code per scene.

    ``concat`` (DeepSDF) uses ``width``, ``num_layers`` hidden layers, ``skip_layers`` (0-based indices of
    the layers whose input gets ``[z, x]`` concatenated again), ``dropout``, ``weight_norm`` and ``tanh``.
    ``cbatchnorm`` / ``film`` (ONet) use ``width`` and ``num_blocks``.
    Defaults: DeepSDF's 8 x 512 with the skip at layer 4; pass ``width=256`` for ONet's decoder.
    """

    latent_dim: int = 256
    conditioning: Conditioning = "concat"
    width: int = 512
    num_layers: int = 8
    skip_layers: tuple[int, ...] = (4,)
    dropout: float = 0.2
    weight_norm: bool = True
    tanh: bool = True
    num_blocks: int = 5


class GlobalDecoder(nn.Module):
    """``f(x; z)`` for a global code ``z`` per scene; see the module docstring for the three conditionings."""

    def __init__(self, config: GlobalDecoderConfig = GlobalDecoderConfig()) -> None:
        super().__init__()
        self.config = config
        if config.conditioning == "concat":
            self._build_deepsdf(config)
        elif config.conditioning in ("cbatchnorm", "film"):
            batch_norm = config.conditioning == "cbatchnorm"
            self.fc_p = nn.Linear(3, config.width)
            self.blocks = nn.ModuleList(
                [ConditionalResnetBlock(config.latent_dim, config.width, batch_norm) for _ in range(config.num_blocks)]
            )
            self.norm_out = ConditionalNorm(config.latent_dim, config.width, batch_norm)
            self.fc_out = nn.Linear(config.width, 1)
        else:
            raise ConfigError(f"global decoder: unknown conditioning {config.conditioning!r} (concat, cbatchnorm, film)")

    def _build_deepsdf(self, config: GlobalDecoderConfig) -> None:
        d_in = config.latent_dim + 3
        if any(not 0 < s < config.num_layers for s in config.skip_layers):
            raise ConfigError(f"global decoder: skip layers {config.skip_layers} must lie in 1..{config.num_layers - 1}")
        if config.skip_layers and config.width <= d_in:
            raise ConfigError(f"global decoder: width {config.width} must exceed latent_dim + 3 = {d_in} for a skip")
        layers = []
        for i in range(config.num_layers):
            fan_in = d_in if i == 0 else config.width
            # the layer before a skip outputs width - d_in so that the concatenation is `width` wide (DeepSDF)
            fan_out = config.width - d_in if (i + 1) in config.skip_layers else config.width
            linear = nn.Linear(fan_in, fan_out)
            layers.append(weight_norm(linear) if config.weight_norm else linear)
        self.layers = nn.ModuleList(layers)
        self.fc_out = nn.Linear(config.width, 1)

    def forward(
        self, points: Float[Tensor, "batch point 3"], latent: Float[Tensor, "batch latent"]
    ) -> Float[Tensor, "batch point"]:
        config = self.config
        if config.conditioning == "concat":
            z = latent[:, None, :].expand(-1, points.shape[1], -1)
            inputs = torch.cat([z, points], dim=-1)  # DeepSDF's order: [z, xyz]
            x = inputs
            for i, layer in enumerate(self.layers):
                if i in config.skip_layers:
                    x = torch.cat([x, inputs], dim=-1)
                x = torch.relu(layer(x))
                if config.dropout > 0:
                    x = F.dropout(x, p=config.dropout, training=self.training)
            out = self.fc_out(x)
            return (torch.tanh(out) if config.tanh else out)[..., 0]
        net = self.fc_p(points)
        for block in self.blocks:
            net = block(net, latent)
        return self.fc_out(torch.relu(self.norm_out(net, latent)))[..., 0]
