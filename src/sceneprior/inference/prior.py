"""What a single photo is assumed to be: the training distribution's typical camera and framing.

A photo comes without a pose. We assume it was taken like a typical training view: from the middle of the
training range of elevations and distances, with the training field of view, looking at the scene's target, and
framed like the training images (the object's bounding box fills ``object_fraction`` of the image side, with its
centre at ``object_centre``). The values come, in order of preference, from a ``view_prior.json`` saved with a
model, from the dataset ``metadata.json`` a model was trained on, or from the procedural generator's defaults
(:data:`GENERATOR_FRAMING`, measured by :func:`measure_generator_framing` and checked by a test).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from ..errors import ConfigError
from ..geometry import camera_on_sphere, focal_from_fov, intrinsics_matrix
from .preprocess import non_white

#: (object_fraction, object_centre_x, object_centre_y) of generator objects at the default camera (elevation 30°,
#: distance 1.6, field of view 40°): medians over 24 test objects at azimuths 0, 15, ..., 345°, of the longest side
#: of the mask's bounding box / image side and of its centre / image side. Re-measure with
#: ``measure_generator_framing(category)``.
GENERATOR_FRAMING: dict[str, tuple[float, float, float]] = {
    "cars": (0.70, 0.50, 0.56),
    "chairs": (0.73, 0.50, 0.52),
}


@dataclass(frozen=True)
class ViewPrior:
    """The assumed camera and framing of an unposed input photo, and the scene box (for meshing)."""

    resolution: int = 64
    fov_deg: float = 40.0
    elevation_deg: float = 30.0
    distance: float = 1.6
    #: the training azimuths are uniform; a three-quarter view (45°) is how objects are usually photographed
    azimuth_deg: float = 45.0
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)
    object_fraction: float = 0.70
    object_centre: tuple[float, float] = (0.5, 0.56)
    #: min xyz, max xyz of the scenes (world units)
    bounds: tuple[float, float, float, float, float, float] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    category: str | None = None
    source: str = "generator defaults"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> "ViewPrior":
        known = {f for f in ViewPrior.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"view prior: unknown keys {sorted(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return ViewPrior(**values)

    def intrinsics(self, size: int | None = None) -> Float[Tensor, "3 3"]:
        size = size or self.resolution
        f = focal_from_fov(math.radians(self.fov_deg), size)
        return intrinsics_matrix(f, f, size / 2.0, size / 2.0)

    def camera(self, azimuth_deg: float | None = None, elevation_deg: float | None = None,
               distance: float | None = None) -> Float[Tensor, "4 4"]:
        """OpenCV cam2world on the orbit ``eye = target + d (cos el sin az, sin el, cos el cos az)`` (the generator's),
        looking at the target with image-up along ``up``."""
        return camera_on_sphere(
            torch.tensor(self.target, dtype=torch.float32), torch.tensor(self.up, dtype=torch.float32),
            self.azimuth_deg if azimuth_deg is None else azimuth_deg,
            self.elevation_deg if elevation_deg is None else elevation_deg,
            self.distance if distance is None else distance)


def _mid(interval: Any) -> float | None:
    """Middle of ``[lo, hi]`` or of the union ``[[lo, hi], ...]`` (by length-weighted centre)."""
    if not isinstance(interval, (list, tuple)) or not interval:
        return None
    if isinstance(interval[0], (list, tuple)):
        lengths = [hi - lo for lo, hi in interval]
        return float(sum(0.5 * (lo + hi) * w for (lo, hi), w in zip(interval, lengths)) / max(sum(lengths), 1e-12))
    return 0.5 * (float(interval[0]) + float(interval[1]))


def prior_from_metadata(metadata: dict[str, Any], resolution: int | None = None) -> ViewPrior:
    """A view prior from a dataset's ``metadata.json`` (the training split's camera range, field of view,
    target and scene bounds); framing from :data:`GENERATOR_FRAMING` for the generator's categories."""
    prior = ViewPrior()
    camera = metadata.get("camera", {}) if isinstance(metadata.get("camera"), dict) else {}
    train = camera.get("train", {}) if isinstance(camera.get("train"), dict) else {}
    updates: dict[str, Any] = {"source": "dataset metadata"}
    if (el := _mid(train.get("elevation_deg"))) is not None:
        updates["elevation_deg"] = el
    if (d := _mid(train.get("distance"))) is not None:
        updates["distance"] = d
    if "fov_deg" in camera:
        updates["fov_deg"] = float(camera["fov_deg"])
    elif "focal" in camera and "resolution" in metadata:
        updates["fov_deg"] = math.degrees(2 * math.atan(0.5 * float(metadata["resolution"]) / float(camera["focal"])))
    if "target" in camera:
        updates["target"] = tuple(float(v) for v in camera["target"])
    if "world_up" in metadata:
        updates["up"] = tuple(float(v) for v in metadata["world_up"])
    bounds = metadata.get("scene_bounds")
    if bounds is not None:
        flat = [float(v) for row in bounds for v in (row if isinstance(row, (list, tuple)) else [row])]
        if len(flat) == 6:
            updates["bounds"] = tuple(flat)
    category = metadata.get("category")
    if isinstance(category, str):
        updates["category"] = category
        if category in GENERATOR_FRAMING:
            fraction, cx, cy = GENERATOR_FRAMING[category]
            updates["object_fraction"] = fraction
            updates["object_centre"] = (cx, cy)
    size = resolution or metadata.get("resolution")
    if size:
        updates["resolution"] = int(size)
    return replace(prior, **updates)


