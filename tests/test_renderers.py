"""Renderers: analytic cases, finite-difference gradients (float64), extreme inputs."""

import math

import pytest
import torch

from sceneprior.fields import FieldOutput
from sceneprior.renderers import (
    VolumeRenderConfig,
    composite,
    ray_aabb,
    sample_pdf,
    stratified_samples,
    volume_render,
)

DT = torch.float64


def slab_field(sigma: float, a: float, b: float, colour: tuple[float, float, float]):
    """Density ``sigma`` and colour ``colour`` for distances t in [a, b) along +z from the origin, 0 elsewhere."""
    c = torch.tensor(colour, dtype=DT)

    def field(points, directions):
        z = points[..., 2:3]
        inside = (z >= a - 1e-9) & (z < b - 1e-9)
        density = torch.where(inside, torch.full_like(z, sigma), torch.zeros_like(z))
        rgb = c.expand(*points.shape[:-1], 3)
        return FieldOutput(density=density, rgb=rgb)

    return field


def rays_along_z(batch: int, ray: int):
    origins = torch.zeros(batch, ray, 3, dtype=DT)
    directions = torch.zeros(batch, ray, 3, dtype=DT)
    directions[..., 2] = 1.0
    return origins, directions


def slab_expected(sigma, a, b):
    length = b - a
    opacity = 1 - math.exp(-sigma * length)
    # int_a^b t sigma exp(-sigma (t - a)) dt
    depth = a * opacity + (1 / sigma - math.exp(-sigma * length) * (length + 1 / sigma))
    return opacity, depth


def test_slab_matches_closed_form_transmittance():
    sigma, a, b = 3.0, 0.305, 0.705
    colour = (0.2, 0.5, 0.9)
    origins, directions = rays_along_z(2, 3)
    near = torch.zeros(2, 3, dtype=DT)
    far = torch.ones(2, 3, dtype=DT)
    # Midpoint samples (k + 0.5) / 100: the slab edges are sample positions, so the piecewise-constant
    # quadrature of the optical depth is exact and so are opacity and colour.
    cfg = VolumeRenderConfig(num_coarse=100, num_fine=0, num_depth_jitter=0, perturb=False, background=1.0)
    out = volume_render(slab_field(sigma, a, b, colour), origins, directions, near, far, cfg)
    opacity, depth = slab_expected(sigma, a, b)
    assert out.coarse is None
    assert torch.allclose(out.opacity, torch.full_like(out.opacity, opacity), atol=1e-12)
    expected_rgb = torch.tensor(colour, dtype=DT) * opacity + (1 - opacity) * 1.0
    assert torch.allclose(out.rgb, expected_rgb.expand(2, 3, 3), atol=1e-12)
    assert (out.weights.sum(-1) <= 1 + 1e-12).all() and (out.weights >= 0).all()
    # Depth: quadrature at sample starts; error bounded by the interval width.
    fine = VolumeRenderConfig(num_coarse=2000, num_fine=0, num_depth_jitter=0, perturb=False)
    out_fine = volume_render(slab_field(sigma, a + 0.0002, b + 0.0002, colour), origins, directions, near, far, fine)
    _, depth_shifted = slab_expected(sigma, a + 0.0002, b + 0.0002)
    assert torch.allclose(out_fine.depth, torch.full_like(out_fine.depth, depth_shifted), atol=1e-3)
    assert torch.allclose(out_fine.normalized_depth(), torch.full_like(out_fine.depth, depth_shifted / opacity), atol=2e-3)


def test_no_background_and_inf_last_interval():
    density = torch.full((4, 8), 0.5, dtype=DT)
    t = torch.linspace(0.0, 1.0, 8, dtype=DT).expand(4, 8)
    far = torch.ones(4, dtype=DT)
    rgb = torch.rand(4, 8, 3, dtype=DT)
    out_far = composite(density, rgb, t, far, background=None, last_interval="far")
    assert torch.allclose(out_far.opacity, torch.full((4,), 1 - math.exp(-0.5 * 1.0), dtype=DT))
    out_inf = composite(density, rgb, t, far, background=None, last_interval="inf")
    assert torch.allclose(out_inf.opacity, torch.ones(4, dtype=DT))
    assert torch.allclose(out_inf.rgb, (out_inf.weights.unsqueeze(-1) * rgb).sum(-2))


