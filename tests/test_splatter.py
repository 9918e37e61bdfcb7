"""Splatter Image: where its Gaussians are put, what its initialisation gives, the two-view merge, and that it
learns (the preset-wide tests in test_models.py cover rendering at any resolution)."""

from __future__ import annotations

import math

import pytest
import torch

from sceneprior.encoders.unet import UNetConfig
from sceneprior.geometry import intrinsics_matrix, look_at
from sceneprior.models.splatter import GROUPS, SplatterConfig, SplatterImage
from sceneprior.renderers.gaussians import quaternion_to_matrix

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny(**kwargs) -> SplatterImage:
    torch.manual_seed(0)
    return SplatterImage(SplatterConfig(unet=UNetConfig(channels=(8, 16), out_channels=8), **kwargs))


def _cameras(views: int = 1):
    eyes = [torch.tensor([0.3, -0.6, -1.5]), torch.tensor([-1.2, -0.4, 0.8])][:views]
    cam2world = torch.stack([look_at(e, torch.zeros(3), torch.tensor([0.0, -1.0, 0.0])) for e in eyes])[None]
    K = intrinsics_matrix(20.0, 20.0, 8.0, 8.0).expand(1, views, 3, 3)
    return cam2world, K


def _set_bias(model: SplatterImage, depth: float) -> None:
    """Zero the output layer's weights: every pixel gets the biases (depth logit ``depth``)."""
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias[0] = depth


def test_gaussians_sit_on_their_pixel_rays_at_the_predicted_depth():
    model = _tiny()
    _set_bias(model, depth=0.8)
    cam2world, K = _cameras()
    latent = model.encode(torch.rand(1, 1, 3, 16, 16), cam2world, K)
    g = model.gaussians(latent)
    assert g.means.shape == (1, 256, 3)
    # z-depth in the input camera: the bounds centre's z (1.60...) + (2 sigmoid(0.8) - 1) * half diagonal
    world2cam = torch.linalg.inv(cam2world[0, 0])
    cam = (world2cam[:3, :3] @ g.means[0].T).T + world2cam[:3, 3]
    centre_z = float(torch.linalg.norm(cam2world[0, 0, :3, 3]))  # the camera looks at the origin
    expected = centre_z + (2 * torch.sigmoid(torch.tensor(0.8)) - 1) * math.sqrt(3) * 0.5
    torch.testing.assert_close(cam[:, 2], expected.expand(256), atol=1e-5, rtol=0)
    # projected back, each mean lands on its pixel's centre (offsets are 0)
    uv = (K[0, 0] @ (cam / cam[:, 2:]).T).T[:, :2]
    jj, ii = torch.meshgrid(torch.arange(16) + 0.5, torch.arange(16) + 0.5, indexing="xy")
    torch.testing.assert_close(uv, torch.stack([jj.reshape(-1), ii.reshape(-1)], -1), atol=1e-4, rtol=0)
    # the initialisation: scale 0.02, opacity sigmoid(-3), rotation = the camera's axes, colour 0.5 (DC 0)
    torch.testing.assert_close(g.scales, torch.full_like(g.scales, 0.02))
    torch.testing.assert_close(g.opacities, torch.full_like(g.opacities, 1 / (1 + math.exp(3))))
    torch.testing.assert_close(g.colors, torch.full_like(g.colors, 0.5))


def test_rotations_are_predicted_in_the_camera_frame():
    """A camera-frame rotation q_c becomes R_cam2world @ R(q_c) in the world."""
    model = _tiny()
    _set_bias(model, 0.0)
    q_cam = torch.tensor([0.9, 0.1, -0.3, 0.2])
    start = sum(n for name, n in GROUPS[:4])
    with torch.no_grad():
        model.out.bias[start : start + 4] = q_cam
    cam2world, K = _cameras()
    g = model.gaussians(model.encode(torch.rand(1, 1, 3, 16, 16), cam2world, K))
    expected = cam2world[0, 0, :3, :3] @ quaternion_to_matrix(q_cam)
    torch.testing.assert_close(quaternion_to_matrix(g.rotations[0, 5]), expected, atol=1e-5, rtol=0)


def test_two_views_merge_their_gaussians():
    model = _tiny()
    cam2world, K = _cameras(2)
    images = torch.rand(1, 2, 3, 16, 16)
    both = model.gaussians(model.encode(images, cam2world, K))
    first = model.gaussians(model.encode(images[:, :1], cam2world[:, :1], K[:, :1]))
    second = model.gaussians(model.encode(images[:, 1:], cam2world[:, 1:], K[:, 1:]))
    assert both.means.shape == (1, 512, 3)
    torch.testing.assert_close(both.means, torch.cat([first.means, second.means], 1))
    with torch.no_grad():
        out = model.render(model.encode(images, cam2world, K), cam2world[:, 0], K[:, 0], 16, 16)
    assert out.rgb.shape == (1, 3, 16, 16) and out.depth is not None and out.normals is not None


def test_opaque_gaussians_reproduce_the_input_view():
    """With high opacity and colour = the input pixel, rendering the input camera gives back the input image:
    the per-pixel Gaussians tile their own view."""
    model = _tiny(init_scale=0.02)
    _set_bias(model, 0.0)
    cam2world, K = _cameras()
    ramp = torch.linspace(0.1, 0.9, 16)
    image = torch.stack([ramp[None, :].expand(16, 16), ramp[:, None].expand(16, 16), 1 - ramp[None, :].expand(16, 16)])[None, None]
    latent = model.encode(image, cam2world, K)
    maps = latent.feature_maps.clone()
    maps[:, :, 4] = 10.0  # opacity logit: ~1
    maps[:, :, -3:] = (image - 0.5) / 0.28209479177387814  # SH DC of the pixel colour
    latent.feature_maps = maps
    with torch.no_grad():
        out = model.render(latent, cam2world[:, 0], K[:, 0], 16, 16)
    assert float(out.opacity.min()) > 0.99
    # neighbours blend a little (each splat spreads ~0.6 px): on a smooth image that changes ~nothing
    err = (out.rgb - image[:, 0]).abs()
    assert float(err[..., 1:-1, 1:-1].max()) < 0.02, float(err.max())
