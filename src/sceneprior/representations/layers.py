"""Small building blocks of the 3D decoders (Occupancy Networks / ConvONet style): conditional normalisation and
the conditional ResNet block. The plain ResNet block is :class:`sceneprior.fields.ResnetBlockFC`."""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn

from ..conditioning.film import FiLM


class ConditionalNorm(FiLM):
    """Conditional normalisation of per-point features by a global code (ONet ``CBatchNorm1d``).

    ``out = gamma(c) * norm(x) + beta(c)``: :class:`~sceneprior.conditioning.FiLM` (the package's one FiLM) after
    ``norm``, a BatchNorm without affine parameters (``batch_norm=True``, ONet's conditional batch norm,
    statistics over batch and points) or the identity (``batch_norm=False``: plain FiLM, Perez et al. 2018).
    ``gamma`` and ``beta`` are initialised so that ``gamma(c) = 1`` and ``beta(c) = 0`` (as in ONet).
    """

    def __init__(self, c_dim: int, channels: int, batch_norm: bool = True) -> None:
        super().__init__(c_dim, channels, init_scale=0.0)
        self.norm = nn.BatchNorm1d(channels, affine=False) if batch_norm else None

    def forward(
        self, x: Float[Tensor, "batch point channel"], c: Float[Tensor, "batch latent"]
    ) -> Float[Tensor, "batch point channel"]:
        if self.norm is not None:
            batch, points, channels = x.shape
            x = self.norm(x.reshape(batch * points, channels)).reshape(batch, points, channels)
        return super().forward(x, c)


class ConditionalResnetBlock(nn.Module):
    """ONet's ``CResnetBlockConv1d`` (1x1 convolutions written as linear maps over the channel axis):
    ``x + fc_1(relu(norm_1(fc_0(relu(norm_0(x, c))), c)))`` with ``fc_1`` initialised to zero."""

    def __init__(self, c_dim: int, width: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.norm_0 = ConditionalNorm(c_dim, width, batch_norm)
        self.norm_1 = ConditionalNorm(c_dim, width, batch_norm)
        self.fc_0 = nn.Linear(width, width)
        self.fc_1 = nn.Linear(width, width)
        nn.init.zeros_(self.fc_1.weight)

    def forward(
        self, x: Float[Tensor, "batch point channel"], c: Float[Tensor, "batch latent"]
    ) -> Float[Tensor, "batch point channel"]:
        net = self.fc_0(torch.relu(self.norm_0(x, c)))
        return x + self.fc_1(torch.relu(self.norm_1(net, c)))
