"""The Gaussian rasteriser against a brute-force per-pixel reference, a closed form and finite differences."""

from __future__ import annotations

import math

import pytest
import torch

from sceneprior.geometry import intrinsics_matrix, look_at
from sceneprior.renderers.gaussians import (
    GaussianRasterConfig,
    Gaussians,
    gsplat_available,
    matrix_to_quaternion,
    quaternion_multiply,
    quaternion_to_matrix,
    rasterize_gaussians,
)


def _camera(size: int, eye=(0.3, -0.4, -1.6), dtype=torch.float32):
    cam2world = look_at(torch.tensor(eye, dtype=dtype), torch.zeros(3, dtype=dtype), torch.tensor([0.0, -1.0, 0.0], dtype=dtype))
    K = intrinsics_matrix(size * 1.2, size * 1.1, size / 2 + 0.7, size / 2 - 0.4).to(dtype)
    return cam2world[None].to(dtype), K[None]


def _random_gaussians(n: int, seed: int, dtype=torch.float32, opacity_max: float = 0.95) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=(torch.rand(1, n, 3, generator=g, dtype=dtype) - 0.5) * 0.6,
        scales=0.02 + 0.08 * torch.rand(1, n, 3, generator=g, dtype=dtype),
        rotations=torch.randn(1, n, 4, generator=g, dtype=dtype),
        opacities=0.2 + (opacity_max - 0.2) * torch.rand(1, n, generator=g, dtype=dtype),
        colors=torch.rand(1, n, 3, generator=g, dtype=dtype),
    )