def test_empty_space_gives_background():
    origins, directions = rays_along_z(1, 5)
    def empty(points, directions):
        return FieldOutput(density=torch.zeros_like(points[..., :1]), rgb=torch.zeros_like(points))
    out = volume_render(empty, origins, directions, torch.full((1, 5), 0.5, dtype=DT), torch.full((1, 5), 2.0, dtype=DT),
                        VolumeRenderConfig(num_coarse=8, num_fine=4, num_depth_jitter=4, background=0.25))
    assert torch.allclose(out.rgb, torch.full_like(out.rgb, 0.25))
    assert torch.allclose(out.opacity, torch.zeros_like(out.opacity))


def test_stratified_samples_in_bins():
    near = torch.full((3,), 1.0, dtype=DT)
    far = torch.full((3,), 3.0, dtype=DT)
    g = torch.Generator().manual_seed(0)
    t = stratified_samples(near, far, 10, perturb=True, generator=g)
    lo = 1.0 + 0.2 * torch.arange(10, dtype=DT)
    assert ((t >= lo) & (t <= lo + 0.2)).all()
    mid = stratified_samples(near, far, 10, perturb=False)
    assert torch.allclose(mid, (lo + 0.1).expand(3, 10))


def test_sample_pdf_follows_weights():
    edges = torch.tensor([[0.0, 1.0, 2.0]], dtype=DT)
    weights = torch.tensor([[1.0, 3.0]], dtype=DT)
    s = sample_pdf(edges, weights, 1000, deterministic=True, padding=0.0)
    assert abs((s < 1.0).double().mean().item() - 0.25) < 2e-3
    # within a bin the density is uniform: the quantiles are evenly spaced there
    first = s[s < 1.0]
    assert torch.allclose(first, (torch.arange(len(first), dtype=DT) + 0.5) / len(first), atol=1e-9)
    g = torch.Generator().manual_seed(1)
    r = sample_pdf(edges, weights, 20000, generator=g, padding=0.0)
    assert abs((r < 1.0).double().mean().item() - 0.25) < 0.015


def test_importance_samples_concentrate_in_slab():
    origins, directions = rays_along_z(1, 4)
    near, far = torch.zeros(1, 4, dtype=DT), torch.full((1, 4), 4.0, dtype=DT)
    field = slab_field(20.0, 2.0, 2.3, (1.0, 0.0, 0.0))
    g = torch.Generator().manual_seed(0)
    cfg = VolumeRenderConfig(num_coarse=32, num_fine=64, num_depth_jitter=0, perturb=True)
    out = volume_render(field, origins, directions, near, far, cfg, generator=g)
    t = out.t
    assert t.shape == (1, 4, 96)
    assert (t[..., 1:] >= t[..., :-1]).all()
    in_slab = ((t >= 1.9) & (t <= 2.4)).double().sum(-1)
    # 32 coarse samples put ~4 in this window; the 64 importance samples almost all land in it.
    assert (in_slab >= 4 + 0.85 * 64).all()
    assert out.coarse is not None and out.coarse.t.shape == (1, 4, 32)
    # the fine render of a sharp slab is close to the analytic opacity
    assert torch.allclose(out.opacity, torch.full_like(out.opacity, 1 - math.exp(-20 * 0.3)), atol=0.02)


def test_depth_jitter_samples_around_coarse_depth():
    origins, directions = rays_along_z(2, 3)
    near, far = torch.zeros(2, 3, dtype=DT), torch.full((2, 3), 4.0, dtype=DT)
    field = slab_field(1e3, 2.0, 4.0, (1.0, 1.0, 1.0))
    cfg = VolumeRenderConfig(num_coarse=64, num_fine=0, num_depth_jitter=16, perturb=False)
    out = volume_render(field, origins, directions, near, far, cfg)
    close = ((out.t - out.coarse.depth.unsqueeze(-1)).abs() < 0.05).sum(-1)
    assert (close >= 16).all()
    again = volume_render(field, origins, directions, near, far, cfg)
    assert torch.equal(out.t, again.t)  # perturb=False is deterministic


def test_composite_gradcheck():
    g = torch.Generator().manual_seed(0)
    density = (torch.rand(2, 5, generator=g, dtype=DT) * 3).requires_grad_()
    rgb = torch.rand(2, 5, 3, generator=g, dtype=DT).requires_grad_()
    t = torch.sort(torch.rand(2, 5, generator=g, dtype=DT) * 2, dim=-1).values.requires_grad_()
    far = torch.full((2,), 2.5, dtype=DT)

    def fn(density, rgb, t):
        out = composite(density, rgb, t, far, background=1.0)
        return out.rgb, out.depth, out.opacity

    assert torch.autograd.gradcheck(fn, (density, rgb, t))


