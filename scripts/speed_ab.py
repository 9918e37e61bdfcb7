"""Speed of two versions of the code, interleaved: the same work done by a baseline source tree and by this one,
in turn, so that a change of the machine's load hits both alike.

``render``: a shipped model renders views of a generated split (view 0 of each object encoded, ``--views`` others
rendered). ``train``: training steps of a preset at the matched configuration of ``scripts/bench_peers.py``
(``--peer pixelnerf`` or ``srn``: the same preset, overrides, scenes, rays and source views per step; one fixed batch
drawn from the training split; per step what the trainer does: loss, backward, its check for non-finite values, its
optimiser's step).

Two worker processes (one per source tree, ``PYTHONPATH`` set to it) load everything once and do the work whenever
the driver tells them to: baseline, candidate, baseline, ... for ``--rounds`` rounds; only one works at a time,
the other waits on its input. Prints the median seconds per view (per step) of each, their ratio (per round and
overall), and how far the candidate's results are from the baseline's (renders: PSNR and the largest difference;
training: the losses of every step); ``--json`` saves it with the load average.

The baseline is any commit's ``src`` tree, extracted without touching a checkout, e.g. the code before issue 19's
second round::

    git archive a0dd1f5 src | tar -x -C /tmp/base
    python scripts/speed_ab.py render /work/data/cars300 --baseline-src /tmp/base/src --threads 2 --json out.json
    python scripts/speed_ab.py train /work/data/cars300 --peer srn --baseline-src /tmp/base/src --json out.json
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


def _matched_training(peer: str) -> dict:
    """The preset, model overrides and batch of ``bench_peers.py``'s run of ours (parsed from its command line, so
    both scripts always use the same configuration)."""
    sys.path.insert(0, str(HERE))
    from bench_peers import ours_command

    argv = ours_command(peer, Path("DATA"), Path("OUT"), 1.0)
    options: dict = {"overrides": {}}
    for flag, value in zip(argv, argv[1:]):
        if flag == "--model-override":
            name, _, text = value.partition("=")
            try:
                options["overrides"][name] = json.loads(text)
            except json.JSONDecodeError:
                options["overrides"][name] = text
        elif flag in ("--preset", "--batch-size", "--rays", "--target-views", "--input-views"):
            options[flag[2:].replace("-", "_")] = value
    return options


def _render_jobs(args: argparse.Namespace):
    import torch

    from sceneprior.inference.loading import load_model
    from sceneprior.training.data import open_split

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

    def run(job):
        with torch.no_grad():
            return model.render(*job).rgb

    return jobs, run


def _train_jobs(args: argparse.Namespace):
    import torch

    from sceneprior.models.base import TrainBatch, sample_image_rays
    from sceneprior.models.configs import to_plain
    from sceneprior.registry import config_from_plain, get_preset
    from sceneprior.training import dataset_metadata, make_optimizer
    from sceneprior.training.trainer import _nonfinite
    from sceneprior.training.data import open_split

    options = _matched_training(args.peer)
    preset = get_preset(options["preset"])
    plain = {**to_plain(preset.model), **options["overrides"]}
    config = config_from_plain(preset.model.kind, plain).for_dataset(dataset_metadata(args.data))
    split = open_split(args.data, "train")
    torch.manual_seed(0)
    model = config.build(len(split)).train()
    optimizer = make_optimizer(model, preset.training.lr, preset.training.latent_lr)
    scenes, inputs = int(options["batch_size"]), int(options.get("input_views", 1))
    views = [split.load_views(i, list(range(inputs + 1))) for i in range(scenes)]
    images = torch.stack([v.images for v in views])
    cam2world = torch.stack([v.cam2world for v in views])
    intrinsics = torch.stack([v.intrinsics for v in views])
    generator = torch.Generator().manual_seed(0)
    rays = sample_image_rays(images[:, inputs:], cam2world[:, inputs:], intrinsics[:, inputs:], int(options["rays"]),
                             generator, object_bbox=preset.training.object_bbox_rays)
    batch = TrainBatch(torch.arange(scenes), images[:, :inputs], cam2world[:, :inputs], intrinsics[:, :inputs],
                       images[:, inputs:], cam2world[:, inputs:], intrinsics[:, inputs:], *rays)
    step = [0]

    def run(_job):  # what the trainer does per step (training/trainer.py ``_backward``, then the optimiser)
        torch.manual_seed(step[0])  # the same stratified samples in both trees
        step[0] += 1
        out = model.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        out.total.backward()
        if _nonfinite(out.total, model) is not None:
            raise SystemExit("non-finite loss or gradient")
        optimizer.step()
        return torch.tensor([float(out.total.detach())])

    return [None] * args.steps, run


def worker(args: argparse.Namespace) -> int:
    import time

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    jobs, run = _render_jobs(args) if args.task == "render" else _train_jobs(args)
    results = []
    if args.task == "render":
        run(jobs[0])  # warm-up, not timed (a training step would change the model: none there)
    print(json.dumps({"ready": len(jobs)}), flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        times = []
        if args.task == "render":
            results = []
        for job in jobs:
            start = time.perf_counter()
            results.append(run(job))
            times.append(time.perf_counter() - start)
        print(json.dumps({"times": times}), flush=True)
    np.save(args.save, torch.stack(results).numpy())
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("task", choices=["render", "train"])
    p.add_argument("data")
    p.add_argument("--baseline-src", required=True, help="the baseline's src folder (holding sceneprior/)")
    p.add_argument("--candidate-src", default=str(HERE.parent / "src"), help="default: this checkout's src")
    p.add_argument("--split", default="test", help="render: the split whose views are rendered")
    p.add_argument("--model", default="cars-pixelnerf", help="render: a shipped model")
    p.add_argument("--objects", type=int, default=2, help="render: objects")
    p.add_argument("--views", type=int, default=2, help="render: views rendered per object (view 0 is the input)")
    p.add_argument("--peer", choices=["pixelnerf", "srn"], default="pixelnerf", help="train: the matched configuration")
    p.add_argument("--steps", type=int, default=1, help="train: steps per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--save", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    sides = {"baseline": args.baseline_src, "candidate": args.candidate_src}
    tmp = tempfile.mkdtemp(prefix="speed_ab_")
    procs = {}
    for name, src in sides.items():
        env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), OMP_NUM_THREADS=str(args.threads))
        cmd = [sys.executable, __file__, args.task, args.data, "--baseline-src", args.baseline_src, "--worker",
               "--save", os.path.join(tmp, f"{name}.npy"), "--split", args.split, "--model", args.model,
               "--objects", str(args.objects), "--views", str(args.views), "--peer", args.peer,
               "--steps", str(args.steps), "--threads", str(args.threads)]
        procs[name] = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        json.loads(procs[name].stdout.readline())  # loaded (and warmed up); it now waits
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
    unit = "view" if args.task == "render" else "step"
    per_unit = {name: statistics.median(t for rnd in series for t in rnd) for name, series in times.items()}
    round_ratio = [statistics.median(b) / statistics.median(c) for b, c in zip(times["baseline"], times["candidate"])]
    report = {
        "command": "python scripts/speed_ab.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "task": args.task, "data": args.data, "rounds": args.rounds, "threads": args.threads, "sources": sides,
        "processor": platform.processor() or platform.machine(),
        "load_average_before": load_before, "load_average_after": load_after,
        f"seconds_per_{unit}": per_unit, f"seconds_per_{unit}_all": times,
        "speedup": per_unit["baseline"] / per_unit["candidate"],
        "speedup_per_round": round_ratio,
    }
    if args.task == "render":
        diff = np.abs(cand.astype(np.float64) - base)
        psnr = min(10 * math.log10(1.0 / max(float((d ** 2).mean()), 1e-20)) for d in diff)
        report.update(model=args.model, split=args.split, views_rendered=len(base),
                      candidate_vs_baseline={"min_psnr_db": psnr, "max_abs_diff": float(diff.max())})
        agreement = f"candidate vs baseline renders: PSNR >= {psnr:.1f} dB, max |diff| {float(diff.max()):.2e}"
        what = f"{len(base)} views of {args.model}"
    else:
        report.update(peer=args.peer, matched=_matched_training(args.peer), losses={"baseline": base[:, 0].tolist(),
                      "candidate": cand[:, 0].tolist()},
                      max_relative_loss_diff=float(np.max(np.abs(cand - base) / np.abs(base))))
        agreement = (f"losses of the {len(base)} steps, baseline {' '.join(f'{x:.5f}' for x in base[:, 0])}, candidate "
                     f"{' '.join(f'{x:.5f}' for x in cand[:, 0])} (max relative difference "
                     f"{report['max_relative_loss_diff']:.1e})")
        what = f"{args.peer} training steps at the matched configuration"
    print(f"{what}, {args.rounds} interleaved rounds, {args.threads} thread(s), load {load_before[0]:.2f} -> "
          f"{load_after[0]:.2f}")
    print(f"baseline {per_unit['baseline']:.3f} s/{unit}; candidate {per_unit['candidate']:.3f} s/{unit}; "
          f"{report['speedup']:.2f}x (per round {min(round_ratio):.2f}-{max(round_ratio):.2f}x)")
    print(agreement)
    if args.json:
        from sceneprior.bench.reconstruct import write_json

        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
