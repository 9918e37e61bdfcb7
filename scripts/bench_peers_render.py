"""Rendering one 64² view: sceneprior's pixelNeRF renderer against the official pixelNeRF renderer (sxyu/pixel-nerf),
back to back, interleaved, one torch thread each.

The official code is NOT part of this repository: fetch it at ``bench_peers.PIXELNERF_COMMIT`` and make the CPU
changes of ``results/peers/README.md`` (in words; nothing of theirs is shipped). Its side renders with its own
evaluation path and settings (``eval/eval.py``): ``NeRFRenderer.from_conf(conf["renderer"],
eval_batch_size=50000)`` of ``conf/exp/srn_cpu.conf`` (their ``srn.conf``: 64 coarse samples, ``n_fine = 32`` =
16 importance + 16 depth samples, white background, 512-wide ResnetFC × 5 blocks, mean over views after block 3,
ResNet-34 encoder with 4 stages), ``bind_parallel(net, simple_output=True).eval()``, SRN cars' near/far (0.8, 1.8),
every pixel's ray in one call (their ``--ray_batch_size`` default is 50,000 rays), ``torch.no_grad()``. Each side
also counts the points that went through its ray MLPs (forward pre-hooks on the networks; ours includes the
occupancy grid's).

Our side is the same architecture, the matched configuration of ``scripts/bench_peers.py`` (parsed from its command
line), rendered by ``SceneModel.render``: ``ours`` with the model's default renderer (rays missing the scene box
skipped, an occupancy grid and the fine network only near coarse weight), ``ours-every-sample``
(``--every-sample``: ``render_skip_weight=None``, every sample of every ray evaluated, the official renderer's count).

Weights: both networks are randomly initialised (``torch.manual_seed(0)``; no trained weights exist at the matched
configuration, and nothing may be downloaded). The official renderer's work does not depend on the weights' values
(it evaluates 64 + 96 samples on every ray). Ours with random weights has a density near its initial 0.5 everywhere,
so the occupancy grid and the proposal skip nothing: only rays that miss the scene box are skipped, and the
``ours`` figure is what a trained model would beat (the shipped cars-pixelnerf skips ~2.2× more).

Protocol (as ``scripts/speed_ab.py``): one worker process per side (the official one under ``--official-python``,
ours under this interpreter), each loads its network and encodes the source view once (not timed), renders a
few warm-up rays (not timed), then waits; the driver tells them in turn to render the ``--views`` target views, for
``--rounds`` rounds. Prints the median seconds per view of each side and the ratio official / ours per round and
overall; ``--json`` saves it with the load average. Example::

    python scripts/bench_peers_render.py --official ~/pixel-nerf --official-python ~/peers-venv/bin/python \\
        --data /work/data/cars300 --rounds 3 --every-sample --json results/peers/pixelnerf_render.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEAR_FAR_SRN_CARS = (0.8, 1.8)  # the official SRN-cars dataset's z_near, z_far
OFFICIAL_RAY_BATCH = 50000  # the official eval.py's --ray_batch_size default (rays per call and points per MLP call)


def _views(npz: str):
    import numpy as np

    data = np.load(npz)
    return {k: data[k] for k in data.files}


def official_worker(args: argparse.Namespace) -> tuple:
    """Their network and renderer, their conventions: OpenGL-style poses (they flip SRN's OpenCV poses by
    diag(1, -1, -1, 1)), images in [-1, 1], integer pixel centres, fixed near/far."""
    import torch

    sys.path.insert(0, str(Path(args.official) / "src"))
    from pyhocon import ConfigFactory

    import util
    from model import make_model
    from render import NeRFRenderer

    conf = ConfigFactory.parse_file(str(Path(args.official) / "conf" / "exp" / "srn_cpu.conf"))
    torch.manual_seed(0)
    net = make_model(conf["model"]).eval()
    renderer = NeRFRenderer.from_conf(conf["renderer"], eval_batch_size=OFFICIAL_RAY_BATCH)
    render_par = renderer.bind_parallel(net, None, simple_output=True).eval()
    points = [0]
    net.register_forward_pre_hook(lambda module, inputs: points.__setitem__(0, points[0] + inputs[0].shape[:-1].numel()))
    views = _views(args.views_npz)
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0]))
    poses = torch.from_numpy(views["cam2world"]).float() @ flip
    images = torch.from_numpy(views["images"]).float() * 2.0 - 1.0
    K = torch.from_numpy(views["intrinsics"]).float()
    height, width = images.shape[-2:]
    focal = K[0, 0, 0].reshape(1)
    c = torch.stack([K[0, 0, 2], K[0, 1, 2]])
    with torch.no_grad():
        net.encode(images[None, :1], poses[None, :1], focal, c=c[None])
    jobs = []
    for v in range(1, len(poses)):
        rays = util.gen_rays(poses[v:v + 1], width, height, focal, *NEAR_FAR_SRN_CARS, c=c).reshape(-1, 8)
        jobs.append(rays)

    def run(rays):
        points[0] = 0
        with torch.no_grad():
            torch.cat([render_par(chunk[None])[0][0] for chunk in torch.split(rays, OFFICIAL_RAY_BATCH)])
        return points[0]

    def warm_up():
        run(jobs[0][:512])

    return jobs, run, warm_up, {"name": "official", "settings": {"n_coarse": renderer.n_coarse, "n_fine": renderer.n_fine,
                       "n_fine_depth": renderer.n_fine_depth, "eval_batch_size": renderer.eval_batch_size,
                       "parameters": sum(p.numel() for p in net.parameters())}}


def ours_worker(args: argparse.Namespace) -> tuple:
    from dataclasses import replace

    import torch

    sys.path.insert(0, str(HERE))
    from speed_ab import _matched_training

    from sceneprior.models.configs import to_plain
    from sceneprior.registry import config_from_plain, get_preset
    from sceneprior.training import dataset_metadata

    options = _matched_training("pixelnerf")
    preset = get_preset(options["preset"])
    config = config_from_plain(preset.model.kind, {**to_plain(preset.model), **options["overrides"]})
    config = config.for_dataset(dataset_metadata(args.data))
    if args.side == "ours-every-sample":
        config = replace(config, render_skip_weight=None)
    torch.manual_seed(0)
    model = config.build(0).eval()
    views = _views(args.views_npz)
    images = torch.from_numpy(views["images"]).float()
    cam2world = torch.from_numpy(views["cam2world"]).float()
    K = torch.from_numpy(views["intrinsics"]).float()
    height, width = images.shape[-2:]
    with torch.no_grad():
        latent = model.encode(images[None, :1], cam2world[None, :1], K[None, :1])
    jobs = [(cam2world[v:v + 1], K[v:v + 1]) for v in range(1, len(cam2world))]

    points = [0]
    for net in (model.coarse, model.fine):  # points through the ray MLPs (the occupancy grid's included)
        net.register_forward_pre_hook(lambda module, inputs: points.__setitem__(0, points[0] + inputs[0].shape[0] * inputs[0].shape[2]))

    def run(job):
        points[0] = 0
        with torch.no_grad():
            model.render(latent, *job, height, width)
        return points[0]

    def warm_up():
        with torch.no_grad():
            model.render(latent, *jobs[0], 8, 8)

    settings = {k: getattr(config, k) for k in ("width", "blocks", "combine_layer", "coarse_samples",
                                                  "importance_samples", "depth_samples", "chunk_points",
                                                  "render_skip_weight", "render_grid")}
    settings["parameters"] = sum(p.numel() for p in model.parameters())
    return jobs, run, warm_up, {"name": args.side, "settings": settings}


def worker(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    jobs, run, warm_up, info = official_worker(args) if args.side == "official" else ours_worker(args)
    warm_up()  # a few rays, not timed
    print(json.dumps({"ready": len(jobs), **info}), flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        times, points = [], []
        for job in jobs:
            start = time.perf_counter()
            points.append(run(job))
            times.append(time.perf_counter() - start)
        print(json.dumps({"times": times, "points": points}), flush=True)
    return 0


def _message(proc: subprocess.Popen, side: str) -> dict:
    """The worker's next JSON line (the official code prints its own lines on stdout too: skipped)."""
    for line in proc.stdout:
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"the {side} worker stopped")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--official", required=False, help="the prepared checkout of the official pixel-nerf")
    p.add_argument("--official-python", default="python", help="the interpreter of the official code's environment")
    p.add_argument("--data", required=True, help="a generated dataset root (cars300)")
    p.add_argument("--split", default="test")
    p.add_argument("--object", type=int, default=0, help="the object whose view 0 is encoded")
    p.add_argument("--views", type=int, default=1, help="target views rendered per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--every-sample", action="store_true", help="also time ours evaluating every sample")
    p.add_argument("--json", default=None)
    p.add_argument("--side", default=None, help=argparse.SUPPRESS)
    p.add_argument("--views-npz", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.side:
        return worker(args)
    if not args.official:
        p.error("--official is required")

    import numpy as np

    from sceneprior.training.data import open_split

    split = open_split(args.data, args.split)
    total = split.num_views(args.object)
    targets = [1 + k * (total - 1) // args.views for k in range(args.views)]
    views = split.load_views(args.object, [0, *targets])
    tmp = tempfile.mkdtemp(prefix="bench_peers_render_")
    npz = os.path.join(tmp, "views.npz")
    np.savez(npz, images=views.images.numpy(), cam2world=views.cam2world.numpy(), intrinsics=views.intrinsics.numpy())

    sides = ["official", "ours"] + (["ours-every-sample"] if args.every_sample else [])
    procs, info = {}, {}
    for side in sides:
        python = args.official_python if side == "official" else sys.executable
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        if side != "official":
            env["PYTHONPATH"] = str(HERE.parent / "src")
        cmd = ["nice", "-n", "5", python, __file__, "--data", args.data, "--side", side, "--views-npz", npz]
        if side == "official":
            cmd += ["--official", str(Path(args.official).resolve())]
        procs[side] = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        info[side] = _message(procs[side], side)
        print(f"{side}: ready ({info[side]['settings']})", flush=True)
    load = [list(os.getloadavg())]
    times: dict[str, list[list[float]]] = {side: [] for side in sides}
    points: dict[str, list[int]] = {}
    for r in range(args.rounds):
        for side, proc in procs.items():
            proc.stdin.write("go\n")
            proc.stdin.flush()
            message = _message(proc, side)
            times[side].append(message["times"])
            points[side] = message["points"]
        load.append(list(os.getloadavg()))
        print(f"round {r + 1}: " + ", ".join(f"{s} {statistics.median(times[s][-1]):.2f} s" for s in sides)
              + f" (load {load[-1][0]:.2f})", flush=True)
    for proc in procs.values():
        proc.stdin.close()
        if proc.wait() != 0:
            raise SystemExit("a worker failed")

    per_view = {side: statistics.median(t for rnd in series for t in rnd) for side, series in times.items()}
    report = {
        "command": "python scripts/bench_peers_render.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "what": "seconds to render one 64x64 view (encoding not timed), 1 torch thread per side, interleaved rounds",
        "data": args.data, "split": args.split, "object": args.object, "target_views": targets,
        "resolution": [int(views.height), int(views.width)], "rounds": args.rounds,
        "processor": platform.processor() or platform.machine(),
        "weights": "random (torch.manual_seed(0)) on both sides",
        "sides": {side: info[side]["settings"] for side in sides},
        "load_average_per_round": load,
        "seconds_per_view": per_view, "seconds_per_view_all": times,
        "mlp_points_per_view": points,
    }
    for side in sides[1:]:
        report[f"official_over_{side}"] = per_view["official"] / per_view[side]
        report[f"official_over_{side}_per_round"] = [statistics.median(o) / statistics.median(s) for o, s in
                                                     zip(times["official"], times[side])]
    print(f"one {views.height}x{views.width} view, {args.rounds} interleaved rounds, 1 thread each, load "
          f"{load[0][0]:.2f} -> {load[-1][0]:.2f}")
    for side in sides:
        ratio = "" if side == "official" else (
            f"; official / {side} = {report[f'official_over_{side}']:.2f}x (per round "
            f"{min(report[f'official_over_{side}_per_round']):.2f}-{max(report[f'official_over_{side}_per_round']):.2f}x)")
        print(f"  {side}: {per_view[side]:.2f} s/view, {statistics.median(points[side]):,.0f} points through the ray "
              f"MLPs per view{ratio}")
    if args.json:
        from sceneprior.bench.reconstruct import write_json

        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
