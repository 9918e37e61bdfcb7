"""``sceneprior bench speed``: this machine's practical limit and how close our hot paths get to it.

Figures (all measured here, in one process, after warm-up; each the median of several repeats):
  (i)  dense fp32 matmul FLOP/s: the practical limit;
  (ii) the field MLP's forward and forward+backward FLOP/s, as fractions of (i). (i) and (ii) are timed
       interleaved (matmul, forward, forward+backward, matmul, ...), so a change of load hits both; the spread of
       each series is printed, and no fraction is reported when the limit's spread says the machine was busy
       (:func:`judge_ratio`);
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
from collections.abc import Callable

import torch


def interleaved_seconds(ops: dict[str, Callable[[], object]], repeats: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds of each call of every op, the ops alternating within each repeat (A, B, C, A, B, C, ...), so that
    a change of the machine's load hits every series alike; after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for fn in ops.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(repeats):
        for name, fn in ops.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def relative_spread(values: list[float]) -> float:
    """(max - min) / median of a series: 0 for a steady machine; a busy one spreads the repeats apart."""
    return (max(values) - min(values)) / statistics.median(values)


def judge_ratio(limit_gflops: list[float], mlp_gflops: list[float], max_spread: float) -> tuple[float | None, str | None]:
    """The MLP's fraction of the limit from interleaved repeats (the median of the per-repeat ratios, each MLP
    run over the limit measured next to it), or ``(None, why)`` when the limit's own spread exceeds
    ``max_spread``: then the machine's speed changed during the run and no ratio of its figures means anything."""
    if len(limit_gflops) != len(mlp_gflops) or not limit_gflops:
        raise ValueError(f"need paired repeats, got {len(limit_gflops)} limit and {len(mlp_gflops)} MLP figures")
    spread = relative_spread(limit_gflops)
    if spread > max_spread:
        return None, (f"no ratio: the matmul limit's spread over {len(limit_gflops)} interleaved repeats is "
                      f"{100 * spread:.0f}% (> {100 * max_spread:.0f}%; min {min(limit_gflops):.0f}, max "
                      f"{max(limit_gflops):.0f} GFLOP/s): the machine was busy; rerun it on a quiet one")
    return statistics.median(m / lim for m, lim in zip(mlp_gflops, limit_gflops)), None


def _field_mlp(points: int, width: int, depth: int, in_dim: int, out_dim: int) -> tuple[Callable[[], object], Callable[[], object], int]:
    """A NeRF-style field MLP (``depth`` hidden layers of ``width``, ReLU) on one chunk of points: (forward,
    forward+backward, forward FLOPs = 2 N sum(in*out); forward+backward is counted as 3x that: grads of inputs
    and weights). The network is the library's own :class:`~sceneprior.fields.MLP` (the one every MLP field
    uses), so this measures our code path, not a stand-in."""
    from ..fields.mlp import MLP

    dims = [in_dim] + [width] * depth + [out_dim]
    mlp = MLP(in_dim, out_dim, width, hidden_layers=depth - 1)
    assert mlp.dims == dims
    x = torch.randn(points, in_dim)

    def forward() -> None:
        with torch.no_grad():
            mlp(x)

    def train_step() -> None:
        mlp.zero_grad(set_to_none=True)
        mlp(x).square().mean().backward()

    return forward, train_step, 2 * points * sum(dims[i] * dims[i + 1] for i in range(len(dims) - 1))


@dataclass
class LimitAndMLP:
    """(i) the dense fp32 matmul limit and (ii) the field MLP, measured interleaved in one run: per-repeat GFLOP/s
    of each, their medians and spreads, and the MLP's fraction of the limit (None, with ``refused`` saying why,
    when the limit's spread shows a busy machine)."""

    matmul_size: int
    points: int
    width: int
    depth: int
    in_dim: int
    repeats: int
    max_spread: float
    matmul_gflops: list[float]
    forward_gflops: list[float]
    train_gflops: list[float]
    limit_median: float
    limit_spread: float
    forward_median: float
    forward_spread: float
    train_median: float
    train_spread: float
    train_fraction_of_matmul: float | None
    forward_fraction_of_matmul: float | None
    refused: str | None


