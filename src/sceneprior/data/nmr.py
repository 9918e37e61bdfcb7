"""Reader of the NMR multi-category ShapeNet renderings (Kato et al.'s Neural Mesh Renderer images, 13 categories,
24 views of 64x64 per object) in the layout DVR (Niemeyer et al., CVPR 2020) publishes them, which pixelNeRF
also reads:

* ``<root>/<category>/`` one folder per category (a ShapeNet synset id such as ``02958343``), holding the split
  lists ``softras_train.lst``, ``softras_val.lst``, ``softras_test.lst`` (one object folder name per line) and the
  object folders;
* ``<root>/<category>/<object>/image/`` the views (``0000.png`` ... ; PNG or JPEG, sorted by name), an optional
  ``mask/`` of the same names, and ``cameras.npz`` with, for view ``i`` (its position in the sorted list),
  ``world_mat_i`` (3x4 or 4x4 world-to-camera [R | t], OpenCV axes: x right, y down, z forward), or
  ``world_mat_inv_i`` (its inverse, camera-to-world), and ``camera_mat_i`` (the intrinsics of an image of side 2,
  coordinates in [-1, 1]: ``u = fx X / Z + cx``). A ``scale_mat_i`` (DVR's normalisation to the unit cube) is not
  used: the cameras stay in the dataset's world frame.

The cameras are converted once, here: ``cam2world = inverse(world_mat)`` and ``K = [[fx W/2, 0, (cx + 1) W/2],
[0, fy H/2, (cy + 1) H/2], [0, 0, 1]]`` in pixels, which puts NDC -1 at the image's left edge and +1 at its right
edge, so pixel ``i``'s centre ``i + 0.5`` is NDC ``(2 i + 1) / W - 1`` as in the Neural Mesh Renderer's rasteriser
(pixelNeRF reads the focal length the same way: ``fx W / 2``, principal point at the centre).

``cameras.npz`` is read with ``allow_pickle=False`` (a file holding Python objects is refused, never unpickled).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from . import image_io
from .loading import check_same_size, intrinsics_problems, normalize_image_size, pose_problems, resize_views, stack_float
from .types import SceneViews

#: the split lists DVR ships in each category folder (``softras_`` lists: SoftRas's split)
LIST_PREFIX = "softras_"
SPLITS = ("train", "val", "test")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def is_nmr_root(path: Path) -> bool:
    """Whether ``path`` holds category folders with ``softras_*.lst`` split lists."""
    try:
        return any(child.is_dir() and any(child.glob(f"{LIST_PREFIX}*.lst")) for child in path.iterdir())
    except OSError:
        return False


def nmr_cameras(path: Path, index: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(cam2world 4x4, K 3x3 in pixels), float64, of view ``index`` in ``cameras.npz`` at ``path``, for an image of
    ``width x height`` pixels (see the module doc for the conversion)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key], dtype=np.float64) for key in
                      (f"world_mat_{index}", f"world_mat_inv_{index}", f"camera_mat_{index}") if key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(path, f"cannot read cameras ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if f"camera_mat_{index}" not in arrays:
        raise DataError(path, f"missing camera_mat_{index} (the intrinsics of view {index})")
    if f"world_mat_inv_{index}" in arrays:
        cam2world = _homogeneous(path, arrays[f"world_mat_inv_{index}"], f"world_mat_inv_{index}")
    elif f"world_mat_{index}" in arrays:
        world2cam = _homogeneous(path, arrays[f"world_mat_{index}"], f"world_mat_{index}")
        if abs(np.linalg.det(world2cam[:3, :3])) < 1e-9:
            raise DataError(path, f"world_mat_{index} is singular")
        cam2world = np.linalg.inv(world2cam)
    else:
        raise DataError(path, f"missing world_mat_{index} (the world-to-camera matrix of view {index})")
    problems = pose_problems(cam2world)
    if problems:
        raise DataError(path, f"view {index}: {problems[0]}")
    ndc = arrays[f"camera_mat_{index}"]
    if ndc.shape not in ((3, 3), (4, 4)) or not np.isfinite(ndc).all():
        raise DataError(path, f"camera_mat_{index} must be a finite 3x3 or 4x4 matrix, got shape {ndc.shape}")
    fx, fy, cx, cy = ndc[0, 0], ndc[1, 1], ndc[0, 2], ndc[1, 2]
    K = np.array([[fx * width / 2, 0.0, (cx + 1.0) * width / 2], [0.0, fy * height / 2, (cy + 1.0) * height / 2],
                  [0.0, 0.0, 1.0]])
    return cam2world, K


def _homogeneous(path: Path, matrix: np.ndarray, name: str) -> np.ndarray:
    if matrix.shape == (3, 4):
        matrix = np.vstack([matrix, [0.0, 0.0, 0.0, 1.0]])
    if matrix.shape != (4, 4) or not np.isfinite(matrix).all():
        raise DataError(path, f"{name} must be a finite 3x4 or 4x4 matrix, got shape {matrix.shape}")
    return matrix


@dataclass(frozen=True)
class NMRObject:
    category: str
    directory: Path
    images: tuple[Path, ...]
    masks: tuple[Path, ...] | None

    @property
    def scene_id(self) -> str:
        return f"{self.category}/{self.directory.name}"


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES and not p.name.startswith("."))


def _index_object(category: str, directory: Path, listed_in: Path) -> NMRObject:
    if not directory.is_dir():
        raise DataError(listed_in, f"lists object '{directory.name}', but {directory} is not a folder")
    if not (directory / "image").is_dir():
        raise DataError(directory, "missing the image/ folder of the views")
    if not (directory / "cameras.npz").is_file():
        raise DataError(directory, "missing cameras.npz (world_mat_i and camera_mat_i of each view)")
    images = _images(directory / "image")
    if not images:
        raise DataError(directory / "image", "holds no PNG or JPEG views")
    masks = None
    if (directory / "mask").is_dir():
        found = _images(directory / "mask")
        if [p.stem for p in found] != [p.stem for p in images]:
            raise DataError(directory / "mask", "does not hold one mask per view of image/ (same names)")
        masks = tuple(found)
    return NMRObject(category, directory, tuple(images), masks)


class NMRDataset(Dataset):
    """The objects of one split (``train``, ``val``, ``test``) of an NMR root, every listed category or the
    ``categories`` named; ``dataset[i]`` is a :class:`SceneViews` of every view of object ``i`` (scene id
    ``<category>/<object>``). ``image_size`` resizes images and scales the intrinsics."""

    def __init__(self, root: str | Path, split: str = "train", categories: Sequence[str] | None = None,
                 image_size: int | tuple[int, int] | None = None, load_extras: bool = True):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "path does not exist or is not a folder")
        self.split = split
        self.image_size = normalize_image_size(image_size)
        self.load_extras = load_extras
        self.metadata = None
        self.warnings: list[str] = []
        folders = sorted(p for p in self.root.iterdir() if p.is_dir() and any(p.glob(f"{LIST_PREFIX}*.lst")))
        if categories is not None:
            known = {p.name for p in folders}
            missing = [c for c in categories if c not in known]
            if missing:
                raise DataError(self.root, f"no category folder with split lists for {', '.join(missing)}")
            folders = [p for p in folders if p.name in set(categories)]
        self.objects: list[NMRObject] = []
        for folder in folders:
            listing = folder / f"{LIST_PREFIX}{split}.lst"
            if not listing.is_file():
                continue
            try:
                names = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
            except (OSError, UnicodeDecodeError) as exc:
                raise DataError(listing, f"cannot read the split list ({exc})") from None
            for name in names:
                if "/" in name or "\\" in name or name in (".", ".."):
                    raise DataError(listing, f"object name {name!r:.60} is not a folder name")
                self.objects.append(_index_object(folder.name, folder / name, listing))
        if not self.objects:
            raise DataError(self.root, f"no objects in split '{split}' (expected <category>/{LIST_PREFIX}{split}.lst "
                            "listing object folders)")

    @property
    def scene_ids(self) -> list[str]:
        return [o.scene_id for o in self.objects]

    def __len__(self) -> int:
        return len(self.objects)

    def num_views(self, i: int) -> int:
        return len(self.objects[i].images)

    def __getitem__(self, i: int) -> SceneViews:
        return self.load_views(i, range(self.num_views(i)))

    def load_views(self, i: int, view_indices: Sequence[int]) -> SceneViews:
        obj = self.objects[i]
        view_indices = list(view_indices)
        if not view_indices:
            raise DataError(obj.directory, "no views requested")
        for k in view_indices:
            if not 0 <= k < len(obj.images):
                raise IndexError(f"view {k} out of range for object {obj.scene_id} with {len(obj.images)} views")
        images = [image_io.read_rgb(obj.images[k]) for k in view_indices]
        paths = [obj.images[k] for k in view_indices]
        check_same_size(paths, [(im.shape[1], im.shape[0]) for im in images])
        height, width = images[0].shape[:2]
        poses, Ks = [], []
        for k in view_indices:
            cam2world, K = nmr_cameras(obj.directory / "cameras.npz", k, width, height)
            problems = intrinsics_problems(K, width, height)
            if problems:
                raise DataError(obj.directory / "cameras.npz", f"camera_mat_{k}: {problems[0]}")
            poses.append(cam2world)
            Ks.append(K)
        masks = None
        if self.load_extras and obj.masks is not None:
            arrays = []
            for k in view_indices:
                mask = image_io.read_rgb(obj.masks[k])[..., 0]
                if mask.shape != (height, width):
                    raise DataError(obj.masks[k], f"is {mask.shape[1]}x{mask.shape[0]} but the views are {width}x{height}")
                arrays.append((mask > 0.5).astype(np.float32))
            masks = stack_float(arrays)
        views = SceneViews(
            scene_id=obj.scene_id,
            view_ids=[obj.images[k].stem for k in view_indices],
            images=stack_float(images),
            cam2world=torch.from_numpy(np.stack(poses).astype(np.float32)),
            intrinsics=torch.from_numpy(np.stack(Ks).astype(np.float32)),
            masks=masks,
        )
        if self.image_size is not None:
            views = resize_views(views, self.image_size)
        return views
