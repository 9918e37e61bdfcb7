"""Loader of the NeRF-Blender layout: ``<root>/transforms_{train,val,test}.json`` (or one ``transforms.json``)
and the images they name. One root is one scene.

* ``transform_matrix`` is an OpenGL/Blender camera-to-world matrix, converted once here with
  :func:`sceneprior.geometry.opengl_to_opencv`.
* Focal length from ``camera_angle_x`` (``fx = 0.5 W / tan(angle / 2)``), or ``fl_x`` / ``fl_y`` in pixels;
  principal point ``cx, cy`` (default: the image centre). ``w`` / ``h``, when given, are the size those
  numbers refer to; images of another size get scaled intrinsics. The keys may also appear per frame.
* ``file_path`` may omit the extension (``./train/r_0`` means ``./train/r_0.png``).
* RGBA images are composited on white; the alpha channel (> 0.5) becomes the mask.
* Optional depth per frame (``depth_file_path``, 16-bit PNG of z-depth times ``depth_unit_scale_factor``,
  as nerfstudio writes) — written by :func:`sceneprior.data.export.export_blender`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..geometry import focal_from_fov, opengl_to_opencv
from . import image_io
from .loading import (
    IMAGE_SUFFIXES,
    check_same_size,
    intrinsics_problems,
    normalize_image_size,
    pose_problems,
    read_json_object,
    resize_views,
    stack_float,
)
from .types import SceneViews

SPLITS = ("train", "val", "test")
_CAMERA_KEYS = ("camera_angle_x", "camera_angle_y", "fl_x", "fl_y", "cx", "cy", "w", "h")
#: nerfstudio's default when ``depth_file_path`` is given without a scale: millimetres.
DEFAULT_DEPTH_UNIT = 1e-3


@dataclass(frozen=True)
class BlenderCamera:
    """Intrinsics as a transforms file states them; :meth:`matrix` resolves them for an image size."""

    camera_angle_x: float | None = None
    camera_angle_y: float | None = None
    fl_x: float | None = None
    fl_y: float | None = None
    cx: float | None = None
    cy: float | None = None
    w: int | None = None
    h: int | None = None

    def matrix(self, width: int, height: int) -> np.ndarray:
        """3x3 K (float64) for an image of ``width x height`` pixels."""
        ref_w = self.w if self.w is not None else width
        ref_h = self.h if self.h is not None else height
        if self.fl_x is not None:
            fx = self.fl_x
        elif self.camera_angle_x is not None:
            fx = focal_from_fov(self.camera_angle_x, ref_w)
        else:
            raise ValueError("camera has neither fl_x nor camera_angle_x")
        if self.fl_y is not None:
            fy = self.fl_y
        elif self.camera_angle_y is not None:
            fy = focal_from_fov(self.camera_angle_y, ref_h)
        else:
            fy = fx
        cx = self.cx if self.cx is not None else ref_w / 2.0
        cy = self.cy if self.cy is not None else ref_h / 2.0
        sx, sy = width / ref_w, height / ref_h
        return np.array([[fx * sx, 0.0, cx * sx], [0.0, fy * sy, cy * sy], [0.0, 0.0, 1.0]], dtype=np.float64)


@dataclass(frozen=True)
class BlenderFrame:
    """One frame of a transforms file: its files, OpenCV camera-to-world matrix (float64) and camera."""

    view_id: str
    split: str
    image_path: Path
    cam2world: np.ndarray
    camera: BlenderCamera
    depth_path: Path | None = None
    depth_unit: float = DEFAULT_DEPTH_UNIT


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(path: Path, value: object, where: str, positive: bool = False) -> float:
    if not _is_number(value):
        raise DataError(path, f"{where} must be a number, got {type(value).__name__} {value!r:.40}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise DataError(path, f"{where} must be finite, got {number}")
    if positive and number <= 0:
        raise DataError(path, f"{where} must be positive, got {number:g}")
    return number


def _camera(path: Path, source: dict, where: str, base: BlenderCamera | None) -> BlenderCamera:
    values: dict[str, float | int | None] = {} if base is None else dict(base.__dict__)
    for key in _CAMERA_KEYS:
        if key not in source:
            continue
        name = f"{where}{key}"
        if key in ("w", "h"):
            number = _number(path, source[key], name, positive=True)
            if number != int(number):
                raise DataError(path, f"{name} must be an integer, got {number:g}")
            values[key] = int(number)
        elif key.startswith("camera_angle"):
            number = _number(path, source[key], name, positive=True)
            if number >= math.pi:
                raise DataError(path, f"{name} is {number:g} radians, must be below pi (a field of view in radians)")
            values[key] = number
        else:
            values[key] = _number(path, source[key], name, positive=key.startswith("fl_"))
    return BlenderCamera(**values)  # type: ignore[arg-type]


def _resolve_file(root: Path, file_path: str) -> Path | None:
    relative = file_path[2:] if file_path.startswith("./") else file_path
    candidate = root / relative
    if candidate.suffix.lower() in IMAGE_SUFFIXES and candidate.is_file():
        return candidate
    for suffix in (".png", ".PNG", ".jpg", ".jpeg"):
        with_suffix = root / (relative + suffix)
        if with_suffix.is_file():
            return with_suffix
    if candidate.is_file():
        return candidate
    return None


def parse_transforms(path: str | Path, split: str | None = None) -> tuple[list[BlenderFrame], list[str]]:
    """Frames of one transforms file and the problems of individual frames (one line each).

    Raises :class:`DataError` when the file as a whole is unusable (unreadable, invalid JSON, no ``frames``
    list, no focal length); frames with a problem are reported and left out, except frames whose only problem
    is their pose, which are kept (with the matrix as written, converted) so that a report can show them.
    """
    path = Path(path)
    root = path.parent
    split = split or (path.stem.removeprefix("transforms_") if path.stem.startswith("transforms_") else "all")
    data = read_json_object(path)
    if "frames" not in data:
        raise DataError(path, "missing key 'frames' (a list of {file_path, transform_matrix})")
    frames_json = data["frames"]
    if not isinstance(frames_json, list):
        raise DataError(path, f"'frames' must be a list, got {type(frames_json).__name__}")
    if not frames_json:
        raise DataError(path, "'frames' is empty")
    camera = _camera(path, data, "", None)
    if camera.fl_x is None and camera.camera_angle_x is None and not any(
        isinstance(f, dict) and ("fl_x" in f or "camera_angle_x" in f) for f in frames_json
    ):
        raise DataError(path, "missing key 'camera_angle_x' (or 'fl_x'): no focal length")
    depth_unit = DEFAULT_DEPTH_UNIT
    if "depth_unit_scale_factor" in data:
        depth_unit = _number(path, data["depth_unit_scale_factor"], "depth_unit_scale_factor", positive=True)
    frames: list[BlenderFrame] = []
    problems: list[str] = []
    for k, frame in enumerate(frames_json):
        where = f"frames[{k}]"
        try:
            if not isinstance(frame, dict):
                raise DataError(path, f"{where} must be an object, got {type(frame).__name__}")
            for key in ("file_path", "transform_matrix"):
                if key not in frame:
                    raise DataError(path, f"{where}: missing key '{key}'")
            file_path = frame["file_path"]
            if not isinstance(file_path, str) or not file_path:
                raise DataError(path, f"{where}.file_path must be a non-empty string, got {file_path!r:.40}")
            matrix = frame["transform_matrix"]
            if not (isinstance(matrix, list) and len(matrix) == 4 and all(isinstance(r, list) and len(r) == 4 for r in matrix)):
                raise DataError(path, f"{where}.transform_matrix must be a 4x4 list of lists of numbers")
            if not all(_is_number(v) for row in matrix for v in row):
                raise DataError(path, f"{where}.transform_matrix holds a value that is not a number")
            frame_camera = _camera(path, frame, f"{where}.", camera)
            if frame_camera.fl_x is None and frame_camera.camera_angle_x is None:
                raise DataError(path, f"missing key 'camera_angle_x' (or 'fl_x'): no focal length for {where}")
            image_path = _resolve_file(root, file_path)
            if image_path is None:
                raise DataError(path, f"{where}: image '{file_path}' not found (also tried with .png)")
            depth_path = None
            if "depth_file_path" in frame:
                depth_file = frame["depth_file_path"]
                if not isinstance(depth_file, str) or not depth_file:
                    raise DataError(path, f"{where}.depth_file_path must be a non-empty string")
                depth_path = _resolve_file(root, depth_file)
                if depth_path is None:
                    raise DataError(path, f"{where}: depth image '{depth_file}' not found")
        except DataError as exc:
            problems.append(str(exc))
            continue
        raw = np.asarray(matrix, dtype=np.float64)
        for problem in pose_problems(raw):
            problems.append(f"{path}: {where} ({file_path}): {problem}")
        cam2world = opengl_to_opencv(torch.from_numpy(raw)).numpy()
        relative = file_path[2:] if file_path.startswith("./") else file_path
        view_id = str(Path(relative).with_suffix("")) if Path(relative).suffix.lower() in IMAGE_SUFFIXES else relative
        frames.append(BlenderFrame(view_id, split, image_path, cam2world, frame_camera, depth_path, depth_unit))
    return frames, problems


def transforms_files(root: str | Path, split: str | None = "train") -> list[Path]:
    """The transforms file(s) of ``split`` (``'all'`` or ``None``: every split present) in a NeRF-Blender root."""
    root = Path(root)
    if not root.exists():
        raise DataError(root, "path does not exist")
    present = [root / f"transforms_{s}.json" for s in SPLITS if (root / f"transforms_{s}.json").is_file()]
    present += sorted(p for p in root.glob("transforms_*.json") if p not in present)
    single = root / "transforms.json"
    if split in (None, "all"):
        files = present or ([single] if single.is_file() else [])
        if not files:
            raise DataError(root, "no transforms_*.json or transforms.json found (not a NeRF-Blender folder)")
        return files
    wanted = root / f"transforms_{split}.json"
    if wanted.is_file():
        return [wanted]
    if not present and single.is_file():
        return [single]
    available = ", ".join(p.name for p in present) or "none"
    raise DataError(wanted, f"file not found (available: {available})")


class BlenderDataset(Dataset):
    """One NeRF-Blender scene: ``dataset[0]`` is a :class:`SceneViews` with every frame of ``split``
    (``'train'``, ``'val'``, ``'test'``, or ``'all'``). Frames are indexed at construction; pixels are read
    by ``__getitem__`` / :meth:`load_views`."""

    def __init__(self, root: str | Path, split: str | None = "train", image_size: int | tuple[int, int] | None = None, load_extras: bool = True):
        self.root = Path(root)
        self.split = split or "all"
        self.image_size = normalize_image_size(image_size)
        self.load_extras = load_extras
        self.metadata = None
        #: what is ignored (the trainer prints these lines); nothing is, in this layout
        self.warnings: list[str] = []
        self.frames: list[BlenderFrame] = []
        for path in transforms_files(self.root, split):
            frames, problems = parse_transforms(path)
            if problems:
                file_text, _, problem = problems[0].partition(": ")
                raise DataError(file_text, problem)
            self.frames.extend(frames)

    @property
    def scene_ids(self) -> list[str]:
        return [self.root.resolve().name]

    def __len__(self) -> int:
        return 1

    def num_views(self, i: int = 0) -> int:
        self._check_index(i)
        return len(self.frames)

    def _check_index(self, i: int) -> None:
        if i not in (0, -1):
            raise IndexError(f"a NeRF-Blender dataset holds one scene, got index {i}")

    def __getitem__(self, i: int) -> SceneViews:
        return self.load_views(i, range(self.num_views(i)))

    def load_views(self, i: int, view_indices: Sequence[int]) -> SceneViews:
        self._check_index(i)
        view_indices = list(view_indices)
        if not view_indices:
            raise DataError(self.root, "no views requested")
        images, alphas, sizes, paths, Ks = [], [], [], [], []
        for k in view_indices:
            frame = self.frames[k]
            rgb, alpha = image_io.read_rgba(frame.image_path)
            if alpha is not None:
                rgb = rgb * alpha[..., None] + (1.0 - alpha[..., None])
            images.append(rgb)
            alphas.append(alpha)
            sizes.append((rgb.shape[1], rgb.shape[0]))
            paths.append(frame.image_path)
        check_same_size(paths, sizes)
        width, height = sizes[0]
        for k in view_indices:
            K = self.frames[k].camera.matrix(width, height)
            problems = intrinsics_problems(K, width, height)
            if problems:
                raise DataError(self.frames[k].image_path, f"camera of this frame: {problems[0]}")
            Ks.append(K)
        masks = None
        if self.load_extras and any(a is not None for a in alphas):
            masks = stack_float([(a > 0.5).astype(np.float32) if a is not None else np.ones((height, width), np.float32) for a in alphas])
        depths = None
        if self.load_extras and all(self.frames[k].depth_path is not None for k in view_indices):
            arrays = []
            for k in view_indices:
                frame = self.frames[k]
                depth = image_io.read_gray16(frame.depth_path) * np.float32(frame.depth_unit)
                if (depth.shape[1], depth.shape[0]) != (width, height):
                    raise DataError(frame.depth_path, f"is {depth.shape[1]}x{depth.shape[0]} but the images are {width}x{height}")
                arrays.append(depth)
            depths = stack_float(arrays)
        views = SceneViews(
            scene_id=self.scene_ids[0],
            view_ids=[self.frames[k].view_id for k in view_indices],
            images=stack_float(images),
            cam2world=torch.from_numpy(np.stack([self.frames[k].cam2world for k in view_indices]).astype(np.float32)),
            intrinsics=torch.from_numpy(np.stack(Ks).astype(np.float32)),
            masks=masks,
            depths=depths,
        )
        if self.image_size is not None:
            views = resize_views(views, self.image_size)
        return views


def is_blender_scene_dir(path: Path) -> bool:
    """Whether ``path`` is one NeRF-Blender scene (holds ``transforms*.json``)."""
    try:
        return path.is_dir() and any(p.is_file() for p in path.glob("transforms*.json"))
    except OSError:
        return False


class BlenderScenes(Dataset):
    """Several NeRF-Blender scenes as one split, for ``train`` / ``eval`` (the role of an SRN split folder):
    scene ``i`` is the folder ``scene_dirs[i]`` with the frames of ``split`` (``'all'``: every transforms file of
    the folder, which is what a scene of a split folder holds). Scene ids are the folder names."""

    def __init__(self, scene_dirs: Sequence[Path], split: str | None = "all", image_size: int | tuple[int, int] | None = None,
                 load_extras: bool = True):
        if not scene_dirs:
            raise DataError("(no folder)", "no NeRF-Blender scenes given")
        self.scenes = [BlenderDataset(d, split, image_size, load_extras) for d in scene_dirs]
        names = [s.scene_ids[0] for s in self.scenes]
        if len(set(names)) != len(names):
            raise DataError(scene_dirs[0].parent, "two NeRF-Blender scene folders have the same name")
        self.image_size = normalize_image_size(image_size)
        self.load_extras = load_extras
        self.metadata = None
        self.warnings: list[str] = []

    @property
    def scene_ids(self) -> list[str]:
        return [s.scene_ids[0] for s in self.scenes]

    def __len__(self) -> int:
        return len(self.scenes)

    def num_views(self, i: int) -> int:
        return self.scenes[i].num_views(0)

    def __getitem__(self, i: int) -> SceneViews:
        return self.scenes[i][0]

    def load_views(self, i: int, view_indices: Sequence[int]) -> SceneViews:
        return self.scenes[i].load_views(0, view_indices)


def blender_scene_dirs(folder: Path) -> list[Path]:
    """The NeRF-Blender scene folders inside ``folder`` (a split of Blender scenes), sorted by name."""
    try:
        children = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except (NotADirectoryError, PermissionError):
        return []
    return [p for p in children if is_blender_scene_dir(p)]