def test_volume_render_gradcheck_through_field():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, generator=g, dtype=DT).requires_grad_()
    origins = torch.randn(1, 3, 3, generator=g, dtype=DT).requires_grad_()
    directions = torch.nn.functional.normalize(torch.randn(1, 3, 3, generator=g, dtype=DT), dim=-1)
    near, far = torch.full((1, 3), 0.5, dtype=DT), torch.full((1, 3), 2.0, dtype=DT)
    cfg = VolumeRenderConfig(num_coarse=6, num_fine=0, num_depth_jitter=0, perturb=False)

    def fn(w, origins):
        def field(points, dirs):
            h = points @ w
            return FieldOutput(density=torch.nn.functional.softplus(h[..., :1]), rgb=torch.sigmoid(h[..., 1:]))
        out = volume_render(field, origins, directions, near, far, cfg)
        return out.rgb, out.depth

    assert torch.autograd.gradcheck(fn, (w, origins))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_density_keeps_values_and_gradients_finite(dtype):
    for value in (0.0, 1e-30, 1e10, 1e30, 3e38 if dtype == torch.float32 else 1e300):
        density = torch.full((2, 16), value, dtype=dtype, requires_grad=True)
        rgb = torch.rand(2, 16, 3, dtype=dtype, requires_grad=True)
        t = torch.linspace(0.0, 1e6, 16, dtype=dtype).expand(2, 16)
        out = composite(density, rgb, t, torch.full((2,), 2e6, dtype=dtype), background=1.0, last_interval="inf")
        loss = out.rgb.sum() + out.depth.sum() * 1e-6 + out.opacity.sum()
        loss.backward()
        for x in (out.rgb, out.depth, out.opacity, density.grad, rgb.grad):
            assert torch.isfinite(x).all(), value
        assert (out.weights.sum(-1) <= 1 + 1e-5).all()


def test_ray_aabb():
    origins = torch.tensor([[0.0, 0.0, -5.0], [0.2, 0.3, 0.0], [5.0, 5.0, -5.0], [0.0, 0.0, 5.0]], dtype=DT)
    directions = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=DT)
    near, far, hit = ray_aabb(origins, directions, -1.0, 1.0)
    assert hit.tolist() == [True, True, False, False]
    assert torch.allclose(near, torch.tensor([4.0, 0.0, 0.0, 0.0], dtype=DT))
    assert torch.allclose(far, torch.tensor([6.0, 0.8, 0.0, 0.0], dtype=DT))
    # oblique ray through a box corner region, against a brute-force march
    o = torch.tensor([[-3.0, -2.0, -2.5]], dtype=DT)
    d = torch.nn.functional.normalize(torch.tensor([[1.0, 0.7, 0.9]], dtype=DT), dim=-1)
    n, f, h = ray_aabb(o, d, torch.tensor([-1.0, -0.5, -1.0], dtype=DT), torch.tensor([1.0, 0.5, 1.0], dtype=DT))
    ts = torch.linspace(0, 10, 100001, dtype=DT)
    p = o + ts[:, None] * d
    inside = ((p >= torch.tensor([-1.0, -0.5, -1.0], dtype=DT)) & (p <= torch.tensor([1.0, 0.5, 1.0], dtype=DT))).all(-1)
    assert h.item() and abs(ts[inside].min() - n.item()) < 2e-4 and abs(ts[inside].max() - f.item()) < 2e-4


# ----------------------------------------------------------------------------------------------- sphere tracing
from sceneprior.renderers import LSTMRayMarcher, light_field_depth, light_field_render, lstm_raymarch, sphere_trace  # noqa: E402
from sceneprior.geometry import plucker  # noqa: E402


def sphere_sdf(centre, radius):
    def sdf(points):
        return (points - centre).norm(dim=-1, keepdim=True) - radius
    return sdf


def analytic_sphere_hit(o, d, c, r):
    oc = o - c
    b = (d * oc).sum(-1)
    disc = b**2 - ((oc * oc).sum(-1) - r**2)
    return -b - disc.clamp_min(0).sqrt(), disc


