"""Image-supervised SDF models: the implicit-differentiation gradient of the sphere-traced surface against finite
differences and against autograd through a brute-force (unrolled) march; the hybrid's Laplace density and its
transmittance at a surface in closed form; exact normals and the zero-level-set mesh of the sphere-initialised SDF."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from sceneprior.fields import laplace_density
from sceneprior.geometry import intrinsics_matrix, look_at
from sceneprior.inference.meshes import sdf_mesh
from sceneprior.registry import get_preset
from sceneprior.renderers import composite, sphere_trace

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DT = torch.float64


def _rays() -> tuple[torch.Tensor, torch.Tensor]:
    o = torch.tensor([[[0.0, 0.1, -2.5], [0.2, -0.1, -2.5], [-0.3, 0.2, -2.4]]], dtype=DT)
    targets = torch.tensor([[[0.05, 0.0, 0.0], [0.2, -0.3, 0.1], [-0.1, 0.35, 0.0]]], dtype=DT)
    return o, torch.nn.functional.normalize(targets - o, dim=-1)


def _ellipsoid_sdf(params: torch.Tensor):
    """A smooth SDF-like function with parameters (centre 3, radius, squash): not a true distance off the sphere
    case, as a learned SDF is not, so the test does not rest on |∇f| = 1."""
    centre, radius, squash = params[:3], params[3], params[4]

    def sdf(points: torch.Tensor) -> torch.Tensor:
        q = points - centre
        q = torch.stack([q[..., 0], q[..., 1] * squash, q[..., 2]], -1)
        return q.norm(dim=-1, keepdim=True) - radius

    return sdf


def _unrolled_march(sdf, o, d, steps: int = 400) -> torch.Tensor:
    """Brute force: plain sphere tracing from t = 0 with every step kept in the autograd graph."""
    t = torch.zeros(o.shape[:-1], dtype=o.dtype)
    for _ in range(steps):
        t = t + 0.5 * sdf(o + t[..., None] * d)[..., 0]
    return t


def test_implicit_differentiation_matches_finite_differences_and_an_unrolled_march():
    o, d = _rays()
    params = torch.tensor([0.02, -0.03, 0.05, 0.6, 1.3], dtype=DT, requires_grad=True)
    near, far = torch.zeros(1, 3, dtype=DT), torch.full((1, 3), 6.0, dtype=DT)

    def traced_t(p: torch.Tensor) -> torch.Tensor:
        return sphere_trace(_ellipsoid_sdf(p), o, d, near, far, max_steps=300, epsilon=1e-10, step_scale=0.5).t

    out = sphere_trace(_ellipsoid_sdf(params), o, d, near, far, max_steps=300, epsilon=1e-10, step_scale=0.5)
    assert out.hit.all()
    weights = torch.tensor([[1.0, -0.7, 0.4]], dtype=DT)
    (implicit,) = torch.autograd.grad((out.t * weights).sum(), params)
    # autograd through 400 unrolled steps of the brute-force march
    (unrolled,) = torch.autograd.grad((_unrolled_march(_ellipsoid_sdf(params), o, d) * weights).sum(), params)
    # central finite differences of the (re-traced) hit distance
    fd = torch.zeros_like(params)
    h = 1e-6
    with torch.no_grad():
        for k in range(params.numel()):
            step = torch.zeros_like(params)
            step[k] = h
            fd[k] = ((traced_t(params + step) - traced_t(params - step)) * weights).sum() / (2 * h)
    torch.testing.assert_close(implicit, fd, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(implicit, unrolled, rtol=1e-5, atol=1e-7)
    assert implicit.abs().max() > 0.1  # a gradient that is really there


def test_laplace_density_closed_form_and_transmittance_at_the_surface():
    """VolSDF: σ = (1/β)(0.5 + 0.5 sign(d) expm1(-|d|/β)); along a ray crossing a plane head on (f = s - t), the
    transmittance at the surface is exp(-∫σ) = exp(-1/2) for s ≫ β, and the ray ends up opaque."""
    beta = 0.02
    d = torch.linspace(-0.2, 0.2, 41, dtype=DT)[:, None]
    expected = (1 / beta) * (0.5 + 0.5 * torch.sign(d) * torch.expm1(-d.abs() / beta))
    torch.testing.assert_close(laplace_density(d, beta), expected)
    assert float(laplace_density(torch.zeros(1, 1, dtype=DT), beta)) == pytest.approx(0.5 / beta)
    surface = 0.7
    t = torch.linspace(0.0, surface, 20001, dtype=DT)[None]
    density = laplace_density((surface - t)[..., None], beta)[..., 0]
    out = composite(density, None, t, t[:, -1])
    transmittance = 1.0 - float(out.opacity[0])
    assert transmittance == pytest.approx(math.exp(-0.5), rel=1e-3)
    t_far = torch.linspace(0.0, surface + 0.5, 20001, dtype=DT)[None]
    out_far = composite(laplace_density((surface - t_far)[..., None], beta)[..., 0], None, t_far, t_far[:, -1])
    assert float(out_far.opacity[0]) > 0.999


def _sphere_model(preset: str):
    """The preset's tiny model with its network's SDF residual switched off: the SDF is exactly |x| - r."""
    torch.manual_seed(0)
    model = replace(get_preset(preset).model.tiny(), coarse_samples=64, fine_samples=64).build(2).eval()
    with torch.no_grad():
        model.field_net.geometry_head.weight.zero_()
        model.field_net.geometry_head.bias.zero_()
        model.beta_param.fill_(0.005)
    return model


@pytest.mark.parametrize("preset", ["sdf-sphere", "sdf-volsdf"])
def test_renders_the_initial_sphere_with_exact_depth_and_normals(preset):
    model = _sphere_model(preset)
    radius = model.config.init_radius
    eye = torch.tensor([0.3, 0.5, 1.4])
    cam = look_at(eye, torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]))[None]
    K = intrinsics_matrix(12.0, 12.0, 6.0, 6.0)[None]
    latent = model.initial_latent(1)
    with torch.no_grad():
        out = model.render(latent, cam, K, 12, 12)
    from sceneprior.geometry import get_rays

    origins, dirs, z_per_t = get_rays(cam, K, 12, 12)
    b = (origins * dirs).sum(-1)
    disc = b * b - (origins.pow(2).sum(-1) - radius**2)
    t_true = -b - disc.clamp_min(0).sqrt()
    hit = disc > 1e-3
    points = origins + t_true[..., None] * dirs
    depth = out.depth[0, 0]
    opacity = out.opacity[0, 0]
    miss = disc < -0.01  # clear of the silhouette
    assert hit.sum() > 10 and miss.sum() > 10
    assert (opacity[hit[0]] > 0.9).float().mean() > 0.95 and (opacity[miss[0]] < 0.1).all()
    inner = hit[0] & (disc[0] > 0.02)  # away from the silhouette
    tol = 2e-3 if preset == "sdf-sphere" else 1e-2  # volsdf: expected depth, 128 samples, β = 0.005
    torch.testing.assert_close(depth[inner], (t_true * z_per_t)[0][inner], atol=tol, rtol=0)
    normals = out.normals[0].permute(1, 2, 0)
    expected = torch.nn.functional.normalize(points[0], dim=-1)
    assert (normals[inner] * expected[inner]).sum(-1).min() > (0.9999 if preset == "sdf-sphere" else 0.995)
    if preset == "sdf-sphere":
        assert (out.rgb[0, :, ~hit[0]] == 1.0).all()  # misses show the white background


def test_mesh_is_the_zero_level_set():
    model = _sphere_model("sdf-sphere")
    sdf_fn, colour_fn = model.sdf_field(model.initial_latent(1))
    mesh, note = sdf_mesh(sdf_fn, colour_fn, (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5), 32)
    radii = torch.as_tensor(mesh.vertices).norm(dim=-1)
    assert len(mesh.faces) > 100 and "zero level" in note
    assert float((radii - model.config.init_radius).abs().max()) < 2e-3
    assert mesh.visual.vertex_colors.shape == (len(mesh.vertices), 4)


def test_sphere_loss_has_mask_and_eikonal_terms_and_gradients_reach_the_sdf():
    """The mask term and the implicit-differentiation path both send gradients to the SDF's layers."""
    torch.manual_seed(0)
    model = get_preset("sdf-sphere").model.tiny().build(0)
    out = model.loss(_sdf_batch(rays=64, seed=None))
    assert {"mse", "mask", "eikonal"} <= set(out.terms)
    out.total.backward()
    grad = model.field_net.geometry_head.weight.grad
    assert grad is not None and grad.abs().max() > 0