def limit_and_mlp(matmul_size: int = 2048, points: int = 16384, width: int = 256, depth: int = 5, in_dim: int = 63,
                  out_dim: int = 4, repeats: int = 9, max_spread: float = 0.10) -> LimitAndMLP:
    """Time the limit (2 n^3 FLOPs per n x n product), the MLP's forward and its forward+backward interleaved."""
    a, b = torch.randn(matmul_size, matmul_size), torch.randn(matmul_size, matmul_size)
    forward, train_step, forward_flops = _field_mlp(points, width, depth, in_dim, out_dim)
    times = interleaved_seconds({"matmul": lambda: a @ b, "forward": forward, "train": train_step}, repeats)
    limit = [2 * matmul_size**3 / t / 1e9 for t in times["matmul"]]
    fwd = [forward_flops / t / 1e9 for t in times["forward"]]
    train = [3 * forward_flops / t / 1e9 for t in times["train"]]
    train_fraction, refused = judge_ratio(limit, train, max_spread)
    forward_fraction, _ = judge_ratio(limit, fwd, max_spread)
    return LimitAndMLP(matmul_size, points, width, depth, in_dim, repeats, max_spread, limit, fwd, train,
                       statistics.median(limit), relative_spread(limit), statistics.median(fwd), relative_spread(fwd),
                       statistics.median(train), relative_spread(train), train_fraction, forward_fraction, refused)


@dataclass
class SpeedReport:
    machine: dict
    limit_and_mlp: LimitAndMLP
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
              device: str = "cpu", repeats: int | None = None, max_spread: float = 0.10,
              limit_only: bool = False) -> SpeedReport:
    """(i)/(ii) interleaved (``repeats`` each; default 9, quick 3), then unless ``limit_only`` (iii)-(v)."""
    repeats = repeats if repeats is not None else (3 if quick else 9)
    figure = limit_and_mlp(1024 if quick else 2048, points=4096 if quick else 16384, repeats=repeats, max_spread=max_spread)
    report = SpeedReport(machine_info(), figure)
    if limit_only:
        report.machine["load_average_at_end"] = list(os.getloadavg())
        _write(report, json_path)
        return report
    from .renderers import gaussian_splatting_speed, renderer_rays_per_second

    report.renderers = renderer_rays_per_second(quick=quick)
    splat = gaussian_splatting_speed(quick=quick)
    splat["render_speed_vs_volume"] = splat["render_rays_per_s"] / report.renderers[0]["render_rays_per_s"]
    report.renderers.append(splat)
    from .presets import preset_speed
    from .quality import IMAGE_PRESETS

    chosen = IMAGE_PRESETS if presets is None else presets
    report.presets = [asdict(r) for r in preset_speed(chosen, steps=2 if quick else 5, warmup=1 if quick else 2, device=device)]
    report.machine["load_average_at_end"] = list(os.getloadavg())
    _write(report, json_path)
    return report


def _write(report: SpeedReport, json_path: str | None) -> None:
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(report.to_json())


def format_report(report: SpeedReport) -> str:
    f = report.limit_and_mlp

    def series(values: list[float]) -> str:
        return " ".join(f"{v:.0f}" for v in values)

    def fraction(value: float | None) -> str:
        return "not reported" if value is None else f"{100 * value:.0f}% of the limit"

    lines = [
        f"machine: {report.machine['processor']}, torch {report.machine['torch']}, {report.machine['threads']} threads, "
        f"load average {report.machine['load_average_at_start'][0]:.2f} at the start",
        f"(i) and (ii) interleaved, {f.repeats} repeats each (matmul, MLP forward, MLP forward+backward in turn); "
        "median GFLOP/s, spread = (max - min) / median:",
        f"(i)  dense fp32 matmul {f.matmul_size}^2: {f.limit_median:.0f} GFLOP/s, spread {100 * f.limit_spread:.0f}%  "
        f"[{series(f.matmul_gflops)}]  (the practical limit)",
        f"(ii) field MLP {f.depth}x{f.width}, {f.points} points: forward {f.forward_median:.0f} GFLOP/s, spread "
        f"{100 * f.forward_spread:.0f}% ({fraction(f.forward_fraction_of_matmul)}); forward+backward {f.train_median:.0f} "
        f"GFLOP/s, spread {100 * f.train_spread:.0f}% ({fraction(f.train_fraction_of_matmul)})",
    ]
    if f.refused:
        lines.append(f"     {f.refused}")
    else:
        lines.append("     fractions: median over repeats of each MLP run / the limit measured next to it")
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
