"""The procedural dataset generator: layout, determinism, exact geometry, cameras, errors."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from einops import reduce
from jaxtyping import install_import_hook
from PIL import Image
from scipy.ndimage import binary_dilation

with install_import_hook("sceneprior.data.generator", "beartype.beartype"):
    from sceneprior.data.generator import (
        ALL_SPLITS,
        CATEGORIES,
        PART_NAMES,
        GeneratorConfig,
        camera_angles,
        camera_setup,
        generate_dataset,
        intrinsics_for,
        make_scene,
        orbit_cameras,
        render_views,
        sample_orbit,
        sample_scene,
        scene_sdf,
    )
    from sceneprior.data.generator import dataset as dataset_module

from sceneprior.errors import ConfigError, DataError
from sceneprior.geometry import project, rotation_error, scale_intrinsics, unproject_depth

RES = 32
VIEWS = 4
OBJECTS = 3


def _config(tmp: Path, category: str = "cars", **kw: object) -> GeneratorConfig:
    args = dict(category=category, out=tmp, objects=OBJECTS, views=VIEWS, resolution=RES, seed=0, workers=1,
                surface_points=2000, sdf_samples=3000)
    args.update(kw)
    return GeneratorConfig(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gen")
    return {cat: generate_dataset(_config(root / cat, cat)) for cat in CATEGORIES}


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _read_pose(path: Path) -> torch.Tensor:
    values = path.read_text().split()
    assert len(values) == 16 and len(path.read_text().strip().splitlines()) == 1
    return torch.tensor([float(v) for v in values], dtype=torch.float64).reshape(4, 4)


def _read_intrinsics(path: Path) -> tuple[torch.Tensor, int, int]:
    lines = path.read_text().strip().splitlines()
    assert len(lines) == 4
    f, cx, cy, zero = (float(v) for v in lines[0].split())
    assert zero == 0.0 and [float(v) for v in lines[1].split()] == [0.0, 0.0, 0.0] and float(lines[2]) == 1.0
    h, w = (int(v) for v in lines[3].split())
    K = torch.tensor([[f, 0, cx], [0, f, cy], [0, 0, 1]], dtype=torch.float64)
    return K, h, w


def _unproject(depth: torch.Tensor, cams: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """unproject_depth view by view (its batched form trips the run-time shape check of camera_directions)."""
    return torch.stack([unproject_depth(depth[v], cams[v], K) for v in range(depth.shape[0])])


def _load_view(scene_dir: Path, view: int, depth_scale: float) -> dict[str, torch.Tensor]:
    name = f"{view:06d}"
    depth = np.asarray(Image.open(scene_dir / "depth" / f"{name}.png")).astype(np.float64) * depth_scale
    normal_rgb = np.asarray(Image.open(scene_dir / "normal" / f"{name}.png")).astype(np.float64)
    return {
        "cam2world": _read_pose(scene_dir / "pose" / f"{name}.txt"),
        "depth": torch.from_numpy(depth),
        "mask": torch.from_numpy(np.asarray(Image.open(scene_dir / "mask" / f"{name}.png")) > 0),
        "normals": torch.from_numpy(2 * normal_rgb / 255 - 1),
        "parts": torch.from_numpy(np.asarray(Image.open(scene_dir / "parts" / f"{name}.png")).astype(np.int64)),
    }


# ----------------------------------------------------------------------------------------------------
# Layout and metadata


@pytest.mark.parametrize("category", CATEGORIES)
def test_layout_and_metadata_complete(datasets: dict[str, Path], category: str) -> None:
    root = datasets[category]
    meta = json.loads((root / "metadata.json").read_text())
    for key in ("format", "version", "generator", "category", "seed", "resolution", "views_per_scene", "splits",
                "depth_scale", "world_up", "part_names", "camera", "input_views", "near_far", "scene_bounds"):
        assert key in meta, key
    assert meta["format"] == "sceneprior-srn" and meta["version"] == 1 and meta["category"] == category
    assert meta["splits"] == {"train": 3, "val": 2, "test": 2, "test_ood_pose": 2}
    assert meta["views_per_scene"] == {s: VIEWS for s in ALL_SPLITS}
    assert meta["part_names"] == PART_NAMES[category] and meta["part_names"][0] == "background"
    assert meta["world_up"] == [0, 1, 0]
    half = 1.0 if category == "rooms" else 0.5
    assert meta["scene_bounds"] == [[-half] * 3, [half] * 3]
    assert meta["input_views"] == {"val": [0, 1], "test": [0, 1], "test_ood_pose": [0, 1]}
    for split in ALL_SPLITS + ("fov_deg",):
        assert split in meta["camera"]
    near, far = meta["near_far"]
    assert 0 < near < far and far / meta["depth_scale"] < 65535
    n_parts = len(meta["part_names"])
    for split, count in meta["splits"].items():
        scenes = sorted((root / f"{category}_{split}").iterdir())
        assert [s.name for s in scenes] == [f"{i:06d}" for i in range(count)]
        for scene_dir in scenes:
            for sub in ("rgb", "pose", "depth", "normal", "mask", "parts"):
                ext = "txt" if sub == "pose" else "png"
                assert sorted(p.name for p in (scene_dir / sub).iterdir()) == [f"{i:06d}.{ext}" for i in range(VIEWS)]
            K, h, w = _read_intrinsics(scene_dir / "intrinsics.txt")
            assert (h, w) == (RES, RES) and K[0, 2] == RES / 2 and K[1, 2] == RES / 2
            assert abs(K[0, 0].item() - 0.5 * RES / math.tan(math.radians(meta["camera"]["fov_deg"]) / 2)) < 1e-4
            for view in range(VIEWS):
                name = f"{view:06d}.png"
                modes = {sub: Image.open(scene_dir / sub / name) for sub in ("rgb", "depth", "normal", "mask", "parts")}
                assert {k: im.size for k, im in modes.items()} == {k: (RES, RES) for k in modes}
                assert modes["rgb"].mode == "RGB" and modes["normal"].mode == "RGB"
                assert modes["depth"].mode in ("I;16", "I;16L", "I;16B", "I")
                assert modes["mask"].mode == "L" and modes["parts"].mode == "L"
                mask = np.asarray(modes["mask"])
                assert set(np.unique(mask)) <= {0, 255} and mask.any()
                parts = np.asarray(modes["parts"])
                assert parts.max() < n_parts and np.array_equal(parts > 0, mask > 0)
                rgb = np.asarray(modes["rgb"])
                near_object = binary_dilation(mask > 0, structure=np.ones((3, 3), bool))
                assert (rgb[~near_object] == 255).all()  # white background away from anti-aliased edges
                rotation = _read_pose(scene_dir / "pose" / f"{view:06d}.txt")[:3, :3]
                ortho, det = rotation_error(rotation)
                assert ortho < 1e-6 and abs(det - 1) < 1e-6
            points = np.load(scene_dir / "points.npz", allow_pickle=False)
            assert points["points"].dtype == np.float32 and points["points"].shape == (2000, 3)
            assert points["normals"].dtype == np.float32 and points["parts"].dtype == np.uint8
            assert set(np.unique(points["parts"])) <= set(range(1, n_parts))
            sdf = np.load(scene_dir / "sdf.npz", allow_pickle=False)
            assert sdf["points"].shape == (3000, 3) and sdf["sdf"].dtype == np.float32 and sdf["occupancy"].dtype == np.uint8
            info = json.loads((scene_dir / "scene.json").read_text())
            assert info["category"] == category and info["primitives"] and len(info["views"]) == VIEWS
    # nothing half-written is left next to the dataset
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]


def test_resolution_128_works(tmp_path: Path) -> None:
    root = generate_dataset(_config(tmp_path / "d", "chairs", objects=1, views=2, resolution=128, splits=("train",)))
    scene_dir = root / "chairs_train" / "000000"
    assert Image.open(scene_dir / "rgb" / "000001.png").size == (128, 128)
    K, h, w = _read_intrinsics(scene_dir / "intrinsics.txt")
    assert (h, w) == (128, 128) and K[0, 2] == 64.0
    meta = json.loads((root / "metadata.json").read_text())
    assert meta["splits"] == {"train": 1} and meta["resolution"] == 128 and "input_views" in meta


def test_png_encoder_round_trips_through_pillow_and_image_io(tmp_path: Path) -> None:
    from sceneprior.data.generator.dataset import png_bytes
    from sceneprior.data.image_io import read_gray16, read_labels, read_rgb

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (6, 9), dtype=np.uint8)
    depth = rng.integers(0, 65536, (5, 4), dtype=np.uint16)
    for name, array in (("rgb", rgb), ("gray", gray), ("depth", depth)):
        (tmp_path / f"{name}.png").write_bytes(png_bytes(array))
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"{name}.png")).astype(np.int64), array.astype(np.int64))
    assert np.allclose(read_rgb(tmp_path / "rgb.png") * 255, rgb, atol=1e-3)
    assert np.array_equal(read_labels(tmp_path / "gray.png"), gray.astype(np.int64))
    assert np.array_equal(read_gray16(tmp_path / "depth.png"), depth.astype(np.float32))


# ----------------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_identical_files_different_seed_different(tmp_path: Path, datasets: dict[str, Path]) -> None:
    again = generate_dataset(_config(tmp_path / "again", "cars"))
    assert _digest(again) == _digest(datasets["cars"])
    other = generate_dataset(_config(tmp_path / "other", "cars", seed=1))
    a, b = _digest(other), _digest(datasets["cars"])
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k] != b[k] and k.endswith(".png") and "/rgb/" in k]
    assert len(differing) > 0.9 * sum("/rgb/" in k for k in a)


def test_worker_count_does_not_change_files(tmp_path: Path) -> None:
    kw = dict(objects=2, views=2, test_objects=1, val_objects=1, surface_points=500, sdf_samples=500)
    one = generate_dataset(_config(tmp_path / "one", "chairs", workers=1, **kw))
    two = generate_dataset(_config(tmp_path / "two", "chairs", workers=2, **kw))
    assert _digest(one) == _digest(two)


def test_scene_depends_only_on_seed_split_index() -> None:
    config = GeneratorConfig(category="cars", objects=5, views=3, resolution=16)
    a = make_scene(config, "train", 3)
    b = make_scene(GeneratorConfig(category="cars", objects=50, views=3, resolution=16), "train", 3)
    assert a.scene.to_json() == b.scene.to_json() and torch.equal(a.cam2world, b.cam2world)
    c = make_scene(config, "test", 3)
    assert c.scene.to_json() != a.scene.to_json()  # held-out objects are different shapes
    ood = make_scene(config, "test_ood_pose", 3)
    assert ood.scene.to_json() == c.scene.to_json()  # same held-out objects, other poses


# ----------------------------------------------------------------------------------------------------
# Exact geometry


def _scene_and_views(category: str, seed: int, res: int = 48, views: int = 3, dtype: torch.dtype = torch.float64):
    scene = sample_scene(category, np.random.default_rng(seed))
    setup = camera_setup(category)
    cams, _ = sample_orbit(np.random.default_rng(1000 + seed), setup.train, views, setup.target)
    K = intrinsics_for(res, setup.fov_deg, dtype=dtype)
    return scene, cams.to(dtype), K, render_views(scene, cams.to(dtype), K, res, res)


@pytest.mark.parametrize("category", CATEGORIES)
def test_depth_lies_on_sdf_surface_and_is_the_nearest_hit(category: str) -> None:
    for seed in range(2):
        scene, cams, K, out = _scene_and_views(category, seed, res=32)
        assert torch.equal(out.mask, out.depth > 0)
        points = _unproject(out.depth, cams, K)
        assert scene_sdf(scene, points[out.mask]).abs().max() < 1e-9
        # nothing in front of the hit: the SDF is positive along the ray before it (and on missed rays)
        eye = cams[:, None, None, :3, 3].expand_as(points)
        fractions = torch.linspace(0.0, 0.995, 40, dtype=torch.float64)
        far = torch.where(out.mask[..., None], points, eye + 6.0 * (points - eye))  # miss: any far point
        far = torch.where(out.mask[..., None], far, eye + 6.0 * torch.nn.functional.normalize(
            _unproject(torch.ones_like(out.depth), cams, K) - eye, dim=-1))
        samples = eye[..., None, :] + fractions[:, None] * (far - eye)[..., None, :]
        assert scene_sdf(scene, samples.reshape(-1, 3)).min() > 0


@pytest.mark.parametrize("category", CATEGORIES)
def test_normals_match_sdf_gradient(category: str) -> None:
    scene, cams, K, out = _scene_and_views(category, 7)
    points = _unproject(out.depth, cams, K)[out.mask]
    eps = 1e-6
    grad = torch.stack(
        [(scene_sdf(scene, points + eps * e) - scene_sdf(scene, points - eps * e)) / (2 * eps) for e in torch.eye(3, dtype=torch.float64)], -1
    )
    normals = out.normals[out.mask]
    assert torch.allclose(normals.norm(dim=-1), torch.ones(len(normals), dtype=torch.float64), atol=1e-9)
    cos = (torch.nn.functional.normalize(grad, dim=-1) * normals).sum(-1)
    assert (cos > 0.999).double().mean() > 0.98  # the rest sit on edges, where the gradient is not defined
    # every normal faces the camera
    eye = cams[:, None, None, :3, 3].expand(*out.depth.shape, 3)[out.mask]
    assert ((normals * (eye - points)).sum(-1) > 0).all()


def test_adaptive_supersampling_matches_full_supersampling() -> None:
    for category in CATEGORIES:
        scene, cams, K, out = _scene_and_views(category, 3, res=40)
        full = render_views(scene, cams, scale_intrinsics(K, 2.0, 2.0), 80, 80, supersample=1)
        reference = reduce(full.rgb, "v (h a) (w b) c -> v h w c", "mean", a=2, b=2)
        diff = (out.rgb - reference).abs().amax(-1)
        assert (diff < 1e-9).double().mean() > 0.995 and diff.mean() < 2e-3


@pytest.mark.parametrize("category", CATEGORIES)
def test_files_agree_with_geometry(datasets: dict[str, Path], category: str) -> None:
    root = datasets[category]
    meta = json.loads((root / "metadata.json").read_text())
    scale = meta["depth_scale"]
    config = _config(root, category)
    for split in ("train", "test_ood_pose"):
        scene_dir = root / f"{category}_{split}" / "000001"
        sample = make_scene(config, split, 1)
        K, _, _ = _read_intrinsics(scene_dir / "intrinsics.txt")
        for view in range(VIEWS):
            v = _load_view(scene_dir, view, scale)
            assert torch.equal(v["mask"], v["depth"] > 0)
            assert torch.allclose(v["cam2world"], sample.cam2world[view], atol=1e-8)
            points = unproject_depth(v["depth"], v["cam2world"], K)[v["mask"]]
            sdf = scene_sdf(sample.scene, points)
            assert sdf.abs().max() < 2e-4  # 16-bit depth quantisation (depth_scale / 2 along the optical axis)
            normals = v["normals"][v["mask"]]
            assert (normals.norm(dim=-1) - 1).abs().max() < 0.02


@pytest.mark.parametrize("category", CATEGORIES)
def test_surface_points_and_sdf_samples(datasets: dict[str, Path], category: str) -> None:
    root = datasets[category]
    scene_dir = root / f"{category}_train" / "000000"
    scene = make_scene(_config(root, category), "train", 0).scene
    pts = np.load(scene_dir / "points.npz", allow_pickle=False)
    points = torch.from_numpy(pts["points"]).double()
    assert scene_sdf(scene, points).abs().max() < 1e-5
    eps = 1e-4
    grad = torch.stack([(scene_sdf(scene, points + eps * e) - scene_sdf(scene, points - eps * e)) / (2 * eps) for e in torch.eye(3, dtype=torch.float64)], -1)
    cos = (torch.nn.functional.normalize(grad, dim=-1) * torch.from_numpy(pts["normals"]).double()).sum(-1)
    assert (cos > 0.99).double().mean() > 0.97
    # samples lie on the visible surface: a step along the normal leaves the shape (no buried faces)
    outside = scene_sdf(scene, points + 1e-3 * torch.from_numpy(pts["normals"]).double()) > 0
    assert outside.double().mean() > 0.99
    q = np.load(scene_dir / "sdf.npz", allow_pickle=False)
    assert np.array_equal(q["occupancy"], (q["sdf"] < 0).astype(np.uint8))
    recomputed = scene_sdf(scene, torch.from_numpy(q["points"]).double()).numpy()
    assert np.abs(recomputed - q["sdf"]).max() < 1e-5
    inside = q["occupancy"].mean()
    assert 0.05 < inside < 0.8
    lo, hi = np.asarray(scene.bounds[0]), np.asarray(scene.bounds[1])
    assert (q["points"] >= lo - 1e-6).all() and (q["points"] <= hi + 1e-6).all()
    near = np.abs(q["sdf"]) < 0.05 * (hi[0] - lo[0])
    assert near.mean() > 0.5  # mostly near-surface samples (DeepSDF style)


def _reprojection_rate(scene_dir: Path, depth_scale: float, shift_px: float = 0.0) -> float:
    """Unproject view 0's depth, project into views 1-3: the fraction of the points not occluded there
    (their depth is not behind the other view's depth) that land on the other view's mask. A point lands
    on the mask when one of the four pixel centres around it is foreground (pixel-centre discretisation)."""
    K, h, w = _read_intrinsics(scene_dir / "intrinsics.txt")
    a = _load_view(scene_dir, 0, depth_scale)
    points = unproject_depth(a["depth"], a["cam2world"], K)[a["mask"]]
    K_other = K.clone()
    K_other[0, 2] += shift_px
    hits, total = 0, 0
    for other in (1, 2, 3):
        b = _load_view(scene_dir, other, depth_scale)
        uv, z = project(points, b["cam2world"], K_other)
        base = (uv - 0.5).floor().long()  # top-left of the four pixel centres around uv
        on_mask = torch.zeros(len(points), dtype=torch.bool)
        nearest_depth = torch.full((len(points),), math.inf, dtype=torch.float64)
        valid = (z > 0) & (base[:, 0] >= 0) & (base[:, 0] < w - 1) & (base[:, 1] >= 0) & (base[:, 1] < h - 1)
        for dy in (0, 1):
            for dx in (0, 1):
                col = (base[:, 0] + dx).clamp(0, w - 1)
                row = (base[:, 1] + dy).clamp(0, h - 1)
                m = b["mask"][row, col]
                on_mask |= m
                nearest_depth = torch.where(m, torch.minimum(nearest_depth, b["depth"][row, col]), nearest_depth)
        occluded = on_mask & (nearest_depth < z - 0.02)  # something in front of the point there
        visible = valid & ~occluded
        hits += int((on_mask & visible).sum())
        total += int(visible.sum())
    assert total > 100
    return hits / total


@pytest.mark.parametrize("category", CATEGORIES)
def test_reprojection_between_views_lands_on_mask(tmp_path: Path, category: str) -> None:
    root = generate_dataset(_config(tmp_path / "d", category, objects=2, views=4, resolution=64, splits=("train",)))
    scale = json.loads((root / "metadata.json").read_text())["depth_scale"]
    for scene_dir in sorted((root / f"{category}_train").iterdir()):
        assert _reprojection_rate(scene_dir, scale) >= 0.98
        assert _reprojection_rate(scene_dir, scale, shift_px=3.0) < 0.95  # the check notices a wrong camera


# ----------------------------------------------------------------------------------------------------
# Cameras


def test_orbit_cameras_look_at_target_with_y_up() -> None:
    az = torch.tensor([0.0, 90.0, 200.0], dtype=torch.float64)
    el = torch.tensor([10.0, 45.0, -10.0], dtype=torch.float64)
    dist = torch.tensor([1.5, 2.0, 3.0], dtype=torch.float64)
    target = (0.1, -0.2, 0.05)
    cams = orbit_cameras(az, el, dist, target)
    K = intrinsics_for(64, 40.0)
    uv, z = project(torch.tensor(target, dtype=torch.float64).expand(3, 3), cams, K)
    assert torch.allclose(uv, torch.full_like(uv, 32.0), atol=1e-9) and torch.allclose(z, dist)
    above, _ = project(torch.tensor(target, dtype=torch.float64).expand(3, 3) + torch.tensor([0.0, 0.1, 0.0], dtype=torch.float64), cams, K)
    assert (above[:, 1] < 32.0).all() and torch.allclose(above[:, 0], torch.full((3,), 32.0, dtype=torch.float64), atol=1e-9)
    a, e, d = camera_angles(cams, target)
    assert torch.allclose(a, az) and torch.allclose(e, el) and torch.allclose(d, dist)


@pytest.mark.parametrize("category", CATEGORIES)
def test_ood_pose_cameras_are_outside_the_training_range(datasets: dict[str, Path], category: str) -> None:
    root = datasets[category]
    meta = json.loads((root / "metadata.json").read_text())
    target = tuple(meta["camera"]["target"])
    (el_lo, el_hi), (d_lo, d_hi) = meta["camera"]["train"]["elevation_deg"], meta["camera"]["train"]["distance"]
    first_ood = meta["camera"]["test_ood_pose"]["ood_views_from"]

    def angles(split: str, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        scene_dir = root / f"{category}_{split}" / f"{index:06d}"
        cams = torch.stack([_read_pose(scene_dir / "pose" / f"{v:06d}.txt") for v in range(VIEWS)])
        return camera_angles(cams, target)

    tol = 1e-4
    for split in ("train", "val", "test"):
        for index in range(meta["splits"][split]):
            _, el, dist = angles(split, index)
            assert ((el >= el_lo - tol) & (el <= el_hi + tol) & (dist >= d_lo - tol) & (dist <= d_hi + tol)).all()
    for index in range(meta["splits"]["test_ood_pose"]):
        az, el, dist = angles("test_ood_pose", index)
        el_ood, dist_ood = el[first_ood:], dist[first_ood:]
        assert ((el_ood < el_lo - 1) | (el_ood > el_hi + 1)).all()
        assert ((dist_ood < d_lo - 0.05) | (dist_ood > d_hi + 0.05)).all()
        # the source views are in range, identical to test's, and well separated
        az_t, el_t, dist_t = angles("test", index)
        assert torch.allclose(az[:2], az_t[:2]) and torch.allclose(el[:2], el_t[:2])
        separation = (az[0] - az[1]).abs() % 360
        assert min(separation, 360 - separation) >= 90


# ----------------------------------------------------------------------------------------------------
# Errors, atomic output, preview, CLI


@pytest.mark.parametrize(
    "change, message",
    [({"objects": 0}, "--objects"), ({"views": 0}, "--views"), ({"resolution": 4}, "--resolution"),
     ({"resolution": 2048}, "--resolution"), ({"category": "boats"}, "--category"), ({"splits": ("train", "tests")}, "split"),
     ({"views": 1}, "test-views"), ({"seed": -1}, "--seed")],
)
def test_bad_arguments_raise_config_error(tmp_path: Path, change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        generate_dataset(_config(tmp_path / "d", **change))  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert not (tmp_path / "d").exists()


def test_unwritable_or_foreign_output_raises_data_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(DataError):
        generate_dataset(_config(blocker / "sub", splits=("train",), objects=1, views=1))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate_dataset(_config(foreign, splits=("train",), objects=1, views=1))
    assert (foreign / "notes.txt").read_text() == "mine"


def test_interrupted_run_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    original = dataset_module._task

    def failing(arguments):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return original(arguments)

    monkeypatch.setattr(dataset_module, "_task", failing)
    with pytest.raises(RuntimeError, match="boom"):
        generate_dataset(_config(tmp_path / "d", splits=("train",), objects=4, views=1))
    assert not (tmp_path / "d").exists()
    assert list(tmp_path.iterdir()) == []


def test_regenerating_replaces_a_previous_dataset(tmp_path: Path) -> None:
    first = generate_dataset(_config(tmp_path / "d", splits=("train",), objects=2, views=1))
    second = generate_dataset(_config(tmp_path / "d", splits=("train",), objects=1, views=1))
    assert first == second and sorted(p.name for p in (second / "cars_train").iterdir()) == ["000000"]
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_cli_generate_and_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sceneprior.cli.main import main

    out, preview = tmp_path / "ds", tmp_path / "preview.png"
    code = main(["data", "generate", "--category", "rooms", "--out", str(out), "--objects", "1", "--views", "2",
                 "--resolution", "16", "--workers", "1", "--test-objects", "1", "--val-objects", "1", "--preview", str(preview)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "views/s" in printed and (out / "metadata.json").is_file()
    grid = np.asarray(Image.open(preview))
    assert grid.ndim == 3 and grid.shape[1] == 4 * 128  # rgb | depth | normals | parts, upscaled to 128 px
    code = main(["data", "generate", "--out", str(tmp_path / "bad"), "--objects", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--objects" in err
