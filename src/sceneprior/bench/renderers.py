"""Rays/s of each renderer on one 64x64 image, each driving a field MLP of the same width.

Every renderer gets a 256-wide ReLU MLP of its model's published depth (NeRF/pixelNeRF-like density field for
volume rendering, an SDF MLP for sphere tracing, SRN's hypernetwork-generated phi for the LSTM marcher, LFN's
hypernetwork-generated 8-layer light field), randomly initialised: speed does not depend on the weights,
except sphere tracing's early exit, which we rule out by a field that keeps every ray marching all its steps.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from ..conditioning import HyperNetwork, batched_mlp
from ..fields import ConditionedField, MLP
from ..geometry import get_rays, intrinsics_matrix, look_at
from ..renderers import LSTMRayMarcher, VolumeRenderConfig, light_field_render, lstm_raymarch, sphere_trace, volume_render


def _rays(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    eye = torch.tensor([0.0, -0.5, -1.4])
    cam2world = look_at(eye, torch.zeros(3), torch.tensor([0.0, -1.0, 0.0]))
    K = intrinsics_matrix(size * 1.07, size * 1.07, size / 2, size / 2)
    origins, dirs, _ = get_rays(cam2world, K, size, size)
    return origins.reshape(1, -1, 3), dirs.reshape(1, -1, 3)


def _time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best.append(time.perf_counter() - start)
    best.sort()
    return best[len(best) // 2]


def renderer_rays_per_second(size: int = 64, quick: bool = False) -> list[dict]:
    repeats = 1 if quick else 3
    torch.manual_seed(0)
    origins, dirs = _rays(size if not quick else 32)
    rays = origins.shape[1]
    near = torch.full((1, rays), 0.6)
    far = torch.full((1, rays), 2.2)
    latent = torch.zeros(1, 256)
    rows: list[dict] = []

    def row(name: str, evals_per_ray: float, render: Callable[[], object], train: Callable[[], object]) -> None:
        if name == "sphere tracing":  # needs autograd for its normals even when only rendering
            t_render = _time(render, repeats)
        else:
            with torch.no_grad():
                t_render = _time(render, repeats)
        t_train = _time(train, repeats)
        rows.append({
            "renderer": name, "rays": rays, "field_evaluations_per_ray": evals_per_ray,
            "render_rays_per_s": rays / t_render, "train_rays_per_s": rays / t_train,
        })

    # volume rendering: pixelNeRF's sampling (64 coarse + 16 importance + 16 depth-jitter), one 256x4 field
    field = ConditionedField(latent_dim=256, width=256, hidden_layers=3)
    fn = lambda x, d: field(x, d, latent)  # noqa: E731
    config = VolumeRenderConfig(num_coarse=64, num_fine=16, num_depth_jitter=16)
    row("volume", 64 + 96,
        lambda: volume_render(fn, origins, dirs, near, far, config),
        lambda: volume_render(fn, origins, dirs, near, far, config).rgb.mean().backward())

    # sphere tracing: an SDF MLP of the same size; its SDF stays in [0.019, 0.021] so every ray stays active
    # for all 32 steps (0.64 units, inside [near, far]): the cost of the full march, no early exit
    sdf_mlp = MLP(3, 1, width=256, hidden_layers=3)
    sdf_fn = lambda x: 0.02 + 1e-3 * torch.tanh(sdf_mlp(x))  # noqa: E731
    steps = 32
    row("sphere tracing", steps + 2,
        lambda: sphere_trace(sdf_fn, origins, dirs, near, far, max_steps=steps),
        lambda: sphere_trace(sdf_fn, origins, dirs, near, far, max_steps=steps, create_graph=True).t.mean().backward())

    # SRN: hypernetwork phi (3 -> 256 x 4, LN + ReLU), 10 LSTM steps, pixel generator
    phi_layers = [(3, 256), (256, 256), (256, 256), (256, 256)]
    hyper = HyperNetwork(phi_layers, 256)
    marcher = LSTMRayMarcher(256, 16, 10)
    pixel = MLP(256, 3, width=256, hidden_layers=4, layer_norm=True)

    def srn(backward: bool) -> None:
        params = hyper(latent)
        feature = lambda p: batched_mlp(params, p, last_norm=True, last_activation=torch.relu)  # noqa: E731
        out = lstm_raymarch(marcher, feature, origins, dirs, near=near)
        rgb = pixel(out.features)
        if backward:
            rgb.mean().backward()

    row("LSTM marcher (SRN)", 11, lambda: srn(False), lambda: srn(True))

    # LFN: hypernetwork light field 6 -> 256 x 7 -> 3, one evaluation per ray
    lf_layers = [(6, 256)] + [(256, 256)] * 6 + [(256, 3)]
    lf_hyper = HyperNetwork(lf_layers, 256, norm_affine=True, split_bias=True)

    def lfn(backward: bool) -> None:
        params = lf_hyper(latent)
        out = light_field_render(lambda c: batched_mlp(params, c), origins, dirs)
        if backward:
            out.rgb.mean().backward()

    row("light field (LFN)", 1, lambda: lfn(False), lambda: lfn(True))
    volume = rows[0]["render_rays_per_s"]
    for r in rows:
        r["render_speed_vs_volume"] = r["render_rays_per_s"] / volume
    return rows


def splatter_like_gaussians(size: int = 128) -> tuple:
    """A Splatter-Image-like scene: one Gaussian per pixel of a ``size``² source view (16,384 at 128²), on the
    surface the pixel's ray hits (an ellipsoid of a car's proportions), its scale the pixel's footprint (flat
    along the view ray), opacity 0.9; rays that miss get a Gaussian of opacity 0.02 on a plane behind the object,
    like the near-transparent background splats of a trained model (they are rasterised too). Returns
    (gaussians, target cam2world, K) for a target view 40° away, deterministic."""
    from ..geometry import get_rays
    from ..renderers.gaussians import Gaussians

    g = torch.Generator().manual_seed(0)
    K = intrinsics_matrix(size * 1.37, size * 1.37, size / 2, size / 2)[None]
    up = torch.tensor([0.0, -1.0, 0.0])
    source = look_at(torch.tensor([0.0, -0.6, -1.5]), torch.zeros(3), up)[None]
    origins, dirs, _ = get_rays(source, K, size, size)
    o, d = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    radii = torch.tensor([0.45, 0.2, 0.25])
    oe, de = o / radii, d / radii  # ray against the unit sphere in ellipsoid coordinates
    a, b, c = (de * de).sum(-1), (oe * de).sum(-1), (oe * oe).sum(-1) - 1
    disc = b * b - a * c
    hit = disc > 0
    t = torch.where(hit, (-b - torch.sqrt(disc.clamp_min(0))) / a, torch.full_like(a, 2.3))
    means = o + t[:, None] * d
    footprint = t / (size * 1.37)  # world size of one pixel at that distance
    n = means.shape[0]
    scales = footprint[:, None] * torch.tensor([0.6, 0.6, 0.06])
    # the flat axis (local z) along the ray: the quaternion of the source camera's rotation, jittered
    from ..renderers.gaussians import matrix_to_quaternion
    q = matrix_to_quaternion(source[0, :3, :3]).expand(n, 4) + 0.05 * torch.randn(n, 4, generator=g)
    gaussians = Gaussians(means[None], scales[None], q[None], torch.where(hit, 0.9, 0.02)[None],
                          torch.rand(1, n, 3, generator=g))
    target = look_at(torch.tensor([0.96, -0.6, -1.15]), torch.zeros(3), up)[None]
    return gaussians, target, K


def gaussian_splatting_speed(size: int = 128, quick: bool = False) -> dict:
    """Milliseconds per ``size``² view of :func:`splatter_like_gaussians` (render without gradients, and
    render + backward to every Gaussian parameter), with this process's torch threads."""
    import os

    from ..renderers.gaussians import GaussianRasterConfig, Gaussians, rasterize_gaussians

    repeats = 3 if quick else 15
    gaussians, cam2world, K = splatter_like_gaussians(size)
    config = GaussianRasterConfig()
    load_before = os.getloadavg()[0]
    with torch.no_grad():
        t_render = _time(lambda: rasterize_gaussians(gaussians, cam2world, K, size, size, config), repeats)
        out = rasterize_gaussians(gaussians, cam2world, K, size, size, config)
    params = [t.clone().requires_grad_(True) for t in (gaussians.means, gaussians.scales, gaussians.rotations,
                                                       gaussians.opacities, gaussians.colors)]
    t_train = _time(lambda: rasterize_gaussians(Gaussians(*params), cam2world, K, size, size, config).rgb.mean().backward(),
                    max(1, repeats // 3))
    rays = size * size
    return {
        "renderer": f"Gaussian splatting ({gaussians.means.shape[1]:,} Gaussians, {size}x{size})",
        "rays": rays, "field_evaluations_per_ray": 0, "render_rays_per_s": rays / t_render,
        "train_rays_per_s": rays / t_train, "render_ms_per_view": 1e3 * t_render, "train_ms_per_view": 1e3 * t_train,
        "pixel_gaussian_evaluations": out.num_pairs, "covered_fraction": float((out.alpha > 0.5).float().mean()),
        "tile_size": config.tile_size, "threads": torch.get_num_threads(), "load_average_1min": load_before,
    }
