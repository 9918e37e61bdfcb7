"""Small building blocks of the image models, kept private to ``sceneprior.models``.

SRN and LFN use the shared :mod:`sceneprior.conditioning` (hypernetwork) and :mod:`sceneprior.renderers` (LSTM
marcher, light field). pixelNeRF still uses the volume-rendering helpers below, written before the shared
:mod:`sceneprior.renderers.volume` landed (they follow REFERENCE.md §3; swapping them is a follow-up that keeps
checkpoints loadable, since these hold no parameters). Every function here is pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

# ----------------------------------------------------------------------------------------- encodings, MLPs


def positional_encoding(x: Float[Tensor, "*batch dim"], num_frequencies: int, freq_factor: float) -> Float[Tensor, "*batch out"]:
    """[x, sin(f_k x), cos(f_k x)] with f_k = freq_factor·2^k (pixelNeRF: 6 frequencies, factor 1.5)."""
    freqs = freq_factor * (2.0 ** torch.arange(num_frequencies, dtype=x.dtype, device=x.device))
    scaled = rearrange(x[..., None, :] * freqs[:, None], "... f d -> ... (f d)")
    return torch.cat([x, torch.sin(scaled), torch.cos(scaled)], -1)


def ln_relu_mlp(sizes: list[int], norm_last: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k + 2 < len(sizes) or norm_last:
            layers += [nn.LayerNorm(sizes[k + 1], elementwise_affine=False), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ResnetBlockFC(nn.Module):
    """ReLU → Linear → ReLU → Linear plus the skip; the second Linear is zero-initialised (pixelNeRF)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc0 = nn.Linear(width, width)
        self.fc1 = nn.Linear(width, width)
        nn.init.kaiming_normal_(self.fc0.weight, a=0.0, mode="fan_in")
        nn.init.zeros_(self.fc0.bias)
        nn.init.zeros_(self.fc1.weight)
        nn.init.zeros_(self.fc1.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fc1(F.relu(self.fc0(F.relu(x))))


# ----------------------------------------------------------------------------------------- ray geometry


def ray_aabb(
    origins: Float[Tensor, "*batch 3"], dirs: Float[Tensor, "*batch 3"], box_min: Tensor, box_max: Tensor
) -> tuple[Float[Tensor, "*batch"], Float[Tensor, "*batch"], Tensor]:
    """Slab test: entry and exit distances along each ray (clamped to t >= 0) and whether it hits the box."""
    safe = torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    t0 = (box_min - origins) / safe
    t1 = (box_max - origins) / safe
    near = torch.minimum(t0, t1).amax(-1).clamp(min=0.0)
    far = torch.maximum(t0, t1).amin(-1)
    hit = far > near
    return near, torch.where(hit, far, near), hit


def ray_sphere_entry(origins: Tensor, dirs: Tensor, radius: float) -> Tensor:
    """Distance along each unit ray to where it enters the sphere of ``radius`` at the origin (the closest
    approach for rays that miss it), never negative."""
    b = (origins * dirs).sum(-1)
    c = (origins * origins).sum(-1) - radius**2
    disc = b * b - c
    t = -b - torch.sqrt(disc.clamp(min=0.0))
    return torch.where(disc > 0, t, -b).clamp(min=0.0)


# ----------------------------------------------------------------------------------------- volume rendering


@dataclass
class VolumeSamples:
    t: Float[Tensor, "batch ray sample"]
    weights: Float[Tensor, "batch ray sample"]
    rgb: Float[Tensor, "batch ray 3"]
    depth: Float[Tensor, "batch ray"]
    opacity: Float[Tensor, "batch ray"]


def composite(
    t: Float[Tensor, "batch ray sample"], sigma: Float[Tensor, "batch ray sample"], rgb: Float[Tensor, "batch ray sample 3"],
    far: Float[Tensor, "batch ray"], white_background: bool = True,
) -> VolumeSamples:
    """Emission-absorption compositing; the last interval runs to ``far`` (pixelNeRF, no 1e10 sentinel)."""
    deltas = torch.cat([t[..., 1:] - t[..., :-1], (far[..., None] - t[..., -1:]).clamp(min=0.0)], -1)
    alpha = 1.0 - torch.exp(-sigma * deltas)
    transmittance = torch.cumprod(torch.cat([torch.ones_like(alpha[..., :1]), 1.0 - alpha + 1e-10], -1), -1)[..., :-1]
    weights = alpha * transmittance
    opacity = weights.sum(-1)
    color = (weights[..., None] * rgb).sum(-2)
    if white_background:
        color = color + (1.0 - opacity[..., None])
    depth = (weights * t).sum(-1)
    return VolumeSamples(t=t, weights=weights, rgb=color, depth=depth, opacity=opacity)


def stratified_samples(near: Tensor, far: Tensor, count: int, perturb: bool) -> Tensor:
    steps = torch.linspace(0.0, 1.0, count + 1, dtype=near.dtype)
    lower, upper = steps[:-1], steps[1:]
    u = torch.rand(*near.shape, count, dtype=near.dtype) if perturb else torch.full((*near.shape, count), 0.5, dtype=near.dtype)
    frac = lower + (upper - lower) * u
    return near[..., None] + (far - near)[..., None] * frac


def importance_samples(t: Tensor, weights: Tensor, count: int, perturb: bool) -> Tensor:
    """Inverse-transform samples of the piecewise-constant pdf of ``weights`` over the bins between samples."""
    mids = 0.5 * (t[..., 1:] + t[..., :-1])
    w = weights[..., 1:-1].detach() + 1e-5
    pdf = w / w.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[..., :1]), torch.cumsum(pdf, -1)], -1)
    u = torch.rand(*cdf.shape[:-1], count, dtype=t.dtype) if perturb else torch.linspace(0, 1, count, dtype=t.dtype).expand(*cdf.shape[:-1], count)
    u = u.contiguous()
    index = torch.searchsorted(cdf.contiguous(), u, right=True)
    below = (index - 1).clamp(min=0)
    above = index.clamp(max=cdf.shape[-1] - 1)
    cdf_below, cdf_above = torch.gather(cdf, -1, below), torch.gather(cdf, -1, above)
    bins_below, bins_above = torch.gather(mids, -1, below), torch.gather(mids, -1, above)
    denom = torch.where(cdf_above - cdf_below < 1e-5, torch.ones_like(cdf_above), cdf_above - cdf_below)
    return (bins_below + (u - cdf_below) / denom * (bins_above - bins_below)).detach()
