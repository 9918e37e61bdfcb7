"""``sceneprior data check``: validate a dataset of any supported layout, report, and draw its cameras.

Every problem is collected as one line ``"<file>: <problem>"`` (the loaders raise the same problems as
:class:`DataError`). The report is printed as a short summary, or as JSON with ``--json``::

    {"format": ..., "scenes": [{"id": ..., "views": [{"image": relative path, "cam2world": 4x4 (OpenCV),
      "K": 3x3, "width": ..., "height": ...}]}], "problems": [...], "counts": {...}}

Without ``--json`` a PNG shows (a) the cameras of one scene as frusta with their look-at points and (b) the
epipolar lines, in a second view, of pixels picked on the object in a first view, with the true
correspondences when depth is available. Exit status: 0 no problems, 1 problems found, 2 unreadable input.
Nothing is ever written into the dataset folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ConfigError, DataError, printable
from . import image_io
from .blender import BlenderDataset, blender_scene_dirs, parse_transforms, transforms_files
from .nmr import LIST_PREFIX as NMR_LIST_PREFIX, SPLITS as SPLITS_NMR, NMRDataset
from .datasets import KNOWN_SPLITS, detect_format
from .loading import depth_scale_from_metadata, find_metadata, intrinsics_problems, pose_problems
from .srn import (
    SRNDataset,
    depth_without_scale_warning,
    index_srn_scene,
    point_file_problems,
    read_pose_file,
    read_srn_intrinsics,
)
from .types import SceneViews

#: Problems listed in the human summary (all of them are in the JSON report).
MAX_LISTED_PROBLEMS = 20
#: the PNG ``Software`` text of the pictures data check writes (so it replaces only its own)
PLOT_SOFTWARE = "sceneprior data check"


@dataclass
class ViewReport:
    image: str
    cam2world: np.ndarray | None
    K: np.ndarray | None
    width: int | None
    height: int | None
    split: str | None = None

    def to_json(self) -> dict:
        out = {
            "image": self.image,
            "cam2world": _json_matrix(self.cam2world),
            "K": _json_matrix(self.K),
            "width": self.width,
            "height": self.height,
        }
        if self.split is not None:
            out["split"] = self.split
        return out


@dataclass
class SceneReport:
    id: str
    views: list[ViewReport]
    problem_count: int
    #: reads pixels of views (positions in ``views``) for the picture; None when the scene cannot be loaded
    loader: Callable[[list[int]], SceneViews] | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "views": [v.to_json() for v in self.views]}


@dataclass
class CheckReport:
    format: str
    path: Path
    scenes: list[SceneReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: usable input with parts that are ignored (the same lines ``train`` prints); they do not fail the check
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {
            "scenes": len(self.scenes),
            "views": sum(len(s.views) for s in self.scenes),
            "problems": len(self.problems),
            "warnings": len(self.warnings),
        }

    def to_json(self) -> dict:
        return {
            "format": self.format,
            "scenes": [s.to_json() for s in self.scenes],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "counts": self.counts(),
        }


def _json_matrix(matrix: np.ndarray | None) -> list | None:
    if matrix is None:
        return None
    return [[float(v) if math.isfinite(v) else None for v in row] for row in np.asarray(matrix, dtype=np.float64)]


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return path.as_posix()


# --------------------------------------------------------------------------------------------------- SRN


def _check_sizes(paths: list[Path], sizes: list[tuple[int, int] | None], problems: list[str]) -> tuple[int, int] | None:
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    common = Counter(known).most_common(1)[0][0]
    for path, size in zip(paths, sizes):
        if size is not None and size != common:
            problems.append(
                f"{path}: image is {size[0]}x{size[1]} but the other images of this scene are {common[0]}x{common[1]}"
            )
    return common


def _check_srn_scene(scene_dir: Path, base: Path, scene_id: str, depth_scale: float | None,
                     warnings: list[str]) -> tuple[SceneReport, list[str]]:
    index, problems = index_srn_scene(scene_dir)
    warnings.extend(index.warnings)
    intrinsics = None
    if (scene_dir / "intrinsics.txt").is_file():
        try:
            intrinsics = read_srn_intrinsics(scene_dir / "intrinsics.txt")
        except DataError as exc:
            problems.append(str(exc))
    world2cam = intrinsics.world2cam if intrinsics is not None else False
    paths, sizes, poses = [], [], []
    for k in range(len(index.view_ids)):
        path = index.image_path(k)
        try:
            rgb = image_io.read_rgb(path)
            sizes.append((rgb.shape[1], rgb.shape[0]))
        except DataError as exc:
            problems.append(str(exc))
            sizes.append(None)
        paths.append(path)
        pose_path = index.pose_path(k)
        try:
            matrix = read_pose_file(pose_path)
        except DataError as exc:
            problems.append(str(exc))
            poses.append(None)
            continue
        pose_issues = pose_problems(matrix)
        problems.extend(f"{pose_path}: {p}" for p in pose_issues)
        if world2cam and not pose_issues:
            matrix = np.linalg.inv(matrix)
        poses.append(matrix)
    common = _check_sizes(paths, sizes, problems)
    if intrinsics is not None and common is not None:
        for p in intrinsics_problems(intrinsics.matrix(*common), *common):
            problems.append(f"{scene_dir / 'intrinsics.txt'}: {p}")
    views = []
    for path, size, pose in zip(paths, sizes, poses):
        K = intrinsics.matrix(*size) if intrinsics is not None and size is not None else None
        views.append(ViewReport(_relative(path, base), pose, K, size[0] if size else None, size[1] if size else None))
    problems.extend(_check_srn_extras(index, sizes, depth_scale))
    problems.extend(point_file_problems(scene_dir))
    loader = None
    if not problems and views:
        loader = lambda idx, d=scene_dir: SRNDataset(d).load_views(0, idx)  # noqa: E731
    return SceneReport(scene_id, views, len(problems), loader), problems


def _check_srn_extras(index, sizes: list[tuple[int, int] | None], depth_scale: float | None) -> list[str]:
    problems = []
    readers = {
        "mask": image_io.read_rgb,
        "depth": image_io.read_gray16,
        "normal": image_io.read_rgb,
        "parts": image_io.read_labels,
        "instance": image_io.read_labels,
        "removed": image_io.read_rgb,
    }
    for folder in (*index.extras, *index.evaluation):
        if folder == "depth" and depth_scale is None:
            continue  # not read by the loaders either: one warning for the dataset (_check_srn)
        for k, size in enumerate(sizes):
            path = index.extra_path(folder, k)
            if not path.is_file():
                problems.append(f"{path}: missing (the {folder}/ folder has no file for view {index.view_ids[k]})")
                continue
            try:
                array = readers[folder](path)
            except DataError as exc:
                problems.append(str(exc))
                continue
            if size is not None and (array.shape[1], array.shape[0]) != size:
                problems.append(f"{path}: is {array.shape[1]}x{array.shape[0]} but the rgb image is {size[0]}x{size[1]}")
    return problems


def _split_order(name: str) -> tuple[int, str]:
    for rank, split in enumerate(("train", "val", "test", "test_ood_pose", "test_composition")):
        if name == split:
            return rank, name
    return len(KNOWN_SPLITS), name


def _check_srn(report: CheckReport, location, max_scenes: int | None) -> None:
    base = location.path
    try:
        metadata_path, metadata = find_metadata(base)
        depth_scale = depth_scale_from_metadata(metadata, metadata_path)
    except DataError as exc:
        report.problems.append(str(exc))
        depth_scale = None
    if location.format == "srn-scene":
        groups = [("", [base])]
    elif location.format == "srn-split":
        groups = [("", sorted(p for p in base.iterdir() if (p / "rgb").is_dir() and not p.name.startswith(".")))]
    else:
        groups = []
        for split in sorted(location.splits, key=_split_order):
            folder = location.splits[split]
            groups.append((folder.name + "/", sorted(p for p in folder.iterdir() if (p / "rgb").is_dir() and not p.name.startswith("."))))
    report.problems.extend(location.problems())
    for prefix, scene_dirs in groups:
        if max_scenes is not None and len(scene_dirs) > max_scenes:
            report.notes.append(f"{prefix or base.name + '/'}: checked the first {max_scenes} of {len(scene_dirs)} scenes")
            scene_dirs = scene_dirs[:max_scenes]
        for scene_dir in scene_dirs:
            scene, problems = _check_srn_scene(scene_dir, base, prefix + scene_dir.name, depth_scale, report.warnings)
            report.scenes.append(scene)
            report.problems.extend(problems)
    if depth_scale is None and any((d / "depth").is_dir() for _, dirs in groups for d in dirs):
        report.warnings.append(depth_without_scale_warning(base))


# --------------------------------------------------------------------------------------------------- Blender


def _check_blender(report: CheckReport, root: Path) -> None:
    views, paths, sizes, problems = [], [], [], []
    all_frames = []
    for json_path in transforms_files(root, "all"):
        try:
            frames, frame_problems = parse_transforms(json_path)
        except DataError as exc:
            problems.append(str(exc))
            continue
        problems.extend(frame_problems)
        all_frames.extend((json_path, frame) for frame in frames)
    intrinsic_issues: dict[str, None] = {}
    for json_path, frame in all_frames:
        size = None
        try:
            rgb, _ = image_io.read_rgba(frame.image_path)
            size = (rgb.shape[1], rgb.shape[0])
        except DataError as exc:
            problems.append(str(exc))
        K = None
        if size is not None:
            K = frame.camera.matrix(*size)
            for p in intrinsics_problems(K, *size):
                intrinsic_issues[f"{json_path}: camera of {frame.view_id}: {p}"] = None
            if frame.depth_path is not None:
                try:
                    depth = image_io.read_gray16(frame.depth_path)
                    if (depth.shape[1], depth.shape[0]) != size:
                        problems.append(f"{frame.depth_path}: is {depth.shape[1]}x{depth.shape[0]} but the image is {size[0]}x{size[1]}")
                except DataError as exc:
                    problems.append(str(exc))
        paths.append(frame.image_path)
        sizes.append(size)
        views.append(ViewReport(_relative(frame.image_path, root), frame.cam2world, K, *(size or (None, None)), split=frame.split))
    problems.extend(intrinsic_issues)
    _check_sizes(paths, sizes, problems)
    if not all_frames and not problems:
        problems.append(f"{root}: no frames found")
    loader = None
    if not problems and views:
        loader = lambda idx: BlenderDataset(root, split="all").load_views(0, idx)  # noqa: E731
    report.scenes.append(SceneReport(root.resolve().name, views, len(problems), loader))
    report.problems.extend(problems)


def _check_nmr(report: CheckReport, root: Path, max_scenes: int | None) -> None:
    """Every split of an NMR root: each listed object's views and cameras read as training would read them."""
    for split in SPLITS_NMR:
        if not any(root.glob(f"*/{NMR_LIST_PREFIX}{split}.lst")):
            continue
        try:
            dataset = NMRDataset(root, split)
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        for i in range(len(dataset) if max_scenes is None else min(max_scenes, len(dataset))):
            problems: list[str] = []
            views: list[ViewReport] = []
            try:
                scene = dataset[i]
                for k in range(scene.num_views):
                    views.append(ViewReport(scene.view_ids[k], scene.cam2world[k].double().numpy(),
                                            scene.intrinsics[k].double().numpy(), scene.width, scene.height, split=split))
            except DataError as exc:
                problems.append(str(exc))
            loader = None if problems else (lambda idx, d=dataset, j=i: d.load_views(j, idx))
            report.scenes.append(SceneReport(f"{split}/{dataset.scene_ids[i]}", views, len(problems), loader))
            report.problems.extend(problems)


