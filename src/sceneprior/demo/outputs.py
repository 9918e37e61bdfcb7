"""Everything a reconstruction writes, into a folder that appears complete or not at all.

Files (relative to the output folder): ``input.png`` (the model's input after cropping), ``views/view_NNN.png``
(the turntable's novel views), ``depth/depth_NNN.png`` (z-depth through matplotlib's ``viridis``, one range for all
frames, white where there is no surface), ``normals/normals_NNN.png`` (world-space normals as (n + 1) / 2, white where
unknown), ``turntable.mp4`` and ``turntable.gif`` (the views, with a thin bar showing the turn), ``mesh.ply`` and
``mesh.glb`` (vertex colours), ``index.html`` and ``summary.json`` (files, timings, notes, camera).

Everything is written into a hidden temporary sibling folder that is renamed to the output folder at the end, so
a failed or interrupted run never leaves a half-written folder that looks complete. An existing output folder is
replaced only if it holds a ``summary.json`` of an earlier reconstruction.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.image_io import to_uint8, write_png
from ..errors import ConfigError, SceneError

if TYPE_CHECKING:
    from ..api import Reconstruction, RenderedView

SUMMARY = "summary.json"


@dataclass(frozen=True)
class OutputConfig:
    views: int = 24
    #: side of the rendered views (None: the model's input resolution)
    resolution: int | None = None
    mesh_resolution: int = 64
    elevation: float | None = None
    distance: float | None = None
    fps: int = 12
    mesh: bool = True


@dataclass
class OutputResult:
    out_dir: Path
    files: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the rendered turntable views (rgb, depth, normals in memory)
    views: list = field(default_factory=list)
    depth_range: tuple[float, float] = (0.0, 1.0)


def depth_to_rgb(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """z-depth -> RGB in [0, 1] through viridis over [near, far]; NaN -> white."""
    from matplotlib import colormaps

    scaled = np.clip((depth - near) / max(far - near, 1e-9), 0.0, 1.0)
    rgb = colormaps["viridis"](np.nan_to_num(scaled, nan=0.0))[..., :3]
    return np.where(np.isfinite(depth)[..., None], rgb, 1.0).astype(np.float32)


def normals_to_rgb(normals: np.ndarray) -> np.ndarray:
    """Unit normals -> (n + 1) / 2; NaN -> white."""
    valid = np.all(np.isfinite(normals), -1)
    return np.where(valid[..., None], (np.nan_to_num(normals) + 1.0) / 2.0, 1.0).astype(np.float32)


def depth_range(views: list["RenderedView"]) -> tuple[float, float]:
    values = np.concatenate([v.depth[np.isfinite(v.depth)] for v in views if v.depth is not None] or [np.zeros(0)])
    if values.size == 0:
        return 0.0, 1.0
    return float(values.min()), float(values.max())


def _with_bar(frame: np.ndarray, k: int, n: int) -> np.ndarray:
    """A 2-pixel grey bar along the bottom showing the turn (also keeps frames distinct for GIF writers)."""
    out = frame.copy()
    width = out.shape[1]
    out[-2:, : max(1, round(width * (k + 1) / n))] = (90, 90, 90)
    return out


def _pad16(frame: np.ndarray) -> np.ndarray:
    """Pad with white to multiples of 16 (what H.264 encoders want)."""
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, -h % 16), (0, -w % 16), (0, 0)), constant_values=255)


def write_videos(frames: list[np.ndarray], out_dir: Path, fps: int) -> list[str]:
    import imageio.v2 as imageio
    from PIL import Image

    barred = [_with_bar(f, k, len(frames)) for k, f in enumerate(frames)]
    images = [Image.fromarray(f) for f in barred]
    images[0].save(out_dir / "turntable.gif", save_all=True, append_images=images[1:], duration=round(1000 / fps),
                   loop=0, optimize=False, disposal=1)
    writer = imageio.get_writer(out_dir / "turntable.mp4", fps=fps, codec="libx264", quality=8, macro_block_size=1,
                                pixelformat="yuv420p", ffmpeg_log_level="error")
    try:
        for frame in barred:
            writer.append_data(_pad16(frame))
    finally:
        writer.close()
    return ["turntable.mp4", "turntable.gif"]


def prepare_out_dir(out_dir: Path) -> None:
    """Refuse to replace a folder that is not an earlier reconstruction (checked before any work)."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ConfigError(f"{out_dir}: exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / SUMMARY).is_file():
            raise ConfigError(f"{out_dir}: exists and is not an earlier reconstruction (no {SUMMARY}); choose another --out")


