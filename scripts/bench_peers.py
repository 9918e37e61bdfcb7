"""Training throughput of sceneprior against the official pixelNeRF (sxyu/pixel-nerf) and SRN
(vsitzmann/scene-representation-networks), back to back on this machine at a matched configuration.

The official code is NOT part of this repository: fetch it yourself at the commit named below, make the minimal CPU
changes described in ``results/peers/README.md`` (in words; no patch is shipped), and install its Python
dependencies into a separate virtual environment. Then, for example:

    python scripts/bench_peers.py pixelnerf --official ~/pixel-nerf --official-python ~/peers-venv/bin/python \\
        --data /work/data/cars300 --minutes 15 --json results/peers/pixelnerf.json
    python scripts/bench_peers.py srn --official ~/scene-representation-networks --official-python ~/peers-venv/bin/python \\
        --data /work/data/cars300 --minutes 8 --json results/peers/srn.json

Each run trains the official code for ``--minutes`` (stdout time-stamped line by line), then sceneprior for as long,
both with one torch thread (``OMP_NUM_THREADS=1``) under ``nice``. Seconds per step are the intervals between
consecutive step lines (official) or each step's own rate in ``metrics.jsonl`` (ours), after ``--skip`` steps
(start-up, data loading, pixelNeRF's step-0 evaluation and visualisation); the figure is the median; rays/s =
rays per step / seconds per step. ``--official-log FILE`` parses a log already made with the printed command
instead of running the official code again.

Matched configurations (issue 19): pixelNeRF — ray MLP ResnetFC 512 wide × 5 blocks (mean over views after block
3), 64 coarse + 16 importance + 16 depth samples, 4 objects × 128 rays per step (rays in the object's 2D box), one
source view, 64² images, white background; feature maps 512 channels (theirs: ResNet-34's first four stages, ours:
our 4-stage CNN 64+64+128+256). SRN — latent 256, φ 256 wide, hypernetworks and pixel generator 256 wide, 10
marching steps, one whole 64² image (4,096 rays) per step.

Rendering one 64² view against the official pixelNeRF renderer at its own settings (same architecture, interleaved
rounds): ``scripts/bench_peers_render.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PIXELNERF_COMMIT = "91a044bdd62aebe0ed3a5685ca37cb8a9dc8e8ee"
SRN_COMMIT = "8165b500816bb1699f5a34782455f2c4b6d4f35a"
PYTORCH_PROTOTYPING_COMMIT = "10f49b1e7df38a58fd78451eac91d7ac1a21df64"  # SRN's submodule


def official_command(peer: str, official: Path, python: str, data: Path, work: Path) -> tuple[list[str], Path, dict]:
    """(argv, working directory, extra environment) of the official training run."""
    if peer == "pixelnerf":
        argv = [python, "-u", "train.py", "-n", "bench_cpu", "-c", "../conf/exp/srn_cpu.conf", "-D", str(data / "cars"),
                "-V", "1", "-B", "4", "-R", "128", "--epochs", "1", "--logs_path", str(work / "logs"),
                "--checkpoints_path", str(work / "checkpoints"), "--visual_path", str(work / "visuals")]
        return argv, official / "train", {"PYTHONPATH": "../src"}
    argv = [python, "-u", str(work / "srn_cpu_launch.py"), "--data_root", str(data / "cars_train"), "--logging_root",
            str(work / "logs"), "--img_sidelengths", "64", "--batch_size_per_img_sidelength", "1",
            "--max_steps_per_img_sidelength", "1000000", "--no_validation", "--embedding_size", "256"]
    return argv, official, {}


SRN_LAUNCHER = '''import runpy, sys, torch
torch.Tensor.cuda = lambda self, *a, **k: self  # CPU-only torch: .cuda() is a no-op
torch.nn.Module.cuda = lambda self, *a, **k: self
sys.argv = ["train.py"] + sys.argv[1:]
sys.path.insert(0, ".")
runpy.run_path("train.py", run_name="__main__")
'''


def ours_command(peer: str, data: Path, out: Path, minutes: float) -> list[str]:
    common = [sys.executable, "-m", "sceneprior", "train", "--data", str(data), "--out", str(out), "--minutes", str(minutes),
              "--threads", "1", "--log-every", "1", "--image-every", "0", "--checkpoint-every", "0", "--no-progress"]
    if peer == "pixelnerf":
        return common + ["--preset", "pixelnerf", "--batch-size", "4", "--rays", "128", "--target-views", "1",
                         "--input-views", "1", "--model-override", "width=512", "--model-override", "blocks=5",
                         "--model-override", "combine_layer=3", "--model-override", "coarse_samples=64",
                         "--model-override", "importance_samples=16", "--model-override", "depth_samples=16",
                         "--model-override", 'encoder={"stem_channels": 64, "stage_channels": [64, 128, 256], "blocks_per_stage": 1}']
    return common + ["--preset", "srn", "--batch-size", "1", "--target-views", "1", "--rays", str(64 * 64),
                     "--model-override", "latent_dim=256", "--model-override", "phi_width=256",
                     "--model-override", "hyper_hidden=256", "--model-override", "pixel_width=256",
                     "--model-override", "marcher_steps=10"]


STEP_LINE = {"pixelnerf": re.compile(r"^(\d+\.\d+) \r?(?:\[[^\]]*\] )*E \d+ B (\d+) "), "srn": re.compile(r"^(\d+\.\d+) \r?Iter (\d+) ")}
RAYS_PER_STEP = {"pixelnerf": 4 * 128, "srn": 64 * 64}


def official_step_seconds(peer: str, log: Path, skip: int) -> list[float]:
    """Intervals between consecutive step lines of a time-stamped official log, after the first ``skip`` steps."""
    stamps = [float(m.group(1)) for line in log.read_bytes().decode(errors="replace").split("\n") if (m := STEP_LINE[peer].match(line))]
    return [b - a for a, b in zip(stamps, stamps[1:])][skip:]


def ours_step_seconds(run: Path, rays: int, skip: int) -> list[float]:
    batch = json.loads((run / "config.json").read_text())["train"]["batch"]
    if batch["scenes_per_batch"] * batch["target_views"] * batch["rays_per_scene"] != rays:
        raise SystemExit(f"{run}: the run drew {batch} rays per step, not the matched {rays}")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [rays / r["rays_per_second"] for r in rows if "rays_per_second" in r][skip:]


def run_timestamped(argv: list[str], cwd: Path, env: dict, seconds: float, log: Path) -> None:
    with open(log, "w") as out:
        proc = subprocess.Popen(["nice", "-n", "5", *argv], cwd=cwd, env={**os.environ, **env, "OMP_NUM_THREADS": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        deadline = time.time() + seconds
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(f"{time.time():.3f} {line}")
            out.flush()
            if time.time() > deadline:
                break
        proc.terminate()
        proc.wait(timeout=60)


def summary(seconds: list[float], rays: int) -> dict:
    if not seconds:
        return {"steps_timed": 0}
    median = statistics.median(seconds)
    return {"steps_timed": len(seconds), "seconds_per_step_median": median, "seconds_per_step_min": min(seconds),
            "seconds_per_step_max": max(seconds), "rays_per_second": rays / median}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("peer", choices=["pixelnerf", "srn"])
    p.add_argument("--official", type=Path, required=True, help="the prepared checkout of the official code")
    p.add_argument("--official-python", default="python", help="the interpreter of the official code's environment")
    p.add_argument("--official-log", type=Path, default=None, help="parse this time-stamped log instead of running it")
    p.add_argument("--data", type=Path, required=True, help="a generated cars dataset root (cars_train/ ...)")
    p.add_argument("--minutes", type=float, default=10.0, help="training time of each side")
    p.add_argument("--skip", type=int, default=2, help="first steps left out of the timing (start-up, evaluation)")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temporary one)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix=f"bench_peers_{args.peer}_"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "srn_cpu_launch.py").write_text(SRN_LAUNCHER)
    rays = RAYS_PER_STEP[args.peer]
    command, cwd, env = official_command(args.peer, args.official.resolve(), args.official_python, args.data.resolve(), work)
    report: dict = {"peer": args.peer, "official_commit": PIXELNERF_COMMIT if args.peer == "pixelnerf" else SRN_COMMIT,
                    "official_command": " ".join(command), "official_cwd": str(cwd), "rays_per_step": rays}
    print("official:", report["official_command"], f"(in {cwd})", flush=True)
    load = [os.getloadavg()[0]]
    if args.official_log is None:
        log = work / "official.log"
        run_timestamped(command, cwd, env, 60.0 * args.minutes, log)
    else:
        log = args.official_log
    load.append(os.getloadavg()[0])
    report["official"] = summary(official_step_seconds(args.peer, log, args.skip), rays)
    ours = ours_command(args.peer, args.data.resolve(), work / "ours", args.minutes)
    report["ours_command"] = " ".join(ours[1:])
    print("ours:", report["ours_command"], flush=True)
    subprocess.run(["nice", "-n", "5", *ours], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    load.append(os.getloadavg()[0])
    report["ours"] = summary(ours_step_seconds(work / "ours", rays, args.skip), rays)
    report["load_average_1min"] = {"before_official": load[0], "after_official": load[1], "after_ours": load[2]}
    if report["official"].get("rays_per_second") and report["ours"].get("rays_per_second"):
        report["ours_over_official"] = report["ours"]["rays_per_second"] / report["official"]["rays_per_second"]
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
