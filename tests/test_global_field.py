"""The global-latent image decoders (hypernetwork / concatenation / FiLM / voxel grid -> volume rendering): a closed
form of the rendered opacity and colour, the voxel grid read where the 3D-supervised decoder puts its values, the
code reaching the field by each conditioning, and meshing from the density. (The loss falls on a tiny set for every
preset in test_models.py.)"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from sceneprior.models import SceneLatent
from sceneprior.models.global_field import GlobalFieldConfig
from sceneprior.representations import VoxelDecoder
from sceneprior.registry import get_preset

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONDITIONINGS = ("hypernetwork", "concat", "film", "voxels")


def _model(conditioning: str, **changes):
    torch.manual_seed(0)
    return replace(GlobalFieldConfig(conditioning=conditioning).tiny(), **changes).build(0).eval()


def test_presets_differ_only_in_conditioning():
    configs = {name: get_preset(name).model for name in ("global-hypernet", "global-concat", "global-film", "global-voxels")}
    assert {c.conditioning for c in configs.values()} == set(CONDITIONINGS)
    plain = [{k: v for k, v in vars(c).items() if k != "conditioning"} for c in configs.values()]
    assert all(p == plain[0] for p in plain)
    trainings = [get_preset(name).training for name in configs]
    assert all(t == trainings[0] for t in trainings)


def test_voxel_field_constant_grid_closed_form():
    """A grid decoded to constant features gives constant density s and colour c: a ray crossing the unit box along
    an axis, sampled at the midpoints of N bins (the last interval runs to the box's far side), has opacity
    1 - exp(-s (1 - 1/(2N))) and colour c * opacity + white * (1 - opacity); a ray missing the box is white."""
    model = _model("voxels", coarse_samples=12, importance_samples=0)
    decoder = model.decoder
    with torch.no_grad():
        last = decoder.decoder.net[-1]  # the 1x1 conv to grid channels: constant output = its bias
        last.weight.zero_()
        last.bias.fill_(0.3)
        head_last = decoder.head[-1]
        head_last.weight.zero_()
        head_last.bias.copy_(torch.tensor([0.2, -1.0, 0.0, 2.0]))
    sigma = model.config.density_scale * math.log1p(math.exp(0.2 + model.config.density_bias))
    colour = torch.sigmoid(torch.tensor([-1.0, 0.0, 2.0]))
    origins = torch.tensor([[[0.1, -0.2, -3.0], [2.0, 2.0, -3.0]]])
    dirs = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]])
    latent = SceneLatent(code=torch.randn(1, model.config.latent_dim))
    with torch.no_grad():
        out = model.render_rays(latent, origins, dirs)
    opacity = 1.0 - math.exp(-sigma * (1.0 - 1.0 / 24))
    assert out.opacity[0, 0].item() == pytest.approx(opacity, rel=1e-5)
    assert torch.allclose(out.rgb[0, 0], colour * opacity + (1.0 - opacity), atol=1e-5)
    assert out.opacity[0, 1].item() == 0.0 and torch.allclose(out.rgb[0, 1], torch.ones(3))
    # depth (normalised by opacity): the weighted mean of the sample distances, w_i = T_i alpha_i
    t = 2.5 + (torch.arange(12) + 0.5) / 12
    delta = torch.cat([t[1:] - t[:-1], torch.tensor([3.5]) - t[-1:]])
    alpha = 1 - torch.exp(-sigma * delta)
    w = alpha * torch.exp(-sigma * torch.cat([torch.zeros(1), torch.cumsum(delta, 0)[:-1]]))
    assert out.depth[0, 0].item() == pytest.approx(float((w * t).sum() / w.sum()), rel=1e-5)


def test_voxel_field_reads_the_decoder_grid_at_its_nodes():
    """The image decoder is the 3D-supervised VoxelDecoder; its grid spans the scene cube with nodes on its faces,
    so at a node the field sees exactly that node's features (trilinear sampling, align_corners)."""
    model = _model("voxels")
    decoder = model.decoder
    assert isinstance(decoder.decoder, VoxelDecoder)
    code = torch.randn(2, model.config.latent_dim)
    grid = decoder.grid(code)
    n = model.config.voxel_resolution
    assert grid.features.shape == (2, model.config.voxel_channels, n, n, n)
    s = model.config.half_extent
    index = torch.tensor([[0, 0, 0], [n - 1, 2, 5], [3, n - 1, 1]])  # (z, y, x)
    xyz = -s + 2 * s * index.flip(-1).float() / (n - 1)
    with torch.no_grad():
        sampled = grid.sample(xyz[None].expand(2, -1, -1))
        direct = grid.features[:, :, index[:, 0], index[:, 1], index[:, 2]].transpose(1, 2)
        field = decoder.field(code)(xyz[None].expand(2, -1, -1), torch.zeros(2, 3, 3))
        expected = decoder.head(direct)
    assert torch.allclose(sampled, direct, atol=1e-5)
    assert torch.allclose(field.rgb, torch.sigmoid(expected[..., 1:]), atol=1e-5)


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_code_reaches_the_field(conditioning):
    """Two codes give two different fields, the same code the same one; outputs have the documented shapes."""
    model = _model(conditioning)
    points = torch.rand(2, 5, 7, 3) - 0.5
    a, b = torch.randn(2, model.config.latent_dim), torch.randn(2, model.config.latent_dim)
    with torch.no_grad():
        fa = model.field(SceneLatent(code=a))(points, torch.zeros_like(points))
        fa2 = model.field(SceneLatent(code=a))(points, torch.zeros_like(points))
        fb = model.field(SceneLatent(code=b))(points, torch.zeros_like(points))
    assert fa.density.shape == (2, 5, 7, 1) and fa.rgb.shape == (2, 5, 7, 3)
    assert (fa.density >= 0).all() and ((fa.rgb >= 0) & (fa.rgb <= 1)).all()
    assert torch.equal(fa.density, fa2.density)
    assert not torch.allclose(fa.rgb, fb.rgb, atol=1e-6)


def test_film_with_identity_modulation_ignores_the_code():
    model = _model("film")
    with torch.no_grad():
        for film in model.decoder.net.films:
            film.gamma.weight.zero_()
            film.beta.weight.zero_()
    points = torch.rand(1, 9, 3) - 0.5
    f = lambda z: model.field(SceneLatent(code=z))(points, torch.zeros_like(points))  # noqa: E731
    with torch.no_grad():
        assert torch.equal(f(torch.randn(1, 16)).rgb, f(torch.randn(1, 16)).rgb)


def test_hypernetwork_field_is_the_generated_mlp():
    """The hypernetwork field is exactly the MLP whose weights the hypernetwork generated, run on the encoded point."""
    model = _model("hypernetwork")
    decoder = model.decoder
    code = torch.randn(1, 16)
    points = torch.rand(1, 4, 3) - 0.5
    with torch.no_grad():
        params = decoder.hyper(code)
        h = decoder.encoding(points[0] * 2.0)
        for k, p in enumerate(params):
            h = h @ p.weight[0].T + p.bias[0]
            if k < len(params) - 1:
                h = torch.relu(torch.nn.functional.layer_norm(h, h.shape[-1:]))
        out = decoder.field(code)(points, torch.zeros_like(points))
    assert torch.allclose(out.rgb[0], torch.sigmoid(h[:, 1:]), atol=1e-5)
    density = model.config.density_scale * torch.nn.functional.softplus(h[:, :1] + model.config.density_bias)
    assert torch.allclose(out.density[0], density, atol=1e-5)
