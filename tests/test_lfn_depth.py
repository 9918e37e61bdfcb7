"""LFN's depth (the paper's sparse depth from the light field's derivatives) through the model, against a known
answer: an LFN whose light field is that of a textured sphere renders the sphere's z-depth, normals that are
radial, and a fused mesh of the sphere's radius; depth fusion leaves unknown (not background) pixels alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sceneprior.inference import meshes as geo
from sceneprior.inference.prior import ViewPrior
from sceneprior.models import SceneLatent
from sceneprior.models.lfn import LFN, LFNConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RADIUS = 0.35


def sphere_light_field(coords: torch.Tensor) -> torch.Tensor:
    """Colour of a textured sphere of RADIUS at the origin seen along Plücker rays ``(d, o x d)`` (white where the
    ray misses it): the texture at the ray's first intersection."""
    d, m = coords[..., :3], coords[..., 3:]
    p0 = torch.linalg.cross(d, m)  # closest point of the line to the origin (unit d)
    disc = RADIUS**2 - (p0 * p0).sum(-1, keepdim=True)
    x = p0 - torch.sqrt(disc.clamp_min(1e-12)) * d
    texture = torch.stack([torch.sin(20 * x[..., 0]), torch.cos(17 * x[..., 1]),
                           torch.sin(9 * x[..., 0] + 11 * x[..., 2])], -1) * 0.5 + 0.5
    return torch.where(disc > 0, texture, torch.ones_like(texture))


class SphereLFN(LFN):
    """An LFN whose light field is the analytic sphere's (everything else is the model's own code path)."""

    def light_field(self, latent: SceneLatent):
        return sphere_light_field


def _sphere_depth(cam2world, K, size):
    from sceneprior.geometry import get_rays

    origins, dirs, z_per_t = get_rays(cam2world[None].double(), K[None].double(), size, size)
    o, d, zt = origins[0].numpy(), dirs[0].numpy(), z_per_t[0].numpy()
    b = (o * d).sum(-1)
    disc = b * b - ((o * o).sum(-1) - RADIUS**2)
    t = -b - np.sqrt(np.clip(disc, 0, None))
    return np.where(disc > 0, t * zt, np.nan), o + t[..., None] * d


@pytest.fixture(scope="module")
def sphere_model():
    return SphereLFN(LFNConfig().tiny(), 1).eval()


def test_lfn_depth_of_a_textured_sphere(sphere_model):
    """The model's rendered z-depth equals the sphere's where LFN's checks pass (the paper's thresholds), is NaN
    elsewhere, never claims depth off the sphere, and covers most of it; normals from it are radial."""
    prior = ViewPrior()
    cam, K = prior.camera(30.0, 20.0, 1.5), prior.intrinsics(48)
    latent = SceneLatent(code=torch.zeros(1, 16))
    with torch.no_grad():
        out = sphere_model.render(latent, cam[None], K[None], 48, 48)
    depth = out.depth[0, 0].double().numpy()
    truth, points = _sphere_depth(cam, K, 48)
    known = np.isfinite(depth)
    on_sphere = np.isfinite(truth)
    assert not (known & ~on_sphere).any()  # the white background has no colour gradient: no depth
    assert known.sum() > 0.3 * on_sphere.sum()  # sparse: the paper's checks drop weakly textured rays
    assert np.abs(depth[known] - truth[known]).max() < 0.01  # z-depth to 1 cm at 1.5 m
    normals = geo.normals_from_depth(depth, cam, K)
    valid = np.all(np.isfinite(normals), -1)
    assert valid.sum() > 50  # a normal needs the depth of its four neighbours
    radial = points / np.linalg.norm(points, axis=-1, keepdims=True)
    assert np.median((normals[valid] * radial[valid]).sum(-1)) > 0.99


def test_lfn_depth_only_when_rendering_for_inference(sphere_model):
    g = torch.Generator().manual_seed(0)
    o = torch.tensor([0.0, 0.0, -1.5]).expand(1, 40, 3)
    targets = (torch.rand(1, 40, 3, generator=g) - 0.5) * 0.5
    d = torch.nn.functional.normalize(targets - o, dim=-1)
    latent = SceneLatent(code=torch.zeros(1, 16))
    assert sphere_model.render_rays(latent, o, d).depth is None  # autograd on: training / auto-decoding
    with torch.no_grad():
        t = sphere_model.render_rays(latent, o, d).depth
        again = sphere_model.render_rays(latent, o, d).depth
    b = (o * d).sum(-1)
    disc = b * b - ((o * o).sum(-1) - RADIUS**2)
    expected = -b - torch.sqrt(disc.clamp_min(0))
    known = torch.isfinite(t)
    assert known.sum() >= 5 and (disc[known] > 0).all()
    assert torch.allclose(t[known], expected[known], atol=5e-3)
    assert torch.equal(known, torch.isfinite(again)) and torch.equal(t[known], again[known])  # fixed seed


def test_lfn_mesh_from_fused_sparse_depth(sphere_model):
    """Fusing the model's sparse depth maps gives the sphere: unknown pixels on the sphere do not carve it away
    (with every NaN counted as background, the same views carve most of it)."""
    prior = ViewPrior()
    K = prior.intrinsics(40)
    latent = SceneLatent(code=torch.zeros(1, 16))
    views, carving = [], []
    for elevation in (-30.0, 10.0, 50.0):
        for azimuth in range(0, 360, 60):
            cam = prior.camera(float(azimuth), elevation, 1.5)
            with torch.no_grad():
                out = sphere_model.render(latent, cam[None], K[None], 40, 40)
            depth = out.depth[0, 0].numpy()
            rgb = out.rgb[0].permute(1, 2, 0).numpy()
            background = np.abs(rgb - 1.0).max(-1) < 1e-3
            views.append(geo.DepthView(depth, rgb, cam, K, background))
            carving.append(geo.DepthView(depth, rgb, cam, K))
    bounds = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    mesh = geo.fused_mesh(views, bounds, 32)
    radii = np.linalg.norm(mesh.vertices, axis=1)
    assert abs(np.median(radii) - RADIUS) < 0.03 and radii.max() < RADIUS + 0.08
    try:
        carved = geo.fused_mesh(carving, bounds, 32)
        assert len(carved.vertices) < 0.5 * len(mesh.vertices) or np.median(np.linalg.norm(carved.vertices, axis=1)) < RADIUS - 0.05
    except Exception as error:  # nothing left to mesh: carved away entirely
        assert "nothing to mesh" in str(error)


def test_trained_style_lfn_depth_is_nan_or_finite():
    """A (tiny, untrained) LFN renders depth maps in eval mode: NaN where the estimate fails, finite and positive
    elsewhere; the model now declares depth geometry."""
    torch.manual_seed(0)
    model = LFNConfig().tiny().build(1).eval()
    assert model.geometry == "depth"
    prior = ViewPrior()
    with torch.no_grad():
        out = model.render(SceneLatent(code=torch.randn(1, 16)), prior.camera(0.0)[None], prior.intrinsics(16)[None], 16, 16)
    depth = out.depth
    assert depth.shape == (1, 1, 16, 16)
    assert (depth[torch.isfinite(depth)] > 0).all()