def check_dataset(path: str | Path, max_scenes: int | None = None) -> CheckReport:
    """Validate the dataset at ``path`` without writing anything. Raises :class:`DataError` only when the
    path cannot be read as a dataset at all; every other problem is collected in the report."""
    location = detect_format(path)
    report = CheckReport(format=location.format, path=location.path)
    if location.format == "nerf-blender":
        _check_blender(report, location.path)
    elif location.format == "nerf-blender-split":
        for scene_dir in blender_scene_dirs(location.path)[:max_scenes]:
            _check_blender(report, scene_dir)
    elif location.format == "nerf-blender-root":
        report.problems.extend(location.problems())
        for split in sorted(location.splits, key=_split_order):
            for scene_dir in blender_scene_dirs(location.splits[split])[:max_scenes]:
                _check_blender(report, scene_dir)
    elif location.format == "nmr":
        _check_nmr(report, location.path, max_scenes)
    else:
        _check_srn(report, location, max_scenes)
    return report


# --------------------------------------------------------------------------------------------------- picture


def _frustum_lines(cam2world: np.ndarray, K: np.ndarray, width: int, height: int, size: float) -> list[np.ndarray]:
    corners_uv = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    dirs = np.stack([(corners_uv[:, 0] - K[0, 2]) / K[0, 0], (corners_uv[:, 1] - K[1, 2]) / K[1, 1], np.ones(4)], -1)
    corners = (cam2world[:3, :3] @ (dirs * size).T).T + cam2world[:3, 3]
    centre = cam2world[:3, 3]
    lines = [np.stack([centre, c]) for c in corners]
    lines += [np.stack([corners[i], corners[(i + 1) % 4]]) for i in range(1, 4)]
    lines.append(np.stack([corners[0], corners[1]]))  # top edge of the image, drawn last (highlighted)
    return lines