def _sdf_batch(rays: int = 32, seed: int | None = 1):
    """A training batch of ``rays`` rays towards the origin from one camera, half on white (``seed``: None keeps
    the caller's random stream)."""
    from sceneprior.models.base import TrainBatch

    if seed is not None:
        torch.manual_seed(seed)
    eye = torch.tensor([0.0, 0.4, 1.5])
    cam = look_at(eye, torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]))
    K = intrinsics_matrix(12.0, 12.0, 6.0, 6.0)
    images = torch.rand(1, 1, 3, 12, 12)
    dirs = torch.nn.functional.normalize(-eye + 0.15 * torch.randn(1, rays, 3), dim=-1)
    rgb = torch.where(torch.rand(1, rays, 1) > 0.5, torch.rand(1, rays, 3) * 0.8, torch.ones(1, rays, 3))
    return TrainBatch(torch.zeros(1, dtype=torch.long), images, cam[None, None], K[None, None], images, cam[None, None],
                      K[None, None], eye.expand(1, rays, 3).clone(), dirs, rgb)


@pytest.mark.parametrize("preset", ["sdf-sphere", "sdf-volsdf"])
@pytest.mark.parametrize("scale", [1.0, 2.0, 0.5])
def test_eikonal_term_is_the_mean_squared_gradient_norm_error(preset, scale):
    """Both presets add 0.1 · mean((|∇f| - 1)²) to the loss: for the SDF f = s (|x| - r), |∇f| = s everywhere, so
    the term is (s - 1)² whatever points it is evaluated at (0 for a true distance), and the loss with the weight
    set to 0 is smaller by exactly 0.1 (s - 1)²."""
    from sceneprior.fields import FieldOutput

    torch.manual_seed(0)
    model = get_preset(preset).model.tiny().build(0).eval()
    radius = model.config.init_radius

    def closed_form(code, points):
        sdf = scale * (points.norm(dim=-1, keepdim=True) - radius) + 0.0 * code.sum()
        return FieldOutput(sdf=sdf, rgb=torch.sigmoid(points))

    model.evaluate = closed_form  # the model's own loss, render and gradient code over a known SDF
    batch = _sdf_batch()
    torch.manual_seed(2)  # the same uniform eikonal points and mask jitter in both losses
    out = model.loss(batch)
    assert out.terms["eikonal"] == pytest.approx((scale - 1.0) ** 2, abs=1e-5)
    weight = model.config.eikonal_weight
    assert weight == pytest.approx(0.1)
    model.config = replace(model.config, eikonal_weight=0.0)
    torch.manual_seed(2)
    without = model.loss(batch)
    assert float((out.total - without.total).detach()) == pytest.approx(weight * (scale - 1.0) ** 2, abs=1e-5)
