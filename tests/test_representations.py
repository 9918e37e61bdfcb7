"""Local feature structures (grid, planes), scatter pooling, and the 3D decoders (ConvONet, DeepSDF, ONet,
voxel decoder). Hand-computed interpolation values, a brute-force trilinear reference, behavioural checks."""

import numpy as np
import pytest
import torch
from jaxtyping import TypeCheckError

from sceneprior.errors import ConfigError
from sceneprior.representations import (
    Bounds,
    FeatureGrid,
    FeaturePlanes,
    GlobalDecoder,
    GlobalDecoderConfig,
    LocalDecoder,
    LocalDecoderConfig,
    VoxelDecoder,
    VoxelDecoderConfig,
    cell_index,
    plane_coordinates,
    scatter_max_gather,
    scatter_mean,
)

UNIT = Bounds(half_extent=0.5, padding=0.0)  # covers exactly [-0.5, 0.5]^3: u = p + 0.5


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_grid_trilinear_on_2x2x2_matches_hand_computed_values():
    # corner (i, j, k) along (x, y, z) holds i + 2 j + 4 k + 8 i j k; trilinear interpolation of a
    # multilinear function is exact: f(u) = ux + 2 uy + 4 uz + 8 ux uy uz
    feats = torch.zeros(1, 1, 2, 2, 2, dtype=torch.float64)
    for i in (0, 1):
        for j in (0, 1):
            for k in (0, 1):
                feats[0, 0, k, j, i] = i + 2 * j + 4 * k + 8 * i * j * k
    grid = FeatureGrid(feats, UNIT)
    points = torch.tensor([[[0.25, -0.3, 0.1], [-0.5, -0.5, -0.5], [0.5, 0.5, 0.5], [2.0, -0.3, 0.1]]], dtype=torch.float64)
    # u = (0.75, 0.2, 0.6): 0.75 + 0.4 + 2.4 + 8 * 0.09 = 4.27; corners 0 and 15; outside: border -> ux = 1
    expected = torch.tensor([4.27, 0.0, 15.0, 1.0 + 0.4 + 2.4 + 8 * 0.12], dtype=torch.float64)
    got = grid.sample(points)
    assert got.shape == (1, 4, 1)
    assert torch.allclose(got[0, :, 0], expected, atol=1e-3)


def test_grid_sampling_matches_bruteforce_trilinear_reference():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 3, 4, 5, 6, generator=g, dtype=torch.float64)  # (z, y, x) sizes 4, 5, 6
    bounds = Bounds(half_extent=1.0, padding=0.1)
    points = (torch.rand(2, 17, 3, generator=g, dtype=torch.float64) * 2 - 1) * 1.1
    got = FeatureGrid(feats, bounds).sample(points)
    u = bounds.normalise(points).numpy()
    f = feats.numpy()
    sizes = np.array([6, 5, 4])  # x, y, z
    for b in range(2):
        for n in range(17):
            pos = u[b, n] * (sizes - 1)
            lo = np.minimum(np.floor(pos).astype(int), sizes - 2)
            t = pos - lo
            value = np.zeros(3)
            for dx in (0, 1):
                for dy in (0, 1):
                    for dz in (0, 1):
                        w = (t[0] if dx else 1 - t[0]) * (t[1] if dy else 1 - t[1]) * (t[2] if dz else 1 - t[2])
                        value += w * f[b, :, lo[2] + dz, lo[1] + dy, lo[0] + dx]
            assert np.allclose(got[b, n].numpy(), value, atol=1e-10)


def test_planes_bilinear_sum_over_planes_matches_hand_computed_values():
    planes = torch.zeros(1, 3, 1, 2, 2, dtype=torch.float64)  # [h, w]: w along the first named axis
    planes[0, 0, 0] = torch.tensor([[0.0, 1.0], [2.0, 3.0]])  # xz: ux + 2 uz
    planes[0, 1, 0] = torch.tensor([[0.0, 10.0], [20.0, 30.0]])  # xy: 10 ux + 20 uy
    planes[0, 2, 0] = torch.tensor([[0.0, 0.0], [0.0, 100.0]])  # yz: 100 uy uz
    fp = FeaturePlanes(planes, ("xz", "xy", "yz"), UNIT)
    points = torch.tensor([[[0.25, -0.3, 0.1]]], dtype=torch.float64)  # u = (0.75, 0.2, 0.6)
    each = fp.sample_each(points)[0, :, 0, 0]
    assert torch.allclose(each, torch.tensor([1.95, 11.5, 12.0], dtype=torch.float64), atol=1e-3)
    assert torch.allclose(fp.sample(points)[0, 0, 0], torch.tensor(25.45, dtype=torch.float64), atol=1e-3)
    # the ground plane alone ignores height
    ground = FeaturePlanes(planes[:, :1], ("xz",), UNIT)
    p2 = points.clone()
    p2[..., 1] = 0.4
    assert torch.allclose(ground.sample(points), ground.sample(p2))


