"""Generator v2 (``--style v2``): SDF shapes against closed forms, scenes that fit and vary, renders whose depth lies
on the SDF, determinism -- and generator v1 still writing exactly the data every published result used."""

from __future__ import annotations

import hashlib
import json
import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from sceneprior.data.generator import GeneratorConfig, generate_dataset, intrinsics_for, orbit_cameras
from sceneprior.data.generator.realistic import BODY_TYPES, CHAIR_TYPES, sample_car_v2, sample_chair_v2, seven_segment
from sceneprior.data.generator.sdf import (
    chaikin,
    kelvin_to_rgb,
    render_sdf_views,
    sd_polygon,
    sd_round_box,
    sdf_normals,
    sdf_surface_samples,
    smooth_union,
)
from sceneprior.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _digest(root) -> str:
    """Decoded contents of every file but metadata.json (independent of the PNG / zip encoder's version)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name == "metadata.json":
            continue
        h.update(str(p.relative_to(root)).encode())
        if p.suffix == ".png":
            a = iio.imread(p)
            h.update(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
        elif p.suffix == ".npz":
            with np.load(p) as z:
                for k in sorted(z.files):
                    h.update(k.encode() + z[k].tobytes())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


def _tiny(tmp_path, category: str, style: str, seed: int = 7, name: str = "d", resolution: int = 16, objects: int = 2):
    return generate_dataset(GeneratorConfig(category=category, out=tmp_path / name, objects=objects, views=3, test_views=3, val_objects=1,
                                            test_objects=1, resolution=resolution, seed=seed, workers=1, surface_points=50,
                                            sdf_samples=40, style=style))


#: digests of a tiny v1 dataset computed before generator v2 existed (commit b628f92): v1 must not change
V1_DIGESTS = {
    "cars": "329ae4065bdcaeb2d847b7929b0c25c7f3bca3e5be964159892470dff44ff659",
    "chairs": "43b07700ee82f752c06d1c3201e54b08270eb3008c6f3c0905b1a2737a858f74",
}


@pytest.mark.parametrize("category", ["cars", "chairs"])
def test_v1_writes_exactly_what_it_wrote_before_v2(tmp_path, category):
    root = _tiny(tmp_path, category, "v1")
    assert _digest(root) == V1_DIGESTS[category]
    assert "style" not in json.loads((root / "metadata.json").read_text())


def test_sdf_shapes_match_closed_forms():
    p = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.5, 1.5, 0.0], [0.5, 0.2, 0.1]], dtype=torch.float64)
    d = sd_round_box(p, torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), 0.0)
    np.testing.assert_allclose(d.numpy(), [1.0, -1.0, math.sqrt(0.5), -0.5], atol=1e-12)
    rounded = sd_round_box(p[:1], torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), 0.2)
    assert float(rounded) == pytest.approx(1.0)  # a face is not moved by the rounding
    corner = sd_round_box(torch.tensor([[2.0, 2.0, 2.0]], dtype=torch.float64), torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), 0.2)
    assert float(corner) == pytest.approx(math.sqrt(3 * 1.2**2) - 0.2)
    # a unit square (either orientation) and an L-shaped (non-convex) polygon
    square = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    x = torch.tensor([0.5, 2.0, 0.5, 1.5], dtype=torch.float64)
    y = torch.tensor([0.5, 0.5, 0.9, 2.0], dtype=torch.float64)
    expected = [-0.5, 1.0, -0.1, math.sqrt(1.25)]
    np.testing.assert_allclose(sd_polygon(x, y, square).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(sd_polygon(x, y, square.flip(0)).numpy(), expected, atol=1e-12)
    ell = torch.tensor([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], dtype=torch.float64)
    d_ell = sd_polygon(torch.tensor([1.5, 1.5, 0.5], dtype=torch.float64), torch.tensor([1.5, 0.5, 1.5], dtype=torch.float64), ell)
    np.testing.assert_allclose(d_ell.numpy(), [0.5, -0.5, -0.5], atol=1e-12)  # in the notch: 0.5 from both inner edges
    a, b = torch.tensor([0.3, -0.2]), torch.tensor([0.5, 0.1])
    u = smooth_union(a, b, 0.1)
    assert bool((u <= torch.minimum(a, b) + 1e-7).all())  # the blend only adds material
    assert len(chaikin(np.asarray(square), 2)) == 16
    warm, cool = kelvin_to_rgb(3200.0), kelvin_to_rgb(7500.0)
    assert warm[0] == 1.0 and warm[2] < 0.7 and cool[2] == 1.0 and cool[0] < 1.0


def test_sampled_profile_field_matches_the_exact_polygon_distance():
    from sceneprior.data.generator.sdf import ProfileField

    car = sample_car_v2(np.random.default_rng(2))
    body = next(c for c in car.components if c.shape == "lofted")
    profile = torch.tensor(body.params["profile"], dtype=torch.float32)
    field = ProfileField(profile)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4000, generator=g) - 0.5) * 1.4
    y = (torch.rand(4000, generator=g) - 0.3) * 0.9
    exact = sd_polygon(x, y, profile)
    approx = field(x, y)
    near = exact.abs() < 0.05
    assert float((approx - exact)[near].abs().max()) < 2e-3  # the surface sits where the exact one does
    assert bool((approx >= exact - 2e-3).all())  # far outside the lattice still a bound (never an overestimate)


def test_seven_segment_digits():
    u, v = torch.meshgrid(torch.linspace(-1, 1, 81), torch.linspace(-1, 1, 81), indexing="xy")
    ink = {n: int(seven_segment(u.reshape(-1), -v.reshape(-1), n, torch.ones(81 * 81)).sum()) for n in (1, 7, 8)}
    assert 0 < ink[1] < ink[7] < ink[8]
    left = seven_segment(u.reshape(-1), -v.reshape(-1), 7, torch.ones(81 * 81)).reshape(81, 81)
    mirrored = seven_segment(u.reshape(-1), -v.reshape(-1), 7, -torch.ones(81 * 81)).reshape(81, 81)
    assert torch.equal(left, mirrored.flip(1))


def test_v2_scenes_vary_fit_their_box_and_cover_every_type():
    cars = [sample_car_v2(np.random.default_rng(s)) for s in range(48)]
    chairs = [sample_chair_v2(np.random.default_rng(s)) for s in range(24)]
    assert {c.params["body_type"] for c in cars} == set(BODY_TYPES)
    assert {c.params["chair_type"] for c in chairs} == set(CHAIR_TYPES)
    # (each sampler asserts the object lies inside [-0.5, 0.5]^3); lights differ from scene to scene
    assert len({c.light.direction for c in cars}) == len(cars) and len({round(c.light.kelvin) for c in cars}) > 30
    assert len({c.look.paint for c in cars}) > 30
    json.dumps(cars[0].to_json())  # scene.json is plain JSON


def test_v2_render_depth_lies_on_the_sdf_and_normals_are_its_gradient():
    scene = sample_car_v2(np.random.default_rng(3))
    cams = orbit_cameras(torch.tensor([30.0, 200.0]), torch.tensor([20.0, 45.0]), torch.tensor([1.5, 1.7]))
    K = intrinsics_for(24, 40.0).expand(2, 3, 3)
    out = render_sdf_views(scene, cams, K, 24, 24, supersample=2)
    assert out.mask.sum() > 60 and torch.equal(out.mask, out.depth > 0)
    assert set(out.parts[out.mask].unique().tolist()) <= set(range(1, len(scene.part_names)))
    near = torch.nn.functional.max_pool2d(out.mask[:, None].float(), 3, 1, 1)[:, 0] > 0  # antialiased edges
    assert bool((out.parts[~out.mask] == 0).all()) and bool((out.rgb[~near] == 1.0).all())
    assert float(out.rgb[out.mask].max(-1).values.mean()) < 0.95  # the car is not white paper
    from sceneprior.geometry import get_rays

    origins, dirs, z_per_t = get_rays(cams.float(), K.float(), 24, 24)
    t = out.depth / z_per_t
    points = (origins + t[..., None] * dirs)[out.mask]
    d = scene.sdf(points)
    assert float(d.abs().max()) < 2e-3
    cos = (sdf_normals(scene, points) * out.normals[out.mask]).sum(-1)
    assert float(cos.min()) > 0.999
    points_s, normals_s, parts_s = sdf_surface_samples(scene, 300, np.random.default_rng(0))
    assert float(scene.sdf(torch.from_numpy(points_s)).abs().max()) < 2e-3
    np.testing.assert_allclose(np.linalg.norm(normals_s, axis=1), 1.0, atol=1e-4)
    assert set(np.unique(parts_s)) <= set(range(1, len(scene.part_names))) and len(np.unique(parts_s)) >= 3


def test_grid_accelerated_tracing_matches_exact_tracing():
    """The fast path (coarse grid far from the surface) finds the same hits as exact sphere tracing."""
    from sceneprior.data.generator.sdf import trace
    from sceneprior.geometry import get_rays

    scene = sample_car_v2(np.random.default_rng(5))
    cams = orbit_cameras(torch.tensor([70.0]), torch.tensor([30.0]), torch.tensor([1.6]))
    origins, dirs, _ = get_rays(cams.float(), intrinsics_for(32, 40.0)[None].float(), 32, 32)
    o, d = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    t_fast, hit_fast = trace(scene, o, d, use_grid=True)
    t_exact, hit_exact = trace(scene, o, d, use_grid=False)
    assert hit_exact.sum() > 100 and float((hit_fast != hit_exact).float().mean()) < 0.01
    both = hit_fast & hit_exact
    assert float((t_fast[both] - t_exact[both]).abs().max()) < 1e-3


def test_v2_cast_shadows_darken_surfaces_the_light_cannot_reach():
    scene = sample_chair_v2(np.random.default_rng(11))
    from sceneprior.data.generator.sdf import soft_shadow

    light = torch.nn.functional.normalize(torch.tensor(scene.light.direction), dim=0)
    points_s, normals_s, _ = sdf_surface_samples(scene, 400, np.random.default_rng(1))
    p, n = torch.from_numpy(points_s), torch.from_numpy(normals_s)
    facing = (n @ light) > 0.3
    shadow = soft_shadow(scene, p[facing], n[facing], light, scene.light.softness)
    assert 0.0 <= float(shadow.min()) and float(shadow.max()) <= 1.0
    # a point moved 0.3 towards the light from below an occluder: sample points straight under the highest surface
    top = p[:, 1].argmax()
    under = p[top] - torch.tensor([0.0, 0.15, 0.0])
    if float(scene.sdf(under[None])) > 0.01:  # only when that point is in free space
        blocked = soft_shadow(scene, under[None], torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([0.0, 1.0, 0.0]), 16.0)
        assert float(blocked) < 0.5


def test_v2_dataset_is_deterministic_with_every_extra(tmp_path):
    a = _tiny(tmp_path, "cars", "v2", name="a", objects=1)
    b = _tiny(tmp_path, "cars", "v2", name="b", objects=1)
    assert _digest(a) == _digest(b)
    from sceneprior.data.generator.dataset import make_scene

    other = GeneratorConfig(category="cars", seed=8, style="v2")
    assert make_scene(other, "train", 0).scene.to_json() != json.loads((a / "cars_train" / "000000" / "scene.json").read_text())
    meta = json.loads((a / "metadata.json").read_text())
    assert meta["style"] == "v2" and meta["splits"] == {"train": 1, "val": 1, "test": 1, "test_ood_pose": 1}
    scene = a / "cars_train" / "000000"
    for sub in ("rgb", "depth", "normal", "mask", "parts", "pose"):
        assert len(list((scene / sub).iterdir())) == 3
    info = json.loads((scene / "scene.json").read_text())
    assert info["style"] == "v2" and info["params"]["body_type"] in BODY_TYPES and "light" in info
    with np.load(scene / "sdf.npz") as z:
        assert z["points"].shape == (40, 3) and ((z["sdf"] < 0) == (z["occupancy"] == 1)).all()
    from sceneprior.cli.main import main

    assert main(["data", "check", str(a), "--json"]) == 0
    with pytest.raises(ConfigError, match="v2"):
        GeneratorConfig(category="rooms", style="v2").validate()
