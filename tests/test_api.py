"""sceneprior.api and its parts: model loading, preprocessing (crop boxes against known ones), the view prior,
rendering at several resolutions, normals from depth, depth-map fusion and the mesh adapters."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from sceneprior.api import example_images, load_model, orbit, reconstruct
from sceneprior.inference import meshes as geo
from sceneprior.inference.preprocess import PreprocessConfig, crop_box_for, preprocess_array, preprocess_file
from sceneprior.inference.prior import GENERATOR_FRAMING, ViewPrior, measure_generator_framing, prior_from_metadata
from sceneprior.training.tiny import save_tiny_run
from sceneprior.errors import ConfigError, DataError, SceneError
from sceneprior.geometry import look_at


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {kind: save_tiny_run(root / kind, kind, resolution=32) for kind in ("pixelnerf", "srn", "lfn", "autoencoder")}


# ------------------------------------------------------------------------------------------------- preprocessing


def _drawn(width=240, height=180, box=(150, 40, 210, 80), alpha=False):
    """A two-coloured rectangle at a known box on white (or on transparent black, with alpha)."""
    rgb = np.ones((height, width, 3), np.float32)
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = (0.8, 0.1, 0.1)
    rgb[y0 : (y0 + y1) // 2, x0:x1] = (0.1, 0.2, 0.7)
    if not alpha:
        return rgb, None
    a = np.zeros((height, width), np.float32)
    a[y0:y1, x0:x1] = 1.0
    return np.where(a[..., None] > 0, rgb, 0.0).astype(np.float32), a


def test_object_found_at_known_offset_and_scale():
    config = PreprocessConfig(resolution=32, object_fraction=0.5, object_centre=(0.5, 0.5))
    result = preprocess_array(*_drawn(), config)
    assert result.object_box == (150, 40, 210, 80)
    # longest side 60 fills half the crop, centred on (180, 60)
    assert result.crop_box == pytest.approx((120.0, 0.0, 240.0, 120.0))
    assert result.image.shape == (32, 32, 3)
    # the object occupies the central half of the model input; the rest is white
    assert result.mask[8:24, 8:24].mean() > 0.6 and result.mask[:, :7].max() == 0 and result.mask[:, 25:].max() == 0
    assert np.allclose(result.image[:4], 1.0) and result.image[16, 16].min() < 0.9


def test_rgba_and_white_background_give_the_same_crop():
    config = PreprocessConfig(resolution=48)
    white = preprocess_array(*_drawn(), config)
    rgba = preprocess_array(*_drawn(alpha=True), config)
    assert white.mask_source == "background" and rgba.mask_source == "alpha"
    assert white.object_box == rgba.object_box
    assert white.crop_box == pytest.approx(rgba.crop_box)
    assert np.abs(white.image - rgba.image).max() < 0.02


def test_crop_box_places_the_object_centre():
    x0, y0, x1, y1 = crop_box_for((10, 20, 50, 40), 0.8, (0.5, 0.6))
    side = 40 / 0.8
    assert (x1 - x0, y1 - y0) == pytest.approx((side, side))
    assert ((10 + 50) / 2 - x0) / side == pytest.approx(0.5) and ((20 + 40) / 2 - y0) / side == pytest.approx(0.6)


def test_bundled_examples_are_framed_like_the_training_images():
    """car.png is a generator render at the default camera: its crop is close to the whole frame, and the
    photo-like RGBA cut-out (same camera centre and rotation, other focal length and principal point, so the same
    picture up to scale and shift) preprocesses to nearly the same model input."""
    car, car_rgba = example_images()
    config = PreprocessConfig(resolution=64)
    a = preprocess_file(car, config)
    b = preprocess_file(car_rgba, config)
    x0, y0, x1, y1 = a.crop_box
    assert abs((x1 - x0) - 128) < 0.2 * 128
    assert a.mask_source == "background" and b.mask_source == "alpha"
    assert np.abs(a.image - b.image).mean() < 0.03
    info = json.loads((car.parent / "car.json").read_text())
    assert info["car.png"]["elevation_deg"] == ViewPrior().elevation_deg


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path, orientation):
    from PIL import Image, ImageOps

    from sceneprior.inference.preprocess import load_image

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:5, :10] = (255, 0, 0)  # a red block in the top-left corner makes every orientation distinct
    rgb[15:, 20:] = (0, 0, 255)
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.png"
    image.save(path, exif=exif)
    loaded, _ = load_image(path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(np.float32) / 255
    assert loaded.shape == expected.shape and np.allclose(loaded, expected)


@pytest.mark.parametrize("content", ["white", "transparent", "speck"])
def test_no_object_is_a_data_error(content):
    rgb = np.ones((40, 40, 3), np.float32)
    alpha = np.zeros((40, 40), np.float32) if content == "transparent" else None
    if content == "speck":
        rgb[5, 5] = 0.0
    with pytest.raises(DataError, match="no object"):
        preprocess_array(rgb, alpha, PreprocessConfig())


def test_busy_background_is_refused_with_a_hint():
    rgb = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    with pytest.raises(DataError, match="background is not plain"):
        preprocess_array(rgb, None, PreprocessConfig())


# ------------------------------------------------------------------------------------------------- view prior


def test_prior_camera_is_the_generator_orbit():
    from sceneprior.data.generator import orbit_cameras

    prior = ViewPrior()
    f = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    expected = orbit_cameras(f(prior.azimuth_deg), f(prior.elevation_deg), f(prior.distance))[0].float()
    assert torch.allclose(prior.camera(), expected, atol=1e-5)


def test_prior_from_generator_metadata():
    from sceneprior.data.generator import GeneratorConfig, metadata

    prior = prior_from_metadata(metadata(GeneratorConfig(category="chairs", resolution=48)))
    assert (prior.elevation_deg, prior.distance, prior.fov_deg, prior.resolution) == (30.0, 1.6, 40.0, 48)
    assert prior.object_fraction == GENERATOR_FRAMING["chairs"][0] and prior.category == "chairs"


def test_prior_of_a_run_comes_from_its_dataset(tmp_path):
    """A run without view_prior.json takes the camera from its dataset's metadata and the framing measured on its
    training masks (toy spheres of radius 0.22-0.38 seen from 1.6 with a 50° field of view: ~0.3-0.55 of the side)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from image_model_toys import write_toy_dataset

    data = write_toy_dataset(tmp_path / "toys")
    loaded = load_model(save_tiny_run(tmp_path / "run", "pixelnerf", resolution=32, data=data))
    prior = loaded.prior
    assert prior.source == "dataset metadata and training images" and prior.category == "toys"
    assert prior.resolution == 32 and prior.bounds == (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    assert 0.3 < prior.object_fraction < 0.55 and abs(prior.object_centre[0] - 0.5) < 0.1


def test_generator_framing_table_matches_a_fresh_measurement():
    fraction, cx, cy = measure_generator_framing("cars", objects=24, resolution=64)
    table = GENERATOR_FRAMING["cars"]
    assert abs(fraction - table[0]) < 0.03 and abs(cx - table[1]) < 0.03 and abs(cy - table[2]) < 0.03


# ------------------------------------------------------------------------------------------------- API round trip


def test_load_model_from_run_folder_and_checkpoint(runs):
    loaded = load_model(runs["pixelnerf"])
    assert loaded.kind == "pixelnerf" and not loaded.model.training
    assert loaded.prior.resolution == 32 and loaded.prior.source.endswith("view_prior.json")
    by_file = load_model(loaded.checkpoint)
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), by_file.model.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ConfigError, match="not found"):
        load_model("no-such-model")
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        bad = runs["pixelnerf"].parent / "bad.safetensors"
        bad.write_bytes(b"garbage")
        load_model(bad)