def rig_look_at(cam2world: np.ndarray) -> np.ndarray:
    """The point closest (least squares) to every camera's optical axis."""
    centres, axes = cam2world[:, :3, 3], cam2world[:, :3, 2]
    axes = axes / np.linalg.norm(axes, axis=-1, keepdims=True)
    projectors = np.eye(3)[None] - axes[:, :, None] * axes[:, None, :]
    A = projectors.sum(0)
    b = (projectors @ centres[:, :, None]).sum(0)[:, 0]
    point, *_ = np.linalg.lstsq(A, b, rcond=None)
    return point


def fundamental_matrix(cam2world_a: np.ndarray, K_a: np.ndarray, cam2world_b: np.ndarray, K_b: np.ndarray) -> np.ndarray:
    """F with ``x_b^T F x_a = 0`` for pixel coordinates (u, v, 1) of the two views (pixel centres at +0.5)."""
    rotation = cam2world_b[:3, :3].T @ cam2world_a[:3, :3]
    translation = cam2world_b[:3, :3].T @ (cam2world_a[:3, 3] - cam2world_b[:3, 3])
    cross = np.array([[0, -translation[2], translation[1]], [translation[2], 0, -translation[0]], [-translation[1], translation[0], 0]])
    return np.linalg.inv(K_b).T @ cross @ rotation @ np.linalg.inv(K_a)


