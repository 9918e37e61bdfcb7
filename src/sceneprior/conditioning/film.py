"""FiLM conditioning (Perez et al. 2018): ``h -> gamma(z) * h + beta(z)`` per feature, per scene.

``gamma`` is parameterised as ``1 + Linear(z)`` and the linear layer is initialised at a small scale
(``init_scale``), so a freshly built FiLM is close to the identity and a zeroed one is exactly the identity.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn


def apply_film(
    h: Float[Tensor, "batch *rest feature"], gamma: Float[Tensor, "batch feature"], beta: Float[Tensor, "batch feature"]
) -> Float[Tensor, "batch *rest feature"]:
    """``gamma * h + beta`` with each scene's ``gamma, beta`` broadcast over its points."""
    shape = (h.shape[0],) + (1,) * (h.dim() - 2) + (h.shape[-1],)
    return torch.addcmul(beta.reshape(shape), gamma.reshape(shape), h)


class FiLM(nn.Module):
    """Maps a latent ``(batch, latent_dim)`` to ``gamma, beta`` of shape ``(batch, features)`` each."""

    def __init__(self, latent_dim: int, features: int, init_scale: float = 0.1) -> None:
        super().__init__()
        self.features = features
        self.linear = nn.Linear(latent_dim, 2 * features)
        with torch.no_grad():
            self.linear.weight.mul_(init_scale)
            self.linear.bias.zero_()

    def forward(self, latent: Float[Tensor, "batch latent"]) -> tuple[Float[Tensor, "batch feature"], Float[Tensor, "batch feature"]]:
        out = self.linear(latent)
        gamma, beta = out[:, : self.features], out[:, self.features :]
        return 1.0 + gamma, beta
