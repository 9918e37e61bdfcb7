"""Loader of the SRN layout (``<root>/<category>_<split>/<scene>/{rgb,pose}/`` + ``intrinsics.txt``), with the
extra folders our generator writes (depth, normal, mask, parts) and its 3D samples (points.npz, sdf.npz).

See ``docs/DATA_FORMAT.md``. Files are indexed at construction (scene folders and view file names only);
pixels are read in ``__getitem__`` / :meth:`SRNDataset.load_views`, so datasets of any size can be opened and
used with ``torch.utils.data.DataLoader`` workers.

SRN specifics handled here:

* ``pose/*.txt``: 16 numbers, on one line or as a 4x4 block; OpenCV camera-to-world (converted with
  :func:`sceneprior.geometry.srn_to_opencv`), or world-to-camera when ``intrinsics.txt`` has a 5th line ``1``.
* ``intrinsics.txt``: ``f cx cy 0`` / barycentre (3 numbers) / scale / ``H W`` [/ world2cam flag]. ``f, cx, cy``
  are in pixels of ``H W``; they are scaled to the size of the image files, and again when ``image_size``
  asks for another size.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..geometry import srn_to_opencv
from . import image_io
from .loading import (
    IMAGE_SUFFIXES,
    check_same_size,
    depth_scale_from_metadata,
    find_metadata,
    intrinsics_problems,
    normalize_image_size,
    pose_problems,
    resize_views,
    stack_float,
)
from .types import PointCloudSample, SceneViews

#: Extra per-view folders of our generator, in the order they are read.
EXTRA_FOLDERS = ("mask", "depth", "normal", "parts")
#: Per-view folders of the ``streets`` scenes that only evaluation reads (``data check`` validates them; the
#: loader never does): car instance ids (0 = static) and the views re-rendered without one car.
EVALUATION_FOLDERS = ("instance", "removed")


# --------------------------------------------------------------------------------------------------- text files


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, expected a text file") from None
    except UnicodeDecodeError:
        raise DataError(path, "not a text file (cannot decode as UTF-8)") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror or exc})") from None


def _numbers(path: Path, text: str, what: str) -> list[float]:
    values = []
    for token in text.replace(",", " ").split():
        try:
            values.append(float(token))
        except ValueError:
            raise DataError(path, f"{what}: {token!r} is not a number") from None
    return values


def read_pose_file(path: str | Path) -> np.ndarray:
    """The 4x4 matrix of an SRN pose file exactly as written (16 numbers, one line or a 4x4 block), float64.

    Raises :class:`DataError` when the file is unreadable or does not hold exactly 16 numbers; the matrix
    itself is not validated (see :func:`sceneprior.data.loading.pose_problems`).
    """
    path = Path(path)
    text = _read_text(path)
    values = _numbers(path, text, "pose")
    if len(values) != 16:
        raise DataError(path, f"pose file must hold 16 numbers (one line, or a 4x4 block), found {len(values)}")
    return np.asarray(values, dtype=np.float64).reshape(4, 4)


def load_pose(path: str | Path, world2cam: bool = False) -> np.ndarray:
    """A validated OpenCV camera-to-world matrix (float64) from an SRN pose file; ``world2cam=True`` inverts."""
    path = Path(path)
    matrix = read_pose_file(path)
    problems = pose_problems(matrix)
    if problems:
        raise DataError(path, problems[0])
    if world2cam:
        matrix = _invert_rigid_np(matrix)
    return srn_to_opencv(torch.from_numpy(matrix)).numpy()


def _invert_rigid_np(matrix: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    rotation_t = matrix[:3, :3].T
    out[:3, :3] = rotation_t
    out[:3, 3] = -rotation_t @ matrix[:3, 3]
    return out


@dataclass(frozen=True)
class SRNIntrinsics:
    """The content of an SRN ``intrinsics.txt``. ``focal, cx, cy`` are in pixels of ``width x height``."""

    focal: float
    cx: float
    cy: float
    height: int
    width: int
    barycentre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0
    world2cam: bool = False

    def matrix(self, width: int, height: int) -> np.ndarray:
        """3x3 K (float64) for images of ``width x height`` pixels: f, cx, cy scaled from the file's H W."""
        sx, sy = width / self.width, height / self.height
        return np.array(
            [[self.focal * sx, 0.0, self.cx * sx], [0.0, self.focal * sy, self.cy * sy], [0.0, 0.0, 1.0]],
            dtype=np.float64,
        )

    def to_text(self) -> str:
        lines = [
            f"{self.focal!r} {self.cx!r} {self.cy!r} 0.",
            " ".join(repr(float(v)) for v in self.barycentre),
            repr(float(self.scale)),
            f"{self.height} {self.width}",
        ]
        if self.world2cam:
            lines.append("1")
        return "\n".join(lines) + "\n"


