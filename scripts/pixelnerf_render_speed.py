"""Rendering speed of the shipped ``cars-pixelnerf`` with and without empty-space skipping, interleaved, and how
far apart the two renders are (the skipping's tolerance).

For each of ``--objects`` objects of a generated split, view 0 is encoded and ``--views`` other views are
rendered at 64² twice in turn — every sample evaluated (``render_skip_weight=None``, the path before issue 19)
and the default (proposal skipping from the coarse weights + a 16³ occupancy grid) — so a change of the
machine's load hits both alike. Prints the median seconds per view of each, their ratio, and the worst PSNR and
largest per-channel difference of the fast renders against the dense ones; ``--json`` saves them with the load.

    python scripts/pixelnerf_render_speed.py /work/data/cars300 --threads 1 --json results/pixelnerf_render_speed.json
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from dataclasses import replace

import torch

from sceneprior.inference.loading import load_model
from sceneprior.training.data import open_split


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data")
    p.add_argument("--split", default="test")
    p.add_argument("--model", default="cars-pixelnerf")
    p.add_argument("--objects", type=int, default=4)
    p.add_argument("--views", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--chunk-points", type=int, default=None, help="override the model's points per field evaluation")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model).model
    fast = model.config if args.chunk_points is None else replace(model.config, chunk_points=args.chunk_points)
    dense = replace(fast, render_skip_weight=None)
    split = open_split(args.data, args.split)
    load_before = list(os.getloadavg())
    times: dict[str, list[float]] = {"dense": [], "skipping": []}
    psnrs, max_diffs = [], []
    with torch.no_grad():
        for i in range(min(args.objects, len(split))):
            total = split.num_views(i)
            targets = [1 + k * (total - 1) // args.views for k in range(args.views)]
            views = split.load_views(i, [0, *targets])
            latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
            for v in range(1, len(targets) + 1):
                renders = {}
                for name, config in (("dense", dense), ("skipping", fast)):
                    model.config = config
                    start = time.perf_counter()
                    renders[name] = model.render(latent, views.cam2world[v:v + 1], views.intrinsics[v:v + 1],
                                                 views.height, views.width).rgb
                    times[name].append(time.perf_counter() - start)
                diff = (renders["skipping"] - renders["dense"]).abs()
                psnrs.append(10 * math.log10(1.0 / max(float(diff.pow(2).mean()), 1e-20)))
                max_diffs.append(float(diff.max()))
    report = {
        "command": "python scripts/pixelnerf_render_speed.py " + " ".join(argv if argv is not None else os.sys.argv[1:]),
        "model": args.model, "data": args.data, "split": args.split, "views_rendered": len(psnrs),
        "resolution": [views.height, views.width], "threads": args.threads, "chunk_points": fast.chunk_points,
        "processor": platform.processor() or platform.machine(), "torch": torch.__version__,
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "seconds_per_view": {k: statistics.median(v) for k, v in times.items()},
        "seconds_per_view_all": times,
        "speedup": statistics.median(times["dense"]) / statistics.median(times["skipping"]),
        "speedup_per_view_median": statistics.median(d / s for d, s in zip(times["dense"], times["skipping"])),
        "skipping_vs_dense": {"min_psnr_db": min(psnrs), "max_abs_diff": max(max_diffs)},
    }
    print(f"{len(psnrs)} views of {args.model} at {report['resolution'][0]}x{report['resolution'][1]}, {args.threads} "
          f"thread(s), load {load_before[0]:.2f} -> {report['load_average_after'][0]:.2f}")
    print(f"every sample: {report['seconds_per_view']['dense']:.3f} s/view; empty-space skipping: "
          f"{report['seconds_per_view']['skipping']:.3f} s/view; {report['speedup']:.2f}x (per-view pairs "
          f"{report['speedup_per_view_median']:.2f}x)")
    print(f"skipping vs every sample: PSNR >= {min(psnrs):.1f} dB, max |diff| {max(max_diffs):.4f}")
    if args.json:
        from sceneprior.bench.reconstruct import write_json

        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
