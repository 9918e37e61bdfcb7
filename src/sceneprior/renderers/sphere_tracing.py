"""Sphere tracing of signed distance fields (Hart 1996), with a differentiable final step.

Tracing: ``t <- t + step_scale * f(o + t d)`` from ``near`` for every ray at once (one SDF evaluation per
step for all still-active rays of the batch, compacted once fewer than all are active), until
``|f| < epsilon`` (hit) or ``t > far`` (miss) or ``max_steps``.

Why the last step makes gradients right
---------------------------------------
The loop runs without autograd: its iterates are not differentiable in a useful way, and back-propagating
through 64 steps would be wasteful. The surface point is defined implicitly by ``f(o + t* d; theta) = 0``.
Implicit differentiation (DVR, Niemeyer et al. 2020; IDR, Yariv et al. 2020) gives, for any input ``q`` of
``f`` (network weights, latent, ray origin or direction)::

    dt*/dq = -(df/dq) / (grad_x f . d)      (with df/dq taken at fixed x, and d(x)/dq for o and d).

One Newton step from the traced point ``t0`` with the denominator held constant,
``t = t0 - f(o + t0 d; theta) / c`` with ``c = stopgrad(grad_x f(x0) . d)``, has exactly this gradient with
respect to ``theta``, ``o`` and ``d`` (``t0`` is detached), and its value is the Newton refinement of ``t0``
(error quadratic in the tracing error). It is applied to hit rays only. ``|c|`` is kept >= ``min_cosine``:
at grazing angles the true derivative is unbounded and the clamp bounds it.

Normals are ``normalize(grad_x f)`` at the traced point, from autograd. With ``create_graph=True`` they are
differentiable with respect to the SDF's parameters (for normal or eikonal losses; costs a double backward);
otherwise they carry no graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

#: ``sdf_fn(points (batch, ray, 3)) -> (batch, ray, 1)`` signed distances (negative inside).
SdfFn = Callable[[Tensor], Tensor]


@dataclass
class SphereTraceOutput:
    """Traced surface points. For rays that miss, ``t = far``, ``points = o + far d`` and ``hit`` is False;
    ``normals`` are then meaningless (but finite). ``sdf`` is the SDF at the traced point."""

    points: Float[Tensor, "batch ray 3"]
    t: Float[Tensor, "batch ray"]
    hit: Bool[Tensor, "batch ray"]
    normals: Float[Tensor, "batch ray 3"] | None
    sdf: Float[Tensor, "batch ray"]


def _trace(sdf_fn: SdfFn, o: Tensor, d: Tensor, near: Tensor, far: Tensor, max_steps: int, epsilon: float, step_scale: float) -> Tensor:
    """The undifferentiated march; returns ``t`` (batch, ray)."""
    batch, ray = near.shape
    t = near.clone()
    active = torch.ones_like(near, dtype=torch.bool)
    for _ in range(max_steps):
        count = int(active.sum(dim=1).max())
        if count == 0:
            break
        if count == ray:
            s = sdf_fn(o + t.unsqueeze(-1) * d).squeeze(-1)
        else:
            # Evaluate only the first ``count`` rays of each scene in the order "active first".
            order = torch.argsort(active.to(torch.int8), dim=1, descending=True, stable=True)[:, :count]
            t_sel = t.gather(1, order)
            idx3 = order.unsqueeze(-1).expand(batch, count, 3)
            p_sel = o.gather(1, idx3) + t_sel.unsqueeze(-1) * d.gather(1, idx3)
            s = torch.zeros_like(t).scatter(1, order, sdf_fn(p_sel).squeeze(-1))
        active = active & (s.abs() >= epsilon)
        t = torch.where(active, t + step_scale * s, t)
        active = active & (t <= far)
    return t


def sphere_trace(
    sdf_fn: SdfFn,
    origins: Float[Tensor, "batch ray 3"],
    directions: Float[Tensor, "batch ray 3"],
    near: Float[Tensor, "batch ray"],
    far: Float[Tensor, "batch ray"],
    max_steps: int = 64,
    epsilon: float = 1e-3,
    step_scale: float = 1.0,
    compute_normals: bool = True,
    create_graph: bool = False,
    min_cosine: float = 1e-3,
) -> SphereTraceOutput:
    """Sphere-trace unit-direction rays against ``sdf_fn``; see the module docstring for the gradients.

    ``step_scale < 1`` makes the march conservative for learned SDFs that over-estimate distance.
    """
    with torch.no_grad():
        t0 = _trace(sdf_fn, origins.detach(), directions.detach(), near.detach(), far.detach(), max_steps, epsilon, step_scale)
    with torch.enable_grad():
        x = origins + t0.unsqueeze(-1) * directions
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        s = sdf_fn(x).squeeze(-1)
        grad_x = None
        if s.requires_grad:
            (grad_x,) = torch.autograd.grad(s.sum(), x, create_graph=create_graph, retain_graph=True, allow_unused=True)
        if grad_x is None:  # an SDF that does not depend on the point (degenerate, but keep values finite)
            grad_x = torch.zeros_like(x)
    hit = (s.detach().abs() < epsilon) & (t0 >= near) & (t0 <= far)
    cos = (grad_x.detach() * directions.detach()).sum(-1)
    cos = torch.where(cos >= 0, cos.clamp_min(min_cosine), cos.clamp_max(-min_cosine))
    s_out = s if torch.is_grad_enabled() else s.detach()
    t_newton = t0 - s_out / cos
    t = torch.where(hit, t_newton, far)
    points = origins + t.unsqueeze(-1) * directions
    normals = None
    if compute_normals:
        g = grad_x if create_graph else grad_x.detach()
        normals = F.normalize(g, dim=-1, eps=1e-12)
    return SphereTraceOutput(points=points, t=t, hit=hit, normals=normals, sdf=s_out)
