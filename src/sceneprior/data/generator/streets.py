"""``streets``: dynamic street scenes for priors over whole scenes (static / dynamic ground plans).

A *video* is one street seen by ``V`` fixed cameras at ``T`` time steps. The street -- a ground slab, a road
along x with lane markings, buildings or walls on both sides, trees and props (lamp posts, bins) on the
sidewalks -- never changes; 1-5 *movable* cars drive along the road and move between time steps. Each time
step is written as one ordinary SRN scene folder ``<video>_t<time>`` (a static multi-view snapshot, so every
static-scene model trains on it unchanged); snapshots of one video share their cameras.

Extras per view, **for evaluation only** (no training code reads them): ``depth``, ``normal``, ``mask``
(anything hit; the sky is white background), ``parts`` (semantic class, :data:`STREET_CLASSES`) and
``instance`` (0 = static or sky, k = car k; the static/dynamic label of a pixel is ``instance > 0``).
Held-out splits also hold ``removed/``: every view rendered again without car 1 (the ground truth of
object removal).

Splits: ``train`` (1-3 cars per street, cars drive straight along their lane), ``val`` and ``test`` (held-out
streets, same distribution) and ``test_composition`` (held-out compositions: 4-5 cars, more than any training
street, one of which changes lanes, i.e. drives at an angle to the road -- an arrangement never seen in
training). Every street, camera rig and trajectory is drawn from random streams of ``(seed, split, index,
stream)``: the files do not depend on worker count or order.

World: y up, everything inside [-1, 1]^3, ground top at :data:`GROUND_Y`, road ``|z| <= ROAD_HALF_WIDTH``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ... import __version__
from ...errors import ConfigError
from .cameras import CameraRange, CameraSetup, intrinsics_for, sample_orbit, sample_source_pair
from .primitives import AXIS_Y_TO_Z, Box, Cylinder, Mat3, Primitive, Scene, Sphere, pack_scene, rotation_y
from .render import DEFAULT_LIGHTING, RenderedViews, render_packed

STREET_CLASSES = ["background", "ground", "road", "marking", "building", "wall", "tree", "prop", "car"]
#: Classes that can move (the dynamic part of a street).
DYNAMIC_CLASSES = ("car",)
STREET_BOUNDS = ((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
#: The box every primitive of a street lies in (metadata ``scene_bounds``: where models place their samples).
CONTENT_BOUNDS = ((-1.0, -0.37, -1.0), (1.0, 0.2, 1.0))
GROUND_Y = -0.3
ROAD_HALF_WIDTH = 0.3
LANES = ((-0.14, 1.0), (0.14, -1.0))  # (z of the lane centre, driving direction along x)
STREET_SPLITS = ("train", "val", "test", "test_composition")
#: Held-out splits (rendered with ``removed/`` as well).
HELD_OUT_SPLITS = ("val", "test", "test_composition")
#: Car instance removed in ``removed/``.
REMOVED_INSTANCE = 1
DEPTH_SCALE = 2e-4
#: Per-primitive labels are ``class + LABEL_STRIDE * instance`` while rendering (split again afterwards).
LABEL_STRIDE = 16
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2, "test_composition": 4}
_STREAM_STREET, _STREAM_CARS, _STREAM_CAMERAS, _STREAM_SOURCES = 10, 11, 12, 13
CAR_COUNTS = {"train": (1, 3), "val": (1, 3), "test": (1, 3), "test_composition": (4, 5)}

STREET_CAMERAS = CameraSetup(
    target=(0.0, GROUND_Y, 0.0),
    fov_deg=50.0,
    train=CameraRange(elevation_deg=((30.0, 60.0),), distance=((1.9, 2.4),)),
    ood=CameraRange(elevation_deg=((30.0, 60.0),), distance=((1.9, 2.4),)),
)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _hsv(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float], hue: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float, float]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(_u(rng, *hue) % 1.0, _u(rng, *sat), _u(rng, *val))
    return (round(r, 4), round(g, 4), round(b, 4))


def _label(name: str, instance: int = 0) -> int:
    return STREET_CLASSES.index(name) + LABEL_STRIDE * instance


# ---------------------------------------------------------------------------------------------------- street


def sample_street(rng: np.random.Generator) -> tuple[list[Primitive], dict[str, object]]:
    """The static part of a street: ground, road, lane markings, buildings / walls, trees and props."""
    prims: list[Primitive] = []
    ground_colour = _hsv(rng, (0.05, 0.35), (0.55, 0.8), (0.05, 0.35))
    road_colour = _hsv(rng, (0.0, 0.08), (0.22, 0.38))
    prims.append(Box((0.0, GROUND_Y - 0.03, 0.0), (0.98, 0.03, 0.98), ground_colour, _label("ground")))
    road_top = GROUND_Y + 0.006
    prims.append(Box((0.0, road_top - 0.01, 0.0), (0.975, 0.01, ROAD_HALF_WIDTH), road_colour, _label("road")))
    marking = (0.95, 0.92, 0.7)
    dash, gap = _u(rng, 0.08, 0.14), _u(rng, 0.1, 0.2)
    x = -0.95 + _u(rng, 0.0, gap)
    while x + dash < 0.95:
        prims.append(Box((x + 0.5 * dash, road_top + 0.002, 0.0), (0.5 * dash, 0.004, 0.012), marking, _label("marking")))
        x += dash + gap
    sides = []
    for side in (1.0, -1.0):
        kind = "wall" if rng.random() < 0.25 else "buildings"
        items: list[dict[str, object]] = []
        if kind == "wall":
            height, colour = _u(rng, 0.08, 0.18), _hsv(rng, (0.05, 0.3), (0.5, 0.9))
            prims.append(Box((0.0, GROUND_Y + 0.5 * height - 0.01, side * 0.56), (0.95, 0.5 * height + 0.01, 0.02), colour, _label("wall")))
            items.append({"kind": "wall", "height": height})
        else:
            x = -0.95 + _u(rng, 0.0, 0.15)
            while x < 0.75:
                width = min(_u(rng, 0.25, 0.55), 0.95 - x)
                depth, height = _u(rng, 0.2, 0.4), _u(rng, 0.15, 0.45)
                colour = _hsv(rng, (0.1, 0.55), (0.45, 0.9))
                z0 = side * (0.5 + 0.5 * depth)
                prims.append(Box((x + 0.5 * width, GROUND_Y + 0.5 * height - 0.01, z0), (0.5 * width, 0.5 * height + 0.01, 0.5 * depth), colour, _label("building")))
                items.append({"kind": "building", "x": x + 0.5 * width, "width": width, "depth": depth, "height": height})
                x += width + _u(rng, 0.03, 0.15)
        # sidewalk band between the road and the buildings: trees and props, spaced along x
        spots: list[float] = []
        for _ in range(int(rng.integers(1, 5))):
            for _attempt in range(20):
                sx = _u(rng, -0.85, 0.85)
                if all(abs(sx - o) > 0.16 for o in spots):
                    spots.append(sx)
                    break
        for sx in spots:
            sz = side * _u(rng, 0.37, 0.43)
            what = ("tree", "lamp", "bin")[int(rng.integers(3))]
            if what == "tree":
                trunk_h, crown = _u(rng, 0.1, 0.18), _u(rng, 0.05, 0.08)
                prims.append(Cylinder((sx, GROUND_Y + 0.5 * trunk_h - 0.005, sz), 0.018, 0.5 * trunk_h, (0.35, 0.23, 0.12), _label("tree")))
                green = _hsv(rng, (0.45, 0.8), (0.3, 0.65), (0.22, 0.4))
                prims.append(Sphere((sx, GROUND_Y + trunk_h + 0.7 * crown, sz), crown, green, _label("tree")))
            elif what == "lamp":
                pole_h = _u(rng, 0.2, 0.3)
                prims.append(Cylinder((sx, GROUND_Y + 0.5 * pole_h - 0.005, sz), 0.01, 0.5 * pole_h, (0.2, 0.2, 0.22), _label("prop")))
                prims.append(Box((sx, GROUND_Y + pole_h, sz), (0.025, 0.012, 0.025), (0.95, 0.9, 0.6), _label("prop")))
            else:
                half = _u(rng, 0.018, 0.03)
                prims.append(Box((sx, GROUND_Y + half - 0.005, sz), (half, half, half), _hsv(rng, (0.4, 0.9), (0.3, 0.7)), _label("prop")))
            items.append({"kind": what, "x": sx, "z": sz})
        sides.append({"side": side, "kind": kind, "items": items})
    params = {"ground_colour": ground_colour, "road_colour": road_colour, "sides": sides}
    return prims, params


# ---------------------------------------------------------------------------------------------------- cars


@dataclass(frozen=True)
class Car:
    """A movable car: its shape and colour, and its footprint position ``(x, z)`` and heading at time 0.
    It drives ``speed`` per time step along its heading (yaw about +y; yaw 0 faces +x)."""

    instance: int
    length: float
    width: float
    body_height: float
    cabin_height: float
    cabin_length: float
    wheel_radius: float
    paint: tuple[float, float, float]
    x: float
    z: float
    yaw: float
    speed: float

    def pose(self, t: int) -> tuple[float, float, float]:
        """(x, z, yaw) at time step ``t``."""
        return (self.x + self.speed * t * math.cos(self.yaw), self.z - self.speed * t * math.sin(self.yaw), self.yaw)

    def corners(self, t: int, margin: float = 0.0) -> np.ndarray:
        """(4, 2) footprint corners (x, z) at time ``t``, grown by ``margin``."""
        x, z, yaw = self.pose(t)
        hl, hw = 0.5 * self.length + margin, 0.5 * self.width + margin
        forward = np.array([math.cos(yaw), -math.sin(yaw)])  # local +x in (x, z)
        side = np.array([math.sin(yaw), math.cos(yaw)])  # local +z in (x, z)
        return np.array([[x, z]]) + np.array([[a * hl, b * hw] for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))]) @ np.stack([forward, side])

    def primitives(self, t: int) -> list[Primitive]:
        x, z, yaw = self.pose(t)
        rot = rotation_y(yaw)
        rot_np = np.asarray(rot)
        label = _label("car", self.instance)
        base = GROUND_Y + self.wheel_radius * 0.6

        def at(local: tuple[float, float, float]) -> tuple[float, float, float]:
            w = rot_np @ np.asarray(local)
            return (float(x + w[0]), float(base + w[1]), float(z + w[2]))

        hl, hw = 0.5 * self.length, 0.5 * self.width
        glass = (0.1, 0.12, 0.16)
        out: list[Primitive] = [
            Box(at((0.0, 0.5 * self.body_height, 0.0)), (hl, 0.5 * self.body_height, hw), self.paint, label, rot),
            Box(at((-0.08 * self.length, self.body_height + 0.5 * self.cabin_height - 0.005, 0.0)),
                (0.5 * self.cabin_length, 0.5 * self.cabin_height, 0.88 * hw), glass, label, rot),
            Box(at((-0.08 * self.length, self.body_height + self.cabin_height - 0.004, 0.0)),
                (0.5 * self.cabin_length + 0.004, 0.006, 0.88 * hw + 0.004), self.paint, label, rot),
        ]
        wheel_rot: Mat3 = tuple(tuple(float(v) for v in row) for row in np.asarray(rot) @ np.asarray(AXIS_Y_TO_Z))  # type: ignore[assignment]
        wx = hl - self.wheel_radius - 0.02
        for sx in (1.0, -1.0):
            for sz in (1.0, -1.0):
                centre = at((sx * wx, self.wheel_radius - self.wheel_radius * 0.6 + 0.002, sz * (hw - 0.012)))
                out.append(Cylinder(centre, self.wheel_radius, 0.014, (0.05, 0.05, 0.06), label, wheel_rot))
        return out

    def to_json(self, time_steps: int) -> dict[str, object]:
        return {
            "instance": self.instance, "length": round(self.length, 6), "width": round(self.width, 6),
            "height": round(self.wheel_radius * 0.6 + self.body_height + self.cabin_height, 6), "paint": list(self.paint),
            "speed": round(self.speed, 6),
            "trajectory": [{"x": round(p[0], 6), "z": round(p[1], 6), "yaw_deg": round(math.degrees(p[2]), 6)}
                           for p in (self.pose(t) for t in range(time_steps))],
        }


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two convex polygons (corners in order) overlap (separating axis test)."""
    for poly in (a, b):
        for k in range(len(poly)):
            edge = poly[(k + 1) % len(poly)] - poly[k]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