def test_package_model_stands_alone(runs, tmp_path):
    from sceneprior.api import package_model
    from sceneprior.checkpoint import load_checkpoint

    out = package_model(runs["pixelnerf"], tmp_path / "cars")
    loaded = load_model(out)
    original = load_model(runs["pixelnerf"])
    assert loaded.prior.resolution == original.prior.resolution and loaded.prior.source.endswith("view_prior.json")
    assert load_checkpoint(loaded.checkpoint).optimizer_state is None
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), original.model.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ConfigError, match="not empty"):
        package_model(runs["pixelnerf"], out)


def test_package_model_half_stores_float16_and_loads_as_float32(runs, tmp_path):
    from safetensors import safe_open

    from sceneprior.api import package_model

    out = package_model(runs["pixelnerf"], tmp_path / "cars16", half=True)
    loaded = load_model(out)
    with safe_open(str(loaded.checkpoint), "pt") as handle:
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys()}
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    original = load_model(runs["pixelnerf"])
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), original.model.state_dict().items()):
        assert a.dtype == b.dtype, k
        assert torch.allclose(a, b.half().to(b.dtype)), k


def test_reconstruct_and_render_at_two_resolutions(runs):
    loaded = load_model(runs["pixelnerf"])
    rec = reconstruct(loaded, example_images()[0])
    assert rec.mode == "encode" and rec.images.shape == (1, 3, 32, 32)
    assert torch.allclose(rec.cam2world[0], loaded.prior.camera())
    cam = rec.orbit_cameras(4)[1]
    for size in (24, 40):
        view = rec.render(cam, None, size, size)
        assert view.rgb.shape == (size, size, 3) and np.isfinite(view.rgb).all()
        assert view.rgb.min() >= 0 and view.rgb.max() <= 1
        assert view.depth.shape == (size, size) and view.normals.shape == (size, size, 3)
        assert view.opacity.shape == (size, size)
        assert view.K[0, 0] == pytest.approx(rec.K[0, 0, 0] * size / 32)
    frames = rec.turntable(3, resolution=16)
    assert len(frames) == 3 and frames[0].rgb.shape == (16, 16, 3)
    # the turntable starts at the input camera and keeps its distance
    assert torch.allclose(frames[0].cam2world, rec.cam2world[0], atol=1e-5)
    assert float(frames[2].cam2world[:3, 3].norm()) == pytest.approx(loaded.prior.distance, rel=1e-5)


