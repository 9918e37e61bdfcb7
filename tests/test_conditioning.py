"""Conditioning: concat, FiLM, hypernetwork (against a hand-built nn.Sequential), pixel-aligned sampling."""

import math

import pytest
import torch
from torch import nn

from sceneprior.conditioning import (
    ConcatLinear,
    FiLM,
    HyperNetwork,
    apply_film,
    batched_mlp,
    bilinear_sample,
    channels_last_maps,
    concat_latent,
    directions_to_views,
    pool_views,
    sample_pixel_features,
    uv_to_grid,
)
from sceneprior.geometry import intrinsics_matrix, look_at, project, world_to_camera

DT = torch.float64


def test_concat_linear_equals_linear_on_concatenation():
    torch.manual_seed(0)
    layer = ConcatLinear(5, 3, 7).double()
    x = torch.randn(2, 4, 6, 5, dtype=DT)
    z = torch.randn(2, 3, dtype=DT)
    ref = nn.functional.linear(concat_latent(x, z), layer.weight, layer.bias)
    assert concat_latent(x, z).shape == (2, 4, 6, 8)
    assert torch.allclose(layer(x, z), ref)


def test_film_identity_and_broadcast():
    h = torch.randn(3, 5, 4, 8, dtype=DT)
    assert torch.equal(apply_film(h, torch.ones(3, 8, dtype=DT), torch.zeros(3, 8, dtype=DT)), h)
    film = FiLM(6, 8).double()
    with torch.no_grad():
        film.gamma.weight.zero_()
        film.beta.weight.zero_()
    gamma, beta = film.modulation(torch.randn(3, 6, dtype=DT))
    assert torch.equal(gamma, torch.ones(3, 8, dtype=DT)) and torch.equal(beta, torch.zeros(3, 8, dtype=DT))
    gamma = torch.randn(3, 8, dtype=DT)
    beta = torch.randn(3, 8, dtype=DT)
    out = apply_film(h, gamma, beta)
    assert torch.allclose(out[1, 2, 3], gamma[1] * h[1, 2, 3] + beta[1])


@pytest.mark.parametrize("split_bias", [False, True])
def test_hypernetwork_mlp_equals_sequential(split_bias):
    torch.manual_seed(0)
    target = [(3, 16), (16, 16), (16, 4)]
    hyper = HyperNetwork(target, latent_dim=8, hidden=32, hidden_layers=1, split_bias=split_bias).double()
    z = torch.randn(2, 8, dtype=DT)
    params = hyper(z)
    assert [p.weight.shape for p in params] == [(2, 16, 3), (2, 16, 16), (2, 4, 16)]
    assert [p.bias.shape for p in params] == [(2, 16), (2, 16), (2, 4)]
    x = torch.randn(2, 5, 7, 3, dtype=DT)
    out = batched_mlp(params, x)
    assert out.shape == (2, 5, 7, 4)
    out_srn = batched_mlp(params, x, last_norm=True, last_activation=torch.relu)
    for b in range(2):
        linears = [nn.Linear(i, o).double() for i, o in target]
        with torch.no_grad():
            for lin, p in zip(linears, params):
                lin.weight.copy_(p.weight[b])
                lin.bias.copy_(p.bias[b])
        seq = nn.Sequential(
            linears[0], nn.LayerNorm(16, elementwise_affine=False), nn.ReLU(),
            linears[1], nn.LayerNorm(16, elementwise_affine=False), nn.ReLU(),
            linears[2],
        )
        assert torch.allclose(out[b], seq(x[b]), atol=1e-12)
        srn = nn.Sequential(*seq, nn.LayerNorm(4, elementwise_affine=False), nn.ReLU())
        assert torch.allclose(out_srn[b], srn(x[b]), atol=1e-12)


def test_hypernetwork_init_scale_and_gradients():
    torch.manual_seed(0)
    hyper = HyperNetwork([(256, 256)], latent_dim=256)
    assert len(hyper.nets[0]) == 7  # Linear LN ReLU, Linear LN ReLU, Linear
    z = torch.randn(4, 256) * 0.01
    p = hyper(z)[0]
    # output layer: kaiming-normal x 0.1 -> generated weights are small but not zero
    assert 0.01 < p.weight.std().item() < 0.5
    x = torch.randn(4, 10, 256, requires_grad=True)
    batched_mlp([p], x).square().mean().backward()
    assert all(torch.isfinite(q.grad).all() for q in hyper.parameters() if q.grad is not None)
    assert hyper.nets[0][0].weight.grad.abs().sum() > 0


def test_batched_mlp_gradcheck():
    g = torch.Generator().manual_seed(0)
    w1 = torch.randn(2, 4, 3, generator=g, dtype=DT).requires_grad_()
    b1 = torch.randn(2, 4, generator=g, dtype=DT).requires_grad_()
    w2 = torch.randn(2, 2, 4, generator=g, dtype=DT).requires_grad_()
    b2 = torch.randn(2, 2, generator=g, dtype=DT).requires_grad_()
    x = torch.randn(2, 5, 3, generator=g, dtype=DT).requires_grad_()
    from sceneprior.conditioning import LayerParams

    def fn(w1, b1, w2, b2, x):
        return batched_mlp([LayerParams(w1, b1), LayerParams(w2, b2)], x, activation=torch.tanh)

    assert torch.autograd.gradcheck(fn, (w1, b1, w2, b2, x))