def _line_points(line: np.ndarray, width: int, height: int) -> np.ndarray:
    a, b, c = line
    if abs(b) >= abs(a):
        u = np.array([0.0, width])
        return np.stack([u, -(a * u + c) / b], -1)
    v = np.array([0.0, height])
    return np.stack([-(b * v + c) / a, v], -1)


def _pick_views(cam2world: np.ndarray, centre: np.ndarray) -> tuple[int, int]:
    a = 0
    to_a = cam2world[a, :3, 3] - centre
    best, best_score = 1, math.inf
    for k in range(1, len(cam2world)):
        to_k = cam2world[k, :3, 3] - centre
        cos = np.dot(to_a, to_k) / max(np.linalg.norm(to_a) * np.linalg.norm(to_k), 1e-12)
        angle = math.degrees(math.acos(np.clip(cos, -1.0, 1.0)))
        score = abs(angle - 40.0)
        if score < best_score:
            best, best_score = k, score
    return a, best


def plot_scene(scene: SceneReport, out_path: Path, title: str, num_points: int = 8) -> None:
    """Write the camera / epipolar picture of one scene (every view with a pose and K) to ``out_path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    usable = [k for k, v in enumerate(scene.views) if v.cam2world is not None and v.K is not None]
    cam2world = np.stack([scene.views[k].cam2world for k in usable])
    Ks = np.stack([scene.views[k].K for k in usable])
    width, height = scene.views[usable[0]].width, scene.views[usable[0]].height
    centre = rig_look_at(cam2world)
    distance = float(np.median(np.linalg.norm(cam2world[:, :3, 3] - centre, axis=-1)))
    frustum = 0.15 * max(distance, 1e-6)

    # draw the world axis that the cameras' image-up directions agree on as the vertical axis
    up_axis = int(np.argmax(np.abs(-cam2world[:, :3, 1].mean(0))))
    order = [a for a in range(3) if a != up_axis] + [up_axis]

    def plot_coords(xyz: np.ndarray) -> list[np.ndarray]:
        return [xyz[..., a] for a in order]

    figure = plt.figure(figsize=(15, 5.2))
    ax3d = figure.add_subplot(1, 3, 1, projection="3d")
    for c2w, K in zip(cam2world, Ks):
        lines = _frustum_lines(c2w, K, width, height, frustum)
        for n, line in enumerate(lines):
            top = n == len(lines) - 1
            ax3d.plot(*plot_coords(line), color="crimson" if top else "tab:blue", linewidth=1.4 if top else 0.7)
        axis = c2w[:3, 2]
        along = max(float(np.dot(centre - c2w[:3, 3], axis)), 0.0)
        look = c2w[:3, 3] + along * axis
        ax3d.plot(*plot_coords(np.stack([c2w[:3, 3], look])), color="gray", linewidth=0.4, linestyle="--")
        ax3d.scatter(*plot_coords(look), color="orange", s=4)
    ax3d.scatter(*plot_coords(centre), color="black", marker="*", s=60, label="rig look-at point")
    points = np.concatenate([cam2world[:, :3, 3], centre[None]])
    middle, half = points.mean(0), max(float(np.abs(points - points.mean(0)).max()), 1e-6) * 1.1
    names = "xyz"
    for setter, label, a in zip((ax3d.set_xlim, ax3d.set_ylim, ax3d.set_zlim), (ax3d.set_xlabel, ax3d.set_ylabel, ax3d.set_zlabel), order):
        setter(middle[a] - half, middle[a] + half)
        label(f"world {names[a]}")
    if -cam2world[:, up_axis, 1].mean() < 0:
        ax3d.invert_zaxis()  # the world's up points along -axis
    ax3d.set_box_aspect((1, 1, 1))
    ax3d.legend(loc="upper left", fontsize=7)
    ax3d.set_title(f"{len(usable)} cameras (red edge = image top)", fontsize=9)

    ax_a = figure.add_subplot(1, 3, 2)
    ax_b = figure.add_subplot(1, 3, 3)
    a, b = _pick_views(cam2world, centre)
    views = None
    if scene.loader is not None:
        try:
            views = scene.loader([usable[a], usable[b]])
        except DataError:
            views = None
    if views is None:
        for ax in (ax_a, ax_b):
            ax.text(0.5, 0.5, "views could not be read", ha="center", va="center")
            ax.set_axis_off()
    else:
        _draw_epipolar(views, ax_a, ax_b, num_points)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(out_path, dpi=110, metadata={"Software": PLOT_SOFTWARE})
    plt.close(figure)


def _draw_epipolar(views: SceneViews, ax_a, ax_b, num_points: int) -> None:
    images = views.images.permute(0, 2, 3, 1).numpy()
    c2w = views.cam2world.double().numpy()
    Ks = views.intrinsics.double().numpy()
    height, width = views.height, views.width
    if views.masks is not None:
        foreground = views.masks[0, 0].numpy() > 0.5
    else:
        foreground = (images[0] < 0.97).any(-1)
    if views.depths is not None:
        foreground &= views.depths[0, 0].numpy() > 0
    rows, cols = np.nonzero(foreground)
    if len(rows) == 0:
        rows, cols = np.nonzero(np.ones((height, width), bool))
    rng = np.random.default_rng(0)
    picked = rng.choice(len(rows), size=min(num_points, len(rows)), replace=False)
    uv = np.stack([cols[picked] + 0.5, rows[picked] + 0.5], -1)
    F = fundamental_matrix(c2w[0], Ks[0], c2w[1], Ks[1])
    colours = [f"C{n % 10}" for n in range(len(uv))]
    ax_a.imshow(images[0], extent=(0, width, height, 0))
    ax_a.scatter(uv[:, 0], uv[:, 1], c=colours, s=30, edgecolors="black", linewidths=0.5)
    ax_a.set_title(f"view A ({views.view_ids[0]}): picked pixels", fontsize=9)
    ax_b.imshow(images[1], extent=(0, width, height, 0))
    for (u, v), colour in zip(uv, colours):
        line = F @ np.array([u, v, 1.0])
        if np.abs(line[:2]).max() < 1e-12:
            continue
        ax_b.plot(*_line_points(line, width, height).T, color=colour, linewidth=1.0)
    title = f"view B ({views.view_ids[1]}): epipolar lines"
    if views.depths is not None:
        depth = views.depths[0, 0].numpy()[rows[picked], cols[picked]]
        dirs = np.stack([(uv[:, 0] - Ks[0, 0, 2]) / Ks[0, 0, 0], (uv[:, 1] - Ks[0, 1, 2]) / Ks[0, 1, 1], np.ones(len(uv))], -1)
        world = (c2w[0, :3, :3] @ (dirs * depth[:, None]).T).T + c2w[0, :3, 3]
        cam_b = (world - c2w[1, :3, 3]) @ c2w[1, :3, :3]
        u_b = Ks[1, 0, 0] * cam_b[:, 0] / cam_b[:, 2] + Ks[1, 0, 2]
        v_b = Ks[1, 1, 1] * cam_b[:, 1] / cam_b[:, 2] + Ks[1, 1, 2]
        ax_b.scatter(u_b, v_b, c=colours, marker="x", s=40, linewidths=1.5)
        title += "; x = true match (from depth)"
    ax_b.set_xlim(0, width)
    ax_b.set_ylim(height, 0)
    ax_b.set_title(title, fontsize=9)


# --------------------------------------------------------------------------------------------------- CLI


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def is_our_plot(path: Path) -> bool:
    """Whether ``path`` is a picture an earlier ``data check`` wrote (its PNG ``Software`` text, read from the
    header); only those are ever replaced."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get("Software") == PLOT_SOFTWARE
    except (OSError, ValueError, SyntaxError):
        return False


