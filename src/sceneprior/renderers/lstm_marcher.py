"""SRN's learned ray marcher (Sitzmann et al. 2019): an LSTM predicts each step length from the feature
the scene function returns at the current point.

Per REFERENCE.md: ``nn.LSTMCell(feature_dim, hidden=16)``, then ``Linear(16 -> 1)`` giving a signed step;
``x <- o + t d`` with unit ``d``; 10 steps; forget-gate bias initialised to 1; the gradient of the hidden
state is clamped to +-10 (a hook, as in SRN); the initial depth is ``N(0.05, 5e-4^2)`` along each ray
(SRN's cameras sit ~1.3 units from the object). For our datasets pass ``near`` to start at the near bound
(plus the same jitter) and, optionally, ``init_step_bias`` (PyTorch3D implicitron's ``init_depth / steps``
bias with N(0, 1e-3) weights) so the untrained marcher already walks into the scene.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

#: ``feature_fn(points (batch, ray, 3)) -> features (batch, ray, C)`` (SRN's phi, closed over the scenes).
FeatureFn = Callable[[Tensor], Tensor]


class LSTMRayMarcher(nn.Module):
    """The marcher's parameters; :func:`lstm_raymarch` runs it. ``forward`` is one step."""

    def __init__(
        self,
        feature_dim: int = 256,
        hidden: int = 16,
        steps: int = 10,
        init_depth_mean: float = 0.05,
        init_depth_std: float = 5e-4,
        init_step_bias: float | None = None,
        grad_clamp: float | None = 10.0,
    ) -> None:
        super().__init__()
        self.feature_dim, self.hidden, self.steps = feature_dim, hidden, steps
        self.init_depth_mean, self.init_depth_std = init_depth_mean, init_depth_std
        self.grad_clamp = grad_clamp
        self.lstm = nn.LSTMCell(feature_dim, hidden)
        self.out = nn.Linear(hidden, 1)
        with torch.no_grad():
            # Gate order of nn.LSTMCell is (input, forget, cell, output); the two biases are summed.
            self.lstm.bias_ih[hidden : 2 * hidden].fill_(1.0)
            self.lstm.bias_hh[hidden : 2 * hidden].fill_(0.0)
            if init_step_bias is not None:
                self.out.weight.normal_(0.0, 1e-3)
                self.out.bias.fill_(init_step_bias)

    def forward(
        self, features: Float[Tensor, "ray channel"], state: tuple[Tensor, Tensor] | None
    ) -> tuple[Float[Tensor, "ray"], tuple[Tensor, Tensor]]:
        h, c = self.lstm(features, state)
        if self.grad_clamp is not None and h.requires_grad:
            bound = self.grad_clamp
            h.register_hook(lambda g: g.clamp(-bound, bound))
        return self.out(h).squeeze(-1), (h, c)


@dataclass
class RaymarchOutput:
    """Final points, their distance along the ray, the features there, and ``t`` after every step
    (``t_steps[..., 0]`` is the start)."""

    points: Float[Tensor, "batch ray 3"]
    t: Float[Tensor, "batch ray"]
    features: Float[Tensor, "batch ray channel"]
    t_steps: Float[Tensor, "batch ray step"]


def lstm_raymarch(
    marcher: LSTMRayMarcher,
    feature_fn: FeatureFn,
    origins: Float[Tensor, "batch ray 3"],
    directions: Float[Tensor, "batch ray 3"],
    near: Float[Tensor, "batch ray"] | None = None,
    jitter: bool = True,
    generator: torch.Generator | None = None,
) -> RaymarchOutput:
    """March ``marcher.steps`` learned steps along unit-direction rays, then read the features there.

    Starts at ``near`` if given, else at ``marcher.init_depth_mean``; ``jitter`` adds ``N(0, init_depth_std^2)``.
    Costs ``steps + 1`` evaluations of ``feature_fn`` on ``(batch, ray, 3)``.
    """
    batch, ray = origins.shape[:2]
    if near is None:
        t = torch.full((batch, ray), marcher.init_depth_mean, dtype=origins.dtype, device=origins.device)
    else:
        t = near
    if jitter and marcher.init_depth_std > 0:
        t = t + marcher.init_depth_std * torch.randn(
            (batch, ray), dtype=origins.dtype, device=origins.device, generator=generator
        )
    steps = [t]
    state = None
    for _ in range(marcher.steps):
        features = feature_fn(origins + t.unsqueeze(-1) * directions)
        delta, state = marcher(features.reshape(batch * ray, -1), state)
        t = t + delta.reshape(batch, ray)
        steps.append(t)
    points = origins + t.unsqueeze(-1) * directions
    return RaymarchOutput(points=points, t=t, features=feature_fn(points), t_steps=torch.stack(steps, dim=-1))
