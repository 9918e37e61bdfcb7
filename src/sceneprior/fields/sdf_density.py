"""Turning a signed distance into a volume density (hybrid implicit-volumetric rendering, FRAMEWORK.md §10).

VolSDF (Yariv et al. 2021): ``sigma(x) = alpha * Psi_beta(-sdf(x))`` with ``Psi_beta`` the CDF of a zero-mean
Laplace distribution of scale ``beta``; ``alpha = 1 / beta`` by default. Density is ``alpha / 2`` on the
surface, tends to ``alpha`` inside and to 0 outside; ``beta -> 0`` makes the surface sharp.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor


def laplace_density(
    sdf: Float[Tensor, "*b 1"], beta: float | Tensor, alpha: float | Tensor | None = None
) -> Float[Tensor, "*b 1"]:
    """VolSDF's density ``alpha * Psi_beta(-sdf)``. Written with ``exp(-|s|/beta)`` only, so it is finite for any
    ``sdf`` (no overflow for large distances) and its gradient too."""
    beta_t = torch.as_tensor(beta, dtype=sdf.dtype, device=sdf.device)
    alpha_t = 1.0 / beta_t if alpha is None else torch.as_tensor(alpha, dtype=sdf.dtype, device=sdf.device)
    s = -sdf
    half_exp = 0.5 * torch.exp(-s.abs() / beta_t)
    cdf = torch.where(s <= 0, half_exp, 1.0 - half_exp)
    return alpha_t * cdf