def sphere_rays():
    o = torch.tensor([[[0.0, 0.0, -3.0], [0.1, 0.2, -3.0], [0.0, 0.0, -3.0], [2.0, 0.0, -3.0]]], dtype=DT)
    targets = torch.tensor([[[0.0, 0.0, 0.0], [0.3, -0.4, 0.1], [1.5, 0.0, 0.0], [2.0, 0.0, 0.0]]], dtype=DT)
    return o, torch.nn.functional.normalize(targets - o, dim=-1)


def test_sphere_trace_hits_analytic_depth_and_normal():
    c = torch.tensor([0.0, 0.0, 0.0], dtype=DT)
    r = 1.0
    o, d = sphere_rays()
    near, far = torch.zeros(1, 4, dtype=DT), torch.full((1, 4), 10.0, dtype=DT)
    out = sphere_trace(sphere_sdf(c, r), o, d, near, far, max_steps=100, epsilon=1e-6)
    t_true, disc = analytic_sphere_hit(o, d, c, r)
    assert out.hit.tolist() == [[True, True, False, False]]
    assert torch.allclose(out.t[out.hit], t_true[out.hit], atol=1e-10)
    expected_normals = (out.points - c) / r
    assert torch.allclose(out.normals[out.hit], expected_normals[out.hit], atol=1e-9)
    assert torch.allclose(out.t[~out.hit], far[~out.hit])
    # far bound before the surface -> miss
    short = sphere_trace(sphere_sdf(c, r), o, d, near, torch.full((1, 4), 1.5, dtype=DT))
    assert not short.hit.any()


def test_sphere_trace_radius_gradient_matches_analytic():
    o, d = sphere_rays()
    o, d = o[:, :2], d[:, :2]
    c = torch.tensor([0.05, -0.02, 0.1], dtype=DT)
    r = torch.tensor(0.9, dtype=DT, requires_grad=True)
    near, far = torch.zeros(1, 2, dtype=DT), torch.full((1, 2), 10.0, dtype=DT)
    out = sphere_trace(sphere_sdf(c, r), o, d, near, far, epsilon=1e-5)
    (grad_r,) = torch.autograd.grad(out.t.sum(), r)
    _, disc = analytic_sphere_hit(o, d, c, r.detach())
    expected = (-r.detach() / disc.sqrt()).sum()  # t = -b - sqrt(b^2 - |oc|^2 + r^2): dt/dr = -r / sqrt(disc)
    assert torch.allclose(grad_r, expected, atol=1e-8)


def test_sphere_trace_gradcheck_all_inputs():
    o, d = sphere_rays()
    o, d = o[:, :2].clone().requires_grad_(), d[:, :2].clone().requires_grad_()
    c = torch.tensor([0.05, -0.02, 0.1], dtype=DT, requires_grad=True)
    r = torch.tensor(0.9, dtype=DT, requires_grad=True)
    near, far = torch.zeros(1, 2, dtype=DT), torch.full((1, 2), 10.0, dtype=DT)

    def fn(o, d, c, r):
        out = sphere_trace(sphere_sdf(c, r), o, d, near, far, max_steps=200, epsilon=1e-9)
        return out.t, out.points

    assert torch.autograd.gradcheck(fn, (o, d, c, r))


def test_sphere_trace_normals_differentiable_with_create_graph():
    o, d = sphere_rays()
    c = torch.tensor([0.0, 0.0, 0.0], dtype=DT, requires_grad=True)
    near, far = torch.zeros(1, 4, dtype=DT), torch.full((1, 4), 10.0, dtype=DT)
    out = sphere_trace(sphere_sdf(c, 1.0), o, d, near, far, create_graph=True)
    assert out.normals.requires_grad
    out.normals[out.hit].sum().backward()
    assert torch.isfinite(c.grad).all()
    with torch.no_grad():
        plain = sphere_trace(sphere_sdf(c, 1.0), o, d, near, far)
    assert not plain.t.requires_grad and not plain.normals.requires_grad
    assert torch.allclose(plain.t, out.t.detach())


def test_sphere_trace_many_rays_compaction_matches_analytic():
    g = torch.Generator().manual_seed(0)
    o = torch.zeros(2, 500, 3, dtype=DT)
    o[..., 2] = -3.0
    d = torch.nn.functional.normalize(torch.randn(2, 500, 3, generator=g, dtype=DT) * 0.3 + torch.tensor([0, 0, 1.0], dtype=DT), dim=-1)
    c = torch.tensor([0.0, 0.0, 0.0], dtype=DT)
    out = sphere_trace(sphere_sdf(c, 1.0), o, d, torch.zeros(2, 500, dtype=DT), torch.full((2, 500), 6.0, dtype=DT),
                       max_steps=200, epsilon=1e-7)
    t_true, disc = analytic_sphere_hit(o, d, c, 1.0)
    clear = (disc > 1e-3) | (disc < -1e-3)  # not grazing
    assert torch.equal(out.hit[clear], (disc > 0)[clear])
    assert torch.allclose(out.t[out.hit], t_true[out.hit], atol=1e-8)


