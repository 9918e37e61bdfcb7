"""Writers: a :class:`SceneViews` as a NeRF-Blender dataset, or as one scene of the SRN layout.

Both convert from our convention (OpenCV camera-to-world, K in pixels) at the edge, with the converters of
:mod:`sceneprior.geometry`, so the loaders read back the same cameras.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..geometry import opencv_to_opengl, opencv_to_srn
from .image_io import atomic_write_bytes, write_png
from .srn import SRNIntrinsics
from .types import SceneViews

#: Default depth quantum of 16-bit depth PNGs (0.1 mm; up to 6.55 m), as in our generator's metadata.
DEFAULT_DEPTH_SCALE = 1e-4


def _depth_to_uint16(depth: np.ndarray, scale: float, path: Path) -> np.ndarray:
    quantised = np.round(depth / scale)
    if quantised.max(initial=0) > 65535:
        raise DataError(path, f"depth up to {depth.max():.3g} does not fit 16 bits with depth scale {scale:g}")
    return quantised.astype(np.uint16)


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise DataError(path, "already exists (pass overwrite=True to replace it)")


def _split_lists(split_assignment: Mapping[str, Sequence[int]] | Sequence[str], num_views: int) -> dict[str, list[int]]:
    if isinstance(split_assignment, Mapping):
        splits = {name: [int(k) for k in idx] for name, idx in split_assignment.items()}
    else:
        if len(split_assignment) != num_views:
            raise ValueError(f"split_assignment names {len(split_assignment)} splits for {num_views} views")
        splits = {}
        for k, name in enumerate(split_assignment):
            splits.setdefault(name, []).append(k)
    for name, idx in splits.items():
        bad = [k for k in idx if not 0 <= k < num_views]
        if bad:
            raise ValueError(f"split {name!r} names views {bad} of a scene with {num_views} views")
    return splits


def export_blender(
    scene_views: SceneViews,
    out_dir: str | Path,
    split_assignment: Mapping[str, Sequence[int]] | Sequence[str],
    depth_scale: float = DEFAULT_DEPTH_SCALE,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write ``scene_views`` as a NeRF-Blender folder and return ``{split: transforms file}``.

    ``split_assignment`` is ``{split: [view indices]}`` or one split name per view. Images are RGBA PNGs
    (``<split>/r_<k>.png``) whose alpha is the mask (opaque where there is no mask); ``transforms_<split>.json``
    holds OpenGL camera-to-world matrices, ``camera_angle_x`` and the exact ``fl_x, fl_y, cx, cy, w, h``.
    Depths, when present, go to ``<split>/r_<k>_depth.png`` (16-bit, ``depth_unit_scale_factor``).
    """
    out_dir = Path(out_dir)
    splits = _split_lists(split_assignment, scene_views.num_views)
    height, width = scene_views.height, scene_views.width
    cam2world_gl = opencv_to_opengl(scene_views.cam2world.detach().to(torch.float64).cpu()).numpy()
    K = scene_views.intrinsics.detach().to(torch.float64).cpu().numpy()
    images = scene_views.images.detach().cpu().numpy()
    masks = None if scene_views.masks is None else scene_views.masks.detach().cpu().numpy()
    depths = None if scene_views.depths is None else scene_views.depths.detach().cpu().numpy()
    written = {}
    for split, indices in splits.items():
        json_path = out_dir / f"transforms_{split}.json"
        _check_target(json_path, overwrite)
        (out_dir / split).mkdir(parents=True, exist_ok=True)
        first = K[indices[0]] if indices else K[0]
        document: dict = {
            "camera_angle_x": 2.0 * math.atan(0.5 * width / first[0, 0]),
            "fl_x": float(first[0, 0]), "fl_y": float(first[1, 1]),
            "cx": float(first[0, 2]), "cy": float(first[1, 2]),
            "w": width, "h": height,
        }
        if depths is not None:
            document["depth_unit_scale_factor"] = depth_scale
        frames = []
        for n, k in enumerate(indices):
            stem = f"{split}/r_{n}"
            rgb = np.moveaxis(images[k], 0, -1)
            alpha = np.ones((height, width), np.float32) if masks is None else masks[k, 0]
            write_png(out_dir / f"{stem}.png", np.concatenate([rgb, alpha[..., None]], axis=-1))
            frame: dict = {"file_path": f"./{stem}", "transform_matrix": cam2world_gl[k].tolist()}
            if not np.allclose(K[k], first):
                frame.update(fl_x=float(K[k, 0, 0]), fl_y=float(K[k, 1, 1]), cx=float(K[k, 0, 2]), cy=float(K[k, 1, 2]))
            if depths is not None:
                depth_path = out_dir / f"{stem}_depth.png"
                write_png(depth_path, _depth_to_uint16(depths[k, 0], depth_scale, depth_path))
                frame["depth_file_path"] = f"./{stem}_depth.png"
            frames.append(frame)
        document["frames"] = frames
        atomic_write_bytes(json_path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        written[split] = json_path
    return written


def _pose_text(matrix: np.ndarray, block: bool) -> str:
    rows = [" ".join(repr(float(v)) for v in row) for row in matrix]
    return ("\n".join(rows) if block else " ".join(rows)) + "\n"


def export_srn_scene(
    scene_views: SceneViews,
    scene_dir: str | Path,
    depth_scale: float = DEFAULT_DEPTH_SCALE,
    pose_block: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write ``scene_views`` as one SRN scene folder (rgb/, pose/, intrinsics.txt, and mask/, depth/,
    normal/, parts/ when present). Poses are written on one line of 16 numbers (``pose_block=True``: a 4x4
    block). SRN has one intrinsics file with one focal length: every view must share K, with fx == fy."""
    scene_dir = Path(scene_dir)
    _check_target(scene_dir / "intrinsics.txt", overwrite)
    K = scene_views.intrinsics.detach().to(torch.float64).cpu().numpy()
    if not np.allclose(K, K[0]) or not math.isclose(K[0, 0, 0], K[0, 1, 1], rel_tol=1e-6):
        raise ValueError("the SRN layout holds one K per scene with fx == fy; these views differ")
    height, width = scene_views.height, scene_views.width
    poses = opencv_to_srn(scene_views.cam2world.detach().to(torch.float64).cpu()).numpy()
    for name in ("rgb", "pose"):
        (scene_dir / name).mkdir(parents=True, exist_ok=True)
    intrinsics = SRNIntrinsics(focal=float(K[0, 0, 0]), cx=float(K[0, 0, 2]), cy=float(K[0, 1, 2]), height=height, width=width)
    atomic_write_bytes(scene_dir / "intrinsics.txt", intrinsics.to_text().encode("utf-8"))
    extras = {
        "mask": None if scene_views.masks is None else (scene_views.masks[:, 0] > 0.5).cpu().numpy().astype(np.uint8) * 255,
        "depth": None if scene_views.depths is None else scene_views.depths[:, 0].detach().cpu().numpy(),
        "normal": None if scene_views.normals is None else scene_views.normals.detach().cpu().numpy(),
        "parts": None if scene_views.parts is None else scene_views.parts[:, 0].cpu().numpy().astype(np.uint8),
    }
    for k, view_id in enumerate(scene_views.view_ids):
        write_png(scene_dir / "rgb" / f"{view_id}.png", np.moveaxis(scene_views.images[k].detach().cpu().numpy(), 0, -1))
        atomic_write_bytes(scene_dir / "pose" / f"{view_id}.txt", _pose_text(poses[k], pose_block).encode("utf-8"))
        for folder, values in extras.items():
            if values is None:
                continue
            (scene_dir / folder).mkdir(exist_ok=True)
            path = scene_dir / folder / f"{view_id}.png"
            if folder == "depth":
                array = _depth_to_uint16(values[k], depth_scale, path)
            elif folder == "normal":
                array = np.round((np.moveaxis(values[k], 0, -1) + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
            else:
                array = values[k]
            write_png(path, array)
    return scene_dir


def export_srn_dataset(source: str | Path, out: str | Path, pixel_centres: str = "half") -> list[Path]:
    """Copy an SRN-layout dataset (a root, a split folder or a scene folder) to ``out``, with every
    ``intrinsics.txt`` written for ``pixel_centres``: ``half`` (ours: a plain copy) or ``integer`` (the
    convention of SRN's and pixelNeRF's ray code, which put pixel ``(i, j)`` at ``(u, v) = (j, i)``): ``cx, cy``
    are then half a pixel smaller, so those tools cast the same rays as we do. ``metadata.json`` (copied from
    the source or its parents) records the convention under ``"pixel_centres"``; our loaders read it back.
    ``out`` must not exist; the copy is made beside it and renamed when complete. Returns the intrinsics files written."""
    import shutil

    from ..geometry import intrinsics_from_integer_centres, intrinsics_to_integer_centres
    from .datasets import detect_format
    from .loading import find_metadata
    from .srn import PIXEL_CENTRES, SRNDataset, pixel_centres_of, read_srn_intrinsics

    source, out = Path(source), Path(out)
    if pixel_centres not in PIXEL_CENTRES:
        raise ValueError(f"pixel_centres must be one of {', '.join(PIXEL_CENTRES)}, got {pixel_centres!r}")
    location = detect_format(source)
    if location.format == "nerf-blender":
        raise DataError(source, "is a NeRF-Blender folder; data export copies the SRN layout (a root, split or scene folder)")
    if out.exists():
        raise DataError(out, "already exists; data export never overwrites (give a new --out)")
    if out.resolve().is_relative_to(source.resolve()):
        raise DataError(out, f"is inside the source {source}; give an --out outside it")
    metadata_path, metadata = find_metadata(source)
    current = pixel_centres_of(metadata, metadata_path)
    split_dirs = list(location.splits.values()) if location.format == "srn-root" else [location.path]
    scene_dirs = []
    for split in split_dirs:
        dataset = SRNDataset(split, load_extras=False)  # validates the scenes first (one-line errors)
        scene_dirs.extend(dataset.scene_dir(i) for i in range(len(dataset)))
    partial = out.with_name(f".{out.name}.partial")
    if partial.exists():
        raise DataError(partial, "exists (left by an interrupted export?); remove it or give another --out")
    shutil.copytree(source, partial)
    written = []
    for scene in scene_dirs:
        intrinsics = read_srn_intrinsics(scene / "intrinsics.txt")
        K = torch.tensor(intrinsics.matrix(intrinsics.width, intrinsics.height), dtype=torch.float64)
        if current == "integer":
            K = intrinsics_from_integer_centres(K)  # to ours first
        if pixel_centres == "integer":
            K = intrinsics_to_integer_centres(K)
        target = partial / scene.relative_to(source) / "intrinsics.txt"
        text = SRNIntrinsics(focal=intrinsics.focal, cx=float(K[0, 2]), cy=float(K[1, 2]), height=intrinsics.height,
                             width=intrinsics.width, barycentre=intrinsics.barycentre, scale=intrinsics.scale,
                             world2cam=intrinsics.world2cam).to_text()
        atomic_write_bytes(target, text.encode("utf-8"))
        written.append(out / target.relative_to(partial))
    document = dict(metadata or {})
    document["pixel_centres"] = pixel_centres
    camera = document.get("camera")
    if isinstance(camera, dict) and isinstance(camera.get("principal_point"), list) and current != pixel_centres:
        shift = -0.5 if pixel_centres == "integer" else 0.5
        camera = dict(camera, principal_point=[float(c) + shift for c in camera["principal_point"]])
        document["camera"] = camera
    if metadata is not None or pixel_centres != "half":  # the convention must travel with the files
        atomic_write_bytes(partial / "metadata.json", (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    partial.rename(out)
    return written