def _brute_force(g: Gaussians, cam2world, K, height, width, config: GaussianRasterConfig):
    """Every pixel against every Gaussian, one Gaussian at a time in depth order, in float64; the projection
    written out per Gaussian from the formulas of 3DGS (independent of the library's batched code)."""
    c2w = cam2world[0].double()
    R_wc = c2w[:3, :3].T
    eye = c2w[:3, 3]
    fx, fy, cx, cy = (float(K[0, 0, 0]), float(K[0, 1, 1]), float(K[0, 0, 2]), float(K[0, 1, 2]))
    jj, ii = torch.meshgrid(torch.arange(width, dtype=torch.float64), torch.arange(height, dtype=torch.float64), indexing="xy")
    u, v = jj + 0.5, ii + 0.5
    items = []
    for k in range(g.means.shape[1]):
        t = R_wc @ (g.means[0, k].double() - eye)
        if t[2] <= config.near:
            continue
        q = g.rotations[0, k].double()
        w, x, y, z = (q / q.norm()).tolist()
        R = torch.tensor([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                          [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                          [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]], dtype=torch.float64)
        S = torch.diag(g.scales[0, k].double())
        cov3 = R @ S @ S @ R.T
        tz = float(t[2])
        limx_p, limx_n = 1.3 * (width - cx) / fx, 1.3 * cx / fx
        limy_p, limy_n = 1.3 * (height - cy) / fy, 1.3 * cy / fy
        txc = min(max(float(t[0]) / tz, -limx_n), limx_p) * tz
        tyc = min(max(float(t[1]) / tz, -limy_n), limy_p) * tz
        J = torch.tensor([[fx / tz, 0, -fx * txc / tz**2], [0, fy / tz, -fy * tyc / tz**2]], dtype=torch.float64)
        cov2 = J @ R_wc @ cov3 @ R_wc.T @ J.T + 0.3 * torch.eye(2, dtype=torch.float64)
        conic = torch.linalg.inv(cov2)
        mu = (fx * float(t[0]) / tz + cx, fy * float(t[1]) / tz + cy)
        items.append((tz, conic, mu, float(g.opacities[0, k]), g.colors[0, k].double()))
    items.sort(key=lambda it: it[0])
    T = torch.ones(height, width, dtype=torch.float64)
    done = torch.zeros(height, width, dtype=torch.bool)
    rgb = torch.zeros(height, width, 3, dtype=torch.float64)
    depth = torch.zeros(height, width, dtype=torch.float64)
    for tz, conic, mu, opacity, color in items:
        dx, dy = u - mu[0], v - mu[1]
        power = -0.5 * (conic[0, 0] * dx * dx + conic[1, 1] * dy * dy) - conic[0, 1] * dx * dy
        alpha = torch.clamp(opacity * torch.exp(power), max=0.99)
        use = (alpha >= 1 / 255) & ~done
        stop = use & (T * (1 - alpha) < 1e-4)
        done |= stop
        use &= ~stop
        w = torch.where(use, alpha * T, torch.zeros_like(T))
        rgb += w[..., None] * color
        depth += w * tz
        T = torch.where(use, T * (1 - alpha), T)
    acc = 1 - T
    rgb = rgb + T[..., None] * 1.0
    depth = torch.where(acc > 1e-6, depth / acc.clamp_min(1e-6), torch.zeros_like(depth))
    return rgb.permute(2, 0, 1), acc, depth


@pytest.mark.parametrize("tile_size", [1, 4, 8])
def test_matches_brute_force(tile_size):
    height, width = 21, 26  # not a multiple of the tile size
    g = _random_gaussians(40, seed=1)
    cam2world, K = _camera(24)
    config = GaussianRasterConfig(tile_size=tile_size)
    ref_rgb, ref_acc, ref_depth = _brute_force(g, cam2world, K, height, width, config)
    with torch.no_grad():
        out = rasterize_gaussians(g, cam2world, K, height, width, config)
    assert out.rgb.shape == (1, 3, height, width)
    assert ref_acc.max() > 0.9 and (ref_acc < 0.01).any()  # the scene covers some pixels, not all
    torch.testing.assert_close(out.rgb[0].double(), ref_rgb, atol=2e-4, rtol=0)
    torch.testing.assert_close(out.alpha[0, 0].double(), ref_acc, atol=2e-4, rtol=0)
    torch.testing.assert_close(out.depth[0, 0].double(), ref_depth, atol=2e-3, rtol=0)
    # the autograd path gives the same numbers as the in-place inference path
    g.means.requires_grad_(True)
    out_grad = rasterize_gaussians(g, cam2world, K, height, width, config)
    torch.testing.assert_close(out_grad.rgb.detach(), out.rgb, atol=1e-6, rtol=0)


def test_dense_stack_stops_at_transmittance_threshold():
    """Many opaque Gaussians on one pixel: T falls below 1e-4 and the rest are not composited (3DGS's stop)."""
    n = 12
    means = torch.zeros(1, n, 3)
    means[0, :, 2] = torch.linspace(0.0, 0.5, n)
    colors = torch.zeros(1, n, 3)
    colors[0, :, 0] = torch.arange(n, dtype=torch.float32)  # each Gaussian a different red
    g = Gaussians(means, torch.full((1, n, 3), 0.05), torch.tensor([1.0, 0, 0, 0]).expand(1, n, 4), torch.full((1, n), 0.98), colors)
    cam2world = torch.eye(4)[None]
    cam2world[0, 2, 3] = -2.0
    K = intrinsics_matrix(10.0, 10.0, 2.5, 2.5)[None]  # pixel (2, 2) on the axis
    ref = _brute_force(g, cam2world, K, 4, 4, GaussianRasterConfig())
    with torch.no_grad():
        out = rasterize_gaussians(g, cam2world, K, 4, 4, GaussianRasterConfig())
    torch.testing.assert_close(out.rgb[0].double(), ref[0], atol=1e-4, rtol=0)
    # pixel (2, 2): alpha 0.98 each; T = 0.02, 4e-4 after two; the third would bring T to 8e-6 < 1e-4: it stops
    assert abs(float(out.alpha[0, 0, 2, 2]) - (1 - 4e-4)) < 1e-6
    assert abs(float(out.rgb[0, 0, 2, 2]) - (0.02 * 0.98 * 1 + 4e-4 * 1.0)) < 1e-6


def test_isotropic_gaussian_closed_form():
    """One isotropic Gaussian of std s on the optical axis at depth z: the footprint is a 2D Gaussian of variance
    (f s / z)² + 0.3 centred on the principal point, alpha = o exp(-r² / 2 var) (zero below 1/255)."""
    s, z, f, o = 0.05, 2.0, 40.0, 0.7
    size = 33
    g = Gaussians(torch.tensor([[[0.0, 0.0, z]]]), torch.full((1, 1, 3), s), torch.tensor([[[0.3, -0.2, 0.5, 0.1]]]),
                  torch.tensor([[o]]), torch.tensor([[[0.2, 0.4, 0.6]]]))
    K = intrinsics_matrix(f, f, size / 2, size / 2)[None]
    with torch.no_grad():
        out = rasterize_gaussians(g, torch.eye(4)[None], K, size, size, GaussianRasterConfig(background=None))
    var = (f * s / z) ** 2 + 0.3
    centre = torch.arange(size, dtype=torch.float64) + 0.5 - size / 2
    r2 = centre[None, :] ** 2 + centre[:, None] ** 2
    expected = o * torch.exp(-r2 / (2 * var))
    expected = torch.where(expected < 1 / 255, torch.zeros_like(expected), expected)
    torch.testing.assert_close(out.alpha[0, 0].double(), expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out.rgb[0, :, 16, 16].double(), 0.7 * torch.tensor([0.2, 0.4, 0.6], dtype=torch.float64) * float(expected[16, 16]) / 0.7,
                               atol=1e-6, rtol=1e-5)
    assert float(out.depth[0, 0, 16, 16]) == pytest.approx(z)
    assert int((out.alpha[0, 0] > 0).sum()) == int((expected > 0).sum())  # the footprint's extent, pixel for pixel


def test_gradients_match_finite_differences():
    """Gradients to means, scales, rotations, opacities and colours against central differences (float64)."""
    g = _random_gaussians(6, seed=3, dtype=torch.float64, opacity_max=0.8)
    cam2world, K = _camera(12, dtype=torch.float64)
    config = GaussianRasterConfig(tile_size=4, normals=False)
    weights = torch.rand(1, 5, 10, 11, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def loss(means, scales, rotations, opacities, colors):
        out = rasterize_gaussians(Gaussians(means, scales, rotations, opacities, colors), cam2world, K, 10, 11, config)
        return (torch.cat([out.rgb, out.alpha, out.depth], 1) * weights).sum()

    inputs = [t.clone().requires_grad_(True) for t in (g.means, g.scales, g.rotations, g.opacities, g.colors)]
    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)
    grads = torch.autograd.grad(loss(*inputs), inputs)
    assert all(float(gr.abs().sum()) > 0 for gr in grads)


def test_culling_and_extreme_inputs_stay_finite():
    g = _random_gaussians(20, seed=5)
    g.means[0, :5, 2] = -5.0  # behind the camera at z = -1.6: culled
    g.scales[0, 5] = 50.0  # covers the whole image
    g.scales[0, 6] = 1e-8  # smaller than a pixel: only the 0.3 px² dilation
    g.means[0, 7] = torch.tensor([30.0, 0.0, 0.0])  # far outside the field of view (the 1.3x clamp)
    cam2world, K = _camera(16, eye=(0.0, 0.0, -1.6))
    params = [t.clone().requires_grad_(True) for t in (g.means, g.scales, g.rotations, g.opacities, g.colors)]
    out = rasterize_gaussians(Gaussians(*params), cam2world, K, 16, 16, GaussianRasterConfig(normals=True))
    assert torch.isfinite(out.rgb).all() and torch.isfinite(out.depth).all() and torch.isfinite(out.normals).all()
    (out.rgb.sum() + out.depth.sum()).backward()
    assert all(torch.isfinite(p.grad).all() for p in params)
    assert float(params[0].grad[0, :5].abs().sum()) == 0.0  # culled Gaussians get no gradient


def test_normals_face_the_camera():
    """A flat Gaussian (disc) facing the camera renders the disc's normal, turned towards the camera."""
    g = Gaussians(torch.zeros(1, 1, 3), torch.tensor([[[0.2, 0.2, 0.001]]]), torch.tensor([[[1.0, 0.0, 0.0, 0.0]]]),
                  torch.tensor([[0.9]]), torch.ones(1, 1, 3))
    cam2world = torch.eye(4)[None]
    cam2world[0, 2, 3] = -2.0  # camera at z = -2 looking along +z
    with torch.no_grad():
        out = rasterize_gaussians(g, cam2world, intrinsics_matrix(20.0, 20.0, 8.0, 8.0)[None], 16, 16, GaussianRasterConfig(normals=True))
    torch.testing.assert_close(out.normals[0, :, 8, 8], torch.tensor([0.0, 0.0, -1.0]))


def test_batches_render_independently():
    a, b = _random_gaussians(15, seed=7), _random_gaussians(15, seed=8)
    both = Gaussians(*(torch.cat([x, y]) for x, y in zip(
        (a.means, a.scales, a.rotations, a.opacities, a.colors), (b.means, b.scales, b.rotations, b.opacities, b.colors))))
    cam_a, K = _camera(16)
    cam_b, _ = _camera(16, eye=(-0.5, -0.2, 1.5))
    with torch.no_grad():
        together = rasterize_gaussians(both, torch.cat([cam_a, cam_b]), torch.cat([K, K]), 16, 16)
        alone = rasterize_gaussians(b, cam_b, K, 16, 16)
    torch.testing.assert_close(together.rgb[1:], alone.rgb)


def test_quaternion_round_trip():
    q = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    q = q / q.norm(dim=-1, keepdim=True)
    q = torch.where(q[:, :1] < 0, -q, q)
    torch.testing.assert_close(matrix_to_quaternion(quaternion_to_matrix(q)), q, atol=1e-5, rtol=0)
    a, b = q[:25], q[25:]
    torch.testing.assert_close(quaternion_to_matrix(quaternion_multiply(a, b)), quaternion_to_matrix(a) @ quaternion_to_matrix(b),
                               atol=1e-5, rtol=0)


@pytest.mark.skipif(not (torch.cuda.is_available() and gsplat_available()), reason="needs CUDA and gsplat")
def test_gsplat_matches_torch_path():  # pragma: no cover - no GPU on CI
    g = _random_gaussians(200, seed=9)
    cam2world, K = _camera(48)
    cuda = Gaussians(*(t.cuda() for t in (g.means, g.scales, g.rotations, g.opacities, g.colors)))
    with torch.no_grad():
        ours = rasterize_gaussians(g, cam2world, K, 48, 48, GaussianRasterConfig(backend="torch"))
        theirs = rasterize_gaussians(cuda, cam2world.cuda(), K.cuda(), 48, 48, GaussianRasterConfig(backend="gsplat"))
    # gsplat bounds each splat by 3 sigma rather than by its 1/255 contour: pixels differ by a few 1/255
    assert float((ours.rgb - theirs.rgb.cpu()).abs().mean()) < 2e-3
    assert float((ours.rgb - theirs.rgb.cpu()).abs().max()) < 0.05


def test_speed_bench_scene_is_splatter_like():
    """The scene `bench speed` times: one Gaussian per source pixel, an object covering part of the view."""
    from sceneprior.bench.renderers import gaussian_splatting_speed, splatter_like_gaussians

    g, cam2world, K = splatter_like_gaussians(32)
    assert g.means.shape == (1, 1024, 3)
    row = gaussian_splatting_speed(size=32, quick=True)
    assert row["rays"] == 1024 and row["render_ms_per_view"] > 0 and row["train_ms_per_view"] > 0
    assert 0.05 < row["covered_fraction"] < 0.9
