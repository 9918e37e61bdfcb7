"""Dataset layouts beside SRN that ``train`` / ``eval`` read: NeRF-Blender (one scene, a split folder of scenes, a
root of split folders) and NMR (DVR's multi-category layout). Known answers on files the tests write: a known
world point lands on the known pixel after the loaders' conversion to our convention."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sceneprior.data.datasets import detect_format, open_dataset
from sceneprior.data.image_io import write_png
from sceneprior.errors import DataError
from sceneprior.geometry import look_at
from sceneprior.geometry.cameras import get_rays, project

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------------------------ NeRF-Blender


def test_blender_known_point_projects_to_the_known_pixel(tmp_path: Path):
    """An OpenGL camera at (0, 0, 4) looking down -z with fx = 16 px on a 32-wide image: the world point (1, 1, 0),
    up and right of the axis, is at OpenCV camera (1, -1, 4), so at pixel (16 + 16/4, 16 - 16/4) = (20, 12)."""
    scene = tmp_path / "scene"
    (scene / "train").mkdir(parents=True)
    write_png(scene / "train" / "r_0.png", np.ones((32, 32, 3), np.float32))
    opengl = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]]
    angle = 2 * math.atan(16 / 16)  # fx = 0.5 W / tan(angle / 2) = 16
    (scene / "transforms_train.json").write_text(json.dumps(
        {"camera_angle_x": angle, "frames": [{"file_path": "./train/r_0", "transform_matrix": opengl}]}))
    views = open_dataset(scene, split="train")[0]
    uv, z = project(torch.tensor([1.0, 1.0, 0.0]), views.cam2world[0], views.intrinsics[0])
    assert torch.allclose(uv, torch.tensor([20.0, 12.0]), atol=1e-4) and z.item() == pytest.approx(4.0)
    # and the ray through that pixel's centre... (19.5, 11.5) is the centre of pixel (19, 11); (20, 12) is a corner
    origins, dirs, _ = get_rays(views.cam2world[:1], views.intrinsics[:1], 32, 32)
    point = origins[0, 11, 19] + dirs[0, 11, 19] * (4.0 / dirs[0, 11, 19, 2].neg())
    assert torch.allclose(point, torch.tensor([1.0 - 0.5 / 4, 1.0 + 0.5 / 4, 0.0]), atol=1e-4)


def _toy_srn_and_blender(tmp_path: Path) -> tuple[Path, Path]:
    """A toy SRN dataset and the same scenes exported as a NeRF-Blender root (toys_<split>/<scene>/)."""
    from image_model_toys import write_toy_dataset

    from sceneprior.data.export import export_blender

    srn = write_toy_dataset(tmp_path / "srn", {"train": 2, "test": 2}, views=4, size=16)
    blender = tmp_path / "blender"
    for split in ("train", "test"):
        dataset = open_dataset(srn, split=split)
        for i in range(len(dataset)):
            views = dataset[i]
            export_blender(views, blender / f"toys_{split}" / views.scene_id, ["all"] * views.num_views)
    shutil.copy(srn / "metadata.json", blender / "metadata.json")
    return srn, blender


def test_blender_root_reads_the_same_scenes_as_its_srn_source(tmp_path: Path):
    srn, blender = _toy_srn_and_blender(tmp_path)
    assert detect_format(blender).format == "nerf-blender-root"
    assert detect_format(blender / "toys_train").format == "nerf-blender-split"
    for split in ("train", "test"):
        a, b = open_dataset(srn, split=split), open_dataset(blender, split=split)
        assert a.scene_ids == b.scene_ids and len(b) == 2
        for i in range(len(a)):
            va, vb = a[i], b[i]
            assert torch.allclose(va.cam2world, vb.cam2world, atol=1e-5)
            assert torch.allclose(va.intrinsics, vb.intrinsics, atol=1e-5)
            assert torch.equal(va.images, vb.images)


def test_train_and_eval_on_blender_layout_match_srn(tmp_path: Path):
    """``train`` and ``eval`` take the Blender root wherever they take SRN: the same checkpoint scores the same
    numbers on the SRN dataset and on its Blender export; one Blender scene trains and evaluates too."""
    from sceneprior.cli.main import main
    from sceneprior.data.export import export_blender

    srn, blender = _toy_srn_and_blender(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--preset", "autoencoder", "--data", str(blender), "--out", str(run), "--steps", "2",
                 "--image-every", "0", "--no-progress"]) == 0
    scores = {}
    for name, data in (("srn", srn), ("blender", blender)):
        out = tmp_path / f"{name}.json"
        assert main(["eval", str(run), "--data", str(data), "--json", str(out)]) == 0
        scores[name] = json.loads(out.read_text())
    assert scores["blender"]["num_objects"] == 2
    assert [o["scene_id"] for o in scores["blender"]["objects"]] == [o["scene_id"] for o in scores["srn"]["objects"]]
    assert scores["blender"]["psnr"] == pytest.approx(scores["srn"]["psnr"], abs=1e-3)

    one = tmp_path / "one"  # one scene: train on transforms_train.json, evaluate on transforms_test.json
    views = open_dataset(srn, split="train")[0]
    export_blender(views, one, ["train", "train", "test", "test"])
    run1 = tmp_path / "run1"
    assert main(["train", "--preset", "autoencoder", "--data", str(one), "--out", str(run1), "--steps", "1",
                 "--image-every", "0", "--no-progress"]) == 0
    out = tmp_path / "one.json"
    assert main(["eval", str(run1), "--data", str(one), "--split", "test", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["num_objects"] == 1 and result["objects"][0]["num_views"] == 1  # 2 test frames, 1 input


# --------------------------------------------------------------------------------------------------------- NMR


SIZE = 16


def _nmr_object(folder: Path, world2cam: list[np.ndarray], fx_ndc: float, mark: tuple[int, int] | None = None) -> None:
    (folder / "image").mkdir(parents=True)
    (folder / "mask").mkdir()
    arrays = {}
    for i, w2c in enumerate(world2cam):
        image = np.ones((SIZE, SIZE, 3), np.float32)
        if mark is not None:
            image[mark[1], mark[0]] = (1.0, 0.0, 0.0)
        write_png(folder / "image" / f"{i:04d}.png", image)
        write_png(folder / "mask" / f"{i:04d}.png", np.ones((SIZE, SIZE), np.float32))
        arrays[f"world_mat_{i}"] = w2c[:3]
        arrays[f"camera_mat_{i}"] = np.diag([fx_ndc, fx_ndc, 1.0, 1.0])
    np.savez(folder / "cameras.npz", **arrays)


def _nmr_root(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Two categories, train/test lists; object ``a`` of category 02958343 has a camera rotated 30° about y
    and 2 units away, and the red pixel (11, 4) where a known world point projects."""
    angle = math.radians(30)
    R = np.array([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]])
    t = np.array([0.1, -0.2, 2.0])
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R, t
    fx_ndc = 2.0
    # pixel (11, 4): centre (11.5, 4.5), NDC (2 * 11.5 / 16 - 1, 2 * 4.5 / 16 - 1); at depth 2.5 in the camera
    u, v, depth = 2 * 11.5 / SIZE - 1, 2 * 4.5 / SIZE - 1, 2.5
    camera_point = np.array([u * depth / fx_ndc, v * depth / fx_ndc, depth])
    world_point = R.T @ (camera_point - t)
    root = tmp_path / "NMR_Dataset"
    for category, objects in (("02958343", {"train": ["a", "b"], "test": ["c"]}), ("03001627", {"train": ["d"], "test": []})):
        for split, names in objects.items():
            (root / category).mkdir(parents=True, exist_ok=True)
            (root / category / f"softras_{split}.lst").write_text("".join(f"{n}\n" for n in names))
            for name in names:
                _nmr_object(root / category / name, [w2c, np.eye(4) @ w2c], fx_ndc, mark=(11, 4) if name == "a" else None)
    return root, world_point, w2c