def test_reconstruct_posed_images_and_autodecode(runs):
    loaded = load_model(runs["srn"])
    images = [np.ones((40, 40, 3), np.float32), np.ones((40, 40, 3), np.float32) * 0.5]
    cams = torch.stack([loaded.prior.camera(0.0), loaded.prior.camera(90.0)])
    K = loaded.prior.intrinsics(40)
    rec = reconstruct(loaded, images, cam2world=cams, K=K[None].expand(2, 3, 3), steps=3)
    assert rec.mode == "autodecode" and len(rec.losses) == 3 and rec.images.shape == (2, 3, 32, 32)
    assert rec.K[0, 0, 0] == pytest.approx(float(K[0, 0]) * 32 / 40)
    with pytest.raises(ConfigError, match="cameras"):
        reconstruct(loaded, images)
    with pytest.raises(ConfigError, match="supports modes"):
        reconstruct(loaded, images[0], mode="encode")


def test_meshes_of_each_model_kind(runs, tmp_path):
    import trimesh

    rec = reconstruct(load_model(runs["pixelnerf"]), example_images()[0])
    for suffix in (".ply", ".glb"):
        path = rec.export_mesh(tmp_path / f"mesh{suffix}", resolution=24)
        mesh = trimesh.load(path, force="mesh")
        assert len(mesh.faces) > 0 and mesh.visual.kind == "vertex"
    rec = reconstruct(load_model(runs["autoencoder"]), example_images()[0], steps=2)
    with pytest.raises(ConfigError, match="no 3D geometry"):
        rec.mesh(16)
    assert rec.render(height=20).depth is None
    # LFN has depth (its sparse estimate from the light field's derivatives; test_lfn_depth.py checks its values)
    view = reconstruct(load_model(runs["lfn"]), example_images()[0], steps=2).render(height=20)
    assert view.depth is not None and view.depth.shape == (20, 20) and view.normals is not None


