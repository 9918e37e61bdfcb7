"""Format detection and one entry point, :func:`open_dataset`, for every layout sceneprior reads.

Recognised (see ``docs/DATA_FORMAT.md``):

* ``srn-root``: a dataset root with ``metadata.json`` (optional) and ``<category>_<split>/`` folders;
* ``srn-split``: one split folder, whose subfolders are scenes;
* ``srn-scene``: one scene folder with ``rgb/`` (and ``pose/``, ``intrinsics.txt``);
* ``nerf-blender``: a folder with ``transforms_{train,val,test}.json`` (or ``transforms.json``): one scene; as a
  dataset for ``train`` / ``eval`` it is that one scene, with the frames of the split asked for;
* ``nerf-blender-split``: a folder of NeRF-Blender scene folders, one per object (every frame of each);
* ``nerf-blender-root``: ``<category>_<split>/`` (or ``<split>/``) folders of NeRF-Blender scene folders, as an
  SRN root has (``metadata.json`` optional);
* ``nmr``: the NMR renderings as DVR publishes them (category folders with ``softras_<split>.lst``;
  :mod:`sceneprior.data.nmr`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from .blender import BlenderDataset, BlenderScenes, blender_scene_dirs, is_blender_scene_dir, transforms_files
from .nmr import LIST_PREFIX, NMRDataset, is_nmr_root
from .srn import SRNDataset, is_srn_scene_dir

#: Split names of our layout, longest first so that ``cars_test_ood_pose`` is not read as ``test``
#: (``test_composition``: held-out compositions of the ``streets`` scenes).
KNOWN_SPLITS = ("test_ood_pose", "test_composition", "train", "val", "test")

FORMATS = ("srn-root", "srn-split", "srn-scene", "nerf-blender", "nerf-blender-split", "nerf-blender-root", "nmr")

#: what :func:`open_dataset` returns: every loader has ``len``, ``num_views(i)``, ``load_views(i, views)``,
#: ``dataset[i]`` (a :class:`SceneViews` of every view) and ``scene_ids``
AnyDataset = SRNDataset | BlenderDataset | BlenderScenes | NMRDataset


@dataclass(frozen=True)
class DatasetLocation:
    """What :func:`detect_format` found: the format, the path, and (for an SRN root) its split folders."""

    format: str
    path: Path
    splits: dict[str, Path] = field(default_factory=dict)
    #: split folders of an SRN root (by their names) that hold no scenes
    empty_splits: dict[str, Path] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Problems of the layout itself (``data check`` reports them, the loaders raise the first)."""
        return [f"{folder}: split folder holds no scenes (expected <scene>/rgb/ and <scene>/pose/ folders)"
                for folder in self.empty_splits.values()]

    def has_split(self, split: str) -> bool:
        """Whether the dataset holds ``split`` (a split folder, a transforms file, a split list)."""
        if self.format in ("srn-root", "nerf-blender-root"):
            return split in self.splits
        if self.format == "nerf-blender":
            return (self.path / f"transforms_{split}.json").is_file()
        if self.format == "nmr":
            return any(self.path.glob(f"*/{LIST_PREFIX}{split}.lst"))
        return False


def split_name(folder: Path) -> str:
    """``cars_train`` -> ``train``; ``cars_test_ood_pose`` -> ``test_ood_pose``; unknown names are kept whole."""
    name = folder.name
    for split in KNOWN_SPLITS:
        if name == split or name.endswith("_" + split):
            return split
    return name


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except (NotADirectoryError, PermissionError):
        return []


def _is_split_dir(path: Path) -> bool:
    return any(is_srn_scene_dir(child) or is_blender_scene_dir(child) for child in _subdirs(path))


def detect_format(path: str | Path) -> DatasetLocation:
    """Recognise the layout at ``path``; raises :class:`DataError` for a missing path or an unknown layout."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "path does not exist")
    if path.is_file():
        raise DataError(path, "is a file; pass the dataset folder (a root, split, scene or NeRF-Blender folder)")
    if any(path.glob("transforms*.json")):
        return DatasetLocation("nerf-blender", path)
    if is_srn_scene_dir(path):
        return DatasetLocation("srn-scene", path)
    children = _subdirs(path)
    if any(is_srn_scene_dir(child) for child in children):
        return DatasetLocation("srn-split", path)
    if any(is_blender_scene_dir(child) for child in children):
        return DatasetLocation("nerf-blender-split", path)
    if is_nmr_root(path):
        return DatasetLocation("nmr", path)
    splits = {split_name(child): child for child in children if _is_split_dir(child)}
    if splits:
        empty = {split_name(child): child for child in children
                 if split_name(child) in KNOWN_SPLITS and split_name(child) not in splits}
        blender = [folder for folder in splits.values() if blender_scene_dirs(folder)]
        if blender and len(blender) < len(splits):
            raise DataError(path, "mixes split folders of SRN scenes and of NeRF-Blender scenes; use one layout")
        return DatasetLocation("nerf-blender-root" if blender else "srn-root", path, splits, empty)
    if (path / "metadata.json").is_file():
        raise DataError(path, "has metadata.json but no split folders with scenes (<category>_<split>/<scene>/rgb/)")
    raise DataError(
        path,
        "not a recognised dataset: expected an SRN root (metadata.json + <category>_<split>/ folders), a split folder "
        "of scenes, a scene folder with rgb/ and pose/, or a NeRF-Blender folder with transforms_*.json",
    )


def open_dataset(path: str | Path, split: str | None = None, **kwargs) -> AnyDataset:
    """Open any supported dataset. ``split`` picks the split of a root, a NeRF-Blender scene's transforms file or
    an NMR split list (default ``train``); other keyword arguments go to the loader (``image_size``,
    ``load_extras``)."""
    location = detect_format(path)
    if location.format == "nerf-blender":
        transforms_files(location.path, split or "train")  # a clear error when the split is absent
        return BlenderDataset(location.path, split=split or "train", **kwargs)
    if location.format == "nerf-blender-split":
        return BlenderScenes(blender_scene_dirs(location.path), "all", **kwargs)
    if location.format == "nmr":
        return NMRDataset(location.path, split or "train", **kwargs)
    if location.format in ("srn-root", "nerf-blender-root"):
        wanted = split or "train"
        if wanted in location.empty_splits:
            raise DataError(location.empty_splits[wanted], "split folder holds no scenes (expected <scene>/rgb/ and "
                            "<scene>/pose/ folders)")
        if wanted not in location.splits:
            available = ", ".join(sorted(location.splits)) or "none"
            raise DataError(location.path, f"no split folder for split '{wanted}' (available: {available})")
        if location.format == "nerf-blender-root":
            return BlenderScenes(blender_scene_dirs(location.splits[wanted]), "all", **kwargs)
        return SRNDataset(location.splits[wanted], **kwargs)
    return SRNDataset(location.path, **kwargs)
