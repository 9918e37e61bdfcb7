"""The ``streets`` generator: dynamic scenes (a static street, cars that move between time steps)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from sceneprior.data.check import check_dataset
from sceneprior.data.datasets import open_dataset
from sceneprior.data.generator.streets import (
    GROUND_Y,
    LABEL_STRIDE,
    ROAD_HALF_WIDTH,
    STREET_CLASSES,
    StreetConfig,
    _overlap,
    generate_streets,
    make_video,
    parse_snapshot_id,
    render_video_step,
    snapshot_id,
)
from sceneprior.data.image_io import read_labels, read_rgb
from sceneprior.errors import ConfigError

CAR = STREET_CLASSES.index("car")


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def streets(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("streets") / "data"
    generate_streets(StreetConfig(out=root, videos=2, cameras=3, time_steps=2, val_videos=1, test_videos=1, resolution=24, workers=1))
    return root


def test_layout_and_check(streets: Path) -> None:
    meta = json.loads((streets / "metadata.json").read_text())
    assert meta["category"] == "streets" and meta["time_steps"] == 2
    assert meta["videos"] == {"train": 2, "val": 1, "test": 1, "test_composition": 1}
    assert sorted(p.name for p in (streets / "streets_train").iterdir()) == ["000000_t00", "000000_t01", "000001_t00", "000001_t01"]
    scene = streets / "streets_test" / "000000_t01"
    assert {p.name for p in scene.iterdir()} >= {"rgb", "pose", "depth", "normal", "mask", "parts", "instance", "removed", "scene.json"}
    assert not (streets / "streets_train" / "000000_t00" / "removed").exists()
    report = check_dataset(streets)
    assert report.problems == []
    assert sum(len(s.views) for s in report.scenes) == (4 + 2 + 2 + 2) * 3
    # a missing evaluation file is a problem that names it
    (scene / "instance" / "000002.png").unlink()
    problems = check_dataset(streets).problems
    assert len(problems) == 1 and "instance/000002.png" in problems[0]


def test_splits_open_and_training_loader_ignores_labels(streets: Path) -> None:
    comp = open_dataset(streets, split="test_composition", load_extras=False)
    assert len(comp) == 2 and comp.scene_ids[0] == "000000_t00"
    views = comp[0]
    assert views.images.shape == (3, 3, 24, 24)
    assert parse_snapshot_id(comp.scene_ids[1]) == ("000000", 1) and snapshot_id(0, 1) == "000000_t01"
    assert parse_snapshot_id("000123") is None


def test_deterministic_per_seed(tmp_path: Path) -> None:
    config = dict(videos=1, cameras=2, time_steps=2, val_videos=1, test_videos=1, resolution=16, splits=("train", "test_composition"))
    a = generate_streets(StreetConfig(out=tmp_path / "a", workers=1, **config))
    b = generate_streets(StreetConfig(out=tmp_path / "b", workers=1, **config))
    c = generate_streets(StreetConfig(out=tmp_path / "c", workers=1, seed=1, **config))
    assert _digest(a) == _digest(b) != _digest(c)


def test_cars_move_static_part_does_not() -> None:
    video = make_video(0, "train", 3, cameras=3, time_steps=3, resolution=32)
    frames = [render_video_step(video, t, 32, supersample=1) for t in range(3)]
    instance = [f.parts // LABEL_STRIDE for f in frames]
    for t in (1, 2):
        static = (instance[0] == 0) & (instance[t] == 0)
        assert torch.equal(frames[0].rgb[static], frames[t].rgb[static])  # the street never changes
        moved = instance[0] != instance[t]
        assert moved.any()  # and the cars move
    for car in video.cars:
        positions = [car.pose(t)[:2] for t in range(3)]
        assert positions[0] != positions[1]
        for t in range(3):
            corners = car.corners(t)
            assert np.abs(corners[:, 1]).max() <= ROAD_HALF_WIDTH and np.abs(corners[:, 0]).max() <= 1.0
            for other in video.cars:
                if other is not car:
                    assert not _overlap(car.corners(t), other.corners(t))
    # every car pixel is labelled with the car class and every car class pixel with an instance
    cls = frames[0].parts % LABEL_STRIDE
    assert torch.equal(cls == CAR, instance[0] > 0)


def test_every_primitive_lies_in_the_content_bounds() -> None:
    from sceneprior.data.generator.primitives import scene_aabb
    from sceneprior.data.generator.streets import CONTENT_BOUNDS

    for split in ("train", "test_composition"):
        for i in range(6):
            video = make_video(0, split, i, 2, 3, 16)
            for t in range(3):
                lo, hi = scene_aabb(video.scene(t).primitives)
                assert (lo >= np.array(CONTENT_BOUNDS[0])).all() and (hi <= np.array(CONTENT_BOUNDS[1])).all()


def test_held_out_compositions_differ_from_training() -> None:
    train_counts = {len(make_video(0, "train", i, 2, 3, 16).cars) for i in range(12)}
    assert train_counts <= {1, 2, 3}
    for i in range(4):
        video = make_video(0, "test_composition", i, 2, 3, 16)
        assert len(video.cars) in (4, 5)  # more cars than any training street
        angles = [math.degrees(car.yaw) % 180.0 for car in video.cars]
        assert sum(15.0 - 1e-6 <= min(a, 180.0 - a) <= 25.0 + 1e-6 for a in angles) == 1  # one lane-changer
    for i in range(12):
        assert all(math.degrees(car.yaw) % 180.0 == pytest.approx(0.0) for car in make_video(0, "train", i, 2, 3, 16).cars)


def test_removed_view_is_the_scene_without_car_one(streets: Path) -> None:
    scene = streets / "streets_test_composition" / "000000_t00"
    for k in range(3):
        instance = read_labels(scene / "instance" / f"{k:06d}.png")
        full = read_rgb(scene / "rgb" / f"{k:06d}.png")
        removed = read_rgb(scene / "removed" / f"{k:06d}.png")
        car1 = instance == 1
        near = np.zeros_like(car1)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                near |= np.roll(np.roll(car1, dy, 0), dx, 1)
        assert np.array_equal(full[~near], removed[~near])
    assert json.loads((scene / "scene.json").read_text())["removed_instance"] == 1


def test_ground_depth_is_on_the_ground_plane(streets: Path) -> None:
    ds = open_dataset(streets, split="train", load_extras=True)
    views = ds[0]
    parts = read_labels(streets / "streets_train" / "000000_t00" / "parts" / "000000.png")
    road = torch.from_numpy(parts == STREET_CLASSES.index("road"))
    from sceneprior.geometry import get_rays

    origins, dirs, z_per_t = get_rays(views.cam2world[:1], views.intrinsics[:1], 24, 24)
    points = origins[0] + dirs[0] * (views.depths[0, 0] / z_per_t[0])[..., None]
    assert road.sum() > 10
    assert torch.allclose(points[road][:, 1], torch.full_like(points[road][:, 1], GROUND_Y + 0.006), atol=0.01)


def test_bad_configs() -> None:
    with pytest.raises(ConfigError, match="time-steps"):
        StreetConfig(time_steps=1).validate()
    with pytest.raises(ConfigError, match="splits"):
        StreetConfig(splits=("test_ood_pose",)).validate()