# ------------------------------------------------------------------------------------------------ LSTM marcher
def test_lstm_marcher_init_and_shapes():
    torch.manual_seed(0)
    marcher = LSTMRayMarcher(feature_dim=8, hidden=16, steps=10)
    h = 16
    assert torch.allclose(marcher.lstm.bias_ih[h : 2 * h] + marcher.lstm.bias_hh[h : 2 * h], torch.ones(h))
    o, d = rays_along_z(2, 5)
    o, d = o.float(), d.float()
    w = torch.randn(3, 8)
    out = lstm_raymarch(marcher, lambda p: torch.tanh(p @ w), o, d)
    assert out.points.shape == (2, 5, 3) and out.features.shape == (2, 5, 8) and out.t_steps.shape == (2, 5, 11)
    assert abs(out.t_steps[..., 0].mean().item() - 0.05) < 1e-3 and out.t_steps[..., 0].std().item() < 2e-3
    assert torch.allclose(out.points, o + out.t.unsqueeze(-1) * d)
    biased = LSTMRayMarcher(feature_dim=8, steps=10, init_step_bias=0.2)
    near = torch.full((2, 5), 1.0)
    out2 = lstm_raymarch(biased, lambda p: torch.tanh(p @ w), o, d, near=near, jitter=False)
    assert torch.allclose(out2.t_steps[..., 0], near)
    assert torch.allclose(out2.t, torch.full_like(out2.t, 3.0), atol=0.05)  # 10 steps of ~0.2


def test_lstm_raymarch_gradcheck():
    torch.manual_seed(0)
    marcher = LSTMRayMarcher(feature_dim=4, hidden=3, steps=3, grad_clamp=None).double()
    g = torch.Generator().manual_seed(0)
    o = torch.randn(1, 2, 3, generator=g, dtype=DT).requires_grad_()
    d = torch.nn.functional.normalize(torch.randn(1, 2, 3, generator=g, dtype=DT), dim=-1)
    w = torch.randn(3, 4, generator=g, dtype=DT).requires_grad_()

    def fn(o, w):
        out = lstm_raymarch(marcher, lambda p: torch.tanh(p @ w), o, d, jitter=False)
        return out.t, out.features

    assert torch.autograd.gradcheck(fn, (o, w))


def test_lstm_hidden_gradient_clamp():
    marcher = LSTMRayMarcher(feature_dim=2, hidden=4, steps=2, grad_clamp=1e-6)
    o, d = rays_along_z(1, 3)
    o, d = o.float(), d.float()
    w = torch.randn(3, 2, requires_grad=True)
    out = lstm_raymarch(marcher, lambda p: p @ w, o, d, jitter=False)
    (out.t.sum() * 1e6).backward()
    # gradients reaching the LSTM weights pass through the clamped hidden state
    assert marcher.lstm.weight_ih.grad.abs().max() < 1e-4 * 10


# ------------------------------------------------------------------------------------------------- light field
def plane_light_field(z0: float):
    """A textured plane z = z0 seen along Plücker rays: colour = texture at the intersection."""
    def lf(coords):
        d, m = coords[..., :3], coords[..., 3:]
        p0 = torch.linalg.cross(d, m)  # closest point of the line to the origin (unit d)
        lam = (z0 - p0[..., 2:3]) / d[..., 2:3]
        x = p0 + lam * d
        return torch.stack([torch.sin(20 * x[..., 0]), torch.cos(17 * x[..., 1]), torch.sin(9 * x[..., 0] + 11 * x[..., 1])], -1) * 0.5 + 0.5
    return lf


