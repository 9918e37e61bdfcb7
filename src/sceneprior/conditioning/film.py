"""FiLM conditioning (Perez et al. 2018): ``h -> gamma(z) * h + beta(z)`` per feature, per scene.

The one implementation in the package: the image fields' FiLM (:class:`sceneprior.fields.ConditionedField`,
pi-GAN style, after every hidden layer) and the 3D decoders' conditional normalisation
(:class:`sceneprior.representations.layers.ConditionalNorm`: ONet's conditional batch norm is FiLM after a
BatchNorm without affine parameters) both use :class:`FiLM`.

``gamma`` and ``beta`` are linear maps of ``z``. Their weights start at ``init_scale`` times PyTorch's default
init (0: exactly the identity for every ``z``, as ONet initialises its conditional batch norm); ``gamma``'s bias
starts at 1 and ``beta``'s at 0, so a freshly built FiLM is close to the identity and a zeroed one is exactly it.
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
    """``forward(h, z) = gamma(z) * h + beta(z)``; :meth:`modulation` gives ``gamma, beta`` of shape
    ``(batch, features)`` each."""

    def __init__(self, latent_dim: int, features: int, init_scale: float = 0.1) -> None:
        super().__init__()
        self.features = features
        self.gamma = nn.Linear(latent_dim, features)
        self.beta = nn.Linear(latent_dim, features)
        with torch.no_grad():
            self.gamma.weight.mul_(init_scale)
            self.gamma.bias.fill_(1.0)
            self.beta.weight.mul_(init_scale)
            self.beta.bias.zero_()

    def modulation(self, latent: Float[Tensor, "batch latent"]) -> tuple[Float[Tensor, "batch feature"], Float[Tensor, "batch feature"]]:
        return self.gamma(latent), self.beta(latent)

    def forward(self, h: Float[Tensor, "batch *rest feature"], latent: Float[Tensor, "batch latent"]) -> Float[Tensor, "batch *rest feature"]:
        return apply_film(h, *self.modulation(latent))
