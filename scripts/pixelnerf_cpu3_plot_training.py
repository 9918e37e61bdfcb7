"""Training-ray PSNR of the 2-hour pixelNeRF run (mean over full 100-step bins) and its learning rate, from
metrics.jsonl: the whole run, and its last 680 steps annealed vs the same steps at the constant rate (ablation).

Run from the repo root: python scripts/pixelnerf_cpu3_plot_training.py ANNEALED.jsonl CONSTANT.jsonl OUT.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    return [r for r in (json.loads(line) for line in open(path)) if "psnr" in r]


def curve(items, start=0, stop=10**9, width=100):
    """Mean PSNR over the logged batches of each full ``width``-step bin (start, start + width], ... before stop."""
    bins = {}
    for r in items:
        if start < r["step"] <= stop:
            bins.setdefault((r["step"] - start - 1) // width * width + start + width, []).append(r["psnr"])
    full = max(len(v) for v in bins.values())
    steps = sorted(s for s in bins if len(bins[s]) == full)  # a partly filled last bin is left out
    return steps, [sum(bins[s]) / len(bins[s]) for s in steps]


annealed, constant, out = sys.argv[1:4]
a, c = rows(annealed), rows(constant)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
steps, psnr = curve(a)
left.plot(steps, psnr, color="C0")
left.axvline(6635, color="gray", ls=":", lw=1)
left.set_title("the whole run (110 min constant lr, then 10 min annealed)", fontsize=9)
left.set_xlabel("training step (4 scenes × 128 rays in the objects' 2D boxes)")
left.set_ylabel("training-ray PSNR (dB), 100-step means")
steps, psnr = curve(a, start=5985, stop=6635, width=50)
right.plot(steps, psnr, color="gray", marker="o", ms=3, label="before: constant 5e-4 (shared)")
for items, label, color in ((a, "annealed: cosine 5e-4 → 5e-5 (this run)", "C0"), (c, "constant 5e-4 (ablation)", "C1")):
    steps, psnr = curve(items, start=6635, width=50)
    right.plot(steps, psnr, color=color, marker="o", ms=3, label=label)
lr = right.twinx()
lr.plot([r["step"] for r in a if r["step"] > 6635], [r["lr"] for r in a if r["step"] > 6635], color="C0", ls="--", lw=1)
lr.set_ylabel("learning rate (dashed)")
right.set_title("the last 10 minutes: annealed vs constant", fontsize=9)
right.set_xlabel("training step")
right.set_ylabel("training-ray PSNR (dB), 50-step means")
for ax in (left, right):
    ax.grid(alpha=0.3)
right.legend(fontsize=7, loc="lower left")
fig.tight_layout()
fig.savefig(out, dpi=120)
print(f"wrote {out}")
