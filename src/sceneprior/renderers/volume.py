"""Emission-absorption volume rendering (NeRF, Mildenhall et al. 2020; pixelNeRF's sampling scheme).

Along a ray ``x(t) = o + t d`` with unit ``d``, samples ``t_1 < ... < t_S`` with intervals
``delta_i = t_{i+1} - t_i`` (the last interval runs to ``far``, as in pixelNeRF, or is 1e10, as in NeRF) get
opacity ``alpha_i = 1 - exp(-sigma_i delta_i)`` and transmittance ``T_i = exp(-sum_{j<i} sigma_j delta_j)``;
the weights ``w_i = T_i alpha_i`` composite colour (``sum w_i c_i``, plus ``(1 - sum w_i) * background``),
features, and the depth ``sum w_i t_i``. Transmittance is computed in log space (an exclusive cumulative
sum), not as a product of ``1 - alpha``, so very large densities keep values and gradients finite.

Sampling (pixelNeRF, ``src/render/nerf.py``): ``num_coarse`` stratified samples linear in depth between
``near`` and ``far``; then ``num_fine`` importance samples drawn by inverse CDF from the (detached) coarse
weights, plus ``num_depth_jitter`` samples ``N(depth_coarse, 0.01^2)`` clamped to ``[near, far]``; the fine
field is evaluated at the sorted union of all of them (64 + 16 + 16 = 96). With ``perturb=False`` every
random draw is replaced by fixed quantiles, so rendering is deterministic.

Empty-space skipping (``skip_weight``, proposal-style as in nerfacc / mip-NeRF 360: the coarse pass is the
proposal): rays with ``far <= near`` (missing the scene box) are not evaluated at all — exact, their intervals
are empty — and the fine field is evaluated only at samples whose coarse bin or one of its two neighbours holds a
coarse weight above ``skip_weight``; every other fine sample gets density 0 (it lies where the coarse pass found
empty space, or behind an opaque surface). ``skip_transmittance`` (early ray termination) also skips the fine
samples in bins the coarse pass entered with transmittance at or below it. With ``skip_weight=None`` every sample is evaluated. An
:class:`OccupancyGrid` (nerfacc's idea, built once per scene from the field at cell centres and dilated) also
skips the coarse samples in cells where the field had no density.

``depth`` is distance along the unit ray (``t``), not z-depth: multiply by ``z_per_t`` from
:func:`sceneprior.geometry.get_rays` for z. Like NeRF/pixelNeRF it is not normalised by the opacity
(:meth:`VolumeRenderOutput.normalized_depth` is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from ..errors import ConfigError
from ..fields.base import DEFAULT_CHUNK_POINTS, FieldFn, FieldOutput, evaluate_chunked

#: Coarse bins on each side of a busy bin whose fine samples are evaluated too (empty-space skipping).
SKIP_DILATION = 2
#: Length of the last interval with ``last_interval="inf"`` (NeRF's sentinel).
INF_INTERVAL = 1e10
#: Optical depth per interval is clamped to this (exp(-1e4) underflows to 0 even in float64).
MAX_OPTICAL_DEPTH = 1e4


@dataclass
class VolumeRenderConfig:
    """Sampling and compositing settings (defaults: pixelNeRF)."""

    num_coarse: int = 64
    num_fine: int = 16
    num_depth_jitter: int = 16
    depth_jitter_std: float = 0.01
    perturb: bool = True
    background: float | None = 1.0
    last_interval: Literal["far", "inf"] = "far"
    chunk_points: int = DEFAULT_CHUNK_POINTS
    #: empty-space skipping (see the module docstring): None evaluates every sample; a weight >= 0 skips rays
    #: that miss and fine samples where the coarse weights of the sample's bin and its neighbours are all <= it
    skip_weight: float | None = None
    #: with ``skip_weight``: fine samples are also skipped in coarse bins that the coarse pass enters with a
    #: transmittance at or below this (behind what it found opaque: early ray termination); None: no such cut
    skip_transmittance: float | None = None

    def __post_init__(self) -> None:
        if self.num_coarse < 1:
            raise ConfigError(f"num_coarse must be >= 1, got {self.num_coarse}")
        if self.num_fine < 0 or self.num_depth_jitter < 0:
            raise ConfigError("num_fine and num_depth_jitter must be >= 0")
        if self.skip_weight is not None and not self.skip_weight >= 0:
            raise ConfigError(f"skip_weight must be None or >= 0, got {self.skip_weight}")
        if self.skip_transmittance is not None and not 0 <= self.skip_transmittance < 1:
            raise ConfigError(f"skip_transmittance must be None or in [0, 1), got {self.skip_transmittance}")
        if self.last_interval not in ("far", "inf"):
            raise ConfigError(f"last_interval must be 'far' or 'inf', got {self.last_interval!r}")


@dataclass
class VolumeRenderOutput:
    """A composited render. ``rgb`` / ``features`` are ``None`` when the field gives none. ``coarse`` holds
    the coarse pass when a fine pass was made (it is what the coarse loss uses)."""

    rgb: Float[Tensor, "*b 3"] | None
    depth: Float[Tensor, "*b"]
    opacity: Float[Tensor, "*b"]
    weights: Float[Tensor, "*b sample"]
    t: Float[Tensor, "*b sample"]
    features: Float[Tensor, "*b channel"] | None = None
    coarse: "VolumeRenderOutput | None" = None

    def normalized_depth(self, eps: float = 1e-6) -> Float[Tensor, "*b"]:
        """Expected termination distance given that the ray terminates: ``sum w t / sum w``."""
        return self.depth / self.opacity.clamp_min(eps)


def composite(
    density: Float[Tensor, "*b sample"],
    rgb: Float[Tensor, "*b sample 3"] | None,
    t: Float[Tensor, "*b sample"],
    far: Float[Tensor, "*b"],
    background: float | None = None,
    last_interval: Literal["far", "inf"] = "far",
    features: Float[Tensor, "*b sample channel"] | None = None,
) -> VolumeRenderOutput:
    """Alpha-composite sorted samples of one ray (any leading shape) into colour, depth and opacity."""
    if last_interval == "far":
        last = (far.unsqueeze(-1) - t[..., -1:]).clamp_min(0.0)
    else:
        last = torch.full_like(t[..., -1:], INF_INTERVAL)
    delta = torch.cat([t[..., 1:] - t[..., :-1], last], dim=-1)
    # Optical depth of each interval. Beyond MAX_OPTICAL_DEPTH exp(-tau) is 0 in any float type, so the
    # clamp changes no value and no gradient, and it keeps inf (density overflow) out of the sums.
    tau = (density * delta).clamp(max=MAX_OPTICAL_DEPTH)
    alpha = -torch.expm1(-tau)
    # Exclusive cumulative sum: optical depth in front of each sample.
    before = torch.cat([torch.zeros_like(tau[..., :1]), torch.cumsum(tau[..., :-1], dim=-1)], dim=-1)
    transmittance = torch.exp(-before)
    weights = transmittance * alpha
    opacity = weights.sum(dim=-1)
    depth = (weights * t).sum(dim=-1)
    rgb_out = None
    if rgb is not None:
        rgb_out = (weights.unsqueeze(-1) * rgb).sum(dim=-2)
        if background is not None:
            rgb_out = rgb_out + (1.0 - opacity).unsqueeze(-1) * background
    feat_out = None if features is None else (weights.unsqueeze(-1) * features).sum(dim=-2)
    return VolumeRenderOutput(rgb=rgb_out, depth=depth, opacity=opacity, weights=weights, t=t, features=feat_out)


def _uniform(shape: tuple[int, ...], like: Tensor, random: bool, generator: torch.Generator | None) -> Tensor:
    """``U(0,1)`` draws, or 0.5 where ``random`` is False."""
    if random:
        return torch.rand(shape, dtype=like.dtype, device=like.device, generator=generator)
    return torch.full(shape, 0.5, dtype=like.dtype, device=like.device)


def stratified_samples(
    near: Float[Tensor, "*b"],
    far: Float[Tensor, "*b"],
    num: int,
    perturb: bool = True,
    generator: torch.Generator | None = None,
) -> Float[Tensor, "*b sample"]:
    """One sample in each of ``num`` equal bins of ``[near, far]`` (uniform in the bin, or its midpoint)."""
    offsets = _uniform((*near.shape, num), near, perturb, generator)
    steps = (torch.arange(num, dtype=near.dtype, device=near.device) + offsets) / num
    return near.unsqueeze(-1) + (far - near).unsqueeze(-1) * steps


def sample_pdf(
    edges: Float[Tensor, "*b bin_edge"],
    weights: Float[Tensor, "*b bin"],
    num: int,
    deterministic: bool = False,
    generator: torch.Generator | None = None,
    padding: float = 1e-5,
) -> Float[Tensor, "*b sample"]:
    """Inverse-CDF samples from the piecewise-constant density with mass ``weights + padding`` on each bin
    ``[edges[k], edges[k+1]]``. ``deterministic`` uses the quantiles ``(k + 0.5) / num``. No gradient flows."""
    with torch.no_grad():
        w = weights + padding
        cdf = torch.cumsum(w, dim=-1) / w.sum(dim=-1, keepdim=True)
        cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], dim=-1)
        cdf[..., -1] = 1.0
        lead = weights.shape[:-1]
        if deterministic:
            u = ((torch.arange(num, dtype=w.dtype, device=w.device) + 0.5) / num).expand(*lead, num)
        else:
            u = torch.rand((*lead, num), dtype=w.dtype, device=w.device, generator=generator)
        n_bins = weights.shape[-1]
        cdf2 = cdf.reshape(-1, n_bins + 1).contiguous()
        u2 = u.reshape(-1, num).contiguous()
        idx = torch.searchsorted(cdf2, u2, right=True)
        below = (idx - 1).clamp(0, n_bins - 1)
        above = below + 1
        e2 = edges.reshape(-1, n_bins + 1)
        c_lo, c_hi = cdf2.gather(-1, below), cdf2.gather(-1, above)
        e_lo, e_hi = e2.gather(-1, below), e2.gather(-1, above)
        frac = ((u2 - c_lo) / (c_hi - c_lo).clamp_min(1e-12)).clamp(0.0, 1.0)
        return (e_lo + frac * (e_hi - e_lo)).reshape(*lead, num)


def _normal_draws(shape: tuple[int, ...], like: Tensor, random: bool, generator: torch.Generator | None) -> Tensor:
    """``N(0,1)`` draws, or (``random=False``) the quantiles ``Phi^-1((k + 0.5) / n)`` along the last dim."""
    if random:
        return torch.randn(shape, dtype=like.dtype, device=like.device, generator=generator)
    n = shape[-1]
    q = (torch.arange(n, dtype=like.dtype, device=like.device) + 0.5) / n
    return (math.sqrt(2.0) * torch.special.erfinv(2.0 * q - 1.0)).expand(shape)


def evaluate_where(
    field: FieldFn,
    points: Float[Tensor, "batch point 3"],
    directions: Float[Tensor, "batch point 3"],
    mask: Bool[Tensor, "batch point"],
    chunk_points: int = DEFAULT_CHUNK_POINTS,
) -> FieldOutput:
    """``field`` evaluated (in chunks) only where ``mask`` is True; zeros elsewhere (density 0: empty space).

    Each scene's selected points are packed to the front (in their order) and the scenes padded to the largest
    count, so the field still sees one ``(batch, point, 3)`` call per chunk; values are scattered back."""
    batch, num = mask.shape
    counts = mask.sum(dim=1)
    packed = int(counts.max()) if batch > 0 else 0
    if packed == num:
        return evaluate_chunked(field, points, directions, chunk_points)
    if packed == 0:
        probe = field(points[:, :1], directions[:, :1])  # which entries the field has, and their widths
        return probe.map(lambda v: v.new_zeros(batch, num, v.shape[-1]))
    if batch == 1:  # the selected indices in order (nonzero is several times cheaper than a stable argsort)
        order = mask[0].nonzero()[:, 0].unsqueeze(0)
    else:
        order = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)[:, :packed]  # selected first, in order
    index3 = order.unsqueeze(-1).expand(batch, packed, 3)
    out = evaluate_chunked(field, points.gather(1, index3), directions.gather(1, index3), chunk_points)
    valid = (torch.arange(packed, device=mask.device) < counts.unsqueeze(1)).unsqueeze(-1)  # padding: not selected

    def scatter(values: Tensor) -> Tensor:
        channels = values.shape[-1]
        full = values.new_zeros(batch, num, channels)
        return full.scatter(1, order.unsqueeze(-1).expand(batch, packed, channels), values * valid)

    return out.map(scatter)


def render_samples(
    field: FieldFn,
    origins: Float[Tensor, "batch ray 3"],
    directions: Float[Tensor, "batch ray 3"],
    t: Float[Tensor, "batch ray sample"],
    far: Float[Tensor, "batch ray"],
    background: float | None = 1.0,
    last_interval: Literal["far", "inf"] = "far",
    chunk_points: int = DEFAULT_CHUNK_POINTS,
    evaluate: Bool[Tensor, "batch ray sample"] | None = None,
) -> VolumeRenderOutput:
    """Evaluate ``field`` at the given sorted samples (in chunks) and composite them. ``evaluate``: only those
    samples are evaluated; the others get density 0 (:func:`evaluate_where`)."""
    batch, ray, num = t.shape
    points = (origins.unsqueeze(-2) + t.unsqueeze(-1) * directions.unsqueeze(-2)).reshape(batch, ray * num, 3)
    dirs = directions.unsqueeze(-2).expand(batch, ray, num, 3).reshape(batch, ray * num, 3)
    if evaluate is None:
        out = evaluate_chunked(field, points, dirs, chunk_points)
    else:
        out = evaluate_where(field, points, dirs, evaluate.reshape(batch, ray * num), chunk_points)
    if out.density is None:
        raise ConfigError("volume rendering needs a field that returns density")
    density = out.density.reshape(batch, ray, num)
    rgb = None if out.rgb is None else out.rgb.reshape(batch, ray, num, 3)
    feats = None if out.features is None else out.features.reshape(batch, ray, num, -1)
    return composite(density, rgb, t, far, background, last_interval, feats)


def volume_render(
    field: FieldFn,
    origins: Float[Tensor, "batch ray 3"],
    directions: Float[Tensor, "batch ray 3"],
    near: Float[Tensor, "batch ray"],
    far: Float[Tensor, "batch ray"],
    config: VolumeRenderConfig | None = None,
    fine_field: FieldFn | None = None,
    generator: torch.Generator | None = None,
    occupancy: OccupancyGrid | None = None,
) -> VolumeRenderOutput:
    """Render rays through a field: coarse pass, then (if ``num_fine + num_depth_jitter > 0``) a fine pass.

    ``fine_field`` defaults to ``field`` (pixelNeRF uses a separate fine network with the same architecture).
    Returns the fine render with ``.coarse`` set, or the coarse render (``.coarse is None``) if there is no
    fine pass. ``directions`` must be unit vectors (``t`` and ``depth`` are then distances). ``occupancy``:
    coarse samples in its empty cells are not evaluated (density 0); it needs ``config.skip_weight``.
    """
    config = config or VolumeRenderConfig()
    common = dict(background=config.background, last_interval=config.last_interval, chunk_points=config.chunk_points)
    t_coarse = stratified_samples(near, far, config.num_coarse, config.perturb, generator)
    skip = config.skip_weight is not None
    if occupancy is not None and not skip:
        raise ConfigError("an occupancy grid skips samples: give skip_weight too")
    hit = (far > near).unsqueeze(-1).expand_as(t_coarse) if skip else None
    if occupancy is not None:
        points = origins.unsqueeze(-2) + t_coarse.unsqueeze(-1) * directions.unsqueeze(-2)
        hit = hit & occupancy.lookup(points.reshape(points.shape[0], -1, 3)).reshape(t_coarse.shape)
    coarse = render_samples(field, origins, directions, t_coarse, far, **common, evaluate=hit)
    if config.num_fine + config.num_depth_jitter == 0:
        return coarse
    with torch.no_grad():
        parts = [t_coarse.detach()]
        if config.num_fine > 0:
            steps = torch.linspace(0.0, 1.0, config.num_coarse + 1, dtype=near.dtype, device=near.device)
            edges = near.unsqueeze(-1) + (far - near).unsqueeze(-1) * steps
            parts.append(sample_pdf(edges, coarse.weights.detach(), config.num_fine, not config.perturb, generator))
        if config.num_depth_jitter > 0:
            shape = (*near.shape, config.num_depth_jitter)
            noise = _normal_draws(shape, near, config.perturb, generator) * config.depth_jitter_std
            jitter = coarse.depth.detach().unsqueeze(-1) + noise
            parts.append(torch.maximum(torch.minimum(jitter, far.unsqueeze(-1)), near.unsqueeze(-1)))
        t_fine, _ = torch.sort(torch.cat(parts, dim=-1), dim=-1)
        evaluate = None
        if skip:
            evaluate = _proposal_mask(coarse.weights.detach(), t_fine, near, far, config.skip_weight,
                                      config.skip_transmittance)
    fine = render_samples(fine_field or field, origins, directions, t_fine, far, **common, evaluate=evaluate)
    fine.coarse = coarse
    return fine


@dataclass
class OccupancyGrid:
    """Which cells of a scene box may hold density: ``occupied[b, i, j, k]`` for the cell ``(i, j, k)`` of
    ``resolution`` equal cells per axis of ``[box_min, box_max]`` (x, y, z order). Points outside the box count as
    occupied (nothing is known there)."""

    occupied: Bool[Tensor, "batch gx gy gz"]
    box_min: Float[Tensor, "3"]
    box_max: Float[Tensor, "3"]

    def lookup(self, points: Float[Tensor, "batch point 3"]) -> Bool[Tensor, "batch point"]:
        batch, res = self.occupied.shape[0], self.occupied.shape[1]
        unit = (points - self.box_min) / (self.box_max - self.box_min)
        inside = ((unit >= 0) & (unit <= 1)).all(dim=-1)
        cell = (unit * res).floor().long().clamp(0, res - 1)
        flat = (cell[..., 0] * res + cell[..., 1]) * res + cell[..., 2]
        return self.occupied.reshape(batch, -1).gather(1, flat) | ~inside


def occupancy_grid(
    field: FieldFn,
    box_min: Float[Tensor, "3"],
    box_max: Float[Tensor, "3"],
    batch: int,
    eye: Float[Tensor, "batch 3"],
    resolution: int = 16,
    threshold: float = 0.0,
    dilation: int = 1,
    chunk_points: int = DEFAULT_CHUNK_POINTS,
) -> OccupancyGrid:
    """Evaluate ``field`` at the centre of each of ``resolution``³ cells, looking from ``eye`` (a direction
    is needed by view-dependent fields), mark cells with density above ``threshold`` and dilate the marks by
    ``dilation`` cells (a 3D max over a ``2 dilation + 1`` cube), so a thin surface between centres is kept."""
    centres = (torch.arange(resolution, dtype=box_min.dtype, device=box_min.device) + 0.5) / resolution
    unit = torch.stack(torch.meshgrid(centres, centres, centres, indexing="ij"), dim=-1).reshape(1, -1, 3)
    points = (box_min + unit * (box_max - box_min)).expand(batch, -1, 3)
    dirs = torch.nn.functional.normalize(points - eye.unsqueeze(1), dim=-1)
    out = evaluate_chunked(field, points, dirs, chunk_points)
    if out.density is None:
        raise ConfigError("an occupancy grid needs a field that returns density")
    busy = (out.density[..., 0] > threshold).to(points.dtype).reshape(batch, 1, resolution, resolution, resolution)
    if dilation > 0:
        busy = torch.nn.functional.max_pool3d(busy, 2 * dilation + 1, stride=1, padding=dilation)
    return OccupancyGrid(busy[:, 0] > 0, box_min, box_max)


def _proposal_mask(
    weights: Float[Tensor, "batch ray bin"],
    t: Float[Tensor, "batch ray sample"],
    near: Float[Tensor, "batch ray"],
    far: Float[Tensor, "batch ray"],
    skip_weight: float,
    skip_transmittance: float | None = None,
) -> Bool[Tensor, "batch ray sample"]:
    """Fine samples worth evaluating: those whose coarse bin (``num_coarse`` equal bins of ``[near, far]``) or a
    neighbouring bin holds a coarse weight above ``skip_weight``; never on rays that miss (``far <= near``); with
    ``skip_transmittance``, never in a bin that the coarse pass entered with transmittance ``1 - sum of the weights
    before it`` at or below that."""
    bins = weights.shape[-1]
    busy = weights > skip_weight
    # dilate by one bin each way: a surface between two coarse samples is seen by both neighbours
    none = torch.zeros_like(busy[..., :1])
    for _ in range(SKIP_DILATION):
        busy = busy | torch.cat([busy[..., 1:], none], dim=-1) | torch.cat([none, busy[..., :-1]], dim=-1)
    span = (far - near).clamp_min(1e-12).unsqueeze(-1)
    if skip_transmittance is not None:
        entered = 1.0 - (torch.cumsum(weights, dim=-1) - weights)  # coarse transmittance at each bin's start
        busy = busy & (entered > skip_transmittance)
    index = ((t - near.unsqueeze(-1)) / span * bins).floor().long().clamp(0, bins - 1)
    return busy.gather(-1, index) & (far > near).unsqueeze(-1)


def ray_aabb(
    origins: Float[Tensor, "*b 3"],
    directions: Float[Tensor, "*b 3"],
    box_min: Float[Tensor, "*#b 3"] | float,
    box_max: Float[Tensor, "*#b 3"] | float,
) -> tuple[Float[Tensor, "*b"], Float[Tensor, "*b"], Bool[Tensor, "*b"]]:
    """Slab test of rays against an axis-aligned box: ``(near, far, hit)`` with ``near >= 0`` (a ray that
    starts inside the box has ``near = 0``). Rays that miss get ``near = far = 0`` and ``hit = False``."""
    box_min = torch.as_tensor(box_min, dtype=origins.dtype, device=origins.device)
    box_max = torch.as_tensor(box_max, dtype=origins.dtype, device=origins.device)
    tiny = 1e-12
    safe_d = torch.where(directions.abs() < tiny, torch.where(directions < 0, -tiny, tiny), directions)
    inv = 1.0 / safe_d
    t1 = (box_min - origins) * inv
    t2 = (box_max - origins) * inv
    t_enter = torch.minimum(t1, t2).amax(dim=-1)
    t_exit = torch.maximum(t1, t2).amin(dim=-1)
    near = t_enter.clamp_min(0.0)
    hit = t_exit > near
    zero = torch.zeros_like(near)
    return torch.where(hit, near, zero), torch.where(hit, t_exit, zero), hit