def _plot_path(args: argparse.Namespace, dataset: Path, notes: list[str]) -> Path | None:
    """Where the picture goes. A file that is not an earlier check's picture is never replaced: an explicit
    ``--plot`` naming one is refused; the default name moves on to ``<name>_check_1.png`` ... and says so."""
    if args.plot is not None:
        path = Path(args.plot)
        if _inside(path, dataset):
            raise ConfigError(f"--plot {path} is inside the dataset folder; data check never writes there")
        if (path.exists() or path.is_symlink()) and not is_our_plot(path):
            raise ConfigError(f"--plot {path}: exists and was not written by data check; choose another path")
        return path
    if args.json:
        return None
    name = dataset.resolve().name or "dataset"
    folder = Path.cwd()
    if _inside(folder / f"{name}_check.png", dataset):
        folder = Path(tempfile.gettempdir())
    path = folder / f"{name}_check.png"
    k = 0
    while (path.exists() or path.is_symlink()) and not is_our_plot(path):
        k += 1
        path = folder / f"{name}_check_{k}.png"
    if k:
        notes.append(f"{folder / f'{name}_check.png'} exists and was not written by data check; kept, the plot is {path}")
    return path


def _summary(report: CheckReport, plot: str | None) -> str:
    sizes = Counter((v.width, v.height) for s in report.scenes for v in s.views if v.width is not None)
    counts = report.counts()
    lines = [
        f"dataset: {report.path}",
        f"format: {report.format}",
        f"scenes: {counts['scenes']}, views: {counts['views']}, image sizes: "
        + (", ".join(f"{w}x{h} ({n})" for (w, h), n in sizes.most_common()) or "none readable"),
    ]
    lines += [f"note: {n}" for n in report.notes]
    if report.warnings:
        lines.append(f"warnings: {len(report.warnings)} (usable; these parts are not read)")
        lines += [f"  - {w}" for w in report.warnings[:MAX_LISTED_PROBLEMS]]
        if len(report.warnings) > MAX_LISTED_PROBLEMS:
            lines.append(f"  ... and {len(report.warnings) - MAX_LISTED_PROBLEMS} more (see --json)")
    if report.problems:
        lines.append(f"problems: {len(report.problems)}")
        lines += [f"  - {p}" for p in report.problems[:MAX_LISTED_PROBLEMS]]
        if len(report.problems) > MAX_LISTED_PROBLEMS:
            lines.append(f"  ... and {len(report.problems) - MAX_LISTED_PROBLEMS} more (see --json)")
    else:
        lines.append("problems: none")
    if plot:
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    """Entry point of ``sceneprior data check`` (arguments defined in :mod:`sceneprior.cli.data`)."""
    dataset = Path(args.path)
    if args.max_scenes is not None and args.max_scenes < 1:
        raise ConfigError(f"--max-scenes must be at least 1, got {args.max_scenes}")
    if not dataset.exists():
        raise DataError(dataset, "path does not exist")
    notes: list[str] = []
    plot_path = _plot_path(args, dataset, notes)
    report = check_dataset(dataset, args.max_scenes)
    report.notes.extend(notes)
    plotted = None
    if plot_path is not None:
        candidates = [s for s in report.scenes if s.problem_count == 0 and sum(v.K is not None for v in s.views) >= 2]
        if candidates:
            scene = candidates[0]
            plot_path.parent.mkdir(parents=True, exist_ok=True)
            plot_scene(scene, plot_path, f"{report.path.name}: scene {scene.id}")
            plotted = str(plot_path)
        else:
            report.notes.append("no plot: no scene with at least two valid views")
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(printable(_summary(report, plotted)))
    if report.problems:
        first = report.problems[0]
        print(printable(f"error: {len(report.problems)} problem(s) found in {dataset}; first: {first}"), file=sys.stderr)
        return 1
    return 0