def test_light_field_render_one_evaluation_per_ray():
    calls = []

    def lf(coords):
        calls.append(coords.shape)
        return torch.sigmoid(coords[..., :3])

    g = torch.Generator().manual_seed(0)
    o = torch.randn(2, 7, 3, generator=g, dtype=DT)
    d = torch.nn.functional.normalize(torch.randn(2, 7, 3, generator=g, dtype=DT), dim=-1)
    out = light_field_render(lf, o, d)
    assert calls == [(2, 7, 6)] and out.rgb.shape == (2, 7, 3)
    assert torch.allclose(out.plucker, plucker(o, d))
    # invariant to sliding the origin along the ray
    out2 = light_field_render(lf, o + 0.7 * d, d)
    assert torch.allclose(out2.rgb, out.rgb)
    w = torch.randn(6, 3, generator=g, dtype=DT, requires_grad=True)
    o.requires_grad_()
    assert torch.autograd.gradcheck(lambda o, w: light_field_render(lambda c: torch.tanh(c @ w), o, d).rgb, (o, w))


def test_light_field_depth_of_textured_plane():
    g = torch.Generator().manual_seed(0)
    o = torch.tensor([0.1, -0.1, -2.0], dtype=DT).expand(1, 50, 3)
    targets = torch.rand(1, 50, 3, generator=g, dtype=DT) - 0.5
    targets[..., 2] = 0.0
    d = torch.nn.functional.normalize(targets - o, dim=-1)
    z0 = 0.5
    out = light_field_depth(plane_light_field(z0), o, d, min_gradient=0.5, max_std=0.05, generator=g)
    t_true = (z0 - o[..., 2]) / d[..., 2]
    assert out.valid.float().mean() > 0.7
    assert torch.allclose(out.depth[out.valid], t_true[out.valid], rtol=0.02)
    assert (out.depth[~out.valid] == 0).all()


def test_sphere_trace_grazing_and_degenerate_rays_stay_finite():
    c = torch.tensor([0.0, 0.0, 0.0], dtype=DT, requires_grad=True)
    r = torch.tensor(1.0, dtype=DT, requires_grad=True)
    o = torch.tensor([[[1.0, 0.0, -3.0], [1.0 - 1e-7, 0.0, -3.0], [0.0, 0.0, -1e8], [0.0, 5.0, 0.0]]], dtype=DT)
    d = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]], dtype=DT)
    near, far = torch.zeros(1, 4, dtype=DT), torch.full((1, 4), 1e9, dtype=DT)
    out = sphere_trace(sphere_sdf(c, r), o, d, near, far, max_steps=64, create_graph=True)
    (out.t.sum() + out.normals.sum()).backward()
    for x in (out.t, out.points, out.normals, c.grad, r.grad):
        assert torch.isfinite(x).all()
    flat = sphere_trace(lambda p: torch.ones_like(p[..., :1]), o, d, near, torch.full((1, 4), 10.0, dtype=DT))
    assert not flat.hit.any() and torch.isfinite(flat.normals).all()


def test_light_field_depth_under_no_grad_and_constant_field():
    o = torch.zeros(1, 3, 3)
    d = torch.nn.functional.normalize(torch.tensor([[[0.1, 0.0, 1.0], [0.0, 0.1, 1.0], [0.0, 0.0, 1.0]]]), dim=-1)
    with torch.no_grad():
        out = light_field_depth(plane_light_field(1.0), o, d, min_gradient=0.5, max_std=0.05)
        const = light_field_depth(lambda c: torch.ones_like(c[..., :3]), o, d)
    assert out.valid.any() and not const.valid.any() and (const.depth == 0).all()


def test_lstm_raymarch_mlp_matches_lstm_raymarch():
    """The inference fast path (first layer linear in t, centred weights + RMSNorm, gates as rows, chunks) gives
    the generic marcher's t and features up to float32 rounding."""
    from sceneprior.conditioning import LayerParams, batched_mlp
    from sceneprior.renderers import lstm_raymarch_mlp

    torch.manual_seed(0)
    marcher = LSTMRayMarcher(32, 8, 6, init_step_bias=0.1).eval()
    with torch.no_grad():
        marcher.out.weight.normal_(0.0, 0.1)
    sizes = [(3, 32), (32, 32), (32, 32)]
    params = [LayerParams(torch.randn(1, o, i) / math.sqrt(i), 0.3 * torch.randn(1, o) + 0.5) for i, o in sizes]
    origins = torch.randn(1, 300, 3)
    dirs = torch.nn.functional.normalize(torch.randn(1, 300, 3), dim=-1)
    near = torch.rand(1, 300)
    phi = lambda p: batched_mlp(params, p, last_norm=True, last_activation=torch.relu)  # noqa: E731
    with torch.no_grad():
        ref = lstm_raymarch(marcher, phi, origins, dirs, near=near, jitter=False)
        t, features = lstm_raymarch_mlp(marcher, [(p.weight[0], p.bias[0]) for p in params], origins[0], dirs[0],
                                        near[0], chunk=128)
    assert torch.allclose(t, ref.t[0], atol=1e-5, rtol=0)
    assert torch.allclose(features, ref.features[0], atol=1e-5, rtol=0)


