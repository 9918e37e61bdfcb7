"""Point-cloud encoders (ONet ResNet-PointNet, ConvONet local-pool PointNet) and the U-Nets."""

import pytest
import torch

from sceneprior.encoders3d import (
    LocalPointNet,
    LocalPointNetConfig,
    PointNetEncoder,
    PointNetEncoderConfig,
    UNet2D,
    UNet2DConfig,
    UNet3D,
    UNet3DConfig,
    sample_input_points,
)
from sceneprior.errors import ConfigError
from sceneprior.representations import Bounds, FeatureGrid, FeaturePlanes, LocalDecoder, LocalDecoderConfig


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _perturb(module: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


def _check_all_gradients(module: torch.nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_pointnet_encoder_is_permutation_invariant_with_published_sizes():
    enc = PointNetEncoder()  # hidden 512, c_dim 512 (ONet point-cloud encoder)
    assert enc.fc_pos.weight.shape == (1024, 3) and enc.fc_c.weight.shape == (512, 512) and len(enc.blocks) == 5
    small = PointNetEncoder(PointNetEncoderConfig(c_dim=16, hidden=24))
    _perturb(small)
    points = torch.rand(2, 50, 3) - 0.5
    code = small(points)
    assert code.shape == (2, 16)
    assert torch.allclose(small(points[:, torch.randperm(50)]), code, atol=1e-5)
    _check_all_gradients(small, code.square().sum())


def _tiny(kind: str, **kwargs) -> LocalPointNetConfig:
    return LocalPointNetConfig(kind=kind, c_dim=8, hidden=8, plane_resolution=8, grid_resolution=8,
                               unet2d=UNet2DConfig(depth=2, start_filters=8), unet3d=UNet3DConfig(num_levels=2, feature_maps=8),
                               **kwargs)


@pytest.mark.parametrize("kind,planes", [("plane_xz", ("xz",)), ("triplane", ("xz", "xy", "yz")), ("grid", None)])
def test_local_pointnet_outputs_and_gradients(kind, planes):
    enc = LocalPointNet(_tiny(kind))
    _perturb(enc)
    points = torch.rand(2, 64, 3) - 0.5
    feats = enc(points)
    if planes is None:
        assert isinstance(feats, FeatureGrid) and feats.features.shape == (2, 8, 8, 8, 8)
    else:
        assert isinstance(feats, FeaturePlanes) and feats.axes == planes
        assert feats.features.shape == (2, len(planes), 8, 8, 8)
    dec = LocalDecoder(LocalDecoderConfig(c_dim=8, hidden=8))
    out = dec(torch.rand(2, 10, 3) - 0.5, feats)
    _check_all_gradients(enc, out.square().sum())
    assert torch.allclose(enc(points[:, torch.randperm(64)]).features, feats.features, atol=1e-5)


def test_convonet_published_configuration_sizes():
    enc = LocalPointNet(LocalPointNetConfig(kind="triplane"))
    assert enc.fc_pos.weight.shape == (64, 3) and len(enc.blocks) == 5 and enc.fc_c.weight.shape == (32, 32)
    assert enc.blocks[0].fc_0.weight.shape == (32, 64)  # ResnetBlockFC(2h -> h), hidden 32
    assert isinstance(enc.unet, UNet2D) and len(enc.unet.down) == 4 and enc.unet.down[-1].conv2.out_channels == 256
    grid = LocalPointNet(LocalPointNetConfig(kind="grid"))
    assert isinstance(grid.unet, UNet3D) and [e[-1][1].out_channels for e in grid.unet.encoders] == [32, 64, 128]


def test_grid_features_are_local_without_unet():
    # moving points inside one cell changes the averaged features of that cell only
    config = LocalPointNetConfig(kind="grid", c_dim=4, hidden=8, grid_resolution=4, unet3d=None,
                                 bounds=Bounds(half_extent=0.5, padding=0.0))
    enc = LocalPointNet(config)
    _perturb(enc)
    g = torch.Generator().manual_seed(0)
    points = torch.rand(1, 200, 3, generator=g) - 0.5
    in_cell = ((points + 0.5) * 4).floor().long()
    target = (in_cell == torch.tensor([1, 2, 3])).all(-1)[0]
    assert target.sum() > 0
    moved = points.clone()
    lo = torch.tensor([1, 2, 3]) / 4 - 0.5
    moved[0, target] = lo + torch.rand(int(target.sum()), 3, generator=g) * 0.25  # stays in the same cell
    a, b = enc(points).features, enc(moved).features
    changed = (a - b).abs().sum(1)[0] > 1e-6  # (z, y, x)
    assert changed[3, 2, 1] and changed.sum() == 1


def test_plane_scatter_mean_equals_mean_of_point_features_per_cell():
    config = LocalPointNetConfig(kind="plane_xz", c_dim=4, hidden=8, plane_resolution=2, unet2d=None,
                                 bounds=Bounds(half_extent=0.5, padding=0.0))
    enc = LocalPointNet(config)
    _perturb(enc)
    points = torch.tensor([[[-0.3, 0.1, -0.2], [-0.1, -0.4, -0.4], [0.2, 0.3, -0.1], [0.3, 0.0, 0.4]]])
    c = enc.point_features(points, enc.cell_indices(points))
    planes = enc(points).features[0, 0]  # (channel, z, x)
    assert torch.allclose(planes[:, 0, 0], c[0, :2].mean(0), atol=1e-6)  # x<0, z<0
    assert torch.allclose(planes[:, 0, 1], c[0, 2], atol=1e-6)  # x>0, z<0
    assert torch.allclose(planes[:, 1, 1], c[0, 3], atol=1e-6)  # x>0, z>0
    assert torch.all(planes[:, 1, 0] == 0)  # empty cell


def test_local_pooling_uses_cell_maxima():
    # with one point per cell, local pooling returns the point's own features: the trunk is then a
    # per-point function, and two clouds sharing a point in its own cell give that point equal features
    config = LocalPointNetConfig(kind="grid", c_dim=4, hidden=8, grid_resolution=4, unet3d=None,
                                 bounds=Bounds(half_extent=0.5, padding=0.0))
    enc = LocalPointNet(config)
    _perturb(enc)
    a = torch.tensor([[[-0.4, -0.4, -0.4], [0.4, 0.4, 0.4]]])
    b = torch.tensor([[[-0.4, -0.4, -0.4], [0.1, -0.1, 0.3]]])
    fa = enc.point_features(a, enc.cell_indices(a))
    fb = enc.point_features(b, enc.cell_indices(b))
    assert torch.allclose(fa[0, 0], fb[0, 0])
    c = torch.tensor([[[-0.4, -0.4, -0.4], [-0.35, -0.3, -0.45]]])  # same cell: pooled features change
    fc = enc.point_features(c, enc.cell_indices(c))
    assert not torch.allclose(fa[0, 0], fc[0, 0])


def test_unet2d_keeps_size_and_channels_and_is_shift_equivariant_inside():
    net = UNet2D(UNet2DConfig(in_channels=3, out_channels=5, depth=2, start_filters=4))
    x = torch.zeros(1, 3, 64, 64)
    x[..., 28:36, 28:36] = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = net(x)
    assert y.shape == (1, 5, 64, 64)
    shifted = net(torch.roll(x, shifts=(2, 4), dims=(2, 3)))  # shifts divisible by 2^(depth-1)
    inner = (slice(None), slice(None), slice(24, 40), slice(24, 40))
    assert torch.allclose(torch.roll(y, shifts=(2, 4), dims=(2, 3))[inner], shifted[inner], atol=1e-5)
    net_deep = UNet2D(UNet2DConfig(in_channels=3, out_channels=5, depth=4, start_filters=4))
    _perturb(net_deep)
    _check_all_gradients(net_deep, net_deep(torch.randn(2, 3, 16, 16)).square().sum())
    with pytest.raises(ConfigError):
        net_deep(torch.randn(1, 3, 12, 12))


def test_unet3d_keeps_size_and_channels_and_gradients_reach_everything():
    net = UNet3D(UNet3DConfig(in_channels=4, out_channels=6, num_levels=3, feature_maps=8))
    _perturb(net)
    x = torch.randn(2, 4, 8, 8, 8)
    y = net(x)
    assert y.shape == (2, 6, 8, 8, 8)
    _check_all_gradients(net, y.square().sum())
    with pytest.raises(ConfigError):
        net(torch.randn(1, 4, 6, 6, 6))


def test_convonet_fits_a_sphere_occupancy():
    # a short training run: BCE of a triplane ConvONet on one noisy sphere point cloud falls
    torch.manual_seed(0)
    enc = LocalPointNet(_tiny("triplane"))
    dec = LocalDecoder(LocalDecoderConfig(c_dim=8, hidden=16))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=3e-3)
    surface = torch.nn.functional.normalize(torch.randn(1, 300, 3), dim=-1) * 0.3
    query = torch.rand(1, 512, 3) - 0.5
    occ = (query.norm(dim=-1) < 0.3).float()
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(dec(query, enc(surface)), occ)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_sample_input_points_draws_distinct_surface_points_with_noise():
    g = torch.Generator().manual_seed(0)
    surface = torch.rand(2, 100, 3, generator=g)
    clean = sample_input_points(surface, 40, noise_std=0.0, generator=g)
    assert clean.shape == (2, 40, 3)
    for b in range(2):  # every drawn point is a distinct surface point
        match = (clean[b][:, None] == surface[b][None]).all(-1)
        assert (match.sum(1) == 1).all() and match.any(0).sum() == 40
    noisy = sample_input_points(surface, 500, noise_std=0.005, generator=g)  # more than available: with replacement
    nearest = torch.cdist(noisy, surface).min(-1).values
    assert noisy.shape == (2, 500, 3) and 0.002 < nearest.mean() < 0.012