def read_srn_intrinsics(path: str | Path) -> SRNIntrinsics:
    """Parse SRN's ``intrinsics.txt`` with one-line errors naming the line that is wrong."""
    path = Path(path)
    lines = [line for line in _read_text(path).splitlines() if line.strip()]
    if len(lines) < 4:
        raise DataError(path, f"intrinsics file must have 4 lines ('f cx cy 0' / barycentre / scale / 'H W'), found {len(lines)}")
    if len(lines) > 5:
        raise DataError(path, f"intrinsics file must have 4 lines (and an optional world2cam flag), found {len(lines)}")
    expected = [(4, "line 1 ('f cx cy 0')"), (3, "line 2 (grid barycentre)"), (1, "line 3 (scale)"), (2, "line 4 ('H W')")]
    if len(lines) == 5:
        expected.append((1, "line 5 (world2cam flag)"))
    rows = []
    for line, (count, name) in zip(lines, expected):
        values = _numbers(path, line, name)
        if len(values) != count:
            raise DataError(path, f"{name} must hold {count} number{'s' if count > 1 else ''}, found {len(values)}")
        if not all(np.isfinite(values)):
            raise DataError(path, f"{name} contains NaN or infinite values")
        rows.append(values)
    focal, cx, cy, _ = rows[0]
    height, width = rows[3]
    if height != int(height) or width != int(width) or height < 1 or width < 1:
        raise DataError(path, f"line 4 ('H W') must be two positive integers, got {height:g} {width:g}")
    if focal <= 0:
        raise DataError(path, f"focal length must be positive, got {focal:g}")
    world2cam = False
    if len(rows) == 5:
        if rows[4][0] not in (0.0, 1.0):
            raise DataError(path, f"line 5 (world2cam flag) must be 0 or 1, got {rows[4][0]:g}")
        world2cam = rows[4][0] == 1.0
    return SRNIntrinsics(
        focal=focal, cx=cx, cy=cy, height=int(height), width=int(width),
        barycentre=tuple(rows[1]), scale=rows[2][0], world2cam=world2cam,  # type: ignore[arg-type]
    )


#: values of ``metadata.json["pixel_centres"]``: ``half`` (ours, the default) or ``integer`` (SRN / pixelNeRF code)
PIXEL_CENTRES = ("half", "integer")


def pixel_centres_of(metadata: dict | None, metadata_path: Path | None) -> str:
    """The pixel-centre convention a dataset's ``intrinsics.txt`` files are written in (absent: ``half``)."""
    value = (metadata or {}).get("pixel_centres", "half")
    if value not in PIXEL_CENTRES:
        raise DataError(metadata_path or Path("metadata.json"),
                        f'"pixel_centres" must be one of {", ".join(PIXEL_CENTRES)}, got {value!r}')
    return value


# --------------------------------------------------------------------------------------------------- indexing


def is_srn_scene_dir(path: Path) -> bool:
    return path.is_dir() and (path / "rgb").is_dir()


