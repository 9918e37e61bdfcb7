"""Everything a reconstruction writes, into a folder that appears complete or not at all.

Files (relative to the output folder): ``input.png`` (the model's input after cropping), ``views/view_NNN.png``
(the turntable's novel views), ``depth/depth_NNN.png`` (z-depth through matplotlib's ``viridis``, one range for all
frames, white where there is no surface), ``normals/normals_NNN.png`` (world-space normals as (n + 1) / 2, white where
unknown), ``turntable.mp4`` and ``turntable.gif`` (the views, with a thin bar showing the turn), ``mesh.ply`` and
``mesh.glb`` (vertex colours), for models whose scene is a set of 3D Gaussians ``splats.ply`` (the 3D Gaussian
Splatting layout), ``index.html`` and ``summary.json`` (files, timings, notes, camera).

Nothing a user made is deleted or overwritten. Every output folder holds a manifest, ``.sceneprior-outputs.json``,
listing each file we wrote with its SHA-256. A new folder is written into a hidden temporary sibling that is
renamed at the end, so a failed or interrupted run leaves nothing. An existing folder is used only if it is empty
or holds our manifest; then the new files are written into a hidden temporary folder inside it and moved into
place, our earlier files that the new run does not write are removed, and files we did not write (a user's notes
next to the outputs) are kept. Before anything is touched, a file of ours that changed since we wrote it, or a
file of someone else's where an output must go, stops the run with one line naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.image_io import atomic_write_bytes, to_uint8, write_png
from ..errors import ConfigError, SceneError, WriteError

if TYPE_CHECKING:
    from .reconstruction import Reconstruction, RenderedView
    from .parts import PartProbe

SUMMARY = "summary.json"
#: the list of files we wrote into an output folder, with their SHA-256 (see the module doc)
MANIFEST = ".sceneprior-outputs.json"
MANIFEST_FORMAT = "sceneprior-outputs-1"
#: hidden work folders of a run in progress inside an existing output folder
TMP_PREFIX = ".sceneprior-tmp-"


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
    #: a splat model's Gaussians as the splat viewer takes them (:func:`~sceneprior.inference.viewer.splat_payload`), else None
    splats: dict | None = None


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(out_dir: Path) -> dict[str, str]:
    """The files (relative path -> SHA-256) our manifest in ``out_dir`` lists; entries that would reach outside the
    folder are ignored (a manifest is never trusted to name other files)."""
    path = out_dir / MANIFEST
    try:
        data = json.loads(path.read_text())
        files = data["files"] if data.get("format") == MANIFEST_FORMAT else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        files = None
    if not isinstance(files, dict):
        raise ConfigError(f"{path}: not a readable sceneprior output manifest; choose another --out")
    safe = {}
    for name, digest in files.items():
        parts = Path(str(name)).parts
        if parts and not Path(name).is_absolute() and ".." not in parts and isinstance(digest, str):
            safe[str(Path(*parts))] = digest
    return safe


def _ours(out_dir: Path) -> dict[str, str]:
    """Our earlier files in ``out_dir`` that are still as we wrote them (relative path -> SHA-256). A listed file
    that was changed since is an error naming it: it is now the user's."""
    if not (out_dir / MANIFEST).is_file():
        return {}
    ours = {}
    for name, digest in _read_manifest(out_dir).items():
        path = out_dir / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ConfigError(f"{path}: replaced by something sceneprior did not write; move it away or choose another --out")
        if path.is_file():
            if _sha256(path) != digest:
                raise ConfigError(f"{path}: changed since sceneprior wrote it; move it away or choose another --out")
            ours[name] = digest
    return ours


def _visible_entries(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.iterdir() if not p.name.startswith(TMP_PREFIX)]


def prepare_out_dir(out_dir: Path) -> None:
    """Refuse, before any work, an output folder that is neither empty nor one of ours (see the module doc)."""
    if out_dir.is_symlink() and not out_dir.exists():
        raise ConfigError(f"{out_dir}: is a dangling symbolic link; choose another --out")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: exists and is not a folder; choose another --out")
    try:
        entries = _visible_entries(out_dir)
    except OSError as exc:
        raise ConfigError(f"{out_dir}: cannot be read ({exc.strerror or exc})") from None
    if entries and not (out_dir / MANIFEST).is_file():
        raise ConfigError(f"{out_dir}: exists, is not empty and was not written by sceneprior (no {MANIFEST}); "
                          "choose another --out or an empty folder")
    _ours(out_dir)


