"""Loaders of the SRN and NeRF-Blender layouts, format detection, the writers, and the issue's "done when"
checks (depth of one view lands on the other views' masks, through both layouts).

Scenes are made here: an analytic sphere rendered exactly (colour, mask, z-depth, normals) for a few
cameras, so every expected number is known."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sceneprior.data.blender import BlenderDataset
from sceneprior.data.datasets import detect_format, open_dataset
from sceneprior.data.export import export_blender, export_srn_scene
from sceneprior.data.srn import PointSamples, SRNDataset, read_srn_intrinsics
from sceneprior.data.types import SceneViews
from sceneprior.errors import DataError
from sceneprior.geometry import (
    focal_from_fov,
    intrinsics_matrix,
    look_at,
    opencv_to_opengl,
    opengl_to_opencv,
    project,
    unproject_depth,
)

SPHERE_RADIUS = 0.4
DEPTH_SCALE = 1e-4


# --------------------------------------------------------------------------------------------------- helpers


def ring_cameras(num_views: int, distance: float = 2.0, elevation_deg: float = 25.0) -> torch.Tensor:
    """OpenCV cam2world (float64) on a ring around the origin, looking at it, y up."""
    angles = torch.arange(num_views, dtype=torch.float64) * (2 * math.pi / num_views)
    elevation = math.radians(elevation_deg)
    eye = torch.stack(
        [distance * math.cos(elevation) * torch.cos(angles), torch.full_like(angles, distance * math.sin(elevation)),
         distance * math.cos(elevation) * torch.sin(angles)], -1)
    return look_at(eye, torch.zeros_like(eye), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(eye))


def render_sphere(cam2world: torch.Tensor, K: torch.Tensor, height: int, width: int, scene_id: str = "000000") -> SceneViews:
    """Exact render of a sphere at the origin: colour from the normal, mask, z-depth, normals (float32)."""
    cam2world, K = cam2world.double(), K.double()
    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float64) + 0.5, torch.arange(width, dtype=torch.float64) + 0.5, indexing="ij")
    images, masks, depths, normals = [], [], [], []
    for c2w, k in zip(cam2world, K):
        dirs_cam = torch.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], torch.ones_like(u)], -1)
        dirs = dirs_cam @ c2w[:3, :3].T  # z-depth t along these directions
        origin = c2w[:3, 3]
        a = (dirs * dirs).sum(-1)
        b = 2 * (dirs @ origin)
        c = origin.dot(origin) - SPHERE_RADIUS**2
        disc = b * b - 4 * a * c
        hit = disc > 0
        t = torch.where(hit, (-b - disc.clamp_min(0).sqrt()) / (2 * a), torch.zeros_like(a))
        points = origin + dirs * t[..., None]
        n = torch.nn.functional.normalize(points, dim=-1) * hit[..., None]
        colour = torch.where(hit[..., None], 0.5 + 0.4 * n, torch.ones_like(n))
        images.append(colour.permute(2, 0, 1))
        masks.append(hit[None].double())
        depths.append((t * hit)[None])
        normals.append(n.permute(2, 0, 1))
    images_t = (torch.stack(images) * 255).round() / 255  # exactly representable in 8 bits
    return SceneViews(
        scene_id=scene_id,
        view_ids=[f"{k:06d}" for k in range(len(cam2world))],
        images=images_t.float(),
        cam2world=cam2world.float(),
        intrinsics=K.float(),
        masks=torch.stack(masks).float(),
        depths=((torch.stack(depths) / DEPTH_SCALE).round() * DEPTH_SCALE).float(),
        normals=torch.stack(normals).float(),
    )


def sphere_views(num_views: int = 4, size: int = 32, scene_id: str = "000000") -> SceneViews:
    cams = ring_cameras(num_views)
    K = intrinsics_matrix(1.2 * size, 1.2 * size, size / 2, size / 2, dtype=torch.float64).expand(num_views, 3, 3)
    return render_sphere(cams, K, size, size, scene_id)


def write_metadata(root: Path, **extra) -> None:
    root.mkdir(parents=True, exist_ok=True)
    meta = {"format": "sceneprior-srn", "version": 1, "category": "spheres", "depth_scale": DEPTH_SCALE, **extra}
    (root / "metadata.json").write_text(json.dumps(meta))


def make_srn_dataset(root: Path, num_scenes: int = 2, num_views: int = 4, size: int = 32, pose_block: bool = False) -> Path:
    """<root>/metadata.json + <root>/spheres_train/<scene>/...; returns the split folder."""
    write_metadata(root)
    split = root / "spheres_train"
    for s in range(num_scenes):
        export_srn_scene(sphere_views(num_views, size, f"{s:06d}"), split / f"{s:06d}", DEPTH_SCALE, pose_block=pose_block)
    return split


def make_blender_dataset(folder: Path, num_views: int = 4, size: int = 32) -> Path:
    views = sphere_views(num_views, size)
    export_blender(views, folder, {"train": list(range(num_views - 1)), "test": [num_views - 1]}, DEPTH_SCALE)
    return folder


def reprojection_agreement(views: SceneViews, a: int, b: int) -> tuple[float, float]:
    """Unproject view a's depth and project it into view b; a free-space consistency check.

    Returns (fraction of the points not occluded in b that land on b's foreground mask and not in front
    of the surface b sees, median |projected z - b's depth| where they land on b's foreground).
    One pixel of slack: "on the mask" uses the mask dilated by a 3x3 window, and "in front" compares with
    the nearest depth of the 3x3 window, since a surface point near an edge can fall in a pixel whose centre
    sees the background or a farther surface. Occluded in b: b's depth at that pixel is clearly smaller.
    """
    depth_a = views.depths[a, 0].double()
    depth_b = views.depths[b, 0].double()
    mask_b = (views.masks[b, 0].double() > 0.5) & (depth_b > 0)
    points = unproject_depth(depth_a, views.cam2world[a].double(), views.intrinsics[a].double())[depth_a > 0]
    uv, z = project(points, views.cam2world[b].double(), views.intrinsics[b].double())
    height, width = depth_b.shape
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height) & (z > 0)
    cols = uv[:, 0].clamp(0, width - 1).long()
    rows = uv[:, 1].clamp(0, height - 1).long()
    window = lambda x: torch.nn.functional.max_pool2d(x[None, None], 3, 1, 1)[0, 0]  # noqa: E731
    dilated = window(mask_b.double()) > 0.5
    nearest = -window(-torch.where(mask_b, depth_b, torch.full_like(depth_b, math.inf)))
    seen_depth = depth_b[rows, cols]
    tolerance = 0.02 + 0.02 * z
    occluded = mask_b[rows, cols] & (seen_depth < z - tolerance)
    in_front = nearest[rows, cols] > z + tolerance
    candidates = ~occluded
    landed = candidates & inside & dilated[rows, cols] & ~in_front
    fraction = landed.double().sum() / candidates.double().sum().clamp_min(1)
    agree = candidates & mask_b[rows, cols]
    error = (seen_depth[agree] - z[agree]).abs().median() if agree.any() else torch.tensor(math.inf)
    return float(fraction), float(error)


# --------------------------------------------------------------------------------------------------- SRN


@pytest.mark.parametrize("pose_block", [False, True])
def test_srn_round_trip(tmp_path: Path, pose_block: bool):
    split = make_srn_dataset(tmp_path / "data", num_scenes=2, num_views=3, pose_block=pose_block)
    pose_text = (split / "000000" / "pose" / "000000.txt").read_text()
    assert len(pose_text.strip().splitlines()) == (4 if pose_block else 1)
    expected = sphere_views(3)
    dataset = SRNDataset(split)
    assert len(dataset) == 2 and dataset.scene_ids == ["000000", "000001"] and dataset.num_views(0) == 3
    assert dataset.metadata["depth_scale"] == DEPTH_SCALE
    views = dataset[0]
    assert views.view_ids == expected.view_ids
    assert torch.equal(views.cam2world, expected.cam2world)
    assert torch.equal(views.intrinsics, expected.intrinsics)
    assert torch.allclose(views.images, expected.images, atol=1e-6)
    assert torch.equal(views.masks, expected.masks)
    assert torch.allclose(views.depths, expected.depths, atol=1e-6)
    assert torch.allclose(views.normals, expected.normals, atol=1.0 / 127)
    subset = dataset.load_views(1, [2, 0])
    assert subset.view_ids == ["000002", "000000"] and torch.equal(subset.cam2world, expected.cam2world[[2, 0]])
    assert dataset.load_extras and SRNDataset(split, load_extras=False)[0].depths is None


def test_srn_world2cam_flag_and_declared_resolution(tmp_path: Path):
    """5th intrinsics line 1: poses are world-to-camera. Line 4 'H W' larger than the files: K is scaled."""
    scene = tmp_path / "scene"
    views = sphere_views(2, 32)
    export_srn_scene(views, scene)
    for k in range(2):
        world2cam = torch.linalg.inv(views.cam2world[k].double()).numpy()
        (scene / "pose" / f"{k:06d}.txt").write_text(" ".join(repr(float(v)) for v in world2cam.ravel()))
    # the same camera described at 128x128: f, cx, cy four times larger
    (scene / "intrinsics.txt").write_text(f"{1.2 * 128} 64. 64. 0.\n0. 0. 0.\n1.\n128 128\n1\n")
    intrinsics = read_srn_intrinsics(scene / "intrinsics.txt")
    assert intrinsics.world2cam and (intrinsics.height, intrinsics.width) == (128, 128)
    loaded = SRNDataset(scene)[0]
    assert torch.allclose(loaded.cam2world, views.cam2world, atol=1e-6)
    assert torch.allclose(loaded.intrinsics, views.intrinsics, atol=1e-5)


def test_srn_intrinsics_scaled_on_resize(tmp_path: Path):
    """image_size=16 on 32-pixel files: K halves, and a projected 3D point lands at the halved pixel —
    checked against the picture: the silhouette's centroid moves with the projection of the sphere centre."""
    split = make_srn_dataset(tmp_path / "data", num_scenes=1, num_views=4, size=32)
    full = SRNDataset(split)[0]
    small = SRNDataset(split, image_size=16)[0]
    assert small.images.shape == (4, 3, 16, 16) and small.depths.shape == (4, 1, 16, 16)
    assert torch.allclose(small.intrinsics[:, :2], full.intrinsics[:, :2] * 0.5)
    point = torch.tensor([0.1, 0.2, -0.05], dtype=torch.float32)
    uv_full, _ = project(point, full.cam2world[0], full.intrinsics[0])
    uv_small, _ = project(point, small.cam2world[0], small.intrinsics[0])
    assert torch.allclose(uv_small, uv_full * 0.5, atol=1e-5)
    for views in (full, small):
        mask = views.masks[0, 0]
        v, u = torch.nonzero(mask > 0.5, as_tuple=True)
        centroid = torch.stack([u.float().mean() + 0.5, v.float().mean() + 0.5])
        centre_uv, _ = project(torch.zeros(3, dtype=torch.float32), views.cam2world[0], views.intrinsics[0])
        assert (centroid - centre_uv).abs().max() < 0.35
    # depth stays consistent with the scaled cameras (one pixel spans ~0.1 in depth at this size)
    fraction, error = reprojection_agreement(small, 0, 1)
    assert fraction >= 0.98 and error < 0.05


