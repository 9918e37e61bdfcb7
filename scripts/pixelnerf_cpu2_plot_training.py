"""Training-ray PSNR of the pixelNeRF CPU runs against steps (mean over full 100-step bins), from their metrics.jsonl.

Run from the repo root: python scripts/pixelnerf_cpu2_plot_training.py RUN_OLD RUN_NEW VIEW_ABLATION OUT.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve(path):
    rows = [json.loads(line) for line in open(path)]
    rows = [r for r in rows if "psnr" in r]
    bins = {}
    for r in rows:
        bins.setdefault(r["step"] // 100 * 100, []).append(r["psnr"])
    full = max(len(v) for v in bins.values())
    steps = sorted(s for s in bins if len(bins[s]) == full)  # a run's last, partly filled bin is left out
    return steps, [sum(bins[s]) / len(bins[s]) for s in steps]


old, new, view, out = sys.argv[1:5]
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for path, label in ((old, "before: 'view' xyz, torch init, lr 5e-4 (pixelnerf_cpu)"),
                    (view, "Kaiming init, 'view' xyz (ablation)"),
                    (new, "now: Kaiming init, 'rotated' xyz, lr 5e-4 (pixelnerf_cpu2)")):
    steps, psnr = curve(path)
    ax.plot(steps, psnr, label=label)
ax.set_xlabel("training step (4 scenes × 128 rays in the objects' 2D boxes)")
ax.set_ylabel("training-ray PSNR (dB)")
ax.grid(alpha=0.3)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(out, dpi=120)
print(f"wrote {out}")