def write_reconstruction(rec: "Reconstruction", out_dir: str | Path, config: OutputConfig = OutputConfig(),
                         log=None, parts: "PartProbe | None" = None) -> OutputResult:  # noqa: ANN001 - log: a callable taking a line
    """Render and write every output of ``rec`` into ``out_dir`` (see the module doc); with a part probe
    (:func:`sceneprior.inference.parts.fit_part_probe`), the part map of every turntable view as well."""
    out_dir = Path(out_dir)
    prepare_out_dir(out_dir)
    result = OutputResult(out_dir=out_dir, timings=dict(rec.timings))
    say = log or (lambda line: None)
    fresh = not out_dir.exists()
    try:
        if fresh:  # a new folder appears whole: written beside it, renamed at the end
            parent = out_dir.absolute().parent
            parent.mkdir(parents=True, exist_ok=True)
            tmp = parent / f".{out_dir.absolute().name}.tmp-{os.getpid()}"
        else:  # an existing folder (possibly the current one) is merged into: written inside it, moved into place
            tmp = out_dir / f"{TMP_PREFIX}{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        raise WriteError(exc.filename or out_dir, exc) from None
    try:
        try:
            _write_all(rec, tmp, config, result, say, parts)
            written = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
            if fresh:
                _write_manifest(tmp, written, complete=True)
                os.replace(tmp, out_dir)
            else:
                _merge(tmp, out_dir, written)
        except OSError as exc:
            raise WriteError(exc.filename or out_dir, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _write_manifest(folder: Path, files: dict[str, str], complete: bool) -> None:
    data = {"format": MANIFEST_FORMAT, "complete": complete, "files": files,
            "note": "files sceneprior wrote here; it replaces or removes only these, and only while unchanged"}
    atomic_write_bytes(folder / MANIFEST, (json.dumps(data, indent=1) + "\n").encode())


def _merge(tmp: Path, out_dir: Path, written: dict[str, str]) -> None:
    """Move the files of ``tmp`` into ``out_dir``, which holds our manifest or nothing (see the module doc)."""
    ours = _ours(out_dir)
    for name in written:  # every check before anything is touched
        target = out_dir / name
        if (target.exists() or target.is_symlink()) and name not in ours:
            raise ConfigError(f"{target}: already exists and was not written by sceneprior; move it away or choose "
                              "another --out")
        for parent in Path(name).parents:
            if str(parent) != "." and (out_dir / parent).exists() and not (out_dir / parent).is_dir():
                raise ConfigError(f"{out_dir / parent}: is in the way of the outputs (not a folder); move it away or "
                                  "choose another --out")
    # the manifest lists old and new while files move, so an interrupted run leaves nothing it cannot clean up
    _write_manifest(out_dir, {**ours, **written}, complete=False)
    for name in ours.keys() - written.keys():
        (out_dir / name).unlink(missing_ok=True)
    for name in written:
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / name, target)
    for name in ours.keys() - written.keys():  # folders we emptied (views/ of a run with more views ...)
        for parent in Path(name).parents:
            if str(parent) != "." and (out_dir / parent).is_dir() and not any((out_dir / parent).iterdir()):
                (out_dir / parent).rmdir()
    _write_manifest(out_dir, written, complete=True)


def _write_all(rec: "Reconstruction", tmp: Path, config: OutputConfig, result: OutputResult, say,  # noqa: ANN001
               parts: "PartProbe | None" = None) -> None:
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

    if parts is not None:
        from .parts import legend, part_colours

        start = time.perf_counter()
        (tmp / "parts").mkdir()
        files["parts"] = []
        for k, view in enumerate(views):
            labels = parts.part_map(rec.model, rec.latent, view.cam2world, view.K, *view.rgb.shape[:2])
            write_png(tmp / "parts" / f"parts_{k:03d}.png", part_colours(labels.numpy()))
            files["parts"].append(f"parts/parts_{k:03d}.png")
        result.timings["parts"] = time.perf_counter() - start
        labelled = sum(len(v) for v in parts.labelled.values())
        result.notes.append(f"Part maps: a linear probe on the model's per-pixel features, fitted on {labelled} labelled "
                            f"view(s) of {len(parts.labelled)} object(s); colours: {legend(parts.names)}.")
        say(f"part maps of {len(views)} views in {result.timings['parts']:.2f} s")

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

    splats = rec.splats()
    splat_view = None
    if splats is not None:
        start = time.perf_counter()
        from ..meshing.gaussian_ply import write_gaussian_ply
        from .viewer import splat_payload_of

        write_gaussian_ply(splats, tmp / "splats.ply")
        files["splats"] = ["splats.ply"]
        splat_view = result.splats = splat_payload_of(splats)
        result.timings["splats"] = time.perf_counter() - start
        result.notes.append(f"Gaussian splats: {splat_view['count']} 3D Gaussians (splats.ply, the 3D Gaussian Splatting "
                            "PLY layout; those with opacity below 1/255, which never show, are left out).")

    prior = rec.prior
    result.notes.insert(0, f"Model: {rec.loaded.name} ({rec.loaded.kind}, step {rec.loaded.step}), inference: {rec.inference_label}. "
                           f"Input camera: azimuth {prior.azimuth_deg:g}°, elevation {prior.elevation_deg:g}°, distance "
                           f"{prior.distance:g}, field of view {prior.fov_deg:g}° ({prior.source}). " + (
                               f"Depth range {near:.3f}–{far:.3f}." if any(np.isfinite(v.depth).any() for v in views
                                                                           if v.depth is not None) else "No surface in any depth map."))
    from .viewer import write_index

    write_index(tmp, "sceneprior reconstruction", files, mesh, result.notes, result.timings, splats=splat_view)
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