def sample_cars(rng: np.random.Generator, count: int, time_steps: int, lane_change: bool) -> list[Car]:
    """``count`` cars on the road that never overlap at any time step and stay on the road. With
    ``lane_change`` one car drives at 15-25 degrees to the road (the held-out arrangement); it is placed first
    (it crosses both lanes) and numbered last."""
    for _restart in range(500):
        cars: list[Car] = []
        for k in range(count):
            changer = lane_change and k == 0
            for _attempt in range(100):
                lane_z, direction = LANES[int(rng.integers(2))]
                length, width = _u(rng, 0.28, 0.36), _u(rng, 0.14, 0.17)
                speed = _u(rng, 0.06, 0.15)
                yaw = 0.0 if direction > 0 else math.pi
                if changer:  # turning towards the other lane (yaw < 0 turns +x towards +z, and -x towards -z), slower
                    yaw -= math.radians(_u(rng, 15.0, 25.0))
                    speed = _u(rng, 0.04, 0.09)
                travel = speed * (time_steps - 1) * math.cos(yaw)
                lo, hi = -0.8 + 0.5 * length - min(0.0, travel), 0.8 - 0.5 * length - max(0.0, travel)
                if lo >= hi:
                    continue
                car = Car(
                    instance=0, length=length, width=width, body_height=_u(rng, 0.045, 0.065),
                    cabin_height=_u(rng, 0.04, 0.06), cabin_length=length * _u(rng, 0.45, 0.6), wheel_radius=_u(rng, 0.024, 0.03),
                    paint=_hsv(rng, (0.5, 0.95), (0.45, 0.95)), x=_u(rng, lo, hi), z=lane_z + _u(rng, -0.02, 0.02),
                    yaw=yaw, speed=speed,
                )
                on_road = all(np.abs(car.corners(t)[:, 1]).max() <= ROAD_HALF_WIDTH - 0.01 and np.abs(car.corners(t)[:, 0]).max() <= 0.95
                              for t in range(time_steps))
                free = all(not _overlap(car.corners(t, 0.03), other.corners(t, 0.03)) for other in cars for t in range(time_steps))
                if on_road and free:
                    cars.append(car)
                    break
            else:
                break
        if len(cars) == count:
            ordered = cars[1:] + cars[:1] if lane_change else cars
            return [replace(car, instance=i + 1) for i, car in enumerate(ordered)]
    raise AssertionError(f"could not place {count} cars on the road")


