"""Image models: every preset learns (its loss falls on a tiny dataset), renders at any resolution, and
pixelNeRF's project-then-sample equals sample-then-project."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from sceneprior.data.types import PosedViews
from sceneprior.models import Preset, SceneLatent, SceneModel
from sceneprior.models3d import ShapeModelConfig
from sceneprior.registry import PRESET_NAMES, config_from_plain, get_preset
from sceneprior.models.configs import to_plain
from sceneprior.training import BatchConfig, SplitCache, make_optimizer, open_split, training_batches


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    from image_model_toys import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toys"), {"train": 4, "val": 1, "test": 2}, views=6, size=16)


def _small(name: str) -> Preset:
    """The preset with its config's tiny variant (narrower layers), so each test runs in seconds."""
    preset = get_preset(name)
    return replace(preset, model=preset.model.tiny())


#: the image-model presets (the 3D shape presets are tested in test_models3d.py)
IMAGE_PRESETS = tuple(n for n in PRESET_NAMES if not isinstance(get_preset(n).model, ShapeModelConfig))


def _own_batches(name: str) -> bool:
    """Whether the preset's model draws its own training batches (e.g. multi-view video: the ground plans, whose
    loss falls on a tiny video set in test_scene_priors.py)."""
    return type(_small(name).model.build(0)).batch_source is not SceneModel.batch_source


@pytest.mark.parametrize("name", [n for n in IMAGE_PRESETS if not _own_batches(n)])
def test_each_preset_learns_a_fixed_batch(name, toy_data):
    torch.manual_seed(0)
    preset = _small(name)
    cache = SplitCache(open_split(toy_data, "train"))
    model = preset.model.build(len(cache))
    rays = None if preset.training.rays_per_scene is None else 128
    batch = training_batches(model, cache.dataset, BatchConfig(2, 1, rays, (1,)), seed=0, cache=cache).at(1)
    optimizer = make_optimizer(model, 1e-3, 1e-2)
    losses = []
    for _ in range(40 if model.geometry == "density" else 25):  # volume rendering from random features: slower start
        out = model.loss(batch)
        optimizer.zero_grad()
        out.total.backward()
        optimizer.step()
        losses.append(float(out.total.detach()))
        assert torch.isfinite(out.total)
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses


@pytest.mark.parametrize("name", IMAGE_PRESETS)
def test_render_any_resolution(name, toy_data):
    torch.manual_seed(0)
    preset = _small(name)
    views = open_split(toy_data, "test")[0]
    model = preset.model.build(4).eval()
    observed = PosedViews.of_scene(views.select([0]))
    latent = (model.encode(observed.images, observed.cam2world, observed.intrinsics) if "encode" in model.modes
              else model.initial_latent(1, "zeros", observed=observed))
    K = views.intrinsics[1:2].clone()
    K[:, :2] *= 24 / 16
    with torch.no_grad():
        out = model.render(latent, views.cam2world[1:2], K, 24, 24, chunk=100)
    assert out.rgb.shape == (1, 3, 24, 24)
    assert torch.all((out.rgb >= 0) & (out.rgb <= 1))
    if out.depth is not None:
        assert out.depth.shape == (1, 1, 24, 24)


def test_preset_configs_round_trip_through_plain_json():
    import json

    for name in PRESET_NAMES:
        preset = get_preset(name)
        plain = json.loads(json.dumps(to_plain(preset.model)))
        assert config_from_plain(preset.kind, plain) == preset.model


def test_pixel_features_project_then_sample_equals_sample_then_project():
    from sceneprior.fields import ResnetFCField

    torch.manual_seed(0)
    field = ResnetFCField(d_in=42, feature_dim=5, width=8, combine_layer=2)
    maps = torch.randn(2, 5, 6, 7)
    grid = torch.rand(2, 10, 1, 2) * 2.4 - 1.2  # some samples outside the map (border padding)
    projected = F.grid_sample(field.project_features(maps), grid, padding_mode="border", align_corners=False)
    sampled = F.grid_sample(maps, grid, padding_mode="border", align_corners=False)[..., 0].transpose(1, 2)
    direct = torch.cat([layer(sampled) for layer in field.lin_z], -1)
    torch.testing.assert_close(projected[..., 0].transpose(1, 2), direct, atol=1e-5, rtol=1e-5)


def test_pixelnerf_with_a_huge_negative_density_renders_white(toy_data):
    preset = _small("pixelnerf")
    model = preset.model.build(1).eval()
    with torch.no_grad():
        for net in (model.coarse, model.fine):
            net.lin_out.bias[3] = -1e4  # [rgb, σ]
    views = open_split(toy_data, "test")[0]
    latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
    with torch.no_grad():
        out = model.render(latent, views.cam2world[1:2], views.intrinsics[1:2], 8, 8)
    torch.testing.assert_close(out.rgb, torch.ones_like(out.rgb))
    assert float(out.opacity.max()) == 0.0