def test_planes_reject_wrong_axes():
    with pytest.raises(ConfigError):
        FeaturePlanes(torch.zeros(1, 2, 1, 2, 2), ("xz",))
    with pytest.raises(ConfigError):
        FeaturePlanes(torch.zeros(1, 1, 1, 2, 2), ("xw",))


def test_shapes_are_checked_at_run_time():
    with pytest.raises(TypeCheckError):
        FeatureGrid(torch.zeros(1, 2, 2, 2, 2)).sample(torch.zeros(1, 5, 2))


def test_normalisation_is_convonets_unit_cube_with_padding():
    b = Bounds()  # unit cube padded by 10%: p / 1.1 + 0.5
    p = torch.tensor([[0.0, 0.55, -0.55], [0.11, 2.0, -2.0]])
    u = b.normalise(p)
    assert torch.allclose(u, torch.tensor([[0.5, 1.0, 0.0], [0.6, 1.0, 0.0]]), atol=1e-4)
    assert (u < 1).all()


def test_cell_index_and_layout_agree_with_depth_height_width():
    p = torch.tensor([[[-0.4, 0.0, 0.3]]])  # u = (0.1, 0.5, 0.8) -> cells x 0, y 1, z 1 at resolution 2
    assert cell_index(UNIT.normalise(p), 2).item() == 0 + 2 * (1 + 2 * 1)
    uv = plane_coordinates(p, ("xz", "xy", "yz"), UNIT)
    assert cell_index(uv, 2).tolist() == [[[0 + 2 * 1], [0 + 2 * 1], [1 + 2 * 1]]]
    # a scattered feature lands in volume[z, y, x] after the (d h w) reshape
    volume = scatter_mean(torch.ones(1, 1, 1), cell_index(UNIT.normalise(p), 2), 8).reshape(1, 1, 2, 2, 2)
    assert volume[0, 0, 1, 1, 0] == 1 and volume.sum() == 1


def test_scatter_mean_and_local_max_match_hand_computation():
    values = torch.tensor([[[1.0, -1.0], [3.0, 5.0], [10.0, 0.0], [-2.0, 7.0]], [[4.0, 4.0], [0.0, 0.0], [8.0, 2.0], [6.0, 6.0]]])
    index = torch.tensor([[0, 0, 2, 0], [3, 3, 3, 1]])
    mean = scatter_mean(values, index, 4)
    expected = torch.tensor(
        [[[2 / 3, 0.0, 10.0, 0.0], [11 / 3, 0.0, 0.0, 0.0]], [[0.0, 6.0, 0.0, 4.0], [0.0, 6.0, 0.0, 2.0]]]
    )
    assert torch.allclose(mean, expected)
    pooled = scatter_max_gather(values, index, 4)
    assert torch.equal(pooled[0], torch.tensor([[3.0, 7.0], [3.0, 7.0], [10.0, 0.0], [3.0, 7.0]]))
    assert torch.equal(pooled[1], torch.tensor([[8.0, 4.0], [8.0, 4.0], [8.0, 4.0], [6.0, 6.0]]))