def measure_dataset_framing(root: str | Path, max_views: int = 48) -> tuple[float, float, float] | None:
    """Median framing of the training images of an SRN-layout dataset (its ``*train`` split), from the ``mask/``
    images where present, else from non-white pixels of ``rgb/``; None when nothing can be measured."""
    from ..data.image_io import read_rgb

    root = Path(root)
    splits = [p for p in sorted(root.glob("*train")) if p.is_dir()] or [root]
    fractions, centres_x, centres_y = [], [], []
    for scene in sorted(p for p in splits[0].iterdir() if p.is_dir()) if splits[0].is_dir() else []:
        for sub, is_mask in (("mask", True), ("rgb", False)):
            files = sorted((scene / sub).glob("*.png"))[:4]
            if files:
                break
        for path in files:
            try:
                image = read_rgb(path)
            except Exception:  # noqa: BLE001 - an unreadable view is skipped, not fatal
                continue
            mask = image.mean(-1) > 0.5 if is_mask else non_white(image)
            if not mask.any():
                continue
            ys, xs = np.nonzero(mask)
            side = max(mask.shape)
            fractions.append(max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) / side)
            centres_x.append((xs.max() + xs.min() + 1) / (2 * mask.shape[1]))
            centres_y.append((ys.max() + ys.min() + 1) / (2 * mask.shape[0]))
        if len(fractions) >= max_views:
            break
    if len(fractions) < 4:
        return None
    return float(np.median(fractions)), float(np.median(centres_x)), float(np.median(centres_y))


def load_view_prior(path: str | Path) -> ViewPrior:
    path = Path(path)
    try:
        return replace(ViewPrior.from_json(json.loads(path.read_text())), source=str(path))
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise ConfigError(f"{path}: not a readable view prior ({exc})") from None


def measure_generator_framing(category: str, objects: int = 24, resolution: int = 128) -> tuple[float, float, float]:
    """Median framing of generator test objects seen from the default camera at azimuths 0, 360/objects, ...:
    (longest bounding-box side / image side, box centre x / side, box centre y / side)."""
    from ..data.generator import intrinsics_for, orbit_cameras, render_views, sample_scene, scene_rng

    prior = ViewPrior()
    fractions, centres_x, centres_y = [], [], []
    for i in range(objects):
        scene = sample_scene(category, scene_rng(0, "test", i, 0))
        f64 = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
        cams = orbit_cameras(f64(i * 360.0 / objects), f64(prior.elevation_deg), f64(prior.distance))
        mask = render_views(scene, cams, intrinsics_for(resolution, prior.fov_deg), resolution, resolution, supersample=1).mask[0].numpy()
        ys, xs = np.nonzero(mask)
        fractions.append(max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) / resolution)
        centres_x.append((xs.max() + xs.min() + 1) / (2 * resolution))
        centres_y.append((ys.max() + ys.min() + 1) / (2 * resolution))
    return float(np.median(fractions)), float(np.median(centres_x)), float(np.median(centres_y))