def test_nmr_known_point_projects_to_the_known_pixel(tmp_path: Path):
    root, world_point, w2c = _nmr_root(tmp_path)
    assert detect_format(root).format == "nmr"
    train = open_dataset(root, split="train", load_extras=True)
    assert train.scene_ids == ["02958343/a", "02958343/b", "03001627/d"]
    assert open_dataset(root, split="test").scene_ids == ["02958343/c"]
    views = train[0]
    assert views.num_views == 2 and views.view_ids == ["0000", "0001"] and views.masks is not None
    assert torch.allclose(views.cam2world[0].double(), torch.from_numpy(np.linalg.inv(w2c)), atol=1e-6)
    uv, z = project(torch.from_numpy(world_point).float(), views.cam2world[0], views.intrinsics[0])
    assert torch.allclose(uv, torch.tensor([11.5, 4.5]), atol=1e-4) and z.item() == pytest.approx(2.5, abs=1e-5)
    # the pixel the point lands on is the red one of the image as loaded (row 4, column 11)
    red = (views.images[0, 0] > 0.9) & (views.images[0, 1] < 0.1)
    assert red.nonzero().tolist() == [[4, 11]]
    # the ray through that pixel's centre passes through the point
    origins, dirs, _ = get_rays(views.cam2world[:1].double(), views.intrinsics[:1].double(), SIZE, SIZE)
    offset = torch.from_numpy(world_point) - origins[0, 4, 11]
    assert torch.linalg.cross(offset, dirs[0, 4, 11]).norm() < 1e-5
    # K in pixels: fx = fx_ndc * W / 2, principal point at the image centre
    assert torch.allclose(views.intrinsics[0], torch.tensor([[16.0, 0, 8], [0, 16.0, 8], [0, 0, 1]]))