# ---------------------------------------------------------------------------------------------------- videos


@dataclass
class StreetVideo:
    """One generated street video: static primitives, cars, the camera rig (fixed over time)."""

    static: list[Primitive]
    cars: list[Car]
    params: dict[str, object]
    cam2world: torch.Tensor  # (view, 4, 4) float64
    angles: np.ndarray  # (view, 3)
    K: torch.Tensor  # (3, 3)
    time_steps: int

    def scene(self, t: int, without: tuple[int, ...] = ()) -> Scene:
        """The scene at time step ``t`` (cars whose instance is in ``without`` left out). Primitive labels are
        ``class + LABEL_STRIDE * instance``."""
        prims = list(self.static)
        for car in self.cars:
            if car.instance not in without:
                prims.extend(car.primitives(t))
        return Scene("streets", prims, list(STREET_CLASSES), STREET_BOUNDS, self.params)


def _rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], index, stream]))


def make_video(seed: int, split: str, index: int, cameras: int, time_steps: int, resolution: int) -> StreetVideo:
    """Street ``index`` of ``split`` (deterministic in its arguments)."""
    static, params = sample_street(_rng(seed, split, index, _STREAM_STREET))
    rng = _rng(seed, split, index, _STREAM_CARS)
    lo, hi = CAR_COUNTS[split]
    cars = sample_cars(rng, int(rng.integers(lo, hi + 1)), time_steps, lane_change=split == "test_composition")
    setup = STREET_CAMERAS
    cam_rng = _rng(seed, split, index, _STREAM_CAMERAS)
    if split == "train":
        cams, angles = sample_orbit(cam_rng, setup.train, cameras, setup.target)
    else:  # views 0 and 1: well separated source views, as in the object datasets
        src, src_angles = sample_source_pair(_rng(seed, split, index, _STREAM_SOURCES), setup.train, setup.target)
        rest, rest_angles = sample_orbit(cam_rng, setup.train, max(0, cameras - 2), setup.target)
        cams, angles = torch.cat([src, rest])[:cameras], np.concatenate([src_angles, rest_angles])[:cameras]
    return StreetVideo(static, cars, params, cams, angles, intrinsics_for(resolution, setup.fov_deg), time_steps)