def test_srn_converts_image_modes(tmp_path: Path):
    """RGBA, grayscale, 16-bit and palette images are converted, not rejected."""
    scene = tmp_path / "scene"
    export_srn_scene(sphere_views(4, 8), scene)
    rgb = np.full((8, 8, 3), 200, np.uint8)
    rgba = np.concatenate([rgb, np.zeros((8, 8, 1), np.uint8)], -1)
    Image.fromarray(rgba, "RGBA").save(scene / "rgb" / "000000.png")  # fully transparent -> white
    Image.fromarray(np.full((8, 8), 51, np.uint8), "L").save(scene / "rgb" / "000001.png")
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(scene / "rgb" / "000002.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(scene / "rgb" / "000003.png")
    images = SRNDataset(scene, load_extras=False)[0].images
    assert torch.allclose(images[0], torch.ones(3, 8, 8, dtype=torch.float32))
    assert torch.allclose(images[1], torch.full((3, 8, 8), 0.2, dtype=torch.float32))
    assert torch.allclose(images[2], torch.ones(3, 8, 8, dtype=torch.float32))
    assert torch.allclose(images[3], torch.full((3, 8, 8), 200 / 255, dtype=torch.float32), atol=0.02)


def test_point_samples(tmp_path: Path):
    split = make_srn_dataset(tmp_path / "data", num_scenes=1, num_views=1)
    scene = split / "000000"
    rng = np.random.default_rng(0)
    np.savez(scene / "points.npz", points=rng.normal(size=(10, 3)).astype(np.float32),
             normals=rng.normal(size=(10, 3)).astype(np.float32), parts=np.ones(10, np.uint8))
    np.savez(scene / "sdf.npz", points=rng.normal(size=(7, 3)).astype(np.float32), sdf=np.zeros(7, np.float32),
             occupancy=np.ones(7, np.uint8))
    samples = PointSamples(split)
    sample = samples[0]
    assert sample.surface_points.shape == (10, 3) and sample.query_sdf.shape == (7,) and sample.surface_parts.shape == (10,)
    assert SRNDataset(split).load_points(0).query_occupancy.sum() == 7
    np.savez(scene / "sdf.npz", points=np.zeros((7, 3)), sdf=np.array([object()] * 7, dtype=object), occupancy=np.ones(7))
    with pytest.raises(DataError, match="sdf.npz"):
        samples[0]


def test_dataset_pickles_for_workers(tmp_path: Path):
    """DataLoader workers receive the dataset pickled: it must hold file names only."""
    split = make_srn_dataset(tmp_path / "data", num_scenes=2, num_views=2)
    dataset = SRNDataset(split, image_size=16)
    clone = pickle.loads(pickle.dumps(dataset))
    assert torch.equal(clone[1].images, dataset[1].images)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=0)
    assert [v.scene_id for v in loader] == ["000000", "000001"]