def test_nmr_refuses_pickles_and_names_the_file(tmp_path: Path):
    root, _, _ = _nmr_root(tmp_path)
    cameras = root / "02958343" / "a" / "cameras.npz"
    np.savez(cameras, world_mat_0=np.array([{"not": "numbers"}], dtype=object), camera_mat_0=np.eye(4))
    dataset = open_dataset(root, split="train")
    with pytest.raises(DataError, match="cameras.npz.*cannot read cameras"):
        dataset[0]
    (root / "02958343" / "softras_test.lst").write_text("missing\n")
    with pytest.raises(DataError, match="lists object 'missing'"):
        open_dataset(root, split="test")


def test_train_and_eval_on_nmr(tmp_path: Path):
    from sceneprior.cli.main import main

    root, _, _ = _nmr_root(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--preset", "autoencoder", "--data", str(root), "--out", str(run), "--steps", "1",
                 "--image-every", "0", "--no-progress"]) == 0
    out = tmp_path / "eval.json"
    assert main(["eval", str(run), "--data", str(root), "--json", str(out), "--input-views", "1"]) == 0
    result = json.loads(out.read_text())
    assert result["num_objects"] == 1 and result["objects"][0]["scene_id"] == "02958343/c"


def test_data_check_reads_blender_roots_and_nmr(tmp_path: Path):
    """``data check`` reports every scene of a Blender root and of an NMR root, and names a bad cameras.npz."""
    from sceneprior.data.check import check_dataset

    _, blender = _toy_srn_and_blender(tmp_path)
    report = check_dataset(blender)
    assert report.format == "nerf-blender-root" and not report.problems
    assert len(report.scenes) == 4 and all(len(s.views) == 4 for s in report.scenes)
    root, _, w2c = _nmr_root(tmp_path)
    report = check_dataset(root)
    assert report.format == "nmr" and not report.problems
    assert [s.id for s in report.scenes] == ["train/02958343/a", "train/02958343/b", "train/03001627/d", "test/02958343/c"]
    assert np.allclose(report.scenes[0].views[0].cam2world, np.linalg.inv(w2c), atol=1e-6)
    np.savez(root / "02958343" / "b" / "cameras.npz", camera_mat_0=np.eye(4))  # no world_mat_0
    report = check_dataset(root)
    assert len(report.problems) == 1 and "b/cameras.npz: missing world_mat_0" in report.problems[0]
