"""The SRN / pixelNeRF novel-view protocol on held-out objects (REFERENCE.md §0).

For each object of the split: N source views — the dataset's fixed ones (``metadata.json`` ``input_views[split]``,
else views 0 and V/2), then views spread evenly over the rest for larger N (:func:`source_views`) — give the latent (encode, auto-decode or both); every other view is rendered and scored. PSNR and
SSIM are averaged per image, then over objects; depth error (mean |Δz| on pixels foreground in both) where the
model gives depth, with its coverage (the fraction of those pixels that have a depth: below 1 for LFN's sparse
depth, whose error is then over the covered pixels only); the inference time per object is reported.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..inference import InferenceConfig, infer
from ..models import SceneModel
from ..training.data import dataset_metadata, open_split
from .metrics import depth_coverage, depth_error, psnr, ssim


@dataclass
class EvalConfig:
    data: str
    split: str = "test"
    input_views: int = 1
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    max_objects: int | None = None
    #: score at most this many target views per object (None: every view but the sources, the protocol)
    max_views: int | None = None
    image_size: int | None = None
    chunk: int = 4096
    save_images: str | None = None


@dataclass
class ObjectResult:
    scene_id: str
    input_views: list[int]
    num_views: int
    psnr: float
    ssim: float
    depth_error: float | None
    inference_seconds: float
    render_seconds: float
    inference_final_loss: float | None = None
    depth_coverage: float | None = None


@dataclass
class EvalResult:
    split: str
    mode: str
    input_views: int
    num_objects: int
    psnr: float
    ssim: float
    depth_error: float | None
    inference_seconds_per_object: float
    render_seconds_per_view: float
    objects: list[ObjectResult]
    run: str = ""
    data: str = ""
    checkpoint_step: int = 0
    inference: dict = field(default_factory=dict)
    device: str = "cpu"
    depth_coverage: float | None = None

    def to_json(self) -> dict:
        out = asdict(self)
        return json.loads(json.dumps(out, default=float).replace("Infinity", "1e308"))


def source_views(metadata: dict, split: str, num_views: int, count: int) -> list[int]:
    """The ``count`` source views of an object with ``num_views`` views: the dataset's fixed ones first
    (``metadata.json`` ``input_views[split]``, else views 0 and ``num_views // 2``), then, when more are asked
    for, views spread evenly over the object's remaining view indices (the same views for every model and every
    run). At least one view is left to score."""
    if count < 1:
        raise ConfigError(f"--input-views {count}: give 1 or more")
    if count >= num_views:
        raise ConfigError(f"--input-views {count}: the object has only {num_views} views (at least one must be left "
                          "to render and score)")
    fixed = (metadata.get("input_views") or {}).get(split)
    views = [int(v) for v in fixed] if fixed else [0, num_views // 2]
    views = [v for v in dict.fromkeys(views) if 0 <= v < num_views]
    if count <= len(views):
        return views[:count]
    rest = [v for v in range(num_views) if v not in views]
    extra = count - len(views)
    return views + [rest[(k * len(rest)) // extra] for k in range(extra)]


def _mean(values: list[float]) -> float:
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else math.nan


def evaluate(model: SceneModel, config: EvalConfig, progress: bool = True) -> EvalResult:
    from tqdm import tqdm

    dataset = open_split(config.data, config.split, config.image_size, load_extras=True)
    metadata = dataset_metadata(config.data)
    count = len(dataset) if config.max_objects is None else min(config.max_objects, len(dataset))
    save_dir = Path(config.save_images) if config.save_images else None
    objects: list[ObjectResult] = []
    model.eval()
    for i in tqdm(range(count), disable=not progress, desc=f"eval {config.split}"):
        total = dataset.num_views(i)
        sources = source_views(metadata, config.split, total, config.input_views)
        targets = [v for v in range(total) if v not in sources]
        if config.max_views is not None:
            targets = targets[:: max(1, math.ceil(len(targets) / config.max_views))][: config.max_views]
        observed = dataset.load_views(i, sources)
        result = infer(model, observed, config.inference)
        truth = dataset.load_views(i, targets)
        psnrs, ssims, depths, coverages = [], [], [], []
        start = time.perf_counter()
        for k in range(len(targets)):
            with torch.no_grad():
                out = model.render(result.latent, truth.cam2world[k : k + 1], truth.intrinsics[k : k + 1],
                                   truth.height, truth.width, chunk=config.chunk)
            prediction = out.rgb[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
            target = truth.images[k].permute(1, 2, 0).numpy()
            psnrs.append(psnr(prediction, target))
            ssims.append(ssim(prediction, target))
            if out.depth is not None and truth.depths is not None:
                fg = None if out.opacity is None else (out.opacity[0, 0] > 0.5).cpu().numpy()
                depths.append(depth_error(out.depth[0, 0].float().cpu().numpy(), truth.depths[k, 0].numpy(), fg))
                coverages.append(depth_coverage(out.depth[0, 0].float().cpu().numpy(), truth.depths[k, 0].numpy(), fg))
            if save_dir is not None:
                from ..data.image_io import write_png

                folder = save_dir / observed.scene_id
                folder.mkdir(parents=True, exist_ok=True)
                write_png(folder / f"{truth.view_ids[k]}.png", prediction)
        render_seconds = time.perf_counter() - start
        objects.append(ObjectResult(
            scene_id=observed.scene_id, input_views=sources, num_views=len(targets), psnr=_mean(psnrs), ssim=_mean(ssims),
            depth_error=None if not depths or all(d is None for d in depths) else _mean(depths),
            inference_seconds=result.seconds, render_seconds=render_seconds / max(len(targets), 1),
            inference_final_loss=result.losses[-1] if result.losses else None,
            depth_coverage=None if all(c is None for c in coverages) else _mean(coverages),
        ))
    depth_values = [o.depth_error for o in objects if o.depth_error is not None]
    coverage_values = [o.depth_coverage for o in objects if o.depth_coverage is not None]
    return EvalResult(
        split=config.split, mode=config.inference.mode, input_views=config.input_views, num_objects=len(objects),
        psnr=_mean([o.psnr for o in objects]), ssim=_mean([o.ssim for o in objects]),
        depth_error=_mean(depth_values) if depth_values else None,
        inference_seconds_per_object=_mean([o.inference_seconds for o in objects]),
        render_seconds_per_view=_mean([o.render_seconds for o in objects]),
        objects=objects, data=str(config.data), inference=asdict(config.inference), device=str(model.device),
        depth_coverage=_mean(coverage_values) if coverage_values else None,
    )
