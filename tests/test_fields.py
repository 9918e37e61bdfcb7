"""Fields: positional encoding values, MLP/SIREN init, conditioned fields, pixelNeRF's ResnetFC."""

import math

import pytest
import torch

from sceneprior.conditioning import concat_latent
from sceneprior.fields import (
    MLP,
    ConditionedField,
    FieldOutput,
    PositionalEncoding,
    ResnetFCField,
    evaluate_chunked,
    pixelnerf_inputs,
)

DT = torch.float64


def test_positional_encoding_values():
    enc = PositionalEncoding(2, freq_factor=1.5)
    x = torch.tensor([[0.1, -0.2, 0.3]])
    out = enc(x)
    assert enc.out_dim == 15 and out.shape == (1, 15)
    expected = [0.1, -0.2, 0.3]
    for f in (1.5, 3.0):
        expected += [math.sin(f * v) for v in (0.1, -0.2, 0.3)] + [math.cos(f * v) for v in (0.1, -0.2, 0.3)]
    assert torch.allclose(out[0], torch.tensor(expected), atol=1e-6)
    assert PositionalEncoding(6, 1.5).out_dim == 39  # pixelNeRF: 39 + 3 direction values = 42
    no_input = PositionalEncoding(1, include_input=False)
    assert no_input.out_dim == 6 and torch.allclose(no_input(x), out[:, 3:9] * 0 + torch.cat([x.sin(), x.cos()], -1))
    assert PositionalEncoding(0).out_dim == 3


def test_mlp_layers_and_layer_norm():
    mlp = MLP(6, 3, width=32, hidden_layers=6, layer_norm=True)
    assert mlp.layer_shapes == [(6, 32)] + [(32, 32)] * 6 + [(32, 3)]  # LFN's phi: 8 linear layers
    x = torch.randn(4, 5, 6)
    assert mlp(x).shape == (4, 5, 3)
    srn_phi = MLP(3, 32, width=32, hidden_layers=2, layer_norm=True, norm_last=True, activate_last=True)
    out = srn_phi(torch.randn(100, 3))
    assert (out >= 0).all()  # ends with LN + ReLU
    assert len(srn_phi.layer_shapes) == 4


def test_siren_init_keeps_activation_spread():
    torch.manual_seed(0)
    siren = MLP(3, 1, width=256, hidden_layers=4, activation="sine")
    x = torch.rand(4000, 3) * 2 - 1
    h = x
    stds = []
    with torch.no_grad():
        for k, lin in enumerate(siren.linears[:-1]):
            pre = 30.0 * lin(h)
            h = torch.sin(pre)
            if k > 0:
                stds.append(pre.std().item())
                # sine of a wide pre-activation: arcsine distribution, variance 1/2
                assert 0.35 < h.var().item() < 0.65
        out = siren(x)
    # SIREN paper: pre-activations of hidden layers ~ N(0, 1) (std ~1 in units of omega_0 x)
    assert all(0.6 < s < 1.5 for s in stds), stds
    # the linear output layer has the hidden init and no omega_0: std = sqrt(in * 2/(in 900) * E[h^2] ~ 0.43) ~ 0.031
    assert 0.018 < out.std().item() < 0.045


@pytest.mark.parametrize("conditioning", ["concat", "film"])
def test_conditioned_field_shapes_and_latent_dependence(conditioning):
    torch.manual_seed(0)
    field = ConditionedField(latent_dim=8, width=32, hidden_layers=2, conditioning=conditioning, direction_freqs=2).double()
    points = torch.randn(2, 5, 7, 3, dtype=DT)
    dirs = torch.nn.functional.normalize(torch.randn(2, 5, 7, 3, dtype=DT), dim=-1)
    z = torch.randn(2, 8, dtype=DT)
    out = field(points, dirs, z)
    assert out.density.shape == (2, 5, 7, 1) and out.rgb.shape == (2, 5, 7, 3) and out.features.shape == (2, 5, 7, 32)
    assert out.sdf is None and (out.density >= 0).all() and ((out.rgb > 0) & (out.rgb < 1)).all()
    # each scene's output depends on its own latent only
    z2 = z.clone()
    z2[1] += 1.0
    out2 = field(points, dirs, z2)
    assert torch.allclose(out2.rgb[0], out.rgb[0]) and not torch.allclose(out2.rgb[1], out.rgb[1])


def test_concat_field_equals_explicit_concatenation():
    torch.manual_seed(0)
    field = ConditionedField(latent_dim=4, width=16, hidden_layers=1, num_freqs=2).double()
    points = torch.randn(3, 10, 3, dtype=DT)
    z = torch.randn(3, 4, dtype=DT)
    first = field.first
    ref = torch.nn.functional.linear(concat_latent(field.encoding(points), z), first.weight, first.bias)
    assert torch.allclose(first(field.encoding(points), z), ref)


def test_film_field_with_identity_film_ignores_latent():
    field = ConditionedField(latent_dim=4, width=16, hidden_layers=1, conditioning="film", geometry="sdf").double()
    with torch.no_grad():
        for film in field.films:
            film.gamma.weight.zero_()
            film.beta.weight.zero_()
    points = torch.randn(2, 6, 3, dtype=DT)
    a = field(points, None, torch.randn(2, 4, dtype=DT))
    b = field(points, None, torch.randn(2, 4, dtype=DT))
    assert a.density is None and a.sdf.shape == (2, 6, 1)
    assert torch.allclose(a.sdf, b.sdf)


