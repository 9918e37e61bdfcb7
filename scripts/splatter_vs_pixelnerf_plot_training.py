"""Training PSNR of the two equal-budget runs against wall-clock minutes (TensorBoard's wall times), and the load
average of the machine during the runs (load.log: `date loadavg` every 30 s).

Run from the repo root:
python scripts/splatter_vs_pixelnerf_plot_training.py SPLATTER_RUN PIXELNERF_RUN LOAD_LOG OUT.png
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def scalars(run, tag="train/psnr"):
    ea = EventAccumulator(f"{run}/tb")
    ea.Reload()
    return ea.Scalars(tag)


def binned(events, start, minutes=2.0):
    bins = {}
    for e in events:
        bins.setdefault(int((e.wall_time - start) / 60 / minutes), []).append(e.value)
    keys = sorted(bins)
    return [minutes * (k + 0.5) for k in keys], [sum(bins[k]) / len(bins[k]) for k in keys]


splatter, pixelnerf, load_log, out = sys.argv[1:5]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
start = min(scalars(r)[0].wall_time for r in (splatter, pixelnerf))
for run, label, color in ((splatter, "splatter (whole 64² target images)", "C0"),
                          (pixelnerf, "pixelnerf (128 rays in each object's 2D box)", "C1")):
    events = scalars(run)
    x, y = binned(events, start)
    left.plot(x, y, color=color, label=f"{label}: {events[-1].step:,} steps")
left.set_xlabel("wall-clock minutes since the first logged step")
left.set_ylabel("training PSNR (dB), 2-minute means")
left.set_title("training PSNR (not comparable across models: different pixels)", fontsize=9)
left.legend(fontsize=7)
rows = [line.split() for line in open(load_log) if line.strip()]
t0 = rows[0][0]
to_min = lambda hms: (int(hms[:2]) * 60 + int(hms[3:5]) + int(hms[6:8]) / 60)  # noqa: E731
right.plot([to_min(r[0]) - to_min(t0) for r in rows], [float(r[1]) for r in rows], color="gray")
right.set_xlabel("minutes since the runs started")
right.set_ylabel("1-minute load average (2 cores)")
right.set_title("machine load during the runs (shared by five developers)", fontsize=9)
for ax in (left, right):
    ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(out, dpi=120)
print(f"wrote {out}")
