"""The rows of results/quality/new_presets: one short CPU training run per preset (run folders given on the command
line, each with eval_test_1v.json from `sceneprior eval`), as a markdown table on stdout.

    python scripts/new_presets_table.py RUN [RUN ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(run: Path) -> str:
    config = json.loads((run / "config.json").read_text())
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = [m for m in metrics if "loss" in m][-1]
    rate = last.get("rays_per_second_since_start", last.get("rays_per_second"))
    result = json.loads((run / "eval_test_1v.json").read_text())
    depth = "—" if result["depth_error"] is None else f"{result['depth_error']:.3f}"
    return (f"| {config['train']['preset']} | {config['train'].get('minutes')} | {last['step']} | {rate:.0f} | "
            f"{last.get('psnr', float('nan')):.2f} | {result['num_objects']} × {result['objects'][0]['num_views']} | "
            f"{result['psnr']:.2f} / {result['ssim']:.3f} | {depth} | {result['render_seconds_per_view']:.2f} |")


def main(runs: list[str]) -> None:
    print("| preset | minutes | steps | train rays/s | last training PSNR (rays) | test objects × views | "
          "test PSNR / SSIM (1 view) | depth err | render s/view |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        print(row(Path(run)))


if __name__ == "__main__":
    main(sys.argv[1:])
