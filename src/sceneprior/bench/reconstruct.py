"""The main job, measured: ``sceneprior bench reconstruct`` (how long each stage of ``sceneprior reconstruct``
takes on this machine) and ``sceneprior bench reconstruct-check`` (how good its novel views are, scored against
the ground truth of a generated dataset).

Speed: one 64² input (the bundled example car, or ``image``) through the stages of the main job — load the
model, preprocess (find, centre, crop), infer the latent (encode; encode+autodecode and autodecode with
``steps`` steps where the model supports them), render a ``views``-view turntable, mesh, write every output —
each timed ``repeat`` times (median and minimum reported), with the load average before and after.

Check: for every object of a split, the object's fixed input view (``metadata.json`` ``input_views``, the eval
protocol's) is read **from its PNG file** and goes through ``reconstruct``'s preprocessing (object found, centred,
cropped, resized). The crop is a zoom and shift of the image, so the camera of the cropped input is the dataset
camera with its intrinsics mapped through the crop box (:func:`sceneprior.api.crop_intrinsics`); the
reconstruction is told that camera and rendered at the ground-truth camera of every other view, and PSNR/SSIM are
computed like ``sceneprior eval`` (per image, averaged per object, then over objects). A control runs the same
objects with the input uncropped (``eval``'s path), so the effect of the cropping is visible on its own.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..defaults import DEFAULT_MODEL
from ..errors import ConfigError

#: the main job's speed target for an encoder model: input -> latent -> 36-view turntable + mesh, on 2 CPU cores
TARGET_SECONDS = 10.0


@dataclass
class ReconstructSpeedConfig:
    model: str = DEFAULT_MODEL
    image: str | None = None
    views: int = 36
    resolution: int | None = None
    mesh_resolution: int = 64
    steps: int = 100
    repeat: int = 3
    threads: int | None = None
    command: str = ""


@dataclass
class StageTime:
    name: str
    median_s: float
    min_s: float
    runs: int
    note: str = ""


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine_info(threads: int) -> dict:
    return {"host": platform.node(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch": torch.__version__, "torch_threads": threads}


def _timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _stage(name: str, times: list[float], note: str = "") -> StageTime:
    return StageTime(name, statistics.median(times), min(times), len(times), note)


def run_reconstruct_speed(config: ReconstructSpeedConfig, log: Callable[[str], None] = print) -> dict:
    """Time each stage of the main job; returns the report (see the module doc)."""
    from ..api import example_images, load_model, reconstruct
    from ..inference.outputs import OutputConfig, write_reconstruction
    from ..inference.preprocess import load_image

    if config.repeat < 1 or config.views < 1 or config.steps < 0:
        raise ConfigError(f"repeat and views must be >= 1 and steps >= 0 (got {config.repeat}, {config.views}, {config.steps})")
    if config.threads is not None:
        if config.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {config.threads}")
        torch.set_num_threads(config.threads)
    image = Path(config.image) if config.image else (example_images() or [None])[0]
    if image is None:
        raise ConfigError("no --image given and no bundled example found")
    load_before = _load_average()
    stages: list[StageTime] = []

    times, loaded = _timed(lambda: load_model(config.model), config.repeat)
    stages.append(_stage("load model", times))
    log(f"model {loaded.name} ({loaded.kind}, step {loaded.step}); modes {', '.join(loaded.modes)}; torch threads {torch.get_num_threads()}")
    rgb_shape = load_image(image)[0].shape
    default_mode = "encode" if "encode" in loaded.modes else "autodecode"
    reconstruct(loaded, image, mode=default_mode, steps=min(config.steps, 2))  # warm-up (first-call allocations)

    recs = {}
    inference: dict[str, float] = {}
    preprocess: list[float] = []
    modes = [m for m in ("encode", "encode+autodecode", "autodecode") if m in loaded.modes]
    for mode in modes:
        steps = 0 if mode == "encode" else config.steps
        runs = config.repeat if mode == "encode" else 1  # auto-decoding: long enough to time once
        times = []
        for _ in range(runs):
            rec = reconstruct(loaded, image, mode=mode, steps=steps)
            times.append(rec.timings["inference"])
            preprocess.append(rec.timings["preprocess"])
        recs[mode] = rec
        label = "encode (one forward pass)" if mode == "encode" else f"{mode} ({steps} steps)"
        stages.append(_stage(f"infer: {label}", times))
        inference[mode] = statistics.median(times)
        log(f"  {label}: {inference[mode]:.2f} s")
    stages.insert(1, _stage("preprocess (find, crop, resize)", preprocess, f"input {rgb_shape[1]}x{rgb_shape[0]} -> {loaded.prior.resolution}²"))

    rec = recs[default_mode]
    out_root = Path(tempfile.mkdtemp(prefix="sceneprior-bench-"))
    render, mesh, write, total = [], [], [], []
    mesh_note = ""
    try:
        output = OutputConfig(views=config.views, resolution=config.resolution, mesh_resolution=config.mesh_resolution)
        for k in range(config.repeat):
            start = time.perf_counter()
            result = write_reconstruction(rec, out_root / f"run{k}", output)
            wall = time.perf_counter() - start
            render.append(result.timings["render views"])
            mesh.append(result.timings.get("mesh", 0.0))
            write.append(wall - render[-1] - mesh[-1])
            total.append(wall)
            mesh_note = rec.mesh_note
            shutil.rmtree(out_root / f"run{k}", ignore_errors=True)
    finally:
        shutil.rmtree(out_root, ignore_errors=True)
    size = int(config.resolution or rec.images.shape[-1])
    stages.append(_stage(f"render {config.views}-view turntable ({size}²)", render, f"{statistics.median(render) / config.views * 1000:.0f} ms/view"))
    stages.append(_stage(f"mesh ({config.mesh_resolution}³ marching cubes)", mesh, mesh_note))
    stages.append(_stage("write outputs (PNG, MP4, GIF, PLY, GLB, index.html)", write))
    med = {s.name: s.median_s for s in stages}
    pre = statistics.median(preprocess)
    core = {mode: pre + inference[mode] + statistics.median(render) + statistics.median(mesh) for mode in modes}
    job = {mode: med["load model"] + core[mode] + statistics.median(write) for mode in modes}
    load_after = _load_average()
    report = {
        "command": config.command, "model": {"name": loaded.name, "kind": loaded.kind, "step": loaded.step,
                                             "modes": list(loaded.modes), "default_mode": default_mode},
        "input": str(image), "input_size": [rgb_shape[1], rgb_shape[0]], "model_resolution": loaded.prior.resolution,
        "views": config.views, "render_resolution": size, "mesh_resolution": config.mesh_resolution,
        "autodecode_steps": config.steps, "repeat": config.repeat,
        "machine": machine_info(torch.get_num_threads()),
        "load_average_before": load_before, "load_average_after": load_after,
        "stages": [asdict(s) for s in stages],
        "input_to_turntable_and_mesh_s": core,
        "whole_job_s": job,
        "target": {"what": f"input -> latent -> {config.views}-view turntable + mesh, default mode, 2 CPU cores",
                   "seconds": TARGET_SECONDS, "measured_s": core[default_mode],
                   "met": core[default_mode] <= TARGET_SECONDS},
        "time_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    return report


def format_speed_markdown(report: dict) -> str:
    model = report["model"]
    lines = [
        f"Model `{model['name']}` ({model['kind']}, step {model['step']}; default inference: {model['default_mode']}), "
        f"input `{Path(report['input']).name}` {report['input_size'][0]}x{report['input_size'][1]} -> "
        f"{report['model_resolution']}², {report['views']} views at {report['render_resolution']}², mesh "
        f"{report['mesh_resolution']}³; {report['machine']['cpus']} CPUs, {report['machine']['torch_threads']} torch "
        f"threads, torch {report['machine']['torch']}; load average (1/5/15 min) before {report['load_average_before']}, "
        f"after {report['load_average_after']}; {report['time_utc']}.",
        "",
        "| stage | median s | min s | runs | note |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in report["stages"]:
        lines.append(f"| {s['name']} | {s['median_s']:.2f} | {s['min_s']:.2f} | {s['runs']} | {s['note']} |")
    lines += ["", "| inference | input -> latent -> turntable + mesh (s) | whole job incl. load and writing (s) |",
              "| --- | --- | --- |"]
    for mode, seconds in report["input_to_turntable_and_mesh_s"].items():
        steps = "" if mode == "encode" else f", {report['autodecode_steps']} steps"
        lines.append(f"| {mode}{steps} | {seconds:.2f} | {report['whole_job_s'][mode]:.2f} |")
    t = report["target"]
    lines += ["", f"Target ({t['what']}): ≤ {t['seconds']:g} s; measured {t['measured_s']:.2f} s: "
              f"{'met' if t['met'] else 'NOT met'}."]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- check


@dataclass
class ReconstructCheckConfig:
    data: str
    model: str = DEFAULT_MODEL
    split: str = "test"
    mode: str | None = None
    steps: int = 100
    refine_steps: int = 0
    max_objects: int | None = None
    max_views: int | None = None
    control: bool = True
    threads: int | None = None
    reference_psnr: float | None = None
    reference_ssim: float | None = None
    reference: str = ""
    command: str = ""


@dataclass
class CheckObject:
    scene_id: str
    input_view: int
    input_file: str
    num_views: int
    psnr: float
    ssim: float
    crop_box: list[float]
    crop_zoom: float
    control_psnr: float | None = None
    control_ssim: float | None = None
    inference_seconds: float = 0.0


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def run_reconstruct_check(config: ReconstructCheckConfig, log: Callable[[str], None] = print) -> dict:
    """Score ``reconstruct``'s novel views against a dataset's ground truth (see the module doc)."""
    from ..api import inference_mode, load_model, reconstruct
    from ..evaluation.evaluate import source_views
    from ..evaluation.metrics import psnr, ssim
    from ..training.data import dataset_metadata, open_split

    if config.threads is not None:
        if config.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {config.threads}")
        torch.set_num_threads(config.threads)
    loaded = load_model(config.model)
    mode, steps = inference_mode(loaded, config.mode, config.steps, config.refine_steps)
    dataset = open_split(config.data, config.split, None, load_extras=False)
    metadata = dataset_metadata(config.data)
    count = len(dataset) if config.max_objects is None else min(config.max_objects, len(dataset))
    if count < 1:
        raise ConfigError(f"{config.data}: split {config.split!r} has no objects")
    load_before = _load_average()
    objects: list[CheckObject] = []
    start_all = time.perf_counter()
    for i in range(count):
        total = dataset.num_views(i)
        source = source_views(metadata, config.split, total, 1)[0]
        targets = [v for v in range(total) if v != source]
        if config.max_views is not None:
            targets = targets[:: max(1, math.ceil(len(targets) / config.max_views))][: config.max_views]
        observed = dataset.load_views(i, [source])
        truth = dataset.load_views(i, targets)
        png = dataset.scene_index(i).image_path(source)
        rec = reconstruct(loaded, png, cam2world=observed.cam2world, K=observed.intrinsics, crop=True, mode=mode,
                          steps=steps)
        crop = rec.preprocessed[0]
        assert crop is not None
        scores = _score(rec, truth, psnr, ssim)
        control = None
        if config.control:
            rec_c = reconstruct(loaded, png, cam2world=observed.cam2world, K=observed.intrinsics, crop=False,
                                mode=mode, steps=steps)
            control = _score(rec_c, truth, psnr, ssim)
        zoom = observed.width / (crop.crop_box[2] - crop.crop_box[0])  # > 1: the crop enlarges the object
        objects.append(CheckObject(
            scene_id=observed.scene_id, input_view=source, input_file=str(png), num_views=len(targets),
            psnr=scores[0], ssim=scores[1], crop_box=[round(float(v), 2) for v in crop.crop_box],
            crop_zoom=round(float(zoom), 4),
            control_psnr=None if control is None else control[0], control_ssim=None if control is None else control[1],
            inference_seconds=rec.timings["inference"],
        ))
        extra = "" if control is None else f" (uncropped {control[0]:.2f})"
        log(f"  {observed.scene_id}: PSNR {scores[0]:.2f}{extra}  SSIM {scores[1]:.3f}  crop zoom {objects[-1].crop_zoom:.3f}")
    result = {
        "command": config.command, "data": config.data, "split": config.split,
        "dataset_seed": metadata.get("seed"), "model": {"name": loaded.name, "kind": loaded.kind, "step": loaded.step},
        "mode": mode, "steps": steps if mode != "encode" else 0, "num_objects": len(objects),
        "views_per_object": _mean([float(o.num_views) for o in objects]),
        "psnr": _mean([o.psnr for o in objects]), "ssim": _mean([o.ssim for o in objects]),
        "control_uncropped_psnr": _mean([o.control_psnr for o in objects if o.control_psnr is not None]) if config.control else None,
        "control_uncropped_ssim": _mean([o.control_ssim for o in objects if o.control_ssim is not None]) if config.control else None,
        "reference": {"psnr": config.reference_psnr, "ssim": config.reference_ssim, "source": config.reference},
        "machine": machine_info(torch.get_num_threads()), "load_average_before": load_before,
        "load_average_after": _load_average(), "seconds": round(time.perf_counter() - start_all, 1),
        "time_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "objects": [asdict(o) for o in objects],
    }
    if config.reference_psnr is not None:
        result["psnr_minus_reference"] = result["psnr"] - config.reference_psnr
        result["within_0_5_db"] = abs(result["psnr_minus_reference"]) <= 0.5
    return result


def _score(rec, truth, psnr, ssim) -> tuple[float, float]:  # noqa: ANN001 - Reconstruction, SceneViews, metrics
    psnrs, ssims = [], []
    for k in range(truth.images.shape[0]):
        view = rec.render(truth.cam2world[k], truth.intrinsics[k], truth.height, truth.width)
        target = truth.images[k].permute(1, 2, 0).numpy()
        psnrs.append(psnr(view.rgb, target))
        ssims.append(ssim(view.rgb, target))
    return _mean(psnrs), _mean(ssims)


def format_check_markdown(result: dict) -> str:
    mode = result["mode"] + ("" if result["mode"] == "encode" else f", {result['steps']} steps")
    lines = [
        f"Model `{result['model']['name']}` ({result['model']['kind']}, step {result['model']['step']}), inference "
        f"{mode}; data `{result['data']}` (generator seed {result['dataset_seed']}), split `{result['split']}`: "
        f"{result['num_objects']} objects × {result['views_per_object']:.0f} target views; "
        f"{result['machine']['torch_threads']} torch threads, {result['seconds']:.0f} s, load average before "
        f"{result['load_average_before']}, after {result['load_average_after']}; {result['time_utc']}.",
        "",
        "| input path | PSNR (dB) | SSIM |",
        "| --- | --- | --- |",
        f"| `reconstruct`: PNG file → object found and cropped; K mapped through the crop, crop resampled to the model's intrinsics | **{result['psnr']:.2f}** | **{result['ssim']:.3f}** |",
    ]
    if result.get("control_uncropped_psnr") is not None:
        lines.append(f"| control: the same PNG uncropped (`sceneprior eval`'s input) | {result['control_uncropped_psnr']:.2f} | "
                     f"{result['control_uncropped_ssim']:.3f} |")
    ref = result["reference"]
    if ref.get("psnr") is not None:
        ssim_ref = "" if ref.get("ssim") is None else f" / SSIM {ref['ssim']:.3f}"
        lines.append(f"| model card ({ref['source'] or 'reference'}) | {ref['psnr']:.2f} | {'' if ref.get('ssim') is None else format(ref['ssim'], '.3f')} |")
        diff = result["psnr_minus_reference"]
        lines += ["", f"Difference to the model card: {diff:+.2f} dB (PSNR {ref['psnr']:.2f}{ssim_ref}): "
                  f"{'within' if result['within_0_5_db'] else 'NOT within'} 0.5 dB."]
    return "\n".join(lines)


def write_json(path: str | Path, report: dict) -> None:
    from ..data.image_io import atomic_write_bytes

    atomic_write_bytes(Path(path), (json.dumps(report, indent=2, default=float) + "\n").encode())


__all__ = ["ReconstructCheckConfig", "ReconstructSpeedConfig", "TARGET_SECONDS", "format_check_markdown",
           "format_speed_markdown", "run_reconstruct_check", "run_reconstruct_speed", "write_json"]
