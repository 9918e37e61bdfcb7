"""The 3D reconstruction protocol of the shape presets (ConvONet style, REFERENCE.md §5-§6) on held-out objects.

For each object of the split:

1. **Observation**: its surface point cloud (``points.npz``), the whole of it or, with ``partial``, only the
   points whose normal faces one view direction (``n . v > 0``, :func:`~sceneprior.models3d.front_facing`).
   Encoder models get ``input_points`` of them with their training noise; auto-decoders (DeepSDF) fit a code
   by test-time optimisation (frozen weights, Adam, DeepSDF's schedule) to SDF samples made from the observed
   points and normals (:func:`~sceneprior.models3d.surface_observation`).
2. **Volumetric IoU** on the uniform points of ``sdf.npz`` (the last 20%, ``metadata.json`` ``samples.sdf_fractions``):
   inside = occupancy probability >= 0.2 (ONet/ConvONet) or ``sdf < 0``; truth = stored occupancy.
3. **Mesh** by marching cubes (:func:`~sceneprior.meshing.extract_mesh`) on a dense 64^3 grid over the model's
   bounds padded by 5%. Not coarse-to-fine by default: refining only the coarse cells where the level set
   is seen misses every structure thinner than a coarse cell -- rooms' 4-5 cm walls and floor fall between
   the 13 cm samples of a 16^3 start, so even the exact SDF of a room meshed 16^3 -> 64^3 scores Chamfer-L1
   ~0.14 instead of ~0.014 (``mesh_coarse_resolution`` still selects it; ONet's MISE uses 32^3 -> 128^3).
4. **Chamfer-L1, normal consistency, F-score@1%** of the mesh against the ``points.npz`` surface samples
   (:func:`~sceneprior.metrics3d.evaluate_mesh`, ``surface_samples`` points on the mesh; ConvONet: 100k).
   Distances are in world units (objects span [-0.5, 0.5]^3, rooms [-1, 1]^3); the F-score threshold is 1%
   of the ground truth's longest bounding-box side.

Model-level numbers: ``params`` (network parameters, the auto-decoder table excluded), ``peak_memory_mb``
(autograd's saved activations of one training step on one shape with the preset's query count -- measured
on the tensors, so it is the same on any device), ``latent_floats`` (size of one scene's latent: code or
feature grid/planes), ``process_peak_rss_mb`` (the evaluating process's peak resident memory).

JSON keys (documented, tested): ``split preset kind partial view num_objects iou chamfer_l1
normal_consistency fscore params peak_memory_mb latent_floats process_peak_rss_mb
inference_seconds_per_object mesh_seconds_per_object objects run data checkpoint_step protocol``;
each object: ``scene_id iou chamfer_l1 normal_consistency fscore observed_points inference_seconds
mesh_seconds vertices``.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..encoders3d import sample_input_points
from ..meshing import MeshingConfig, export_mesh, extract_mesh
from ..metrics3d import SurfaceMetricsConfig, evaluate_mesh, inside_from_prediction, volumetric_iou
from ..inference.shapes import FitConfig, infer_shape_latent
from ..models3d import DEFAULT_VIEW, ShapeBatch, ShapeCache, ShapeModel, draw_queries, front_facing, parameter_count
from ..training.data import dataset_metadata, open_split
from ..training.memory import saved_activation_bytes

#: Keys of the JSON report (kept in sync with the module docstring; a test checks them).
RESULT_KEYS = (
    "split", "preset", "kind", "partial", "view", "num_objects", "iou", "chamfer_l1", "normal_consistency", "fscore",
    "params", "peak_memory_mb", "latent_floats", "process_peak_rss_mb", "inference_seconds_per_object",
    "mesh_seconds_per_object", "objects", "run", "data", "checkpoint_step", "protocol",
)
OBJECT_KEYS = ("scene_id", "iou", "chamfer_l1", "normal_consistency", "fscore", "observed_points",
               "inference_seconds", "mesh_seconds", "vertices")


@dataclass
class Eval3DConfig:
    data: str
    split: str = "test"
    partial: bool = False
    view: tuple[float, float, float] = DEFAULT_VIEW
    max_objects: int | None = None
    mesh_resolution: int = 64
    #: None: dense grid (see the module docstring: coarse-to-fine misses thin walls)
    mesh_coarse_resolution: int | None = None
    surface_samples: int = 20000
    fit: FitConfig = field(default_factory=FitConfig)
    seed: int = 0
    save_meshes: str | None = None


@dataclass
class ShapeObjectResult:
    scene_id: str
    iou: float
    chamfer_l1: float
    normal_consistency: float
    fscore: float
    observed_points: int
    inference_seconds: float
    mesh_seconds: float
    vertices: int


@dataclass
class Eval3DResult:
    split: str
    preset: str
    kind: str
    partial: bool
    view: tuple[float, float, float]
    num_objects: int
    iou: float
    chamfer_l1: float
    normal_consistency: float
    fscore: float
    params: int
    peak_memory_mb: float
    latent_floats: int
    process_peak_rss_mb: float
    inference_seconds_per_object: float
    mesh_seconds_per_object: float
    objects: list[ShapeObjectResult]
    run: str = ""
    data: str = ""
    checkpoint_step: int = 0
    protocol: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        text = json.dumps(asdict(self), default=float).replace("NaN", "null").replace("Infinity", "1e308")
        return json.loads(text)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024.0


def uniform_count(metadata: dict, total: int) -> int:
    """How many of the last ``sdf.npz`` samples are uniform in the bounds (generator: 20%)."""
    fractions = metadata.get("sdf_fractions") or (metadata.get("samples") or {}).get("sdf_fractions") or {}
    fraction = float(fractions.get("uniform", 0.2))
    count = int(sdf_total_uniform(total, fraction))
    return max(1, min(total, count))


def sdf_total_uniform(total: int, fraction: float) -> int:
    near = int(round((1.0 - fraction) / 2.0 * total))
    return total - 2 * near


def meshing_config(model: ShapeModel, resolution: int, coarse: int | None) -> MeshingConfig:
    s = model.bounds.half_extent * 1.05
    box = {"bound_min": (-s, -s, -s), "bound_max": (s, s, s), "resolution": resolution, "coarse_resolution": coarse}
    return MeshingConfig.for_sdf(**box) if model.geometry == "sdf" else MeshingConfig.for_occupancy_logits(0.2, **box)


def evaluate_shapes(model: ShapeModel, config: Eval3DConfig, preset: str = "", kind: str = "",
                    progress: bool = True) -> Eval3DResult:
    from tqdm import tqdm

    dataset = open_split(config.data, config.split, load_extras=False)
    metadata = dataset_metadata(config.data)
    cache = ShapeCache(dataset)
    count = len(dataset) if config.max_objects is None else min(config.max_objects, len(dataset))
    generator = torch.Generator().manual_seed(config.seed)
    model.eval()
    surface = SurfaceMetricsConfig(num_samples=config.surface_samples, seed=config.seed)
    mesh_config = meshing_config(model, config.mesh_resolution, config.mesh_coarse_resolution)
    save_dir = Path(config.save_meshes) if config.save_meshes else None
    objects: list[ShapeObjectResult] = []
    latent_floats = 0
    for i in tqdm(range(count), disable=not progress, desc=f"eval3d {config.split}"):
        sample = cache.scene(i)
        points, normals = sample.surface_points, sample.surface_normals
        if config.partial:
            mask = front_facing(normals, config.view)
            points, normals = points[mask], normals[mask]
        start = time.perf_counter()
        latent, _ = infer_shape_latent(model, points, normals, config.fit, generator)
        inference_seconds = time.perf_counter() - start
        latent_floats = latent.floats_per_scene()
        n_uniform = uniform_count(metadata, sample.query_points.shape[0])
        uniform = sample.query_points[-n_uniform:]
        with torch.no_grad():
            values = torch.cat([model.decode(latent, uniform[None, s : s + 8192])[0] for s in range(0, n_uniform, 8192)])
        kind_of = "sdf" if model.geometry == "sdf" else "logit"
        iou = float(volumetric_iou(inside_from_prediction(values, kind_of), sample.query_occupancy[-n_uniform:] >= 0.5))
        start = time.perf_counter()
        mesh = extract_mesh(model.field_fn(latent), mesh_config)
        mesh_seconds = time.perf_counter() - start
        metrics = evaluate_mesh(mesh, sample.surface_points.double().numpy(), sample.surface_normals.double().numpy(), surface)
        if save_dir is not None:
            export_mesh(mesh, save_dir / f"{sample.scene_id}.ply")
        objects.append(ShapeObjectResult(
            scene_id=sample.scene_id, iou=iou, chamfer_l1=metrics.chamfer_l1,
            normal_consistency=metrics.normal_consistency, fscore=metrics.fscore, observed_points=int(points.shape[0]),
            inference_seconds=inference_seconds, mesh_seconds=mesh_seconds, vertices=int(len(mesh.vertices)),
        ))
    return Eval3DResult(
        split=config.split, preset=preset, kind=kind, partial=config.partial, view=tuple(config.view),
        num_objects=len(objects), iou=_mean([o.iou for o in objects]), chamfer_l1=_mean([o.chamfer_l1 for o in objects]),
        normal_consistency=_mean([o.normal_consistency for o in objects]), fscore=_mean([o.fscore for o in objects]),
        params=parameter_count(model), peak_memory_mb=training_memory_mb(model, cache, generator),
        latent_floats=latent_floats, process_peak_rss_mb=_peak_rss_mb(),
        inference_seconds_per_object=_mean([o.inference_seconds for o in objects]),
        mesh_seconds_per_object=_mean([o.mesh_seconds for o in objects]),
        objects=objects, data=str(config.data),
        protocol={"iou_points": "uniform samples of sdf.npz", "occupancy_threshold": 0.2,
                  "mesh": (f"marching cubes {config.mesh_resolution}^3 dense" if config.mesh_coarse_resolution is None
                           else f"marching cubes {config.mesh_coarse_resolution}->{config.mesh_resolution}"),
                  "surface_samples": config.surface_samples, "fscore_threshold": "1% of the gt bounding-box side",
                  "fit": asdict(config.fit)},
    )


def activation_memory(model: ShapeModel, batch: ShapeBatch) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of one training loss on ``batch`` (each
    storage counted once): a device-independent measure of a training step's peak activation memory."""
    return saved_activation_bytes(lambda: model.loss(batch))


def training_memory_mb(model: ShapeModel, cache: ShapeCache, generator: torch.Generator) -> float:
    """Saved-activation memory of one training loss on one shape (MB); see the module docstring."""
    sample = cache.scene(0)
    data = model.data
    points, occupancy, sdf = draw_queries(sample, data.query_points, generator)
    observed = sample_input_points(sample.surface_points[None], data.input_points, data.input_noise, generator)
    batch = ShapeBatch(torch.zeros(1, dtype=torch.long), observed, points[None], occupancy[None], sdf[None])
    was_training = model.training
    model.train()
    try:
        return activation_memory(model, batch) / 2**20
    finally:
        model.train(was_training)
