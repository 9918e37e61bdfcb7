"""The Gaussian rasteriser's figure of `sceneprior bench speed` on its own (the full bench also times matmul, the
field MLPs, every ray renderer and the presets' training): ms per 128² view of the splatter-like scene of 16,384
Gaussians, with 1 and 2 torch threads, and the machine's load average before each.

Run from the repo root: python scripts/gaussian_rasteriser_speed.py OUT.json
"""

import json
import os
import sys
import time

import torch

from sceneprior.bench.renderers import gaussian_splatting_speed

rows = []
for threads in (1, 2):
    torch.set_num_threads(threads)
    row = gaussian_splatting_speed(size=128)
    row["utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    row["load_average_after"] = os.getloadavg()[0]
    rows.append(row)
    print(f"{threads} thread(s): render {row['render_ms_per_view']:.1f} ms/view, render+backward "
          f"{row['train_ms_per_view']:.1f} ms/view, {row['pixel_gaussian_evaluations']:,} pixel-Gaussian evaluations, "
          f"load average {row['load_average_1min']:.2f} before")
with open(sys.argv[1], "w") as handle:
    json.dump(rows, handle, indent=2)
print(f"wrote {sys.argv[1]}")