def _camera(eye, target=(0.0, 0.0, 0.0)):
    return look_at(torch.tensor(eye, dtype=DT), torch.tensor(target, dtype=DT), torch.tensor([0.0, 1.0, 0.0], dtype=DT))


def _point_at_pixel(cam2world, K, u, v, z):
    x = (u - K[0, 2]) / K[0, 0] * z
    y = (v - K[1, 2]) / K[1, 1] * z
    cam = torch.tensor([x, y, z], dtype=DT)
    return cam2world[:3, :3] @ cam + cam2world[:3, 3]


def test_pixel_centre_reads_exact_feature_same_and_half_resolution():
    H, W, C = 6, 8, 5
    K = intrinsics_matrix(7.0, 6.5, W / 2, H / 2, dtype=DT)
    poses = torch.stack([_camera([0.3, 0.2, -3.0]), _camera([2.5, 0.5, 1.0])])  # (view, 4, 4)
    g = torch.Generator().manual_seed(0)
    fmap = torch.randn(1, 2, C, H, W, generator=g, dtype=DT)
    half = torch.randn(1, 2, C, H // 2, W // 2, generator=g, dtype=DT)
    # For view 0: points projecting to pixel centres (j + .5, i + .5); for the half map to (2j + 1, 2i + 1).
    pts, pts_half, idx = [], [], [(0, 0), (2, 5), (5, 7), (3, 1)]
    for i, j in idx:
        pts.append(_point_at_pixel(poses[0], K, j + 0.5, i + 0.5, 2.0 + 0.1 * i))
        pts_half.append(_point_at_pixel(poses[0], K, 2 * (j // 2) + 1.0, 2 * (i // 2) + 1.0, 2.5))
    Kb = K.expand(1, 2, 3, 3)
    out = sample_pixel_features(fmap, torch.stack(pts)[None], poses[None], Kb, (H, W))
    assert out.features.shape == (1, 2, 4, C)
    for n, (i, j) in enumerate(idx):
        assert torch.allclose(out.features[0, 0, n], fmap[0, 0, :, i, j], atol=1e-12)
    out_half = sample_pixel_features(half, torch.stack(pts_half)[None], poses[None], Kb, (H, W))
    for n, (i, j) in enumerate(idx):
        assert torch.allclose(out_half.features[0, 0, n], half[0, 0, :, i // 2, j // 2], atol=1e-12)
    # uv and view-space points agree with the geometry module
    uv, z = project(torch.stack(pts).expand(1, 2, 4, 3), poses[None, :, None], Kb[:, :, None])
    assert torch.allclose(out.uv, uv) and torch.allclose(out.points_view[..., 2], z)
    assert torch.allclose(out.points_view, world_to_camera(torch.stack(pts).expand(1, 2, 4, 3), poses[None, :, None]))
    rot = poses[:, :3, :3]
    assert torch.allclose(out.points_rotated[0, 1], torch.stack(pts) @ rot[1])


def test_bilinear_between_pixel_centres():
    H, W = 4, 4
    K = intrinsics_matrix(4.0, 4.0, 2.0, 2.0, dtype=DT)
    pose = torch.eye(4, dtype=DT)
    fmap = torch.arange(16, dtype=DT).reshape(1, 1, 1, 4, 4)
    # halfway between centres of (1,1) and (1,2) -> mean of 5 and 6; beyond the border -> border value
    pts = torch.stack([_point_at_pixel(pose, K, 2.0, 1.5, 1.0), _point_at_pixel(pose, K, -3.0, 0.5, 1.0)])
    out = sample_pixel_features(fmap, pts[None], pose[None, None], K[None, None], (H, W))
    assert torch.allclose(out.features[0, 0, :, 0], torch.tensor([5.5, 0.0], dtype=DT))


def test_behind_camera_flagged_and_view_pooling():
    H, W = 6, 8
    K = intrinsics_matrix(7.0, 7.0, 4.0, 3.0, dtype=DT).expand(1, 2, 3, 3)
    poses = torch.stack([_camera([0.0, 0.0, -3.0]), _camera([0.0, 0.0, 3.0])])[None]
    pts = torch.tensor([[[0.1, 0.0, 0.0], [0.0, 0.0, -4.0], [0.0, 0.0, 4.0]]], dtype=DT)
    fmap = torch.randn(1, 2, 3, H, W, dtype=DT)
    out = sample_pixel_features(fmap, pts, poses, K, (H, W))
    assert out.in_front.tolist() == [[[True, False, True], [True, True, False]]]
    assert torch.isfinite(out.features).all() and torch.isfinite(out.uv).all()
    mean = pool_views(out.features)
    assert torch.allclose(mean, out.features.mean(1))
    masked = pool_views(out.features, out.in_front)
    assert torch.allclose(masked[0, 1], out.features[0, 1, 1]) and torch.allclose(masked[0, 0], mean[0, 0])
    mx = pool_views(out.features, out.in_front, mode="max")
    assert torch.allclose(mx[0, 2], out.features[0, 0, 2])


@pytest.mark.parametrize("map_size", [(6, 8), (3, 4), (1, 5), (4, 1)])
def test_bilinear_sample_equals_grid_sample(map_size):
    """The gather-based sampler against grid_sample (bilinear, border, align_corners=False): values and gradients
    in the maps and in uv, for maps finer/coarser than the image, one pixel wide, and points off the border."""
    g = torch.Generator().manual_seed(1)
    image_size = (6, 8)
    fmap = torch.randn(2, 3, 5, *map_size, generator=g, dtype=DT, requires_grad=True)
    uv = (torch.rand(2, 3, 7, 2, generator=g, dtype=DT) * 1.6 - 0.3) * torch.tensor([8.0, 6.0], dtype=DT)
    uv.requires_grad_()

    def reference(fmap, uv):
        grid = uv_to_grid(uv, image_size).reshape(6, 7, 1, 2)
        out = nn.functional.grid_sample(fmap.reshape(6, 5, *map_size), grid, mode="bilinear", padding_mode="border",
                                        align_corners=False)
        return out[..., 0].reshape(2, 3, 5, 7).transpose(-1, -2)

    ours = bilinear_sample(fmap, uv, image_size)
    assert ours.shape == (2, 3, 7, 5) and ours.is_contiguous()
    assert torch.allclose(ours, reference(fmap, uv), atol=1e-12)
    assert torch.equal(bilinear_sample(channels_last_maps(fmap), uv, image_size), ours)
    weight = torch.randn(ours.shape, generator=g, dtype=DT)
    grads = torch.autograd.grad((ours * weight).sum(), (fmap, uv))
    ref_grads = torch.autograd.grad((reference(fmap, uv) * weight).sum(), (fmap, uv))
    for a, b in zip(grads, ref_grads):
        assert torch.allclose(a, b, atol=1e-10)


def test_directions_to_views_and_gradients():
    poses = torch.stack([_camera([0.3, 0.2, -3.0]), _camera([2.5, 0.5, 1.0])])[None]
    p = torch.randn(1, 5, 3, dtype=DT)
    d = torch.nn.functional.normalize(torch.randn(1, 5, 3, dtype=DT), dim=-1)
    dv = directions_to_views(d, poses)
    ref = world_to_camera((p + d)[:, None].expand(1, 2, 5, 3), poses[:, :, None]) - world_to_camera(
        p[:, None].expand(1, 2, 5, 3), poses[:, :, None]
    )
    assert torch.allclose(dv, ref)
    K = intrinsics_matrix(7.0, 6.5, 4.0, 3.0, dtype=DT).expand(1, 2, 3, 3)
    fmap = torch.randn(1, 2, 3, 6, 8, dtype=DT, requires_grad=True)
    pts = (torch.randn(1, 4, 3, dtype=DT) * 0.3).requires_grad_()

    def fn(fmap, pts):
        return sample_pixel_features(fmap, pts, poses, K, (6, 8)).features

    assert torch.autograd.gradcheck(fn, (fmap, pts))


def test_hypernetwork_zero_output_bias():
    hyper = HyperNetwork([(3, 4), (4, 2)], latent_dim=5, hidden=8, zero_output_bias=True)
    assert all(net[-1].bias.abs().sum() == 0 for net in hyper.nets)
    default = HyperNetwork([(3, 4)], latent_dim=5, hidden=8)
    assert default.nets[0][-1].bias.abs().sum() > 0  # SRN keeps PyTorch's default bias init


def test_conditional_norm_is_film_after_batch_norm():
    """ONet's conditional batch norm and the 3D decoders' FiLM are the one FiLM: identity at init, then
    ``gamma(c) * BN(x) + beta(c)`` with the FiLM's own linear maps."""
    from sceneprior.representations.layers import ConditionalNorm

    torch.manual_seed(0)
    x = torch.randn(2, 7, 5, dtype=DT)
    c = torch.randn(2, 3, dtype=DT)
    plain = ConditionalNorm(3, 5, batch_norm=False).double()
    assert isinstance(plain, FiLM) and torch.equal(plain(x, c), x)  # ONet's init: gamma = 1, beta = 0 for every c
    norm = ConditionalNorm(3, 5, batch_norm=True).double()
    with torch.no_grad():
        for p in norm.parameters():
            p.normal_()
    flat = x.reshape(14, 5)
    bn = (flat - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-5)
    gamma, beta = norm.gamma(c), norm.beta(c)
    assert torch.allclose(norm(x, c), gamma[:, None] * bn.reshape(2, 7, 5) + beta[:, None])
    assert set(dict(norm.named_parameters())) == {"gamma.weight", "gamma.bias", "beta.weight", "beta.bias"}