def _files(folder: Path, suffixes: Sequence[str]) -> dict[str, str]:
    """{stem: file name} of the files in ``folder`` with one of ``suffixes`` (hidden files skipped)."""
    out: dict[str, str] = {}
    try:
        entries = list(folder.iterdir())
    except OSError:  # missing, not a folder, a symlink loop: reported by the caller as a missing folder
        return out
    for entry in entries:
        if entry.name.startswith(".") or entry.suffix.lower() not in suffixes:
            continue
        out[entry.stem] = entry.name
    return out


@dataclass(frozen=True)
class SRNSceneIndex:
    """File names of one scene (no pixels): matched rgb/pose views, sorted by name, and extra folders."""

    scene_id: str
    directory: Path
    view_ids: tuple[str, ...]
    image_names: tuple[str, ...]
    extras: tuple[str, ...]
    #: usable input with something we ignore (e.g. ``depth/*.npy`` in place of our ``depth/*.png``), one line each
    warnings: tuple[str, ...] = ()
    #: evaluation-only folders present (:data:`EVALUATION_FOLDERS`)
    evaluation: tuple[str, ...] = ()

    def image_path(self, k: int) -> Path:
        return self.directory / "rgb" / self.image_names[k]

    def pose_path(self, k: int) -> Path:
        return self.directory / "pose" / f"{self.view_ids[k]}.txt"

    def extra_path(self, folder: str, k: int) -> Path:
        return self.directory / folder / f"{self.view_ids[k]}.png"


def index_srn_scene(directory: str | Path) -> tuple[SRNSceneIndex, list[str]]:
    """Index one scene folder. Returns the index of its matched rgb/pose pairs and the list of problems
    (images without pose, poses without image, missing folders), each a one-line ``"<file>: <problem>"``."""
    directory = Path(directory)
    problems: list[str] = []
    images = _files(directory / "rgb", IMAGE_SUFFIXES)
    if not (directory / "pose").is_dir():
        loop = (directory / "pose").is_symlink()
        problems.append(f"{directory / 'pose'}: folder missing{' (a broken or looping symlink)' if loop else ''} (every image needs a pose file)")
    poses = _files(directory / "pose", (".txt",))
    if not images:
        problems.append(f"{directory / 'rgb'}: no images found")
    for stem in sorted(set(images) - set(poses)):
        if (directory / "pose").is_dir():
            problems.append(f"{directory / 'rgb' / images[stem]}: no pose file pose/{stem}.txt for this image")
    for stem in sorted(set(poses) - set(images)):
        problems.append(f"{directory / 'pose' / poses[stem]}: no image rgb/{stem}.png for this pose")
    if not (directory / "intrinsics.txt").is_file():
        problems.append(f"{directory / 'intrinsics.txt'}: file missing")
    stems = sorted(set(images) & set(poses))
    extras, warnings = [], []
    for name in EXTRA_FOLDERS:
        if not (directory / name).is_dir():
            continue
        ours = _files(directory / name, (".png",))
        if any(stem in ours for stem in stems):  # our extra folder (files missing for some views are problems)
            extras.append(name)
        else:  # a folder of the same name in another format (depth/*.npy ...): not ours, not read
            others = sum(1 for p in (directory / name).iterdir() if not p.name.startswith("."))
            warnings.append(f"{directory / name}: holds no <view>.png ({others} other files); not read")
    evaluation = tuple(name for name in EVALUATION_FOLDERS if (directory / name).is_dir())
    index = SRNSceneIndex(
        scene_id=directory.name,
        directory=directory,
        view_ids=tuple(stems),
        image_names=tuple(images[s] for s in stems),
        extras=tuple(extras),
        warnings=tuple(warnings),
        evaluation=evaluation,
    )
    return index, problems


