"""Training throughput of ``sceneprior train`` with 0 and N loader workers, and with 1 and N processes (torchrun).

    python scripts/bench_distributed.py --data DATA [--preset srn] [--steps 30] [--batch-size 4] [--procs 2] [--workers 2]

Each configuration runs as its own command (printed), from a fresh run folder, with one torch thread per process,
and prints steps/s and rays/s of the whole job (the global batch is the same in every configuration, so steps/s
compare directly). The first steps include start-up costs the same way in every configuration. Figures are only
comparable on one machine at one load: the script prints the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time


def _run(command: list[str]) -> tuple[float, float, float]:
    print("$ " + shlex.join(command), flush=True)
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}")
    match = re.search(r"([0-9.]+) steps/s, ([0-9.]+) rays/s", result.stdout)
    if match is None:
        sys.exit(f"no throughput line in: {result.stdout!r}")
    return float(match.group(1)), float(match.group(2)), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--preset", default="srn")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4, help="global batch (scenes per step)")
    parser.add_argument("--rays", type=int, default=256)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    train = ["-m", "sceneprior", "train", "--preset", args.preset, "--data", args.data, "--steps", str(args.steps),
             "--batch-size", str(args.batch_size), "--rays", str(args.rays), "--image-every", "0",
             "--checkpoint-every", "0", "--no-progress", "--threads", "1"]
    print(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        configs = [("1 process, 0 workers", [sys.executable, *train, "--workers", "0"]),
                   (f"1 process, {args.workers} workers", [sys.executable, *train, "--workers", str(args.workers)]),
                   (f"{args.procs} processes (torchrun), 0 workers",
                    [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.procs),
                     *train, "--workers", "0"])]
        for k, (name, command) in enumerate(configs):
            command = [*command, "--out", os.path.join(tmp, f"run{k}")]
            steps, rays, wall = _run(command)
            rows.append((name, steps, rays, wall))
    print(f"load average after: {os.getloadavg()}")
    print(f"\n| configuration | steps/s | rays/s | wall s (incl. start-up) |\n|---|---|---|---|")
    for name, steps, rays, wall in rows:
        print(f"| {name} | {steps:.2f} | {rays:.0f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