# --------------------------------------------------------------------------------------------------- Blender


def write_transforms(folder: Path, cam2world_gl: torch.Tensor, angle_x: float, size: int, extension: bool, **extra) -> None:
    (folder / "train").mkdir(parents=True, exist_ok=True)
    frames = []
    for k, matrix in enumerate(cam2world_gl):
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[: size // 2, :, :3] = 10  # top half: opaque dark; bottom half transparent
        rgba[: size // 2, :, 3] = 255
        Image.fromarray(rgba, "RGBA").save(folder / "train" / f"r_{k}.png")
        frames.append({"file_path": f"./train/r_{k}" + (".png" if extension else ""), "transform_matrix": matrix.tolist()})
    (folder / "transforms_train.json").write_text(json.dumps({"camera_angle_x": angle_x, **extra, "frames": frames}))


@pytest.mark.parametrize("extension", [False, True])
def test_blender_reads_look_at_matrices(tmp_path: Path, extension: bool):
    cam2world = ring_cameras(3)
    write_transforms(tmp_path / "lego", opencv_to_opengl(cam2world), 0.69, 16, extension)
    views = BlenderDataset(tmp_path / "lego", split="train")[0]
    assert torch.allclose(views.cam2world.double(), cam2world, atol=1e-6)
    f = focal_from_fov(0.69, 16)
    assert torch.allclose(views.intrinsics[0].double(), intrinsics_matrix(f, f, 8.0, 8.0, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(views.images[:, :, 12], torch.ones(3, 3, 16, dtype=torch.float32))  # transparent -> white
    assert torch.allclose(views.images[:, :, 0], torch.full((3, 3, 16), 10 / 255, dtype=torch.float32))
    assert views.masks[:, 0, :8].min() == 1 and views.masks[:, 0, 8:].max() == 0
    assert views.view_ids == ["train/r_0", "train/r_1", "train/r_2"]


def test_blender_explicit_intrinsics_and_resize(tmp_path: Path):
    cam2world = ring_cameras(2)
    write_transforms(tmp_path / "s", opencv_to_opengl(cam2world), 0.69, 16, False, fl_x=20.0, fl_y=22.0, cx=7.0, cy=9.0, w=32, h=32)
    dataset = BlenderDataset(tmp_path / "s", image_size=8)
    K = dataset[0].intrinsics[0]
    # stated for 32x32, files are 16x16, asked for 8x8: everything scaled by 1/4
    assert torch.allclose(K, torch.tensor([[5.0, 0, 1.75], [0, 5.5, 2.25], [0, 0, 1]], dtype=torch.float32))


def test_export_blender_round_trip(tmp_path: Path):
    views = sphere_views(4, 16)
    written = export_blender(views, tmp_path / "out", ["train", "train", "val", "test"])
    assert sorted(written) == ["test", "train", "val"]
    document = json.loads((tmp_path / "out" / "transforms_train.json").read_text())
    assert document["frames"][0]["file_path"] == "./train/r_0"
    rgba = np.asarray(Image.open(tmp_path / "out" / "train" / "r_0.png"))
    assert rgba.shape == (16, 16, 4) and set(np.unique(rgba[..., 3])) <= {0, 255}
    train = BlenderDataset(tmp_path / "out", "train")[0]
    assert torch.allclose(train.cam2world, views.cam2world[:2], atol=1e-6)
    assert torch.allclose(train.intrinsics, views.intrinsics[:2], atol=1e-5)
    assert torch.allclose(train.images, views.images[:2], atol=1e-6)
    assert torch.equal(train.masks, views.masks[:2])
    assert torch.allclose(train.depths, views.depths[:2], atol=1e-6)
    everything = BlenderDataset(tmp_path / "out", "all")
    assert everything.num_views() == 4 and torch.allclose(everything[0].cam2world[3], views.cam2world[3], atol=1e-6)
    with pytest.raises(DataError, match="already exists"):
        export_blender(views, tmp_path / "out", ["train"] * 4)


# --------------------------------------------------------------------------------------------------- detection


def _integer_centre_points(scene: Path, depth_m: np.ndarray, view: int) -> np.ndarray:
    """World points of every pixel of ``scene``'s view at z-depth ``depth_m``, cast the way SRN's and pixelNeRF's
    code casts rays (pixel (i, j) at (u, v) = (j, i): ``arange(W) - cx``), from the raw files (no sceneprior
    loader): ``f cx cy`` from intrinsics.txt's first line, the pose as 16 numbers (OpenCV camera-to-world)."""
    f, cx, cy, _ = map(float, (scene / "intrinsics.txt").read_text().splitlines()[0].split())
    cam2world = np.loadtxt(scene / "pose" / f"{view:06d}.txt").reshape(4, 4)
    height, width = depth_m.shape
    y, x = np.meshgrid(np.arange(height) - cy, np.arange(width) - cx, indexing="ij")
    cam = np.stack([x / f * depth_m, y / f * depth_m, depth_m], axis=-1)  # z-depth along the optical axis
    return cam @ cam2world[:3, :3].T + cam2world[:3, 3]


def test_export_with_integer_pixel_centres_gives_tools_that_use_them_our_rays(tmp_path: Path):
    """Known answer: rays from the exported intrinsics under the integer convention hit the points our rays hit
    (the sphere's surface at each pixel's depth); from the unexported files they miss by half a pixel."""
    from sceneprior.data.export import export_srn_dataset

    split = make_srn_dataset(tmp_path / "src", num_scenes=1, num_views=2, size=16)
    ours = SRNDataset(split)[0]
    written = export_srn_dataset(tmp_path / "src", tmp_path / "integer", pixel_centres="integer")
    assert written == [tmp_path / "integer" / "spheres_train" / "000000" / "intrinsics.txt"]
    exported = read_srn_intrinsics(written[0])
    assert (exported.cx, exported.cy) == (16 / 2 - 0.5, 16 / 2 - 0.5)
    for k in range(2):
        depth = ours.depths[k, 0].double()
        expected = unproject_depth(depth, ours.cam2world[k].double(), ours.intrinsics[k].double()).numpy()
        fg = ours.masks[k, 0].numpy() > 0.5
        theirs = _integer_centre_points(tmp_path / "integer" / "spheres_train" / "000000", depth.numpy(), k)
        assert np.abs(theirs - expected)[fg].max() < 1e-6
        unshifted = _integer_centre_points(split / "000000", depth.numpy(), k)
        miss = np.linalg.norm(unshifted - expected, axis=-1)[fg]  # half a pixel in x and y: z / f * sqrt(0.5)
        assert miss == pytest.approx(depth.numpy()[fg] / (1.2 * 16) * math.sqrt(0.5), rel=1e-5)
    # our loaders read the convention back (metadata "pixel_centres"): the same cameras as the source
    back = open_dataset(tmp_path / "integer")[0]
    assert torch.allclose(back.intrinsics, ours.intrinsics) and torch.equal(back.images, ours.images)
    assert json.loads((tmp_path / "integer" / "metadata.json").read_text())["pixel_centres"] == "integer"
    # and back to ours: a plain copy of the source's intrinsics
    export_srn_dataset(tmp_path / "integer", tmp_path / "half", pixel_centres="half")
    assert read_srn_intrinsics(tmp_path / "half" / "spheres_train" / "000000" / "intrinsics.txt") == \
        read_srn_intrinsics(split / "000000" / "intrinsics.txt")


def test_export_never_overwrites_and_reads_only_the_srn_layout(tmp_path: Path, capsys):
    from sceneprior.cli.main import main

    make_srn_dataset(tmp_path / "src", num_scenes=1, num_views=1, size=8)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep")
    assert main(["data", "export", str(tmp_path / "src"), "--out", str(tmp_path / "taken"), "--pixel-centres", "integer"]) != 0
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and len(err.splitlines()) == 1
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep"
    make_blender_dataset(tmp_path / "blender", num_views=2, size=8)
    assert main(["data", "export", str(tmp_path / "blender"), "--out", str(tmp_path / "b2")]) != 0
    assert "NeRF-Blender" in capsys.readouterr().err and not (tmp_path / "b2").exists()
    assert main(["data", "export", str(tmp_path / "src" / "spheres_train"), "--out", str(tmp_path / "split"),
                 "--pixel-centres", "integer"]) == 0
    assert read_srn_intrinsics(tmp_path / "split" / "000000" / "intrinsics.txt").cx == 3.5
    assert SRNDataset(tmp_path / "split")[0].intrinsics[0, 0, 2] == 4.0  # its metadata.json says integer


def test_format_detection(tmp_path: Path):
    split = make_srn_dataset(tmp_path / "srn", num_scenes=1, num_views=2)
    blender = make_blender_dataset(tmp_path / "blender")
    assert detect_format(tmp_path / "srn").format == "srn-root"
    assert detect_format(tmp_path / "srn").splits == {"train": split}
    assert detect_format(split).format == "srn-split"
    assert detect_format(split / "000000").format == "srn-scene"
    assert detect_format(blender).format == "nerf-blender"
    assert isinstance(open_dataset(tmp_path / "srn"), SRNDataset)
    assert len(open_dataset(split / "000000", image_size=8)) == 1
    assert open_dataset(tmp_path / "srn", split="train")[0].images.shape == (2, 3, 32, 32)
    assert open_dataset(blender, split="test").num_views() == 1
    with pytest.raises(DataError, match="split 'val'"):
        open_dataset(tmp_path / "srn", split="val")
    with pytest.raises(DataError, match="transforms_val.json"):
        open_dataset(blender, split="val")
    with pytest.raises(DataError, match="does not exist"):
        open_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a recognised dataset"):
        detect_format(tmp_path / "empty")


def test_split_names_are_not_confused(tmp_path: Path):
    write_metadata(tmp_path / "root")
    for split in ("train", "test", "test_ood_pose"):
        export_srn_scene(sphere_views(1, 8), tmp_path / "root" / f"cars_{split}" / "000000")
    location = detect_format(tmp_path / "root")
    assert {k: v.name for k, v in location.splits.items()} == {
        "train": "cars_train", "test": "cars_test", "test_ood_pose": "cars_test_ood_pose"}


# --------------------------------------------------------------------------------------------------- done when


def test_depth_reprojects_onto_masks_srn_and_blender_sphere(tmp_path: Path):
    """The 'done when' check on exact sphere renders, through both layouts."""
    split = make_srn_dataset(tmp_path / "srn", num_scenes=1, num_views=6, size=48)
    views = SRNDataset(split)[0]
    for a, b in [(0, 1), (2, 3), (5, 0)]:
        fraction, error = reprojection_agreement(views, a, b)
        assert fraction >= 0.98 and error < 0.01, (a, b, fraction, error)
    export_blender(views, tmp_path / "blender", {"train": [0, 1, 2], "test": [3, 4, 5]})
    read_back = BlenderDataset(tmp_path / "blender", "all")[0]
    for a, b in [(0, 1), (4, 3)]:
        fraction, error = reprojection_agreement(read_back, a, b)
        assert fraction >= 0.98 and error < 0.01, (a, b, fraction, error)


# --------------------------------------------------------------------------------------------------- done when (generator)


def nearest_pairs(cam2world: torch.Tensor, count: int) -> list[tuple[int, int]]:
    """(a, b) pairs of the first ``count`` views with the view whose optical axis is closest to theirs."""
    axes = cam2world[:, :3, 2].double()
    cosine = axes @ axes.T
    cosine.fill_diagonal_(-2.0)
    return [(a, int(cosine[a].argmax())) for a in range(count)]


@pytest.mark.parametrize("category", ["cars", "chairs"])
def test_done_when_generated_dataset_srn_and_blender(tmp_path: Path, category: str):
    """A generated dataset read through the SRN loader: every view's depth, unprojected and projected into
    its nearest neighbour view, lands on that view's mask (>= 98% of points not occluded there) at the
    depth that view saw. The same through a NeRF-Blender folder written by export_blender (depth kept as an
    extra) from a scene rendered with render_views."""
    from sceneprior.data.generator import (
        GeneratorConfig,
        camera_setup,
        generate_dataset,
        intrinsics_for,
        orbit_cameras,
        render_views,
        sample_scene,
    )

    root = generate_dataset(GeneratorConfig(
        category=category, out=tmp_path / category, objects=1, views=8, resolution=48, splits=("train",), workers=1,
        surface_points=64, sdf_samples=64, supersample=1,
    ))
    dataset = open_dataset(root)
    assert isinstance(dataset, SRNDataset) and len(dataset) == 1
    views = dataset[0]
    assert views.depths is not None and views.masks is not None and views.normals is not None and views.parts is not None
    assert dataset.load_points(0).surface_points.shape == (64, 3)
    for a, b in nearest_pairs(views.cam2world, views.num_views):
        fraction, error = reprojection_agreement(views, a, b)
        assert fraction >= 0.98 and error < 0.02, (a, b, fraction, error)
    # the check can fail: OpenGL poses read as OpenCV ones break it
    flipped = SceneViews(**{**views.__dict__, "cam2world": opengl_to_opencv(views.cam2world)})
    assert min(reprojection_agreement(flipped, a, b)[0] for a, b in nearest_pairs(views.cam2world, views.num_views)) < 0.5
    # normals are unit on the foreground, zero elsewhere
    lengths = views.normals.norm(dim=1, keepdim=True)
    assert torch.allclose(lengths[views.masks > 0.5], torch.ones(1, dtype=torch.float32), atol=0.02) and lengths[views.masks < 0.5].max() == 0

    # NeRF-Blender: a scene rendered in memory, exported, read back
    setup = camera_setup(category)
    azimuth = torch.linspace(0.0, 315.0, 8, dtype=torch.float64)
    cams = orbit_cameras(azimuth, torch.full_like(azimuth, 30.0), torch.full_like(azimuth, sum(setup.train.distance[0]) / 2), setup.target)
    K = intrinsics_for(48, setup.fov_deg)
    out = render_views(sample_scene(category, np.random.default_rng(3)), cams, K, 48, 48)
    rendered = SceneViews(
        scene_id="rendered",
        view_ids=[f"{k:06d}" for k in range(8)],
        images=out.rgb.permute(0, 3, 1, 2).float().clamp(0, 1),
        cam2world=cams.float(),
        intrinsics=K.float().expand(8, 3, 3).clone(),
        masks=out.mask[:, None].float(),
        depths=out.depth[:, None].float(),
    )
    export_blender(rendered, tmp_path / "blender", {"train": list(range(6)), "test": [6, 7]})
    read_back = BlenderDataset(tmp_path / "blender", "all")[0]
    assert torch.allclose(read_back.cam2world, rendered.cam2world, atol=1e-6)
    assert torch.allclose(read_back.intrinsics, rendered.intrinsics, atol=1e-4)
    assert torch.equal(read_back.masks, rendered.masks)
    for a, b in nearest_pairs(read_back.cam2world, 8):
        fraction, error = reprojection_agreement(read_back, a, b)
        assert fraction >= 0.98 and error < 0.02, (a, b, fraction, error)