# ------------------------------------------------------------------------------------------------- geometry


def _sphere_depth(cam2world, K, size, radius):
    from sceneprior.geometry import get_rays

    origins, dirs, z_per_t = get_rays(cam2world[None].double(), K[None].double(), size, size)
    o, d, zt = origins[0].numpy(), dirs[0].numpy(), z_per_t[0].numpy()
    b = (o * d).sum(-1)
    disc = b * b - ((o * o).sum(-1) - radius**2)
    t = -b - np.sqrt(np.clip(disc, 0, None))
    depth = np.where(disc > 0, t * zt, np.nan)
    return depth, o + t[..., None] * d


def test_normals_from_depth_of_a_sphere_are_radial():
    prior = ViewPrior()
    cam, K = prior.camera(30.0, 20.0, 1.5), prior.intrinsics(64)
    depth, points = _sphere_depth(cam, K, 64, 0.4)
    normals = geo.normals_from_depth(depth, cam, K)
    valid = np.all(np.isfinite(normals), -1)
    assert valid.sum() > 500
    radial = points / np.linalg.norm(points, axis=-1, keepdims=True)
    cosine = (normals[valid] * radial[valid]).sum(-1)
    assert np.median(cosine) > 0.999 and cosine.min() > 0.9


def test_depth_fusion_recovers_a_sphere():
    prior = ViewPrior()
    K = prior.intrinsics(48)
    views = []
    for elevation in (-30.0, 10.0, 50.0):
        for azimuth in range(0, 360, 60):
            cam = prior.camera(float(azimuth), elevation, 1.5)
            depth, _ = _sphere_depth(cam, K, 48, 0.35)
            views.append(geo.DepthView(depth.astype(np.float32), np.full((48, 48, 3), 0.5, np.float32), cam, K))
    mesh = geo.fused_mesh(views, (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5), 32)
    radii = np.linalg.norm(mesh.vertices, axis=1)
    assert abs(np.median(radii) - 0.35) < 0.02 and radii.max() < 0.35 + 0.06
    assert np.allclose(mesh.visual.vertex_colors[:, :3], 128, atol=1)


def test_orbit_cameras_look_at_the_target():
    start = look_at(torch.tensor([0.0, 0.5, 1.5]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]))
    cams = orbit(start, 4, torch.tensor([0.0, 1.0, 0.0]), torch.zeros(3), elevation_deg=45.0, distance=2.0)
    centres = cams[:, :3, 3]
    assert torch.allclose(centres.norm(dim=-1), torch.full((4,), 2.0), atol=1e-5)
    assert torch.allclose(centres[:, 1], torch.full((4,), 2.0 * math.sin(math.radians(45))), atol=1e-5)
    forward = cams[:, :3, 2]
    assert torch.allclose(forward, -centres / 2.0, atol=1e-5)
    # a quarter turn: from +z towards +x (the generator's azimuth direction)
    assert float(centres[1, 0]) > 1.0 and abs(float(centres[1, 2])) < 1e-5


def test_constant_density_cannot_be_meshed():
    with pytest.raises(SceneError, match="constant"):
        geo.density_mesh(lambda p: torch.zeros(p.shape[0]), lambda p: torch.zeros(p.shape[0], 3),
                         (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5), 16, 1.0)


def test_background_of_a_model_without_opacity_has_no_depth(runs, monkeypatch):
    """SRN has no opacity: pixels it renders white (the training background) get no depth and no normals."""
    rec = reconstruct(load_model(runs["srn"]), example_images()[0], steps=1)
    real = rec.model.render

    def half_white(*args, **kwargs):
        out = real(*args, **kwargs)
        out.rgb[..., : out.rgb.shape[-1] // 2] = 1.0
        return out

    monkeypatch.setattr(rec.model, "render", half_white)
    view = rec.render(height=16)
    assert view.opacity is None
    assert np.isnan(view.depth[:, :8]).all() and np.isnan(view.normals[:, :8]).all()
    assert (np.abs(view.rgb[:, 8:] - 1.0).max(-1) > 0.08).all()