def depth_without_scale_warning(path: Path) -> str:
    """The warning for depth images that cannot be read as z-depth (no ``depth_scale`` in a metadata.json)."""
    return (f"{path}: depth/ images are not read: no metadata.json with depth_scale in this folder or its parents "
            "(depth is optional)")


def summarise_warnings(warnings: Sequence[str], listed: int = 3) -> list[str]:
    """The first ``listed`` warnings and a count of the rest (a dataset can repeat one per scene)."""
    out = list(warnings[:listed])
    if len(warnings) > listed:
        out.append(f"... and {len(warnings) - listed} more warnings like these (see data check --json)")
    return out


# --------------------------------------------------------------------------------------------------- 3D samples


def _load_npz(
    path: Path, keys: dict[str, tuple[int, ...]], optional: dict[str, tuple[int, ...]] | None = None
) -> dict[str, np.ndarray]:
    """Arrays of an npz with the given keys and shapes (-1 = any length, equal first dimensions), read
    without pickle. ``optional`` keys are checked the same way when present."""
    optional = optional or {}
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {}
            for key in keys:
                if key not in data.files:
                    raise DataError(path, f"missing array {key!r} (found: {', '.join(data.files) or 'none'})")
            for key in [*keys, *(k for k in optional if k in data.files)]:
                out[key] = np.asarray(data[key])
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(path, f"not a readable npz file ({exc})") from None
    except ValueError as exc:  # object arrays need pickle
        raise DataError(path, f"cannot read without pickle ({exc})") from None
    length = None
    for key, shape in {**keys, **optional}.items():
        if key not in out:
            continue
        array = out[key]
        if array.ndim != len(shape) or any(s != -1 and s != a for s, a in zip(shape, array.shape)):
            want = "(" + ", ".join("N" if s == -1 else str(s) for s in shape) + ")"
            raise DataError(path, f"array {key!r} has shape {array.shape}, expected {want}")
        if length is None:
            length = array.shape[0]
        elif array.shape[0] != length:
            raise DataError(path, f"array {key!r} has {array.shape[0]} rows, expected {length} like the others")
        if array.dtype.kind not in "fiub":
            raise DataError(path, f"array {key!r} has dtype {array.dtype}, expected numbers")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise DataError(path, f"array {key!r} contains NaN or infinite values")
    return out


#: Arrays of the 3D sample files: required (name -> shape) and optional ones.
POINT_FILES = {
    "points.npz": ({"points": (-1, 3), "normals": (-1, 3)}, {"parts": (-1,)}),
    "sdf.npz": ({"points": (-1, 3), "sdf": (-1,), "occupancy": (-1,)}, {}),
}


def point_file_problems(scene_dir: str | Path) -> list[str]:
    """Problems of the points.npz / sdf.npz files present in a scene folder (absent files are fine)."""
    problems = []
    for name, (keys, optional) in POINT_FILES.items():
        path = Path(scene_dir) / name
        if path.exists():
            try:
                _load_npz(path, keys, optional)
            except DataError as exc:
                problems.append(str(exc))
    return problems


def load_point_samples(scene_dir: str | Path) -> PointCloudSample:
    """``points.npz`` (points, normals[, parts]) and ``sdf.npz`` (points, sdf, occupancy) of one scene."""
    scene_dir = Path(scene_dir)
    surface = _load_npz(scene_dir / "points.npz", *POINT_FILES["points.npz"])
    parts = surface.get("parts")
    query = _load_npz(scene_dir / "sdf.npz", *POINT_FILES["sdf.npz"])
    return PointCloudSample(
        scene_id=scene_dir.name,
        surface_points=torch.from_numpy(surface["points"].astype(np.float32)),
        surface_normals=torch.from_numpy(surface["normals"].astype(np.float32)),
        query_points=torch.from_numpy(query["points"].astype(np.float32)),
        query_sdf=torch.from_numpy(query["sdf"].astype(np.float32)),
        query_occupancy=torch.from_numpy(query["occupancy"].astype(np.float32)),
        surface_parts=None if parts is None else torch.from_numpy(parts.astype(np.int64)),
    )


