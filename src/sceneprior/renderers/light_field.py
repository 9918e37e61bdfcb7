"""Light field rendering (LFN, Sitzmann et al. 2021): one network evaluation per ray, on its Plücker
coordinates ``(d, o x d)`` (:func:`sceneprior.geometry.plucker`), and LFN's sparse depth from the
derivatives of colour with respect to the ray.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

from ..geometry.cameras import plucker

#: ``light_field(plucker (batch, ray, 6)) -> rgb (batch, ray, 3)``.
LightFieldFn = Callable[[Tensor], Tensor]


@dataclass
class LightFieldOutput:
    rgb: Float[Tensor, "batch ray 3"]
    plucker: Float[Tensor, "batch ray 6"]


def light_field_render(
    light_field: LightFieldFn, origins: Float[Tensor, "batch ray 3"], directions: Float[Tensor, "batch ray 3"]
) -> LightFieldOutput:
    """Colour of every ray from exactly one evaluation of ``light_field`` on its Plücker coordinates."""
    coords = plucker(origins, directions)
    return LightFieldOutput(rgb=light_field(coords), plucker=coords)


@dataclass
class LightFieldDepth:
    """``depth``: distance along the unit ray (0 where not ``valid``); ``valid``: the estimate passed LFN's
    checks (colour gradient large enough, positive depth, consistent over the random draws)."""

    depth: Float[Tensor, "batch ray"]
    valid: Bool[Tensor, "batch ray"]


def light_field_depth(
    light_field: LightFieldFn,
    origins: Float[Tensor, "batch ray 3"],
    directions: Float[Tensor, "batch ray 3"],
    num_draws: int = 5,
    offset_range: float = 5e-3,
    line_length: float = 1.0,
    min_gradient: float = 5.0,
    max_std: float = 0.01,
    generator: torch.Generator | None = None,
) -> LightFieldDepth:
    """LFN's sparse depth from colour derivatives (``util.light_field_depth_map``).

    A ray is the line through ``a = o`` and ``b = o + D d`` (``D = line_length``). Moving its endpoints to
    ``a + s d'`` and ``b + t d'`` along a random unit ``d'`` moves the point at fraction ``lambda`` of the
    segment by ``(1 - lambda) s + lambda t``; the colour of a Lambertian surface point at depth ``lambda D``
    is unchanged by moves that keep it fixed, so ``dc/ds (1 - lambda)^-1 = dc/dt lambda^-1`` and
    ``depth = D (dc/dt) / (dc/ds + dc/dt)``. ``c`` is the sum of the colour channels; derivatives by autograd
    at ``s, t ~ U(+-offset_range)``, ``num_draws`` draws per ray (each with its own ``d'``). The estimate is
    the mean over draws, invalid (0) where ``|dc/ds + dc/dt| < min_gradient`` (mean over draws), where it is
    negative, or where its standard deviation over draws exceeds ``max_std``. No graph is kept.
    """
    batch, ray = origins.shape[:2]
    kw = dict(dtype=origins.dtype, device=origins.device)
    o = origins.detach().unsqueeze(2)  # (batch, ray, 1, 3)
    d = directions.detach().unsqueeze(2)
    shape = (batch, ray, num_draws)
    d_perp = F.normalize(torch.randn((*shape, 3), generator=generator, **kw), dim=-1)
    s = ((torch.rand(shape, generator=generator, **kw) * 2 - 1) * offset_range).requires_grad_(True)
    t = ((torch.rand(shape, generator=generator, **kw) * 2 - 1) * offset_range).requires_grad_(True)
    with torch.enable_grad():
        a = o + s.unsqueeze(-1) * d_perp
        b = o + line_length * d + t.unsqueeze(-1) * d_perp
        coords = plucker(a.reshape(batch, ray * num_draws, 3), (b - a).reshape(batch, ray * num_draws, 3))
        colour = light_field(coords).sum()
        if colour.requires_grad:
            grad_s, grad_t = torch.autograd.grad(colour, [s, t], allow_unused=True)
        else:
            grad_s = grad_t = None
    grad_s = torch.zeros_like(s) if grad_s is None else grad_s
    grad_t = torch.zeros_like(t) if grad_t is None else grad_t
    total = grad_s + grad_t
    estimates = line_length * grad_t / torch.where(total.abs() < 1e-12, torch.full_like(total, 1e-12), total)
    depth = estimates.mean(-1)
    std = estimates.std(-1) if num_draws > 1 else torch.zeros_like(depth)
    valid = (total.abs().mean(-1) >= min_gradient) & (depth > 0) & (std <= max_std)
    return LightFieldDepth(depth=torch.where(valid, depth, torch.zeros_like(depth)).detach(), valid=valid)