def write_reconstruction(rec: "Reconstruction", out_dir: str | Path, config: OutputConfig = OutputConfig(),
                         log=None) -> OutputResult:  # noqa: ANN001 - log: a callable taking a line
    """Render and write every output of ``rec`` into ``out_dir`` (see the module doc)."""
    out_dir = Path(out_dir)
    prepare_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    result = OutputResult(out_dir=out_dir, timings=dict(rec.timings))
    say = log or (lambda line: None)
    try:
        _write_all(rec, tmp, config, result, say)
        old = None
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def _write_all(rec: "Reconstruction", tmp: Path, config: OutputConfig, result: OutputResult, say) -> None:  # noqa: ANN001
    files = result.files
    write_png(tmp / "input.png", rec.images[0].permute(1, 2, 0).numpy())
    files["input"] = ["input.png"]

    start = time.perf_counter()
    views = rec.turntable(config.views, config.elevation, config.distance, config.resolution)
    result.timings["render views"] = time.perf_counter() - start
    size = views[0].rgb.shape[0]
    say(f"rendered {len(views)} views at {size}x{size} in {result.timings['render views']:.2f} s")

    start = time.perf_counter()
    for sub in ("views", "depth", "normals"):
        (tmp / sub).mkdir()
    near, far = depth_range(views)
    result.views, result.depth_range = views, (near, far)
    frames = []
    files["views"], files["depth"], files["normals"] = [], [], []
    for k, view in enumerate(views):
        frame = to_uint8(view.rgb)
        frames.append(frame)
        write_png(tmp / "views" / f"view_{k:03d}.png", frame)
        files["views"].append(f"views/view_{k:03d}.png")
        if view.depth is not None:
            write_png(tmp / "depth" / f"depth_{k:03d}.png", depth_to_rgb(view.depth, near, far))
            files["depth"].append(f"depth/depth_{k:03d}.png")
        if view.normals is not None:
            write_png(tmp / "normals" / f"normals_{k:03d}.png", normals_to_rgb(view.normals))
            files["normals"].append(f"normals/normals_{k:03d}.png")
    if views[0].depth is None:
        result.notes.append(f"{type(rec.model).__name__} renders no depth, so there are no depth or normal maps.")
    files["turntable"] = write_videos(frames, tmp, config.fps)
    result.timings["write images and videos"] = time.perf_counter() - start

    mesh = None
    if config.mesh:
        start = time.perf_counter()
        try:
            mesh = rec.mesh(config.mesh_resolution)
        except SceneError as exc:
            result.notes.append(f"No mesh: {exc}")
            say(f"no mesh: {exc}")
        result.timings["mesh"] = time.perf_counter() - start
        if mesh is not None:
            from ..meshing import export_mesh

            export_mesh(mesh, tmp / "mesh.ply")
            export_mesh(mesh, tmp / "mesh.glb")
            files["mesh"] = ["mesh.ply", "mesh.glb"]
            note = f"Mesh: {len(mesh.vertices)} vertices, {len(mesh.faces)} triangles ({rec.mesh_note})."
            result.notes.append(note)
            say(f"meshed in {result.timings['mesh']:.2f} s: {note}")

    prior = rec.prior
    result.notes.insert(0, f"Model: {rec.loaded.name} ({rec.loaded.kind}, step {rec.loaded.step}), inference: {rec.inference_label}. "
                           f"Input camera: azimuth {prior.azimuth_deg:g}°, elevation {prior.elevation_deg:g}°, distance "
                           f"{prior.distance:g}, field of view {prior.fov_deg:g}° ({prior.source}). " + (
                               f"Depth range {near:.3f}–{far:.3f}." if any(np.isfinite(v.depth).any() for v in views
                                                                           if v.depth is not None) else "No surface in any depth map."))
    from .viewer import write_index

    write_index(tmp, "sceneprior reconstruction", files, mesh, result.notes, result.timings)
    files["index"] = ["index.html"]
    crop = rec.preprocessed[0]
    summary = {
        "model": {"name": rec.loaded.name, "kind": rec.loaded.kind, "step": rec.loaded.step,
                  "checkpoint": str(rec.loaded.checkpoint)},
        "mode": rec.mode, "inference_steps": len(rec.losses), "files": files, "timings_seconds": result.timings, "notes": result.notes,
        "depth_range": [near, far], "normals": "world space, rgb = (n + 1) / 2",
        "input_camera": {"cam2world_opencv": rec.cam2world[0].tolist(), "K": rec.K[0].tolist()},
        "view_prior": prior.to_json(),
        "crop": None if crop is None else {"object_box": list(crop.object_box), "crop_box": list(crop.crop_box),
                                           "source_size": list(crop.source_size), "mask_from": crop.mask_source},
    }
    (tmp / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
