"""``sceneprior data render-meshes``: a folder of meshes rendered into the SRN layout, in the generator's
camera model and splits.

Meshes are found recursively (:data:`~.normalise.MESH_SUFFIXES`) and sorted by relative path. With
``split="auto"`` they are shuffled with ``seed`` and dealt into ``val`` (5%), ``test`` (10%) and ``train``
(the rest; at least one mesh each for val and test from 3 meshes on); a named split puts every mesh there.
``test`` meshes are rendered a second time into ``test_ood_pose`` (same ids), exactly as the generator does:
views 0 and 1 of val / test / test_ood_pose are its well-separated source pair inside the training range,
later test_ood_pose views lie outside it. Cameras come from the generator's streams for
``(seed, split, index)``, so a mesh folder and a generated dataset with the same seed share their cameras.

Per scene: rgb, pose, depth, normal, mask (and parts: 1 on the object) at ``resolution``, intrinsics,
``points.npz`` (area-uniform surface samples of the normalised mesh) and ``scene.json`` (the source file
and its normalisation). No ``sdf.npz``: meshes from the wild are rarely watertight. A mesh that cannot be
read or rendered is reported in one line naming the file and left out; the others are rendered.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import __version__
from ...errors import ConfigError, DataError, SceneError
from ..generator.cameras import camera_setup, intrinsics_for
from ..generator.dataset import (
    INPUT_VIEWS,
    _cameras,
    _prepare_out,
    encode_depth,
    encode_normals,
    format_intrinsics,
    format_pose,
    png_bytes,
    publish_out,
    save_npz,
    scene_id,
    scene_rng,
)
from ..image_io import atomic_write_bytes
from .normalise import CATEGORY_FORWARD, MESH_SUFFIXES, MeshPart, Normalisation, find_meshes, load_mesh_parts, normalise_parts

SPLIT_CHOICES = ("auto", "train", "val", "test")
DEPTH_SCALE = 1e-4
PART_NAMES = ["background", "object"]


@dataclass
class RenderMeshesConfig:
    """Everything ``sceneprior data render-meshes`` needs (see the module docstring)."""

    mesh_dir: str | Path
    out: str | Path
    category: str = "cars"
    normalisation: Normalisation = field(default_factory=Normalisation)
    split: str = "auto"
    views: int = 50
    test_views: int | None = None
    resolution: int = 64
    seed: int = 0
    spp: int = 32
    surface_points: int = 10000
    threads: int | None = None
    progress: bool = False
    #: also render the test meshes into test_ood_pose (out-of-range cameras)
    ood: bool = True

    def validate(self) -> None:
        if self.split not in SPLIT_CHOICES:
            raise ConfigError(f"--split must be one of {', '.join(SPLIT_CHOICES)}, got {self.split!r}")
        if self.views < 1:
            raise ConfigError(f"--views must be at least 1, got {self.views}")
        if self.split != "train" and self.views_for("test") < 2:
            raise ConfigError("val/test scenes need at least 2 views (2 source views); pass --test-views 2 or more")
        if not 8 <= self.resolution <= 1024:
            raise ConfigError(f"--resolution must be between 8 and 1024, got {self.resolution}")
        if self.spp < 1:
            raise ConfigError(f"--spp must be at least 1, got {self.spp}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be non-negative, got {self.seed}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        if not self.category or "/" in self.category or "_" in self.category:
            raise ConfigError(f"--category must be a plain name without '/' or '_', got {self.category!r}")
        self.normalisation.validate()

    def views_for(self, split: str) -> int:
        if split == "train":
            return self.views
        return self.test_views if self.test_views is not None else self.views


def default_normalisation(category: str, up: str = "+y", forward: str | None = None, extent: float = 0.9) -> Normalisation:
    """The normalisation of a category: its forward axis as target (cars +x, chairs +z, others +x)."""
    target = CATEGORY_FORWARD.get(category, "+x")
    return Normalisation(up=up, forward=forward or target, target_forward=target, extent=extent)


def assign_splits(meshes: list[Path], split: str, seed: int, ood: bool = True) -> dict[str, list[Path]]:
    """Which meshes go to which split (see the module docstring); test_ood_pose repeats test."""
    if split != "auto":
        out = {split: list(meshes)}
    else:
        order = np.random.default_rng(np.random.SeedSequence([seed, 7919])).permutation(len(meshes))
        shuffled = [meshes[i] for i in order]
        n = len(shuffled)
        n_val = max(1, round(0.05 * n)) if n >= 3 else 0
        n_test = max(1, round(0.10 * n)) if n >= 3 else 0
        out = {"train": sorted(shuffled[n_val + n_test:]), "val": sorted(shuffled[:n_val]),
               "test": sorted(shuffled[n_val:n_val + n_test])}
        out = {k: v for k, v in out.items() if v}
    if "test" in out and ood:
        out["test_ood_pose"] = list(out["test"])
    return out


def sample_points(parts: list[MeshPart], count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Area-uniform surface samples (points, unit face normals) of normalised parts, float32."""
    tris = np.concatenate([p.vertices[p.faces] for p in parts])
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    if not area.sum() > 0:
        raise ValueError("the mesh has no surface area")
    which = rng.choice(len(tris), size=count, p=area / area.sum())
    r1, r2 = rng.random(count), rng.random(count)
    root = np.sqrt(r1)
    bary = np.stack([1 - root, root * (1 - r2), root * r2], 1)
    points = np.einsum("nk,nkj->nj", bary, tris[which])
    normals = cross[which] / np.maximum(np.linalg.norm(cross[which], axis=1, keepdims=True), 1e-20)
    return points.astype(np.float32), normals.astype(np.float32)


