"""Concatenation conditioning: a field takes ``[x, z]`` as its input.

:class:`ConcatLinear` computes ``W [x; z] + b`` without materialising the concatenation: the latent part
``W_z z + b`` is computed once per scene and broadcast over that scene's points, which is exact and saves
``points x latent`` memory and FLOPs. :func:`concat_latent` is the literal concatenation (a reference and a
helper for networks that need the joint input, e.g. DeepSDF's skip connection).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn


def concat_latent(x: Float[Tensor, "batch *rest dim"], latent: Float[Tensor, "batch latent"]) -> Float[Tensor, "batch *rest out"]:
    """``[x, z]`` with each scene's latent repeated over its points."""
    z = latent.reshape(latent.shape[0], *([1] * (x.dim() - 2)), latent.shape[-1]).expand(*x.shape[:-1], latent.shape[-1])
    return torch.cat([x, z], dim=-1)


class ConcatLinear(nn.Module):
    """A linear layer on ``[x, z]`` (in that order), evaluated as ``W_x x + (W_z z + b)``.

    Initialised like ``nn.Linear(in_dim + latent_dim, out_dim)`` (same fan-in), so it is a drop-in for one.
    """

    def __init__(self, in_dim: int, latent_dim: int, out_dim: int) -> None:
        super().__init__()
        self.in_dim, self.latent_dim, self.out_dim = in_dim, latent_dim, out_dim
        self.weight = nn.Parameter(torch.empty(out_dim, in_dim + latent_dim))
        self.bias = nn.Parameter(torch.empty(out_dim))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(in_dim + latent_dim)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Float[Tensor, "batch *rest dim"], latent: Float[Tensor, "batch latent"]) -> Float[Tensor, "batch *rest out"]:
        w_x, w_z = self.weight[:, : self.in_dim], self.weight[:, self.in_dim :]
        per_scene = torch.addmm(self.bias, latent, w_z.t())  # (batch, out)
        per_scene = per_scene.reshape(latent.shape[0], *([1] * (x.dim() - 2)), self.out_dim)
        return F.linear(x, w_x) + per_scene