def test_autodecoder_latents_start_small_and_live_in_the_state_dict():
    preset = get_preset("srn")
    model = preset.model.build(500)
    codes = model.state_dict()["latents.codes.weight"]
    assert codes.shape == (500, preset.model.latent_dim)
    assert 0.008 < float(codes.std()) < 0.012


def test_autoencoder_image_depends_on_the_target_pose(toy_data):
    torch.manual_seed(0)
    preset = _small("autoencoder")
    model = preset.model.build(1).eval()
    views = open_split(toy_data, "test")[0]
    latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
    assert isinstance(latent, SceneLatent)
    with torch.no_grad():
        a = model.render(latent, views.cam2world[1:2], views.intrinsics[1:2], 16, 16).rgb
        b = model.render(latent, views.cam2world[3:4], views.intrinsics[3:4], 16, 16).rgb
    assert (a - b).abs().max() > 1e-5


def test_object_bbox_rays_stay_inside_the_non_white_box():
    from sceneprior.geometry import intrinsics_matrix, look_at, project
    from sceneprior.models import sample_image_rays

    images = torch.ones(2, 1, 3, 10, 12)
    images[0, 0, :, 2:5, 3:9] = 0.2  # rows 2..4, columns 3..8
    images[1, 0, :, 6:8, 1:2] = 0.0
    cam2world = look_at(torch.tensor([0.0, 0.0, -2.0]), torch.zeros(3), torch.tensor([0.0, -1.0, 0.0]))
    cam2world = cam2world.expand(2, 1, 4, 4)
    K = intrinsics_matrix(10.0, 10.0, 6.0, 5.0).expand(2, 1, 3, 3)
    origins, dirs, rgb = sample_image_rays(images, cam2world, K, 12, torch.Generator().manual_seed(0), object_bbox=True)
    uv, _ = project(origins + dirs, cam2world[:, 0, None], K[:, 0, None])
    cols, rows = uv[..., 0].floor(), uv[..., 1].floor()
    assert torch.all((rows[0] >= 2) & (rows[0] <= 4) & (cols[0] >= 3) & (cols[0] <= 8))
    assert len(set(zip(rows[0].tolist(), cols[0].tolist()))) == 12  # distinct pixels
    assert torch.all((rows[1] >= 6) & (rows[1] <= 7) & (cols[1] == 1))  # a 2-pixel box: drawn with replacement
    assert torch.allclose(rgb[0], torch.full_like(rgb[0], 0.2))


def test_encoder_latent_size_mismatch_is_a_config_error():
    from dataclasses import replace

    from sceneprior.errors import ConfigError

    for name in ("lfn-encoder", "srn-encoder"):
        preset = get_preset(name)
        with pytest.raises(ConfigError, match="must match"):
            replace(preset.model, latent_dim=64).build(1)


def test_srn_inference_render_matches_the_training_path():
    """SRN renders in eval mode without gradients through a faster path (lstm_raymarch_mlp, folded LayerNorms);
    it equals the generic path (the one training differentiates) within 1e-5, for two scenes at once."""
    torch.manual_seed(0)
    preset = get_preset("srn")
    model = preset.model.build(4).eval()
    with torch.no_grad():
        model.marcher.out.weight.normal_(0.0, 0.05)  # steps that depend on the features
        model.marcher.out.bias.fill_(0.1)
    latent = SceneLatent(code=torch.randn(2, preset.model.latent_dim))
    origins = torch.randn(2, 500, 3) * 0.2 + torch.tensor([0.0, 0.0, -1.5])
    dirs = F.normalize(torch.randn(2, 500, 3) * 0.2 + torch.tensor([0.0, 0.0, 1.0]), dim=-1)
    with torch.no_grad():
        fast = model.render_rays(latent, origins, dirs)
    with torch.enable_grad():
        reference = model.render_rays(latent, origins, dirs)
    assert torch.allclose(fast.rgb, reference.rgb.detach(), atol=1e-5, rtol=0)
    assert torch.allclose(fast.depth, reference.depth.detach(), atol=1e-5, rtol=0)