# ------------------------------------------------------------------------------------------ empty-space skipping
from sceneprior.renderers import evaluate_where, occupancy_grid  # noqa: E402


def ball_field(radius: float, sigma: float, centre=(0.1, -0.05, 0.0)):
    """Density ``sigma`` inside a ball, exactly 0 outside (as a ReLU field is in empty space); colour varies with
    position so that a skipped sample with density would show."""
    c = torch.tensor(centre, dtype=DT)
    calls = []

    def field(points, directions):
        calls.append(points.shape[0] * points.shape[1])
        inside = ((points - c).norm(dim=-1, keepdim=True) < radius).to(points.dtype)
        return FieldOutput(density=sigma * inside, rgb=0.5 + 0.4 * torch.tanh(points))

    return field, calls


def _camera_rays(batch: int, n: int, distance: float = 1.6):
    """n x n rays per scene from cameras on the +z / -x side looking at the box [-0.5, 0.5]^3 (some miss it)."""
    u = torch.linspace(-0.7, 0.7, n, dtype=DT)
    yy, xx = torch.meshgrid(u, u, indexing="ij")
    dirs = torch.nn.functional.normalize(torch.stack([xx, yy, -torch.ones_like(xx)], -1).reshape(1, -1, 3), dim=-1)
    origins = torch.tensor([0.0, 0.0, distance], dtype=DT).expand(1, n * n, 3)
    origins = torch.cat([origins, origins[..., [2, 1, 0]] * torch.tensor([-1.0, 1, 1], dtype=DT)][:batch])
    dirs = torch.cat([dirs, dirs[..., [2, 1, 0]] * torch.tensor([-1.0, 1, 1], dtype=DT)][:batch])
    near, far, _ = ray_aabb(origins, dirs, -0.5, 0.5)
    return origins, dirs.contiguous(), near, far


def test_evaluate_where_equals_the_dense_field_where_asked_and_zero_elsewhere():
    field, _ = ball_field(0.3, 5.0)
    points = torch.rand(2, 50, 3, dtype=DT) - 0.5
    dirs = torch.nn.functional.normalize(torch.randn(2, 50, 3, dtype=DT), dim=-1)
    mask = torch.rand(2, 50) < 0.4
    mask[1, :45] = False  # different counts per scene: the packed batch is padded
    dense = field(points, dirs)
    for chunk in (7, 1000):
        out = evaluate_where(field, points, dirs, mask, chunk)
        torch.testing.assert_close(out.density, dense.density * mask[..., None])
        torch.testing.assert_close(out.rgb, dense.rgb * mask[..., None])
        for b in range(2):  # one scene alone: its points packed by nonzero instead of a sort
            one = evaluate_where(field, points[b : b + 1], dirs[b : b + 1], mask[b : b + 1], chunk)
            torch.testing.assert_close(one.density, dense.density[b : b + 1] * mask[b : b + 1, :, None])
            torch.testing.assert_close(one.rgb, dense.rgb[b : b + 1] * mask[b : b + 1, :, None])
    none = evaluate_where(field, points, dirs, torch.zeros(2, 50, dtype=torch.bool))
    assert none.density.shape == (2, 50, 1) and not none.density.any()