# --------------------------------------------------------------------------------------------------- dataset


def _scene_dirs(path: Path) -> list[Path]:
    if is_srn_scene_dir(path):
        return [path]
    try:
        children = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    except NotADirectoryError:
        raise DataError(path, "is a file, expected an SRN split folder or scene folder") from None
    return [p for p in children if is_srn_scene_dir(p)]


class SRNDataset(Dataset):
    """Scenes of one SRN split folder (``<root>/<category>_<split>``) or one scene folder.

    ``dataset[i]`` is a :class:`SceneViews` with every view of scene ``i``; :meth:`load_views` reads a subset.
    ``image_size`` (int or (height, width)) resizes images and scales the intrinsics. ``load_extras`` reads
    the mask / depth / normal / parts folders when they exist (depth needs ``depth_scale`` from a
    ``metadata.json`` in the split folder or a parent).
    """

    def __init__(self, path: str | Path, image_size: int | tuple[int, int] | None = None, load_extras: bool = True):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(self.path, "path does not exist")
        self.image_size = normalize_image_size(image_size)
        self.load_extras = load_extras
        directories = _scene_dirs(self.path)
        if not directories:
            raise DataError(self.path, "no SRN scenes found (expected <scene>/rgb/ and <scene>/pose/ folders)")
        self.metadata_path, self.metadata = find_metadata(self.path)
        self.depth_scale = depth_scale_from_metadata(self.metadata, self.metadata_path)
        #: whether intrinsics.txt puts pixel centres at integer coordinates (``data export --pixel-centres
        #: integer`` writes ``"pixel_centres": "integer"``): K is converted to ours (+0.5) when read
        self.integer_centres = pixel_centres_of(self.metadata, self.metadata_path) == "integer"
        self._scenes: list[SRNSceneIndex] = []
        #: what is ignored in this split (one line each; the same lines as ``data check``'s warnings)
        self.warnings: list[str] = []
        for directory in directories:
            index, problems = index_srn_scene(directory)
            if problems:
                path_text, _, problem = problems[0].partition(": ")
                raise DataError(path_text, problem)
            self._scenes.append(index)
            self.warnings.extend(index.warnings)
        if self.depth_scale is None and any("depth" in s.extras for s in self._scenes):
            self.warnings.append(depth_without_scale_warning(self.path))

    @property
    def scene_ids(self) -> list[str]:
        return [s.scene_id for s in self._scenes]

    def scene_dir(self, i: int) -> Path:
        return self._scenes[i].directory

    def scene_index(self, i: int) -> SRNSceneIndex:
        return self._scenes[i]

    def __len__(self) -> int:
        return len(self._scenes)

    def num_views(self, i: int) -> int:
        return len(self._scenes[i].view_ids)

    def __getitem__(self, i: int) -> SceneViews:
        return self.load_views(i, range(self.num_views(i)))

    def intrinsics(self, i: int) -> SRNIntrinsics:
        """The scene's intrinsics in our convention (pixel centres at +0.5)."""
        intrinsics = read_srn_intrinsics(self._scenes[i].directory / "intrinsics.txt")
        if self.integer_centres:  # converted in the file's resolution, before any resize scales it
            intrinsics = replace(intrinsics, cx=intrinsics.cx + 0.5, cy=intrinsics.cy + 0.5)
        return intrinsics

    def load_points(self, i: int) -> PointCloudSample:
        return load_point_samples(self._scenes[i].directory)

    def load_views(self, i: int, view_indices: Sequence[int]) -> SceneViews:
        """Views ``view_indices`` (positions in the sorted view list) of scene ``i``."""
        scene = self._scenes[i]
        view_indices = list(view_indices)
        for k in view_indices:
            if not 0 <= k < len(scene.view_ids):
                raise IndexError(f"view {k} out of range for scene {scene.scene_id} with {len(scene.view_ids)} views")
        intrinsics = self.intrinsics(i)
        images, sizes, paths, poses = [], [], [], []
        for k in view_indices:
            path = scene.image_path(k)
            image = image_io.read_rgb(path)
            images.append(image)
            sizes.append((image.shape[1], image.shape[0]))
            paths.append(path)
            poses.append(load_pose(scene.pose_path(k), intrinsics.world2cam))
        if not images:
            raise DataError(scene.directory, "no views requested")
        check_same_size(paths, sizes)
        width, height = sizes[0]
        K = intrinsics.matrix(width, height)
        problems = intrinsics_problems(K, width, height)
        if problems:
            raise DataError(scene.directory / "intrinsics.txt", problems[0])
        extras = self._read_extras(scene, view_indices, (width, height)) if self.load_extras else {}
        views = SceneViews(
            scene_id=scene.scene_id,
            view_ids=[scene.view_ids[k] for k in view_indices],
            images=stack_float(images),
            cam2world=torch.from_numpy(np.stack(poses).astype(np.float32)),
            intrinsics=torch.from_numpy(np.repeat(K[None], len(view_indices), 0).astype(np.float32)),
            **extras,
        )
        if self.image_size is not None:
            views = resize_views(views, self.image_size)
        return views

    def _read_extras(self, scene: SRNSceneIndex, view_indices: list[int], size: tuple[int, int]) -> dict:
        read = {
            "mask": lambda p: (image_io.read_rgb(p)[..., 0] > 0.5).astype(np.float32),
            "depth": lambda p: image_io.read_gray16(p) * np.float32(self.depth_scale),
            "normal": lambda p: image_io.read_rgb(p) * 2.0 - 1.0,
            "parts": image_io.read_labels,
        }
        raw: dict[str, list[np.ndarray]] = {}
        for folder in scene.extras:
            if folder == "depth" and self.depth_scale is None:
                continue  # z-depth needs the scale of metadata.json
            arrays = []
            for k in view_indices:
                path = scene.extra_path(folder, k)
                if not path.is_file():
                    raise DataError(path, f"missing: the {folder}/ folder has no file for view {scene.view_ids[k]}")
                array = read[folder](path)
                if (array.shape[1], array.shape[0]) != size:
                    raise DataError(path, f"is {array.shape[1]}x{array.shape[0]} but the rgb images are {size[0]}x{size[1]}")
                arrays.append(array)
            raw[folder] = arrays
        out: dict[str, torch.Tensor] = {}
        if "mask" in raw:
            out["masks"] = stack_float(raw["mask"])
        if "depth" in raw:
            out["depths"] = stack_float(raw["depth"])
        if "normal" in raw:
            normals = stack_float(raw["normal"])
            if "masks" in out:
                foreground = out["masks"]
            elif "depths" in out:
                foreground = (out["depths"] > 0).to(torch.float32)
            else:  # background written as 0 -> decodes to (-1, -1, -1)
                foreground = (normals > -1.0 + 1e-6).any(1, keepdim=True).to(torch.float32)
            out["normals"] = normals * foreground
        if "parts" in raw:
            out["parts"] = torch.from_numpy(np.stack(raw["parts"])[:, None].astype(np.int64))
        return out


class PointSamples(Dataset):
    """The 3D samples (points.npz + sdf.npz) of every scene of an SRN split folder, as :class:`PointCloudSample`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(self.path, "path does not exist")
        self._dirs = _scene_dirs(self.path)
        if not self._dirs:
            raise DataError(self.path, "no SRN scenes found (expected <scene>/rgb/ folders)")

    @property
    def scene_ids(self) -> list[str]:
        return [d.name for d in self._dirs]

    def __len__(self) -> int:
        return len(self._dirs)

    def __getitem__(self, i: int) -> PointCloudSample:
        return load_point_samples(self._dirs[i])