def test_srn_inference_render_does_not_depend_on_the_thread_count():
    """With 2 torch threads the inference path shares its ray chunks among 2 Python threads (1 torch thread each):
    the same chunks, so bit-for-bit the same result as 1 thread."""
    from sceneprior.models import srn as srn_module

    torch.manual_seed(0)
    preset = get_preset("srn")
    model = preset.model.build(4).eval()
    latent = SceneLatent(code=torch.randn(1, preset.model.latent_dim))
    origins = torch.randn(1, 700, 3) * 0.2 + torch.tensor([0.0, 0.0, -1.5])
    dirs = F.normalize(torch.randn(1, 700, 3) * 0.2 + torch.tensor([0.0, 0.0, 1.0]), dim=-1)
    chunk, threads = srn_module.INFERENCE_CHUNK, torch.get_num_threads()
    srn_module.INFERENCE_CHUNK = 128
    try:
        with torch.no_grad():
            torch.set_num_threads(1)
            one = model.render_rays(latent, origins, dirs)
            torch.set_num_threads(2)
            two = model.render_rays(latent, origins, dirs)
            assert torch.get_num_threads() == 2
    finally:
        srn_module.INFERENCE_CHUNK = chunk
        torch.set_num_threads(threads)
    assert torch.equal(one.rgb, two.rgb) and torch.equal(one.depth, two.depth)


def test_pixelnerf_field_samples_the_source_pixel_a_point_projects_to():
    """Points on the rays through source pixel centres, at random depths, read exactly that pixel's feature
    (OpenCV camera-to-world, pixel centres at +0.5, ``align_corners=False``) — a transposed, flipped or
    half-pixel-shifted projection fails."""
    from sceneprior.fields.base import FieldOutput
    from sceneprior.geometry.cameras import intrinsics_matrix, look_at, unproject_depth
    from sceneprior.fields import ResnetFCField
    from sceneprior.models.pixelnerf import PixelNeRF, PixelNeRFConfig

    torch.manual_seed(0)
    height, width = 6, 9
    cam2world = look_at(torch.tensor([0.3, -1.2, 1.5]), torch.zeros(3), torch.tensor([0.0, 0.0, 1.0]))
    K = intrinsics_matrix(7.0, 6.5, 4.4, 3.1)
    image = torch.rand(1, 1, 3, height, width)
    model = PixelNeRF(PixelNeRFConfig())
    seen = {}

    class Probe(ResnetFCField):
        def project_features(self, maps):
            return maps

        def forward(self, inputs, features, projected=False):
            seen["features"] = features
            b, _, n, _ = features.shape
            return FieldOutput(density=torch.zeros(b, n, 1), rgb=torch.zeros(b, n, 3))

    latent = SceneLatent(feature_maps=image, cam2world=cam2world[None, None], intrinsics=K[None, None], image_size=(height, width))
    depth = torch.rand(height, width) + 1.0
    points = unproject_depth(depth, cam2world, K).reshape(1, -1, 3)
    out = model._field(Probe(42, 3, 8), latent)(points, torch.zeros_like(points))
    assert isinstance(out, FieldOutput)
    expected = image[0, 0].permute(1, 2, 0).reshape(-1, 3)
    torch.testing.assert_close(seen["features"][0, 0], expected, atol=1e-5, rtol=1e-5)


def test_pixelnerf_encoder_scale_gives_finer_feature_maps(toy_data):
    preset = _small("pixelnerf")
    views = open_split(toy_data, "test")[0]
    observed = (views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
    sizes = {}
    for scale in (1.0, 2.0):
        preset.model.encoder_scale = scale
        model = preset.model.build(1).eval()
        latent = model.encode(*observed)
        sizes[scale] = tuple(latent.feature_maps.shape[-2:])
        assert latent.image_size == (16, 16)  # the intrinsics still refer to the source image
        with torch.no_grad():
            out = model.render(latent, views.cam2world[1:2], views.intrinsics[1:2], 8, 8)
        assert torch.isfinite(out.rgb).all()
    assert sizes == {1.0: (8, 8), 2.0: (16, 16)}


def test_pixelnerf_renders_the_same_whatever_its_chunk_size(toy_data, monkeypatch):
    import sceneprior.renderers.volume as volume

    used = []
    chunked = volume.evaluate_chunked
    monkeypatch.setattr(volume, "evaluate_chunked", lambda field, p, d, chunk: used.append(chunk) or chunked(field, p, d, chunk))
    preset = _small("pixelnerf")
    views = open_split(toy_data, "test")[0]
    model = preset.model.build(1).eval()
    latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
    outs = []
    for chunk in (7, 8192):  # 7 points: every ray's samples split over several chunks
        model.config.chunk_points = chunk
        with torch.no_grad():
            outs.append(model.render(latent, views.cam2world[1:2], views.intrinsics[1:2], 8, 8))
    torch.testing.assert_close(outs[0].rgb, outs[1].rgb, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(outs[0].depth, outs[1].depth, atol=1e-6, rtol=1e-5)
    assert set(used) == {7, 8192}  # the config's chunk size reaches the renderer
