"""Format detection and one entry point, :func:`open_dataset`, for every layout sceneprior reads.

Recognised (see ``docs/DATA_FORMAT.md``):

* ``srn-root``: a dataset root with ``metadata.json`` (optional) and ``<category>_<split>/`` folders;
* ``srn-split``: one split folder, whose subfolders are scenes;
* ``srn-scene``: one scene folder with ``rgb/`` (and ``pose/``, ``intrinsics.txt``);
* ``nerf-blender``: a folder with ``transforms_{train,val,test}.json`` (or ``transforms.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from .blender import BlenderDataset, transforms_files
from .srn import SRNDataset, is_srn_scene_dir

#: Split names of our layout, longest first so that ``cars_test_ood_pose`` is not read as ``test``
#: (``test_composition``: held-out compositions of the ``streets`` scenes).
KNOWN_SPLITS = ("test_ood_pose", "test_composition", "train", "val", "test")

FORMATS = ("srn-root", "srn-split", "srn-scene", "nerf-blender")


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
    return any(is_srn_scene_dir(child) for child in _subdirs(path))


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
    splits = {split_name(child): child for child in children if _is_split_dir(child)}
    if splits:
        empty = {split_name(child): child for child in children
                 if split_name(child) in KNOWN_SPLITS and split_name(child) not in splits}
        return DatasetLocation("srn-root", path, splits, empty)
    if (path / "metadata.json").is_file():
        raise DataError(path, "has metadata.json but no split folders with scenes (<category>_<split>/<scene>/rgb/)")
    raise DataError(
        path,
        "not a recognised dataset: expected an SRN root (metadata.json + <category>_<split>/ folders), a split folder "
        "of scenes, a scene folder with rgb/ and pose/, or a NeRF-Blender folder with transforms_*.json",
    )


def open_dataset(path: str | Path, split: str | None = None, **kwargs) -> SRNDataset | BlenderDataset:
    """Open any supported dataset. ``split`` picks the split of an SRN root or NeRF-Blender folder (default
    ``train``); other keyword arguments go to the loader (``image_size``, ``load_extras``)."""
    location = detect_format(path)
    if location.format == "nerf-blender":
        transforms_files(location.path, split or "train")  # a clear error when the split is absent
        return BlenderDataset(location.path, split=split or "train", **kwargs)
    if location.format == "srn-root":
        wanted = split or "train"
        if wanted in location.empty_splits:
            raise DataError(location.empty_splits[wanted], "split folder holds no scenes (expected <scene>/rgb/ and "
                            "<scene>/pose/ folders)")
        if wanted not in location.splits:
            available = ", ".join(sorted(location.splits)) or "none"
            raise DataError(location.path, f"no split folder for split '{wanted}' (available: {available})")
        return SRNDataset(location.splits[wanted], **kwargs)
    return SRNDataset(location.path, **kwargs)
