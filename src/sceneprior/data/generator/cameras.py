"""Camera samplers of the generator: orbits around a target with image-up along world +y.

Ranges are unions of closed intervals so that out-of-distribution poses (``test_ood_pose``) can lie on
both sides of the training range. Elevation is the angle above the horizontal plane through the target,
azimuth turns about +y starting at +z, distance is measured from the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from ...geometry import focal_from_fov, intrinsics_matrix, look_at

Interval = tuple[float, float]


@dataclass(frozen=True)
class CameraRange:
    """Where cameras of one split may be: each quantity is a union of intervals (sampled uniformly over
    their total length)."""

    elevation_deg: tuple[Interval, ...]
    distance: tuple[Interval, ...]
    azimuth_deg: tuple[Interval, ...] = ((0.0, 360.0),)

    def to_json(self) -> dict[str, object]:
        """Single intervals are written as ``[lo, hi]``, unions as ``[[lo, hi], ...]``."""

        def fmt(intervals: tuple[Interval, ...]) -> list[float] | list[list[float]]:
            if len(intervals) == 1:
                return [float(intervals[0][0]), float(intervals[0][1])]
            return [[float(lo), float(hi)] for lo, hi in intervals]

        return {"elevation_deg": fmt(self.elevation_deg), "distance": fmt(self.distance), "azimuth_deg": fmt(self.azimuth_deg)}

    def contains(self, elevation_deg: float, distance: float, tol: float = 1e-6) -> bool:
        """Whether an elevation and a distance both lie in this range."""
        return _inside(elevation_deg, self.elevation_deg, tol) and _inside(distance, self.distance, tol)


def _inside(value: float, intervals: tuple[Interval, ...], tol: float) -> bool:
    return any(lo - tol <= value <= hi + tol for lo, hi in intervals)


@dataclass(frozen=True)
class CameraSetup:
    """The cameras of one category: target, field of view and the ranges of each split."""

    target: tuple[float, float, float]
    fov_deg: float
    train: CameraRange
    ood: CameraRange

    def range_for(self, split: str) -> CameraRange:
        return self.ood if split == "test_ood_pose" else self.train


#: Objects (cars, chairs) are looked at from around the origin.
OBJECT_CAMERAS = CameraSetup(
    target=(0.0, 0.0, 0.0),
    fov_deg=40.0,
    train=CameraRange(elevation_deg=((10.0, 50.0),), distance=((1.4, 1.8),)),
    ood=CameraRange(elevation_deg=((-15.0, 5.0), (60.0, 80.0)), distance=((1.05, 1.25), (1.95, 2.3))),
)
#: Rooms are looked at from outside and above, towards a point just above the floor's centre.
ROOM_CAMERAS = CameraSetup(
    target=(0.0, -0.2, 0.0),
    fov_deg=50.0,
    train=CameraRange(elevation_deg=((25.0, 55.0),), distance=((2.6, 3.2),)),
    ood=CameraRange(elevation_deg=((5.0, 15.0), (65.0, 80.0)), distance=((2.2, 2.45), (3.4, 3.8))),
)


def camera_setup(category: str) -> CameraSetup:
    return ROOM_CAMERAS if category == "rooms" else OBJECT_CAMERAS


def sample_interval(rng: np.random.Generator, intervals: tuple[Interval, ...], size: int) -> np.ndarray:
    """``size`` values uniform over a union of intervals (by length)."""
    lengths = np.asarray([hi - lo for lo, hi in intervals], dtype=np.float64)
    u = rng.random(size) * lengths.sum()
    out = np.empty(size, dtype=np.float64)
    start = 0.0
    for (lo, hi), length in zip(intervals, lengths):
        sel = (u >= start) & (u <= start + length)
        out[sel] = lo + (u[sel] - start)
        start += length
    return out


def orbit_cameras(
    azimuth_deg: Float[Tensor, " view"],
    elevation_deg: Float[Tensor, " view"],
    distance: Float[Tensor, " view"],
    target: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Float[Tensor, "view 4 4"]:
    """OpenCV camera-to-world matrices of cameras on spheres around ``target``, looking at it, image-up
    along world +y. ``eye = target + d (cos(el) sin(az), sin(el), cos(el) cos(az))``."""
    az = torch.deg2rad(azimuth_deg)
    el = torch.deg2rad(elevation_deg)
    offset = torch.stack([torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)], -1)
    centre = torch.tensor(target, dtype=distance.dtype)
    eye = centre + distance[:, None] * offset
    up = torch.tensor([0.0, 1.0, 0.0], dtype=distance.dtype)
    return look_at(eye, centre.expand_as(eye), up.expand_as(eye))


def camera_angles(
    cam2world: Float[Tensor, "view 4 4"], target: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> tuple[Float[Tensor, " view"], Float[Tensor, " view"], Float[Tensor, " view"]]:
    """Inverse of :func:`orbit_cameras`: (azimuth_deg in [0, 360), elevation_deg, distance) of each camera."""
    offset = cam2world[:, :3, 3] - torch.tensor(target, dtype=cam2world.dtype)
    distance = offset.norm(dim=-1)
    elevation = torch.rad2deg(torch.asin((offset[:, 1] / distance).clamp(-1.0, 1.0)))
    azimuth = torch.rad2deg(torch.atan2(offset[:, 0], offset[:, 2])) % 360.0
    return azimuth, elevation, distance


def sample_orbit(
    rng: np.random.Generator, camera_range: CameraRange, count: int, target: tuple[float, float, float]
) -> tuple[Float[Tensor, "view 4 4"], np.ndarray]:
    """``count`` random cameras in ``camera_range``: float64 cam2world and the (view, 3) array of
    (azimuth_deg, elevation_deg, distance)."""
    azimuth = sample_interval(rng, camera_range.azimuth_deg, count)
    elevation = sample_interval(rng, camera_range.elevation_deg, count)
    distance = sample_interval(rng, camera_range.distance, count)
    return _orbit(azimuth, elevation, distance, target)


def _orbit(azimuth: np.ndarray, elevation: np.ndarray, distance: np.ndarray, target: tuple[float, float, float]) -> tuple[Tensor, np.ndarray]:
    cams = orbit_cameras(torch.from_numpy(azimuth), torch.from_numpy(elevation), torch.from_numpy(distance), target)
    return cams, np.stack([azimuth, elevation, distance], 1)


def sample_source_pair(
    rng: np.random.Generator, camera_range: CameraRange, target: tuple[float, float, float],
    separation_deg: Interval = (100.0, 160.0),
) -> tuple[Float[Tensor, "view 4 4"], np.ndarray]:
    """Two well-separated source cameras for 1- and 2-view evaluation: the second azimuth differs from
    the first by a random angle in ``separation_deg`` (either direction); both are in ``camera_range``."""
    az0 = sample_interval(rng, camera_range.azimuth_deg, 1)[0]
    delta = rng.uniform(*separation_deg) * (1.0 if rng.random() < 0.5 else -1.0)
    azimuth = np.array([az0, (az0 + delta) % 360.0])
    elevation = sample_interval(rng, camera_range.elevation_deg, 2)
    distance = sample_interval(rng, camera_range.distance, 2)
    return _orbit(azimuth, elevation, distance, target)


def intrinsics_for(resolution: int, fov_deg: float, dtype: torch.dtype = torch.float64) -> Float[Tensor, "3 3"]:
    """Square image intrinsics in pixels: ``f`` from the full field of view, principal point at the centre."""
    f = focal_from_fov(math.radians(fov_deg), resolution)
    return intrinsics_matrix(f, f, resolution / 2.0, resolution / 2.0, dtype=dtype)