def test_empty_space_skipping_renders_the_same_as_every_sample_with_fewer_evaluations():
    """A ball whose density is exactly 0 outside: the proposal skipping (coarse weights as the fine pass's
    proposal) and the occupancy grid leave only samples of density 0 out, so the images agree to float64 rounding."""
    coarse, coarse_calls = ball_field(0.3, 8.0)
    fine, fine_calls = ball_field(0.3, 8.0)
    origins, dirs, near, far = _camera_rays(2, 12)
    assert (far <= near).any() and (far > near).any()  # some rays miss the box
    dense_config = VolumeRenderConfig(num_coarse=24, num_fine=8, num_depth_jitter=4, perturb=False)
    dense = volume_render(coarse, origins, dirs, near, far, dense_config, fine_field=fine)
    dense_calls = sum(coarse_calls) + sum(fine_calls)
    coarse_calls.clear(), fine_calls.clear()
    skip_config = VolumeRenderConfig(num_coarse=24, num_fine=8, num_depth_jitter=4, perturb=False, skip_weight=0.0)
    grid = occupancy_grid(coarse, torch.full((3,), -0.5, dtype=DT), torch.full((3,), 0.5, dtype=DT), 2,
                          origins.mean(dim=1), resolution=8)
    assert 0 < grid.occupied.float().mean() < 0.5  # the ball's cells, dilated, not the whole box
    grid_calls = coarse_calls.pop(0)
    fast = volume_render(coarse, origins, dirs, near, far, skip_config, fine_field=fine, occupancy=grid)
    torch.testing.assert_close(fast.rgb, dense.rgb, atol=1e-9, rtol=0)
    torch.testing.assert_close(fast.depth, dense.depth, atol=1e-9, rtol=0)
    torch.testing.assert_close(fast.coarse.rgb, dense.coarse.rgb, atol=1e-9, rtol=0)
    fast_calls = grid_calls + sum(coarse_calls) + sum(fine_calls)
    assert fast_calls < 0.6 * dense_calls, (fast_calls, dense_calls)  # padded to the larger scene's count
    # without the grid, skipping is proposal-only: the same image again
    only = volume_render(coarse, origins, dirs, near, far, skip_config, fine_field=fine)
    torch.testing.assert_close(only.rgb, dense.rgb, atol=1e-9, rtol=0)


def test_early_termination_skips_fine_samples_behind_an_opaque_surface_and_changes_the_image_below_its_threshold():
    """skip_transmittance: fine samples in coarse bins entered with transmittance <= 1e-3 are not evaluated. Behind an
    opaque ball the coarse transmittance is ~exp(-60), so the fine samples in the ball's far half are skipped, and
    what they would have added is bounded by the transmittance there: the image moves by less than the threshold
    (here <= 1e-4; the fine pass resolves a grazing ray's entry more finely than the coarse one, so not 0)."""
    coarse, _ = ball_field(0.3, 100.0)
    fine, fine_calls = ball_field(0.3, 100.0)
    origins, dirs, near, far = _camera_rays(1, 12)
    config = dict(num_coarse=24, num_fine=8, num_depth_jitter=4, perturb=False, skip_weight=0.0)
    plain = volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config), fine_field=fine)
    plain_calls = sum(fine_calls)
    fine_calls.clear()
    cut = volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config, skip_transmittance=1e-3),
                        fine_field=fine)
    assert sum(fine_calls) < 0.9 * plain_calls, (sum(fine_calls), plain_calls)
    assert 0 < float((cut.rgb - plain.rgb).abs().max()) < 1e-3
    assert float((cut.opacity - plain.opacity).abs().max()) < 1e-3
    # a translucent ball (transmittance never below 0.3): nothing is cut, the same samples and image
    coarse, _ = ball_field(0.3, 2.0)
    fine, fine_calls = ball_field(0.3, 2.0)
    fine_calls.clear()
    plain = volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config), fine_field=fine)
    plain_calls = sum(fine_calls)
    fine_calls.clear()
    cut = volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config, skip_transmittance=1e-3),
                        fine_field=fine)
    assert sum(fine_calls) == plain_calls
    torch.testing.assert_close(cut.rgb, plain.rgb, atol=0, rtol=0)
    with pytest.raises(Exception, match="skip_transmittance"):
        VolumeRenderConfig(**config, skip_transmittance=1.0)


def test_skipping_leaves_out_fine_density_where_the_coarse_pass_saw_none():
    """The approximation stated: a fine field with density where the coarse field has none (farther than two coarse
    bins from any coarse weight) is not seen, so skipping is only for coarse fields that bound the fine one."""
    coarse, _ = ball_field(0.3, 8.0)
    fine, _ = ball_field(0.3, 8.0, centre=(-0.3, 0.3, -0.3))  # elsewhere
    origins, dirs, near, far = _camera_rays(1, 10)
    config = dict(num_coarse=24, num_fine=8, num_depth_jitter=4, perturb=False)
    dense = volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config), fine_field=fine)
    fast = volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config, skip_weight=0.0), fine_field=fine)
    assert (fast.rgb - dense.rgb).abs().max() > 0.1
    with pytest.raises(Exception, match="skip_weight"):
        volume_render(coarse, origins, dirs, near, far, VolumeRenderConfig(**config), occupancy=occupancy_grid(
            coarse, torch.full((3,), -0.5, dtype=DT), torch.full((3,), 0.5, dtype=DT), 1, origins.mean(dim=1), 4))