def _perturb(module: torch.nn.Module) -> None:
    """Zero-initialised layers block gradients at init: randomise every parameter for gradient checks."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


def _all_parameters_get_gradients(module: torch.nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_local_decoder_reads_grid_and_planes_and_gradients_reach_everything():
    dec = LocalDecoder(LocalDecoderConfig(c_dim=8, hidden=16))
    _perturb(dec)
    points = torch.rand(2, 20, 3) - 0.5
    grid = FeatureGrid(torch.randn(2, 8, 4, 4, 4, requires_grad=True))
    planes = FeaturePlanes(torch.randn(2, 3, 8, 4, 4, requires_grad=True), ("xz", "xy", "yz"))
    out = dec(points, grid) + dec(points, planes)
    assert out.shape == (2, 20)
    _all_parameters_get_gradients(dec, out.square().sum())
    assert grid.features.grad.abs().sum() > 0 and planes.features.grad.abs().sum() > 0


def test_local_decoder_at_init_is_a_sum_of_injected_codes():
    # at init every ResNet block adds only its second layer's bias (its weight starts at zero):
    # out = fc_out(relu(fc_p(x) + sum_i (fc_c_i(c) + b_i)))
    dec = LocalDecoder(LocalDecoderConfig(c_dim=4, hidden=8))
    points = torch.rand(1, 5, 3) - 0.5
    grid = FeatureGrid(torch.randn(1, 4, 3, 3, 3))
    c = grid.sample(points)
    net = dec.fc_p(points) + sum(fc(c) + block.fc_1.bias for fc, block in zip(dec.fc_c, dec.blocks))
    assert torch.allclose(dec(points, grid), dec.fc_out(torch.relu(net))[..., 0], atol=1e-6)


def test_deepsdf_decoder_architecture_and_tanh():
    config = GlobalDecoderConfig(latent_dim=256)
    dec = GlobalDecoder(config)
    widths = [layer.weight.shape for layer in dec.layers]
    assert len(widths) == 8 and widths[0] == (512, 259) and widths[3] == (253, 512) and widths[4] == (512, 512)
    assert all(hasattr(layer, "parametrizations") for layer in dec.layers)  # weight norm on every hidden layer
    points, z = torch.rand(3, 7, 3) - 0.5, torch.randn(3, 256)
    dec.eval()
    out = dec(points, z)
    assert out.shape == (3, 7) and out.abs().max() <= 1
    assert torch.equal(out, dec(points, z))  # no dropout in eval
    dec.train()
    assert not torch.equal(dec(points, z), dec(points, z))  # dropout 0.2 in training


def test_global_decoder_gradients_reach_every_parameter():
    for conditioning in ("concat", "cbatchnorm", "film"):
        dec = GlobalDecoder(GlobalDecoderConfig(latent_dim=8, conditioning=conditioning, width=32, num_layers=4,
                                                skip_layers=(2,), dropout=0.0))
        _perturb(dec)
        out = dec(torch.rand(2, 9, 3) - 0.5, torch.randn(2, 8))
        assert out.shape == (2, 9)
        _all_parameters_get_gradients(dec, out.square().sum())


def test_cbatchnorm_couples_points_and_film_does_not():
    points, z = torch.rand(2, 16, 3) - 0.5, torch.randn(2, 8)
    for conditioning, coupled in (("cbatchnorm", True), ("film", False)):
        dec = GlobalDecoder(GlobalDecoderConfig(latent_dim=8, conditioning=conditioning, width=16))
        _perturb(dec)
        dec.train()
        full = dec(points, z)[:, :8]
        half = dec(points[:, :8], z)
        assert torch.allclose(full, half, atol=1e-6) != coupled


def test_global_decoder_rejects_bad_configs():
    with pytest.raises(ConfigError):
        GlobalDecoder(GlobalDecoderConfig(latent_dim=256, width=128))  # width must exceed 259 for the skip
    with pytest.raises((ConfigError, TypeCheckError)):  # TypeCheckError where beartype checks the Literal
        GlobalDecoder(GlobalDecoderConfig(conditioning="hyper"))  # type: ignore[arg-type]


def test_voxel_decoder_upsamples_a_latent_to_a_readable_grid():
    for resolution in (4, 8, 16):
        dec = VoxelDecoder(VoxelDecoderConfig(latent_dim=16, resolution=resolution, out_channels=5, base_channels=32, min_channels=8))
        grid = dec(torch.randn(2, 16))
        assert isinstance(grid, FeatureGrid) and grid.features.shape == (2, 5, resolution, resolution, resolution)
    reader = LocalDecoder(LocalDecoderConfig(c_dim=5, hidden=8))
    _perturb(dec)
    z = torch.randn(2, 16, requires_grad=True)
    out = reader(torch.rand(2, 10, 3) - 0.5, dec(z))
    _all_parameters_get_gradients(dec, out.square().sum())
    assert z.grad.abs().sum() > 0  # auto-decoding can optimise the latent
    with pytest.raises(ConfigError):
        VoxelDecoder(VoxelDecoderConfig(resolution=24))


def test_auto_decoding_two_spheres_lowers_the_sdf_loss():
    torch.manual_seed(0)
    dec = GlobalDecoder(GlobalDecoderConfig(latent_dim=8, width=32, num_layers=4, skip_layers=(2,), dropout=0.0))
    codes = torch.nn.Parameter(torch.randn(2, 8) * 0.01)
    radii = torch.tensor([0.2, 0.35])
    opt = torch.optim.Adam([*dec.parameters(), codes], lr=5e-3)
    points = torch.rand(2, 256, 3) - 0.5
    sdf = points.norm(dim=-1) - radii[:, None]
    losses = []
    for _ in range(40):
        opt.zero_grad()
        # L1 to the clamped SDF (DeepSDF also clamps the prediction, which has no gradient where an
        # untrained decoder starts beyond the clamp)
        loss = (dec(points, codes) - sdf.clamp(-0.1, 0.1)).abs().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