def snapshot_id(index: int, t: int) -> str:
    """Folder name of time step ``t`` of video ``index``: ``000012_t03``."""
    return f"{index:06d}_t{t:02d}"


def parse_snapshot_id(name: str) -> tuple[str, int] | None:
    """``"000012_t03"`` -> ``("000012", 3)``; None for a name of another form."""
    video, sep, t = name.rpartition("_t")
    if not sep or not video or not t.isdigit():
        return None
    return video, int(t)


# ---------------------------------------------------------------------------------------------------- writing


@dataclass
class StreetConfig:
    """What ``sceneprior data generate --category streets`` needs: ``videos`` training streets, ``cameras`` per
    time step, ``time_steps`` per video; held-out split sizes default to 10% of ``videos`` (at least 2)."""

    out: str | Path = "data/streets"
    videos: int = 200
    cameras: int = 5
    time_steps: int = 4
    val_videos: int | None = None
    test_videos: int | None = None
    resolution: int = 64
    seed: int = 0
    workers: int | None = None
    splits: tuple[str, ...] = STREET_SPLITS
    supersample: int = 2
    progress: bool = False

    def validate(self) -> None:
        if self.videos < 1:
            raise ConfigError(f"--objects (streets) must be at least 1, got {self.videos}")
        if self.cameras < 2:
            raise ConfigError(f"--views (cameras per time step) must be at least 2 for streets, got {self.cameras}")
        if self.time_steps < 2:
            raise ConfigError(f"--time-steps must be at least 2 (the cars move between them), got {self.time_steps}")
        if not 8 <= self.resolution <= 1024:
            raise ConfigError(f"--resolution must be between 8 and 1024, got {self.resolution}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be non-negative, got {self.seed}")
        unknown = [s for s in self.splits if s not in STREET_SPLITS]
        if unknown or not self.splits:
            raise ConfigError(f"streets splits are {','.join(STREET_SPLITS)}; got {','.join(self.splits) or 'none'}")
        for name in ("val_videos", "test_videos"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_videos', '-objects')} must be at least 1, got {value}")

    def split_sizes(self) -> dict[str, int]:
        held = max(2, round(0.1 * self.videos))
        sizes = {"train": self.videos, "val": self.val_videos or max(2, round(0.05 * self.videos)),
                 "test": self.test_videos or held, "test_composition": self.test_videos or held}
        return {s: sizes[s] for s in STREET_SPLITS if s in self.splits}


def _write_video(config: StreetConfig, root: Path, split: str, index: int) -> int:
    from .dataset import encode_depth, encode_normals, format_intrinsics, format_pose, png_bytes

    video = make_video(config.seed, split, index, config.cameras, config.time_steps, config.resolution)
    res = config.resolution
    views = video.cam2world.shape[0]
    K = video.K.expand(views, 3, 3)
    cams = video.cam2world.numpy()
    written = 0
    for t in range(video.time_steps):
        folder = root / f"streets_{split}" / snapshot_id(index, t)
        subs = ["rgb", "pose", "depth", "normal", "mask", "parts", "instance"]
        if split in HELD_OUT_SPLITS:
            subs.append("removed")
        for sub in subs:
            (folder / sub).mkdir(parents=True, exist_ok=True)
        out = render_packed(pack_scene(video.scene(t), torch.float32), video.cam2world, K, res, res, config.supersample)
        removed = None
        if split in HELD_OUT_SPLITS:
            removed = render_packed(pack_scene(video.scene(t, (REMOVED_INSTANCE,)), torch.float32), video.cam2world, K, res, res, config.supersample)
        rgb = (out.rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
        labels = out.parts.numpy()
        for k in range(views):
            name = f"{k:06d}"
            mask = out.mask[k].numpy()
            (folder / "rgb" / f"{name}.png").write_bytes(png_bytes(rgb[k]))
            (folder / "pose" / f"{name}.txt").write_text(format_pose(cams[k]))
            (folder / "depth" / f"{name}.png").write_bytes(png_bytes(encode_depth(out.depth[k].numpy(), DEPTH_SCALE)))
            (folder / "normal" / f"{name}.png").write_bytes(png_bytes(encode_normals(out.normals[k].numpy(), mask)))
            (folder / "mask" / f"{name}.png").write_bytes(png_bytes(mask.astype(np.uint8) * 255))
            (folder / "parts" / f"{name}.png").write_bytes(png_bytes((labels[k] % LABEL_STRIDE).astype(np.uint8)))
            (folder / "instance" / f"{name}.png").write_bytes(png_bytes((labels[k] // LABEL_STRIDE).astype(np.uint8)))
            if removed is not None:
                removed_rgb = (removed.rgb[k].clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
                (folder / "removed" / f"{name}.png").write_bytes(png_bytes(removed_rgb))
        (folder / "intrinsics.txt").write_text(format_intrinsics(video.K.numpy(), res, res))
        info = {
            "category": "streets", "video": f"{index:06d}", "time": t, "time_steps": video.time_steps,
            "class_names": list(STREET_CLASSES), "dynamic_classes": list(DYNAMIC_CLASSES),
            "removed_instance": REMOVED_INSTANCE if removed is not None else None,
            "street": _plain(video.params), "cars": [car.to_json(video.time_steps) for car in video.cars],
            "views": [{"view": f"{i:06d}", "azimuth_deg": round(float(a), 6), "elevation_deg": round(float(e), 6), "distance": round(float(d), 6)}
                      for i, (a, e, d) in enumerate(video.angles)],
        }
        (folder / "scene.json").write_text(json.dumps(info, indent=1) + "\n")
        written += views
    return written


def _plain(value: object) -> object:
    from .primitives import _plain as plain

    return plain(value)


def street_metadata(config: StreetConfig) -> dict[str, object]:
    sizes = config.split_sizes()
    K = intrinsics_for(config.resolution, STREET_CAMERAS.fov_deg)
    return {
        "format": "sceneprior-srn",
        "version": 1,
        "generator": f"sceneprior {__version__}",
        "category": "streets",
        "seed": config.seed,
        "resolution": config.resolution,
        "views_per_scene": {s: config.cameras for s in sizes},
        "splits": {s: n * config.time_steps for s, n in sizes.items()},
        "videos": sizes,
        "time_steps": config.time_steps,
        "snapshot_id": "<video>_t<time>: one folder per time step of a video; snapshots of a video share their cameras",
        "depth_scale": DEPTH_SCALE,
        "world_up": [0, 1, 0],
        "part_names": list(STREET_CLASSES),
        "dynamic_classes": list(DYNAMIC_CLASSES),
        "evaluation_only": ["depth", "normal", "mask", "parts", "instance", "removed"],
        "removed_instance": REMOVED_INSTANCE,
        "cars_per_street": {s: list(CAR_COUNTS[s]) for s in sizes},
        "camera": {
            **{s: STREET_CAMERAS.train.to_json() for s in sizes},
            "fov_deg": STREET_CAMERAS.fov_deg, "target": list(STREET_CAMERAS.target),
            "focal": round(float(K[0, 0]), 6), "principal_point": [float(K[0, 2]), float(K[1, 2])],
            "model": "orbit: eye = target + distance * (cos(el) sin(az), sin(el), cos(el) cos(az)), image up = +y",
        },
        "input_views": {s: [0, 1] for s in sizes if s != "train"},
        "near_far": [0.6, 4.6],
        "scene_bounds": [list(CONTENT_BOUNDS[0]), list(CONTENT_BOUNDS[1])],
        "ground_y": GROUND_Y,
        "background": [1.0, 1.0, 1.0],
        "lighting": {"model": "lambertian", **DEFAULT_LIGHTING.to_json()},
        "supersample": config.supersample,
    }


def _task(arguments: tuple[StreetConfig, str, str, int]) -> int:
    config, root, split, index = arguments
    return _write_video(config, Path(root), split, index)


def generate_streets(config: StreetConfig) -> Path:
    """Write a streets dataset (every split + metadata.json) and return its root; the same atomic,
    worker-independent scheme as :func:`sceneprior.data.generator.generate_dataset`."""
    from .dataset import write_tasks

    config.validate()
    out = Path(config.out)
    sizes = config.split_sizes()
    total = sum(count * config.cameras * config.time_steps for count in sizes.values())
    seconds, workers = write_tasks(
        out, _task, lambda tmp: [(config, str(tmp), split, i) for split, count in sizes.items() for i in range(count)],
        lambda: street_metadata(config), total, config.workers,
        f"streets {config.resolution}px" if config.progress else None)
    if config.progress:
        print(f"wrote {total} views of {sum(sizes.values())} street videos x {config.time_steps} time steps "
              f"({config.resolution}x{config.resolution}) in {seconds:.1f} s = {total / max(seconds, 1e-9):.1f} views/s "
              f"with {workers} worker(s) to {out}")
    return out


def preview_streets(config: StreetConfig, videos: int = 2) -> np.ndarray:
    """uint8 image: for the first ``videos`` training streets, one row per time step, columns = cameras (RGB)
    followed by the instance labels of camera 0 (static black, car k in a colour)."""
    split = config.splits[0]
    palette = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48]], dtype=np.uint8)
    rows = []
    for index in range(min(videos, config.split_sizes()[split])):
        video = make_video(config.seed, split, index, config.cameras, config.time_steps, config.resolution)
        for t in range(video.time_steps):
            out = render_video_step(video, t, config.resolution, config.supersample)
            rgb = (out.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
            inst = palette[(out.parts[0].numpy() // LABEL_STRIDE) % len(palette)]
            rows.append(np.concatenate([*rgb, inst], 1))
    return np.concatenate(rows, 0)


def render_video_step(video: StreetVideo, t: int, resolution: int, supersample: int = 2) -> RenderedViews:
    """Every camera of ``video`` at time ``t`` (labels as rendered: ``class + LABEL_STRIDE * instance``)."""
    views = video.cam2world.shape[0]
    return render_packed(pack_scene(video.scene(t), torch.float32), video.cam2world, video.K.expand(views, 3, 3),
                         resolution, resolution, supersample)
