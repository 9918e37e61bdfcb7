"""Writing a procedural dataset in the SRN layout of ``docs/DATA_FORMAT.md``.

Every scene is made from its own random streams, derived from ``(seed, split, index, stream)``, so the
files do not depend on the number of worker processes or on the order in which scenes are made. Scenes
are written into a hidden sibling folder that is renamed to ``out`` only after ``metadata.json`` is in
place, so an interrupted run never leaves a dataset that looks complete.

Splits: ``train``, ``val`` and ``test`` hold different random objects; ``test_ood_pose`` holds the same
objects as ``test`` (same scene ids and shapes). In ``val``, ``test`` and ``test_ood_pose`` views 0 and 1
are two well separated source views inside the training pose range (``metadata["input_views"]``; in
``test_ood_pose`` they are the very cameras of ``test``), and every later view of ``test_ood_pose`` has
an elevation *and* a distance outside the training range.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import shutil
import struct
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ... import __version__
from ...errors import ConfigError, DataError
from ..image_io import atomic_write_bytes, write_png
from .cameras import CameraSetup, camera_setup, intrinsics_for, sample_orbit, sample_source_pair
from .categories import CATEGORIES, PART_NAMES, sample_scene
from .primitives import PackedScene, Scene, pack_scene, packed_sdf, sample_surface
from .realistic import sample_scene_v2
from .render import DEFAULT_LIGHTING, RenderedViews, render_packed
from .sdf import SDFScene, render_sdf_views, sdf_surface_samples

ALL_SPLITS = ("train", "val", "test", "test_ood_pose")
#: Split codes used in the per-scene random streams (test_ood_pose shares its objects with test).
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2, "test_ood_pose": 3}
_STREAM_SHAPE, _STREAM_CAMERAS, _STREAM_SOURCES, _STREAM_SAMPLES = 0, 1, 2, 3
#: Source views of val / test / test_ood_pose (1-view evaluation uses the first).
INPUT_VIEWS = (0, 1)
DEPTH_SCALE = {"cars": 1e-4, "chairs": 1e-4, "rooms": 2e-4}
MIN_RESOLUTION, MAX_RESOLUTION = 8, 1024
STYLES = ("v1", "v2")
V2_CATEGORIES = ("cars", "chairs")


@dataclass
class GeneratorConfig:
    """Everything ``sceneprior data generate`` needs. ``None`` sizes follow the defaults of the CLI:
    ``val_objects`` 5% of ``objects`` (at least 2), ``test_objects`` 10% (at least 2, used by both test
    and test_ood_pose), ``test_views`` = ``views``; ``workers`` = number of CPUs."""

    category: str = "cars"
    out: str | Path = "data/cars"
    objects: int = 500
    views: int = 50
    test_views: int | None = None
    val_objects: int | None = None
    test_objects: int | None = None
    resolution: int = 64
    seed: int = 0
    workers: int | None = None
    splits: tuple[str, ...] = ALL_SPLITS
    surface_points: int = 10000
    sdf_samples: int = 20000
    supersample: int = 2
    progress: bool = False
    preview: str | Path | None = None
    #: "v1": the analytic-primitive scenes every result up to generator v2 used (byte-reproducible); "v2": smooth,
    #: textured, randomly lit cars and chairs (:mod:`.realistic`)
    style: str = "v1"

    def validate(self) -> None:
        """Raise :class:`ConfigError` with a one-line message on any invalid value."""
        if self.category not in CATEGORIES:
            raise ConfigError(f"--category must be one of {', '.join(CATEGORIES)}, got {self.category!r}")
        if self.style not in STYLES:
            raise ConfigError(f"--style must be one of {', '.join(STYLES)}, got {self.style!r}")
        if self.style == "v2" and self.category not in V2_CATEGORIES:
            raise ConfigError(f"--style v2 makes {' and '.join(V2_CATEGORIES)}; --category {self.category} has only v1")
        if self.objects < 1:
            raise ConfigError(f"--objects must be at least 1, got {self.objects}")
        if self.views < 1:
            raise ConfigError(f"--views must be at least 1, got {self.views}")
        if not MIN_RESOLUTION <= self.resolution <= MAX_RESOLUTION:
            raise ConfigError(f"--resolution must be between {MIN_RESOLUTION} and {MAX_RESOLUTION}, got {self.resolution}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be non-negative, got {self.seed}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        for name in ("val_objects", "test_objects"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if not self.splits:
            raise ConfigError("--splits is empty; choose from " + ",".join(ALL_SPLITS))
        unknown = [s for s in self.splits if s not in ALL_SPLITS]
        if unknown:
            raise ConfigError(f"unknown split(s) {','.join(unknown)}; choose from {','.join(ALL_SPLITS)}")
        if len(set(self.splits)) != len(self.splits):
            raise ConfigError(f"--splits lists a split twice: {','.join(self.splits)}")
        if any(s != "train" for s in self.splits) and self.views_for("test") < 2:
            raise ConfigError(
                f"val/test splits need at least 2 views per scene (2 source views), got {self.views_for('test')}; "
                "pass --test-views 2 or more, or --splits train"
            )
        if self.surface_points < 1 or self.sdf_samples < 10:
            raise ConfigError("surface_points must be >= 1 and sdf_samples >= 10")
        if self.supersample < 1:
            raise ConfigError(f"supersample must be at least 1, got {self.supersample}")

    def split_sizes(self) -> dict[str, int]:
        """Number of scenes of every requested split."""
        val = self.val_objects if self.val_objects is not None else max(2, round(0.05 * self.objects))
        test = self.test_objects if self.test_objects is not None else max(2, round(0.10 * self.objects))
        sizes = {"train": self.objects, "val": val, "test": test, "test_ood_pose": test}
        return {s: sizes[s] for s in ALL_SPLITS if s in self.splits}

    def views_for(self, split: str) -> int:
        if split == "train":
            return self.views
        return self.test_views if self.test_views is not None else self.views


def scene_rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    """The random stream ``stream`` of scene ``index`` of ``split`` (independent of worker layout)."""
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], index, stream]))


def scene_id(index: int) -> str:
    return f"{index:06d}"


@dataclass
class SceneSample:
    """One generated scene: its geometry, cameras and the pose parameters of every view."""

    scene: Scene | SDFScene
    cam2world: torch.Tensor  # (view, 4, 4) float64
    angles: np.ndarray  # (view, 3): azimuth_deg, elevation_deg, distance
    K: torch.Tensor  # (3, 3) float64


def make_scene(config: GeneratorConfig, split: str, index: int) -> SceneSample:
    """Sample the scene and cameras of scene ``index`` of ``split`` (deterministic)."""
    shape_split = "test" if split == "test_ood_pose" else split
    rng = scene_rng(config.seed, shape_split, index, _STREAM_SHAPE)
    scene = sample_scene_v2(config.category, rng) if config.style == "v2" else sample_scene(config.category, rng)
    setup = camera_setup(config.category)
    views = config.views_for(split)
    cams, angles = _cameras(config.seed, split, index, views, setup)
    return SceneSample(scene, cams, angles, intrinsics_for(config.resolution, setup.fov_deg))


def _cameras(seed: int, split: str, index: int, views: int, setup: CameraSetup) -> tuple[torch.Tensor, np.ndarray]:
    rng = scene_rng(seed, split, index, _STREAM_CAMERAS)
    if split == "train":
        return sample_orbit(rng, setup.train, views, setup.target)
    source_split = "test" if split == "test_ood_pose" else split
    src_cams, src_angles = sample_source_pair(scene_rng(seed, source_split, index, _STREAM_SOURCES), setup.train, setup.target)
    rest_cams, rest_angles = sample_orbit(rng, setup.range_for(split), views - 2, setup.target)
    return torch.cat([src_cams, rest_cams])[:views], np.concatenate([src_angles, rest_angles])[:views]


# ----------------------------------------------------------------------------------------------------
# Encoding and files


def encode_depth(depth: np.ndarray, depth_scale: float) -> np.ndarray:
    """z-depth (0 = background) as uint16 ``round(depth / depth_scale)``; foreground never encodes to 0."""
    value = np.rint(depth.astype(np.float64) / depth_scale)
    if value.max(initial=0) > 65535:
        raise RuntimeError(f"depth {depth.max():.3f} does not fit 16 bits at depth_scale {depth_scale}")
    value = np.where(depth > 0, np.maximum(value, 1), 0)
    return value.astype(np.uint16)


def encode_normals(normals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit normals as 8-bit RGB ``round((n + 1) / 2 * 255)``, background 0."""
    rgb = np.rint((np.clip(normals, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return np.where(mask[..., None], rgb, 0).astype(np.uint8)


def png_bytes(array: np.ndarray) -> bytes:
    """A PNG file of a uint8 (H, W) / (H, W, 3) or uint16 (H, W) array: one IDAT chunk, "Up" filter on
    every row, zlib level 1. Byte-deterministic and much faster than a general encoder on small images."""
    if array.dtype == np.uint16:
        rows = array.astype(">u2").view(np.uint8).reshape(array.shape[0], -1)
        depth, colour = 16, 0
    elif array.dtype == np.uint8 and array.ndim in (2, 3):
        rows = array.reshape(array.shape[0], -1)
        depth, colour = 8, (2 if array.ndim == 3 else 0)
        if array.ndim == 3 and array.shape[2] != 3:
            raise ValueError("png_bytes writes 1- or 3-channel images")
    else:
        raise ValueError(f"png_bytes: unsupported array {array.dtype} {array.shape}")
    height, width = array.shape[:2]
    up = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    up[:, 0] = 2  # filter type "Up": each byte minus the byte above it
    up[0, 1:] = rows[0]
    up[1:, 1:] = rows[1:] - rows[:-1]  # uint8 arithmetic wraps modulo 256, as the filter requires

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(up.tobytes(), 1)) + chunk(b"IEND", b"")


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Byte-deterministic ``.npz`` (fixed zip timestamps, deflate level 1), readable by ``np.load``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data.getvalue(), compresslevel=1)
    path.write_bytes(buffer.getvalue())


def format_pose(cam2world: np.ndarray) -> str:
    """A 4x4 matrix as 16 numbers on one line."""
    return " ".join(f"{v:.9f}" for v in cam2world.reshape(-1)) + "\n"


def format_intrinsics(K: np.ndarray, height: int, width: int) -> str:
    """SRN's 4-line ``intrinsics.txt``: ``f cx cy 0`` / ``0. 0. 0.`` / ``1.`` / ``H W``."""
    return f"{K[0, 0]:.6f} {K[0, 2]:.6f} {K[1, 2]:.6f} 0.\n0. 0. 0.\n1.\n{height} {width}\n"


def sdf_samples(
    scene: Scene, packed: PackedScene, count: int, rng: np.random.Generator, surface: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DeepSDF-style query samples: 40% surface + N(0, (0.02 s)^2), 40% surface + N(0, (0.08 s)^2),
    20% uniform in the scene bounds (s = half size of the bounds). Returns float32 points, float32 sdf,
    uint8 occupancy (sdf < 0). ``surface`` may hold the surface samples to jitter (else they are drawn)."""
    lo, hi = (np.asarray(b, dtype=np.float64) for b in scene.bounds)
    half = float(0.5 * (hi - lo).max())
    n_near = int(round(0.4 * count))
    n_far = int(round(0.4 * count))
    n_uniform = count - n_near - n_far
    base = surface if surface is not None else sample_surface(scene, packed, n_near + n_far, rng)[0]
    assert base.shape[0] == n_near + n_far
    sigma = np.concatenate([np.full(n_near, 0.02 * half), np.full(n_far, 0.08 * half)])
    near = base.astype(np.float64) + rng.normal(size=base.shape) * sigma[:, None]
    uniform = lo + rng.random((n_uniform, 3)) * (hi - lo)
    points = np.clip(np.concatenate([near, uniform]), lo, hi).astype(np.float32)
    sdf = packed_sdf(packed, torch.from_numpy(points).to(packed.albedo.dtype)).numpy().astype(np.float32)
    return points, sdf, (sdf < 0).astype(np.uint8)


def _write_scene(config: GeneratorConfig, root: Path, split: str, index: int) -> int:
    if config.style == "v2":
        return _write_scene_v2(config, root, split, index)
    sample = make_scene(config, split, index)
    folder = root / f"{config.category}_{split}" / scene_id(index)
    for sub in ("rgb", "pose", "depth", "normal", "mask", "parts"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    res = config.resolution
    packed = pack_scene(sample.scene, dtype=torch.float32)
    views = sample.cam2world.shape[0]
    K = sample.K.expand(views, 3, 3)
    depth_scale = DEPTH_SCALE[config.category]
    batch = max(1, (8 * 64 * 64) // (res * res))
    cams_np = sample.cam2world.numpy()
    for start in range(0, views, batch):
        out = render_packed(packed, sample.cam2world[start : start + batch], K[start : start + batch], res, res, config.supersample)
        _write_views(folder, start, out, cams_np[start : start + batch], depth_scale)
    (folder / "intrinsics.txt").write_text(format_intrinsics(sample.K.numpy(), res, res))
    rng = scene_rng(config.seed, "test" if split == "test_ood_pose" else split, index, _STREAM_SAMPLES)
    points, normals, parts = sample_surface(sample.scene, packed, config.surface_points, rng)
    save_npz(folder / "points.npz", {"points": points, "normals": normals, "parts": parts})
    n_jitter = int(round(0.4 * config.sdf_samples)) * 2
    base = points[rng.integers(0, len(points), n_jitter)]  # jitter centres drawn from the surface samples
    q_points, q_sdf, q_occ = sdf_samples(sample.scene, packed, config.sdf_samples, rng, surface=base)
    save_npz(folder / "sdf.npz", {"points": q_points, "sdf": q_sdf, "occupancy": q_occ})
    info = sample.scene.to_json()
    info["views"] = [
        {"view": scene_id(i), "azimuth_deg": round(float(a), 6), "elevation_deg": round(float(e), 6), "distance": round(float(d), 6)}
        for i, (a, e, d) in enumerate(sample.angles)
    ]
    (folder / "scene.json").write_text(json.dumps(info, indent=1) + "\n")
    return views


def _write_scene_v2(config: GeneratorConfig, root: Path, split: str, index: int) -> int:
    """:func:`_write_scene` for ``style="v2"``: the same files, from the sphere-traced SDF scene."""
    sample = make_scene(config, split, index)
    scene = sample.scene
    assert isinstance(scene, SDFScene)
    folder = root / f"{config.category}_{split}" / scene_id(index)
    for sub in ("rgb", "pose", "depth", "normal", "mask", "parts"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    res = config.resolution
    views = sample.cam2world.shape[0]
    K = sample.K.expand(views, 3, 3)
    batch = max(1, (8 * 64 * 64) // (res * res))
    cams_np = sample.cam2world.numpy()
    for start in range(0, views, batch):
        out = render_sdf_views(scene, sample.cam2world[start : start + batch], K[start : start + batch], res, res, config.supersample)
        _write_views(folder, start, out, cams_np[start : start + batch], DEPTH_SCALE[config.category])
    (folder / "intrinsics.txt").write_text(format_intrinsics(sample.K.numpy(), res, res))
    rng = scene_rng(config.seed, "test" if split == "test_ood_pose" else split, index, _STREAM_SAMPLES)
    points, normals, parts = sdf_surface_samples(scene, config.surface_points, rng)
    save_npz(folder / "points.npz", {"points": points, "normals": normals, "parts": parts})
    n_near = int(round(0.4 * config.sdf_samples))
    n_far = n_near
    lo, hi = (np.asarray(b, dtype=np.float64) for b in scene.bounds)
    half = float(0.5 * (hi - lo).max())
    base = points[rng.integers(0, len(points), n_near + n_far)].astype(np.float64)
    sigma = np.concatenate([np.full(n_near, 0.02 * half), np.full(n_far, 0.08 * half)])
    near = base + rng.normal(size=base.shape) * sigma[:, None]
    uniform = lo + rng.random((config.sdf_samples - n_near - n_far, 3)) * (hi - lo)
    q_points = np.clip(np.concatenate([near, uniform]), lo, hi).astype(np.float32)
    q_sdf = scene.sdf(torch.from_numpy(q_points)).numpy().astype(np.float32)
    save_npz(folder / "sdf.npz", {"points": q_points, "sdf": q_sdf, "occupancy": (q_sdf < 0).astype(np.uint8)})
    info = scene.to_json()
    info["views"] = [
        {"view": scene_id(i), "azimuth_deg": round(float(a), 6), "elevation_deg": round(float(e), 6), "distance": round(float(d), 6)}
        for i, (a, e, d) in enumerate(sample.angles)
    ]
    (folder / "scene.json").write_text(json.dumps(info, indent=1) + "\n")
    return views


def _write_views(folder: Path, start: int, out: RenderedViews, cams: np.ndarray, depth_scale: float) -> None:
    rgb = (out.rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
    depth = out.depth.numpy()
    normals = out.normals.numpy()
    mask = out.mask.numpy()
    parts = out.parts.to(torch.uint8).numpy()
    for k in range(rgb.shape[0]):
        name = scene_id(start + k)
        (folder / "rgb" / f"{name}.png").write_bytes(png_bytes(rgb[k]))
        (folder / "depth" / f"{name}.png").write_bytes(png_bytes(encode_depth(depth[k], depth_scale)))
        (folder / "normal" / f"{name}.png").write_bytes(png_bytes(encode_normals(normals[k], mask[k])))
        (folder / "mask" / f"{name}.png").write_bytes(png_bytes(mask[k].astype(np.uint8) * 255))
        (folder / "parts" / f"{name}.png").write_bytes(png_bytes(parts[k]))
        (folder / "pose" / f"{name}.txt").write_text(format_pose(cams[k]))


# ----------------------------------------------------------------------------------------------------
# Workers


def _init_worker() -> None:
    torch.set_num_threads(1)


def _task(arguments: tuple[GeneratorConfig, str, str, int]) -> int:
    config, root, split, index = arguments
    return _write_scene(config, Path(root), split, index)


def metadata(config: GeneratorConfig) -> dict[str, object]:
    """The ``metadata.json`` of a dataset made with ``config``."""
    setup = camera_setup(config.category)
    sizes = config.split_sizes()
    lo, hi = sample_scene_bounds(config.category)
    target = np.asarray(setup.target)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    radius = float(np.linalg.norm(corners - target, axis=1).max())
    distances = [d for rng_ in (setup.train, setup.ood) for interval in rng_.distance for d in interval]
    near = max(0.05, min(distances) - radius)
    far = max(distances) + radius
    K = intrinsics_for(config.resolution, setup.fov_deg)
    camera: dict[str, object] = {s: setup.range_for(s).to_json() for s in ALL_SPLITS if s in sizes}
    if "test_ood_pose" in camera:
        camera["test_ood_pose"] = {
            **setup.ood.to_json(),
            "ood_views_from": len(INPUT_VIEWS),
            "note": "views listed in input_views are in the train range (the same cameras as test); every later view is outside it in elevation and distance",
        }
    camera.update({
        "fov_deg": setup.fov_deg,
        "target": list(setup.target),
        "focal": round(float(K[0, 0]), 6),
        "principal_point": [float(K[0, 2]), float(K[1, 2])],
        "model": "orbit: eye = target + distance * (cos(el) sin(az), sin(el), cos(el) cos(az)), image up = +y",
    })
    meta: dict[str, object] = {
        "format": "sceneprior-srn",
        "version": 1,
        "generator": f"sceneprior {__version__}",
        "category": config.category,
        "seed": config.seed,
        "resolution": config.resolution,
        "views_per_scene": {s: config.views_for(s) for s in sizes},
        "splits": sizes,
        "depth_scale": DEPTH_SCALE[config.category],
        "world_up": [0, 1, 0],
        "part_names": list(PART_NAMES[config.category]),
        "camera": camera,
        "input_views": {s: list(INPUT_VIEWS) for s in sizes if s != "train"},
        "near_far": [round(near, 4), round(far, 4)],
        "scene_bounds": [list(lo), list(hi)],
        "background": [1.0, 1.0, 1.0],
        "lighting": {"model": "lambertian", **DEFAULT_LIGHTING.to_json()},
        "supersample": config.supersample,
        "samples": {
            "surface_points": config.surface_points,
            "sdf_samples": config.sdf_samples,
            "sdf_near_surface_sigma": [0.02 * (hi[0] - lo[0]) / 2, 0.08 * (hi[0] - lo[0]) / 2],
            "sdf_fractions": {"near_small": 0.4, "near_large": 0.4, "uniform": 0.2},
        },
        "shared_objects": {"test_ood_pose": "test"} if "test_ood_pose" in sizes else {},
    }
    if config.style == "v2":  # v1's metadata stays as it was
        meta["style"] = "v2"
        meta["lighting"] = {"model": "v2: one directional light per scene with a soft cast shadow, Lambert + Blinn-Phong "
                            "specular, ambient; direction, intensity, ambient level and colour temperature drawn per scene "
                            "(scene.json 'light')", "elevation_deg": [20.0, 75.0], "intensity": [0.6, 1.0],
                            "ambient": [0.22, 0.45], "kelvin": [3200.0, 7500.0]}
    return meta


def sample_scene_bounds(category: str) -> tuple[list[float], list[float]]:
    from .categories import OBJECT_BOUNDS, ROOM_BOUNDS

    lo, hi = ROOM_BOUNDS if category == "rooms" else OBJECT_BOUNDS
    return [float(v) for v in lo], [float(v) for v in hi]


def _prepare_out(out: Path) -> tuple[Path, bool]:
    """Check ``out`` and make the hidden temporary folder next to it. Returns (tmp, replace_existing)."""
    replace = False
    if out.exists():
        if not out.is_dir():
            raise DataError(out, "exists and is not a folder; choose another --out")
        if any(out.iterdir()):
            meta = out / "metadata.json"
            try:
                previous = json.loads(meta.read_text()) if meta.is_file() else {}
            except (OSError, ValueError):
                previous = {}
            if not isinstance(previous, dict) or previous.get("format") != "sceneprior-srn":
                raise DataError(out, "exists, is not empty and is not a generated dataset; choose another --out or empty it")
            replace = True
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        probe = tmp / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataError(out, f"cannot write the output folder ({exc.strerror or exc})") from None
    return tmp, replace


def publish_out(tmp: Path, out: Path, replace: bool) -> None:
    """Move a finished dataset from its partial folder ``tmp`` (made by :func:`_prepare_out`) to ``out``:
    an earlier generated dataset there is swapped out and removed; otherwise ``out`` is absent or empty."""
    if replace:
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.exists():
            out.rmdir()  # empty folder
        os.replace(tmp, out)


def run_tasks(task: Callable[[Any], int], tasks: list, workers: int, bar: Any = None) -> None:
    """Run ``task`` (a module-level function returning the views it wrote) on every item of ``tasks``: in
    this process with one torch thread when ``workers == 1`` (so files are byte-identical whatever the
    worker count), else in ``workers`` spawned processes of one torch thread each; ``bar`` (tqdm) counts views."""
    if workers == 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for item in tasks:
                done = task(item)
                if bar is not None:
                    bar.update(done)
        finally:
            torch.set_num_threads(threads)
    else:
        with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
            for done in pool.imap_unordered(task, tasks, chunksize=1):
                if bar is not None:
                    bar.update(done)


def write_tasks(out: Path, task: Callable[[Any], int], make_tasks: Callable[[Path], list], write_metadata: Callable[[], dict],
                total_views: int, workers: int | None, progress: str | None) -> tuple[float, int]:
    """Write a dataset that appears whole or not at all: ``make_tasks(tmp)`` lists the work, ``task`` does each item
    (:func:`run_tasks`, ``workers`` processes, at most one per item; a tqdm bar counting ``total_views`` views,
    labelled ``progress``, unless that is None), then ``metadata.json`` (``write_metadata()``) is written and the
    folder published at ``out`` (:func:`_prepare_out`, :func:`publish_out`); a failure leaves nothing. Returns
    (seconds, workers)."""
    tmp, replace = _prepare_out(out)
    tasks = make_tasks(tmp)
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    start = time.perf_counter()
    bar = None
    if progress is not None:
        from tqdm import tqdm

        bar = tqdm(total=total_views, unit="view", desc=progress, file=sys.stderr, dynamic_ncols=True)
    try:
        run_tasks(task, tasks, workers, bar)
        atomic_write_bytes(tmp / "metadata.json", (json.dumps(write_metadata(), indent=1) + "\n").encode())
        publish_out(tmp, out, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return time.perf_counter() - start, workers


def generate_dataset(config: GeneratorConfig) -> Path:
    """Write a whole dataset (see the module docstring) and return its root folder.

    Runs ``config.workers`` processes (spawned; one torch thread each). With one worker everything runs
    in this process, with torch limited to one thread while it runs, so the files are byte-identical
    whatever the number of workers. Prints a progress bar and the speed when ``config.progress``.
    """
    config.validate()
    out = Path(config.out)
    sizes = config.split_sizes()
    total_views = sum(config.views_for(split) * count for split, count in sizes.items())
    seconds, workers = write_tasks(
        out, _task, lambda tmp: [(config, str(tmp), split, i) for split, count in sizes.items() for i in range(count)],
        lambda: metadata(config), total_views, config.workers,
        f"{config.category} {config.resolution}px" if config.progress else None)
    if config.progress:
        scenes = sum(sizes.values())
        print(
            f"wrote {total_views} views of {scenes} scenes ({config.resolution}x{config.resolution}) in {seconds:.1f} s "
            f"= {total_views / max(seconds, 1e-9):.1f} views/s with {workers} worker(s) to {out}"
        )
    return out


# ----------------------------------------------------------------------------------------------------
# Preview


_PALETTE = np.array(
    [[255, 255, 255], [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
     [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]], dtype=np.uint8
)


def preview_grid(config: GeneratorConfig, scenes: int = 4, views: int = 3) -> np.ndarray:
    """uint8 image: one row per (scene, view) of the first split, columns rgb | depth | normals | parts."""
    split = "train" if "train" in config.splits else config.splits[0]
    count = min(scenes, config.split_sizes()[split])
    res = config.resolution
    scale = max(1, math.ceil(128 / res))
    rows = []
    for index in range(count):
        sample = make_scene(config, split, index)
        n = min(views, sample.cam2world.shape[0])
        if isinstance(sample.scene, SDFScene):
            out = render_sdf_views(sample.scene, sample.cam2world[:n], sample.K.expand(n, 3, 3), res, res, config.supersample)
        else:
            out = render_packed(pack_scene(sample.scene), sample.cam2world[:n], sample.K.expand(n, 3, 3), res, res, config.supersample)
        for k in range(n):
            rgb = (out.rgb[k].numpy() * 255 + 0.5).astype(np.uint8)
            mask = out.mask[k].numpy()
            d = out.depth[k].numpy()
            if mask.any():
                lo_d, hi_d = d[mask].min(), d[mask].max()
                g = 1.0 - 0.8 * (d - lo_d) / max(hi_d - lo_d, 1e-6)
            else:
                g = np.zeros_like(d)
            depth = np.where(mask, (g * 255).astype(np.uint8), 255)
            depth = np.repeat(depth[..., None], 3, -1).astype(np.uint8)
            normals = np.where(mask[..., None], encode_normals(out.normals[k].numpy(), mask), 255).astype(np.uint8)
            parts = _PALETTE[out.parts[k].numpy() % len(_PALETTE)]
            row = np.concatenate([rgb, depth, normals, parts], 1)
            rows.append(np.repeat(np.repeat(row, scale, 0), scale, 1))
    return np.concatenate(rows, 0)


def write_preview(config: GeneratorConfig, path: str | Path) -> Path:
    """Write :func:`preview_grid` as a PNG."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, preview_grid(config))
    except OSError as exc:
        raise DataError(path, f"cannot write the preview ({exc.strerror or exc})") from None
    return path