def test_field_extreme_inputs_finite():
    field = ConditionedField(latent_dim=4, width=16, hidden_layers=1, density_bias=50.0)
    points = torch.tensor([[[1e6, -1e6, 3e5], [0.0, 0.0, 0.0]]], requires_grad=True)
    z = torch.randn(1, 4, requires_grad=True)
    out = field(points, None, z)
    (out.density.sum() + out.rgb.sum()).backward()
    assert torch.isfinite(out.density).all() and torch.isfinite(points.grad).all() and torch.isfinite(z.grad).all()


def test_evaluate_chunked_equals_single_call():
    field_mod = ConditionedField(latent_dim=4, width=16, hidden_layers=1).double()
    z = torch.randn(2, 4, dtype=DT)
    points = torch.randn(2, 101, 3, dtype=DT)

    def field(p, d):
        return field_mod(p, d, z)

    whole = field(points, points)
    chunked = evaluate_chunked(field, points, points, chunk_points=20)
    assert torch.allclose(whole.density, chunked.density) and torch.allclose(whole.features, chunked.features)


@pytest.mark.parametrize("include_input", [True, False])
def test_positional_encoding_without_autograd_equals_with(include_input):
    enc = PositionalEncoding(3, 1.5, include_input=include_input)
    x = torch.randn(2, 5, 3, dtype=DT, requires_grad=True)
    with torch.no_grad():
        fast = enc(x)
    assert torch.equal(fast, enc(x)) and fast.shape == (2, 5, enc.out_dim)


def test_resnetfc_init_identity_blocks_and_view_pooling():
    torch.manual_seed(0)
    net = ResnetFCField(d_in=42, feature_dim=12, width=24, n_blocks=5, combine_layer=3).double()
    enc = PositionalEncoding(6, 1.5)
    pts = torch.randn(2, 1, 9, 3, dtype=DT)
    dirs = torch.randn(2, 1, 9, 3, dtype=DT)
    x = pixelnerf_inputs(pts, dirs, enc)
    assert x.shape == (2, 1, 9, 42)
    feats = torch.randn(2, 1, 9, 12, dtype=DT)
    out = net(x, feats)
    assert out.density.shape == (2, 9, 1) and out.rgb.shape == (2, 9, 3) and out.features.shape == (2, 9, 24)
    # second linear of each block is zero at init: blocks are identities
    h = net.lin_in(x) + sum(lin(feats) for lin in net.lin_z)
    h = h.mean(1)
    assert torch.allclose(out.features, h)
    # the same source view given twice gives the same result (mean pooling)
    out2 = net(x.expand(2, 2, 9, 42), feats.expand(2, 2, 9, 12))
    assert torch.allclose(out2.rgb, out.rgb) and torch.allclose(out2.density, out.density)
    # after training-like perturbation, pooling still averages per-view activations before block 3
    with torch.no_grad():
        for b in net.blocks:
            b.fc_1.weight.normal_(0, 0.1)
    x2 = torch.cat([x, x + 0.3], dim=1)
    f2 = torch.cat([feats, -feats], dim=1)
    out3 = net(x2, f2)
    h = net.lin_in(x2)
    for k in range(3):
        h = net.blocks[k](h + net.lin_z[k](f2))
    h = h.mean(1)
    for k in range(3, 5):
        h = net.blocks[k](h)
    assert torch.allclose(out3.features, h)
    assert torch.allclose(out3.density, torch.relu(net.lin_out(torch.relu(h))[..., 3:]))


@pytest.mark.parametrize("combine,combine_layer,projected", [("mean", 3, True), ("max", 2, False), ("attention", 3, True),
                                                             ("mean", 5, False)])
def test_resnetfc_inference_path_equals_autograd_path(combine, combine_layer, projected):
    """Without autograd ResnetFC runs in place on 2D activations: same outputs as the autograd path."""
    torch.manual_seed(0)
    net = ResnetFCField(d_in=10, feature_dim=6, width=8, n_blocks=5, combine_layer=combine_layer,
                        combine=combine, attention_heads=2).double()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.3)
    x = torch.randn(2, 3, 7, 10, dtype=DT)
    feats = torch.randn(2, 3, 7, 6, dtype=DT)
    if projected:
        weight = torch.cat([lin.weight for lin in net.lin_z])
        feats = feats @ weight.T + torch.cat([lin.bias for lin in net.lin_z])
    ref = net(x, feats, projected=projected)
    assert ref.features.requires_grad
    with torch.no_grad():
        fast = net(x, feats, projected=projected)
    for a, b in ((fast.density, ref.density), (fast.rgb, ref.rgb), (fast.features, ref.features)):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-12)
    assert (ref.features > 0).any() and (ref.features < 0).any()  # the ReLUs cut: not a linear map in disguise


def test_field_output_helpers():
    a = FieldOutput(density=torch.zeros(2, 3, 1), rgb=torch.zeros(2, 3, 3))
    b = FieldOutput.cat([a, a], dim=1)
    assert b.density.shape == (2, 6, 1) and b.sdf is None
    c = b.map(lambda t: t.reshape(12, -1))
    assert c.rgb.shape == (12, 3)


def test_laplace_density_volsdf():
    from sceneprior.fields import laplace_density

    sdf = torch.tensor([[-1e6], [-0.1], [0.0], [0.1], [1e6]], dtype=DT, requires_grad=True)
    beta = 0.1
    sigma = laplace_density(sdf, beta)
    expected = torch.tensor([1.0, 1 - 0.5 * math.exp(-1), 0.5, 0.5 * math.exp(-1), 0.0], dtype=DT) / beta
    assert torch.allclose(sigma[:, 0], expected)
    sigma.sum().backward()
    assert torch.isfinite(sdf.grad).all() and (sdf.grad <= 0).all()  # density falls as the sdf grows
    s = torch.linspace(-1, 1, 11, dtype=DT).unsqueeze(-1).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: laplace_density(s, 0.3, 2.0), (s,))