def _render_scene(renderer, config: RenderMeshesConfig, folder: Path, split: str, index: int) -> int:  # noqa: ANN001
    setup = camera_setup(config.category)
    views = config.views_for(split)
    cams, angles = _cameras(config.seed, split, index, views, setup)
    K = intrinsics_for(config.resolution, setup.fov_deg).numpy()
    res = config.resolution
    for sub in ("rgb", "pose", "depth", "normal", "mask", "parts"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for k in range(views):
        out = renderer.render(cams[k].numpy(), K, res, res, view_seed=_stable_seed(split, index, k))
        name = scene_id(k)
        rgb = (out["rgb"] * 255.0 + 0.5).astype(np.uint8)
        mask = out["mask"]
        (folder / "rgb" / f"{name}.png").write_bytes(png_bytes(rgb))
        (folder / "depth" / f"{name}.png").write_bytes(png_bytes(encode_depth(out["depth"], DEPTH_SCALE)))
        (folder / "normal" / f"{name}.png").write_bytes(png_bytes(encode_normals(out["normals"], mask)))
        (folder / "mask" / f"{name}.png").write_bytes(png_bytes(mask.astype(np.uint8) * 255))
        (folder / "parts" / f"{name}.png").write_bytes(png_bytes(mask.astype(np.uint8)))
        (folder / "pose" / f"{name}.txt").write_text(format_pose(cams[k].numpy()))
    (folder / "intrinsics.txt").write_text(format_intrinsics(K, res, res))
    return views


def _stable_seed(*values: object) -> int:
    import zlib

    return zlib.crc32(repr(values).encode()) & 0x7FFFFFFF


def _mesh_lighting():  # noqa: ANN202
    from .mitsuba_render import MESH_LIGHTING

    return MESH_LIGHTING


def metadata(config: RenderMeshesConfig, sizes: dict[str, int], sources: dict[str, list[str]], failed: list[str]) -> dict[str, object]:
    setup = camera_setup(config.category)
    K = intrinsics_for(config.resolution, setup.fov_deg)
    camera: dict[str, object] = {s: setup.range_for(s).to_json() for s in sizes}
    if "test_ood_pose" in camera:
        camera["test_ood_pose"] = {**setup.ood.to_json(), "ood_views_from": len(INPUT_VIEWS)}
    camera.update({"fov_deg": setup.fov_deg, "target": list(setup.target), "focal": round(float(K[0, 0]), 6),
                   "principal_point": [float(K[0, 2]), float(K[1, 2])],
                   "model": "orbit: eye = target + distance * (cos(el) sin(az), sin(el), cos(el) cos(az)), image up = +y"})
    distances = [d for r in (setup.train, setup.ood) for interval in r.distance for d in interval]
    radius = float(np.sqrt(3) * 0.5)
    return {
        "format": "sceneprior-srn", "version": 1, "generator": f"sceneprior {__version__} render-meshes (Mitsuba 3 scalar_rgb)",
        "category": config.category, "seed": config.seed, "resolution": config.resolution,
        "views_per_scene": {s: config.views_for(s) for s in sizes}, "splits": sizes, "depth_scale": DEPTH_SCALE,
        "world_up": [0, 1, 0], "part_names": PART_NAMES, "camera": camera,
        "input_views": {s: list(INPUT_VIEWS) for s in sizes if s != "train"},
        "near_far": [round(max(0.05, min(distances) - radius), 4), round(max(distances) + radius, 4)],
        "scene_bounds": [[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]], "background": [1.0, 1.0, 1.0],
        "lighting": {"model": "Mitsuba 3: one sun with cast shadows + ambient * albedo, two-sided diffuse, sRGB",
                     **_mesh_lighting().to_json()},
        "spp": config.spp, "normalisation": config.normalisation.to_json(),
        "samples": {"surface_points": config.surface_points, "sdf_samples": 0},
        "shared_objects": {"test_ood_pose": "test"} if "test_ood_pose" in sizes else {},
        "sources": sources, "failed": failed,
    }


def render_meshes(config: RenderMeshesConfig) -> tuple[Path, list[str]]:
    """Render every mesh of ``config.mesh_dir`` (see the module docstring). Returns the dataset root and the
    one-line errors of the meshes left out. Raises :class:`DataError` when no mesh could be rendered."""
    from .mitsuba_render import MESH_LIGHTING, MeshRenderer, import_mitsuba

    config.validate()
    root_in = Path(config.mesh_dir)
    meshes = find_meshes(root_in)
    if not meshes:
        raise DataError(root_in, f"holds no mesh files ({', '.join(MESH_SUFFIXES)})")
    mi = import_mitsuba()
    if config.threads:
        import drjit as dr

        dr.set_thread_count(config.threads)
    out = Path(config.out)
    if out.resolve() == root_in.resolve() or root_in.resolve() in out.resolve().parents:
        raise ConfigError(f"--out {out} must not be inside the mesh folder {root_in}")
    tmp, replace = _prepare_out(out)
    del mi
    plan = assign_splits(meshes, config.split, config.seed, config.ood)
    counters = {s: 0 for s in plan}
    sources: dict[str, list[str]] = {s: [] for s in plan}
    failed: list[str] = []
    total = sum(len(v) for s, v in plan.items() if s != "test_ood_pose")
    start, views_done, done = time.perf_counter(), 0, 0
    try:
        for split in (s for s in ("train", "val", "test") if s in plan):
            for path in plan[split]:
                done += 1
                rel = str(path.relative_to(root_in))
                try:
                    parts, info = normalise_parts(load_mesh_parts(path), config.normalisation)
                    index = counters[split]
                    targets = [split] + (["test_ood_pose"] if split == "test" and config.ood else [])
                    with MeshRenderer(parts, MESH_LIGHTING, spp=config.spp, seed=_stable_seed(config.seed, rel)) as renderer:
                        for target in targets:
                            folder = tmp / f"{config.category}_{target}" / scene_id(index)
                            views_done += _render_scene(renderer, config, folder, target, index)
                            rng = scene_rng(config.seed, split, index, 3)
                            points, normals = sample_points(parts, config.surface_points, rng)
                            save_npz(folder / "points.npz", {"points": points, "normals": normals,
                                                             "parts": np.ones(len(points), dtype=np.uint8)})
                            (folder / "scene.json").write_text(json.dumps({"source": rel, "category": config.category,
                                                                           "normalisation": info}, indent=1) + "\n")
                            sources[target].append(rel)
                    counters[split] += 1
                    if split == "test" and config.ood:
                        counters["test_ood_pose"] += 1
                except SceneError as exc:
                    message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                    failed.append(message)
                    print(f"error: {message} (left out)", file=sys.stderr)
                except (ValueError, RuntimeError, OSError) as exc:
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                    failed.append(f"{path}: cannot render ({type(exc).__name__}: {first})")
                    print(f"error: {failed[-1]} (left out)", file=sys.stderr)
                    for target in [split] + (["test_ood_pose"] if split == "test" and config.ood else []):
                        shutil.rmtree(tmp / f"{config.category}_{target}" / scene_id(counters[split]), ignore_errors=True)
                if config.progress:
                    rate = views_done / max(time.perf_counter() - start, 1e-9)
                    print(f"[{done}/{total}] {rel} ({rate:.2f} views/s)", file=sys.stderr)
        sizes = {s: n for s, n in counters.items() if n > 0}
        if not sizes:
            raise DataError(root_in, f"no mesh could be rendered ({len(failed)} failed)")
        atomic_write_bytes(tmp / "metadata.json", (json.dumps(metadata(config, sizes, {s: v for s, v in sources.items() if v}, failed), indent=1) + "\n").encode())
        publish_out(tmp, out, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    if config.progress:
        print(f"wrote {views_done} views of {sum(sizes.values())} scenes ({config.resolution}x{config.resolution}) in {seconds:.1f} s "
              f"= {views_done / max(seconds, 1e-9):.2f} views/s to {out}; {len(failed)} mesh(es) left out")
    return out, failed
