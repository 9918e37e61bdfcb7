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


# ----------------------------------------------------------------------------------------- inference fast path


def _rms_norm_(x: Tensor, eps: float) -> Tensor:
    """RMSNorm (no affine) over the last dimension, in place (``x`` is a fresh activation): one fused norm
    reduction and one multiply, a little faster on CPU than ``F.rms_norm``."""
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return x.mul_(norm.square_().div_(x.shape[-1]).add_(eps).rsqrt_())


def centred_linear(weight: Float[Tensor, "*batch out dim"], bias: Float[Tensor, "*batch out"]) -> tuple[Tensor, Tensor]:
    """``(W', b')`` with the mean over the outputs removed, so that ``LayerNorm(no affine)(W x + b)`` equals
    ``RMSNorm(W' x + b')`` (the output of ``W' x + b'`` has zero mean by construction): the normalisation no longer
    has to subtract the mean, which is the costlier half of a LayerNorm on CPU."""
    return weight - weight.mean(-2, keepdim=True), bias - bias.mean(-1, keepdim=True)


def ln_relu_layers(x: Float[Tensor, "ray dim"], layers: list[tuple[Tensor, Tensor]], eps: float = 1e-5) -> Tensor:
    """``Linear -> LayerNorm (no affine) -> ReLU`` for every ``(W'^T (dim, out), b')`` of ``layers``, the weights
    centred by :func:`centred_linear`."""
    for weight_t, bias in layers:
        x = _rms_norm_(torch.addmm(bias, x, weight_t), eps).relu_()
    return x


@torch.no_grad()
def lstm_raymarch_mlp(
    marcher: LSTMRayMarcher,
    layers: list[tuple[Tensor, Tensor]],
    origins: Float[Tensor, "ray 3"],
    directions: Float[Tensor, "ray 3"],
    near: Float[Tensor, "ray"],
    chunk: int = 2048,
    eps: float = 1e-5,
) -> tuple[Float[Tensor, "ray"], Float[Tensor, "ray channel"]]:
    """:func:`lstm_raymarch` without jitter or gradients, for a feature function that is an MLP of ``Linear ->
    LayerNorm (no affine) -> ReLU`` layers (SRN's φ of one scene; ``layers``: each ``(W (out, in), b (out))``),
    computed faster on CPU with the same results up to float32 rounding. Returns (final ``t``, features there).

    * The first layer is linear in ``t``: ``W (o + t d) + b = (W o + b) + t (W d)``, computed once per ray.
    * Each LayerNorm becomes an RMSNorm of a layer whose weights are centred (:func:`centred_linear`).
    * The LSTM cell runs with the gates as rows (contiguous slices) and ``tanh(x) = 2 sigmoid(2x) - 1`` (one
      sigmoid over all gates; the factor 2 of the cell gate is folded into its weights exactly).
    * Rays are taken ``chunk`` at a time, so the activations stay in the CPU's cache.
    """
    hidden = marcher.hidden
    centred = [centred_linear(w, b) for w, b in layers]
    first_t, first_b = centred[0][0].t().contiguous(), centred[0][1]
    rest = [(w.t().contiguous(), b) for w, b in centred[1:]]
    lstm = marcher.lstm
    gate = slice(2 * hidden, 3 * hidden)
    w_ih, w_hh = lstm.weight_ih.detach().clone(), lstm.weight_hh.detach().clone()
    gate_bias = (lstm.bias_ih + lstm.bias_hh).detach().clone() if lstm.bias else torch.zeros(4 * hidden, dtype=w_ih.dtype, device=w_ih.device)
    w_ih[gate] *= 2.0
    w_hh[gate] *= 2.0
    gate_bias[gate] *= 2.0
    gate_bias = gate_bias[:, None]
    w_out, b_out = marcher.out.weight.detach(), marcher.out.bias.detach()[:, None]

    t_out = torch.empty_like(near)
    features = torch.empty(near.shape[0], first_t.shape[1] if not rest else rest[-1][0].shape[1], dtype=origins.dtype, device=origins.device)
    for s in range(0, near.shape[0], chunk):
        base = torch.addmm(first_b, origins[s : s + chunk], first_t)
        slope = directions[s : s + chunk] @ first_t
        t = near[s : s + chunk]
        count = t.shape[0]
        h = c = torch.zeros(hidden, count, dtype=origins.dtype, device=origins.device)

        def phi(t: Tensor) -> Tensor:
            x = _rms_norm_(torch.addcmul(base, t[:, None], slope), eps).relu_()
            return ln_relu_layers(x, rest, eps)

        for _ in range(marcher.steps):
            gates = torch.addmm(gate_bias, w_ih, phi(t).t()).addmm_(w_hh, h).sigmoid_()
            i, f, g, o = gates.split(hidden, 0)
            c = f.mul_(c).add_(i.mul_(g.mul_(2.0).sub_(1.0)))
            h = o.mul_(torch.sigmoid(2.0 * c).mul_(2.0).sub_(1.0))
            t = t + torch.addmm(b_out, w_out, h)[0]
        t_out[s : s + chunk] = t
        features[s : s + chunk] = phi(t)
    return t_out, features


def run_chunks(work: Callable[[int, int], None], count: int, chunk: int = 2048) -> None:
    """Call ``work(start, end)`` for every ``chunk`` of ``range(count)``. With more than one torch thread
    (``torch.get_num_threads()``), the chunks are shared out among that many Python threads that each run torch
    with one thread: coarse-grained parallelism that slows down gracefully when other processes hold the cores
    (intra-op threads wait for each other at every small op: on a busy 2-core machine that is several times
    slower than one thread). The chunks and their order of operations are the same either way, so the results
    do not depend on the number of threads. ``work`` must write disjoint outputs and disable gradients itself."""
    starts = list(range(0, count, chunk))
    threads = torch.get_num_threads()
    if threads <= 1 or len(starts) <= 1:
        for s in starts:
            work(s, min(s + chunk, count))
        return
    from concurrent.futures import ThreadPoolExecutor

    def one(s: int) -> None:
        torch.set_num_threads(1)  # this thread's intra-op threads (new threads take the last value set)
        work(s, min(s + chunk, count))

    try:
        with ThreadPoolExecutor(min(threads, len(starts))) as pool:
            for future in [pool.submit(one, s) for s in starts]:
                future.result()
    finally:
        torch.set_num_threads(threads)

