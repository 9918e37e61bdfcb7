"""``sceneprior bench speed``: this machine's practical limit and how close our hot paths get to it.

Figures (all measured here, in one process, after warm-up; each the median of several repeats):
  (i)  dense fp32 matmul FLOP/s: the practical limit;
  (ii) the field MLP's forward+backward FLOP/s, as a fraction of (i);
  (iii) rays/s of each renderer at equal image size (added by :func:`renderer_rays_per_second`), and ms per 128²
       view of the Gaussian rasteriser on a Splatter-Image-like scene of 16,384 Gaussians
       (:func:`~sceneprior.bench.renderers.gaussian_splatting_speed`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn


def _median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class MatmulFigure:
    size: int
    seconds: float
    gflops: float


def matmul_limit(size: int = 2048, repeats: int = 7) -> MatmulFigure:
    """Dense square fp32 matmul: 2 n^3 FLOPs per product."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    seconds = _median_seconds(lambda: a @ b, repeats)
    return MatmulFigure(size, seconds, 2 * size**3 / seconds / 1e9)


@dataclass
class MLPFigure:
    points: int
    width: int
    depth: int
    in_dim: int
    forward_gflops: float
    train_gflops: float
    train_fraction_of_matmul: float
    forward_fraction_of_matmul: float


def field_mlp(
    matmul_gflops: float, points: int = 16384, width: int = 256, depth: int = 5, in_dim: int = 63, out_dim: int = 4,
    repeats: int = 7,
) -> MLPFigure:
    """A NeRF-style field MLP (``depth`` hidden layers of ``width``, ReLU) on one chunk of points.

    FLOPs: forward 2*N*sum(in*out); forward+backward 3x that (backward = grad of inputs + grad of weights).
    """
    dims = [in_dim] + [width] * depth + [out_dim]
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    mlp = nn.Sequential(*layers)
    x = torch.randn(points, in_dim)
    macs = sum(dims[i] * dims[i + 1] for i in range(len(dims) - 1))
    forward_flops = 2 * points * macs

    with torch.no_grad():
        fwd = _median_seconds(lambda: mlp(x), repeats)

    def train_step() -> None:
        mlp.zero_grad(set_to_none=True)
        mlp(x).square().mean().backward()

    train = _median_seconds(train_step, repeats)
    fwd_g = forward_flops / fwd / 1e9
    train_g = 3 * forward_flops / train / 1e9
    return MLPFigure(points, width, depth, in_dim, fwd_g, train_g, train_g / matmul_gflops, fwd_g / matmul_gflops)


@dataclass
class SpeedReport:
    machine: dict
    matmul: MatmulFigure
    field_mlp: MLPFigure
    renderers: list[dict] = field(default_factory=list)
    #: (iv)/(v): training steps/s, rays/s and memory of each image preset (:mod:`sceneprior.bench.presets`)
    presets: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()),
    }


def run_speed(json_path: str | None = None, quick: bool = False, presets: tuple[str, ...] | None = None,
              device: str = "cpu") -> SpeedReport:
    repeats = 3 if quick else 7
    mm = matmul_limit(1024 if quick else 2048, repeats)
    mlp = field_mlp(mm.gflops, points=4096 if quick else 16384, repeats=repeats)
    report = SpeedReport(machine_info(), mm, mlp)
    from .renderers import gaussian_splatting_speed, renderer_rays_per_second

    report.renderers = renderer_rays_per_second(quick=quick)
    splat = gaussian_splatting_speed(quick=quick)
    splat["render_speed_vs_volume"] = splat["render_rays_per_s"] / report.renderers[0]["render_rays_per_s"]
    report.renderers.append(splat)
    from .presets import preset_speed
    from .quality import IMAGE_PRESETS

    chosen = IMAGE_PRESETS if presets is None else presets
    report.presets = [asdict(r) for r in preset_speed(chosen, steps=2 if quick else 5, warmup=1 if quick else 2, device=device)]
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(report.to_json())
    return report


def format_report(report: SpeedReport) -> str:
    lines = [
        f"machine: {report.machine['processor']}, torch {report.machine['torch']}, {report.machine['threads']} threads",
        f"(i)  dense fp32 matmul {report.matmul.size}^2: {report.matmul.gflops:.0f} GFLOP/s  (the practical limit)",
        f"(ii) field MLP {report.field_mlp.depth}x{report.field_mlp.width}, {report.field_mlp.points} points: "
        f"forward {report.field_mlp.forward_gflops:.0f} GFLOP/s ({100 * report.field_mlp.forward_fraction_of_matmul:.0f}% of limit), "
        f"forward+backward {report.field_mlp.train_gflops:.0f} GFLOP/s ({100 * report.field_mlp.train_fraction_of_matmul:.0f}% of limit)",
    ]
    for row in report.renderers:
        lines.append("(iii) " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if report.presets:
        lines.append("(iv)/(v) training per preset (its default batch; activation = tensors saved for backward, "
                     "state = weights + grads + Adam moments):")
        lines.append(f"     {'preset':<12} {'params':>9} {'rays/step':>9} {'steps/s':>8} {'rays/s':>9} {'activation MB':>13} {'state MB':>8}")
        for r in report.presets:
            lines.append(f"     {r['preset']:<12} {r['params'] / 1e6:>8.2f}M {r['rays_per_step']:>9} {r['steps_per_second']:>8.2f} "
                         f"{r['rays_per_second']:>9.0f} {r['activation_mb']:>13.1f} {r['state_mb']:>8.1f}"
                         + ("" if r.get("cuda_peak_mb") is None else f"  cuda peak {r['cuda_peak_mb']:.0f} MB"))
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)
