"""Rendering speed of a shipped model under two versions of the code, interleaved: the same views rendered by a
baseline source tree and by this one, in turn, so that a change of the machine's load hits both alike.

Two worker processes (one per source tree, ``PYTHONPATH`` set to it) load the model and the data once and render
every selected view whenever the driver tells them to: baseline, candidate, baseline, ... for ``--rounds``
rounds; only one renders at a time, the other waits on its input. Prints the median seconds per view of each,
their ratio (per round and overall), and how far the candidate's renders are from the baseline's (PSNR and the
largest per-channel difference, all views); ``--json`` saves it with the load average.

The baseline is any commit's ``src`` tree, extracted without touching a checkout, e.g. the code before issue 19's
second round::

    git archive a0dd1f5 src | tar -x -C /tmp/base
    python scripts/render_speed_ab.py /work/data/cars300 --baseline-src /tmp/base/src --threads 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(args: argparse.Namespace) -> int:
    import time

    import numpy as np
    import torch

    from sceneprior.inference.loading import load_model
    from sceneprior.training.data import open_split

    torch.set_num_threads(args.threads)
    model = load_model(args.model).model
    split = open_split(args.data, args.split)
    jobs = []
    with torch.no_grad():
        for i in range(min(args.objects, len(split))):
            total = split.num_views(i)
            targets = [1 + k * (total - 1) // args.views for k in range(args.views)]
            views = split.load_views(i, [0, *targets])
            latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
            jobs += [(latent, views.cam2world[v:v + 1], views.intrinsics[v:v + 1], views.height, views.width)
                     for v in range(1, len(targets) + 1)]
        model.render(*jobs[0])  # warm-up, not timed
        renders = []
        print(json.dumps({"ready": len(jobs)}), flush=True)
        for line in sys.stdin:
            if line.strip() != "go":
                break
            times, renders = [], []
            for job in jobs:
                start = time.perf_counter()
                renders.append(model.render(*job).rgb)
                times.append(time.perf_counter() - start)
            print(json.dumps({"times": times}), flush=True)
    np.save(args.save, torch.cat(renders).numpy())
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data")
    p.add_argument("--baseline-src", required=True, help="the baseline's src folder (holding sceneprior/)")
    p.add_argument("--candidate-src", default=str(HERE.parent / "src"), help="default: this checkout's src")
    p.add_argument("--split", default="test")
    p.add_argument("--model", default="cars-pixelnerf")
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--views", type=int, default=2, help="views rendered per object (view 0 is the input)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--save", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    sides = {"baseline": args.baseline_src, "candidate": args.candidate_src}
    tmp = tempfile.mkdtemp(prefix="render_ab_")
    procs = {}
    for name, src in sides.items():
        env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), OMP_NUM_THREADS=str(args.threads))
        cmd = [sys.executable, __file__, args.data, "--baseline-src", args.baseline_src, "--worker",
               "--save", os.path.join(tmp, f"{name}.npy"), "--split", args.split, "--model", args.model,
               "--objects", str(args.objects), "--views", str(args.views), "--threads", str(args.threads)]
        procs[name] = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        json.loads(procs[name].stdout.readline())  # loaded and warmed up; it now waits
    load_before = list(os.getloadavg())
    times: dict[str, list[list[float]]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, proc in procs.items():
            proc.stdin.write("go\n")
            proc.stdin.flush()
            times[name].append(json.loads(proc.stdout.readline())["times"])
    load_after = list(os.getloadavg())
    for proc in procs.values():
        proc.stdin.close()
        if proc.wait() != 0:
            raise SystemExit("a worker failed")

    import numpy as np

    base, cand = np.load(os.path.join(tmp, "baseline.npy")), np.load(os.path.join(tmp, "candidate.npy"))
    diff = np.abs(cand.astype(np.float64) - base)
    psnr = min(10 * math.log10(1.0 / max(float((d ** 2).mean()), 1e-20)) for d in diff)
    per_view = {name: statistics.median(t for rnd in series for t in rnd) for name, series in times.items()}
    round_ratio = [statistics.median(b) / statistics.median(c) for b, c in zip(times["baseline"], times["candidate"])]
    report = {
        "command": "python scripts/render_speed_ab.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": args.model, "data": args.data, "split": args.split, "views_rendered": len(base),
        "rounds": args.rounds, "threads": args.threads, "sources": sides,
        "processor": platform.processor() or platform.machine(),
        "load_average_before": load_before, "load_average_after": load_after,
        "seconds_per_view": per_view, "seconds_per_view_all": times,
        "speedup": per_view["baseline"] / per_view["candidate"],
        "speedup_per_round": round_ratio,
        "candidate_vs_baseline": {"min_psnr_db": psnr, "max_abs_diff": float(diff.max())},
    }
    print(f"{len(base)} views of {args.model}, {args.rounds} interleaved rounds, {args.threads} thread(s), load "
          f"{load_before[0]:.2f} -> {load_after[0]:.2f}")
    print(f"baseline {per_view['baseline']:.3f} s/view; candidate {per_view['candidate']:.3f} s/view; "
          f"{report['speedup']:.2f}x (per round {min(round_ratio):.2f}-{max(round_ratio):.2f}x)")
    print(f"candidate vs baseline renders: PSNR >= {psnr:.1f} dB, max |diff| {float(diff.max()):.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
