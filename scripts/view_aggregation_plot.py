"""Table and figure of results/quality/view_aggregation: held-out PSNR / SSIM against the number of source views,
mean pooling (pixelnerf) vs learned attention (pixelnerf-attention), from the eval JSONs that
scripts/view_aggregation_curve.sh writes. Also the paired difference per object (same objects, same targets).

    python scripts/view_aggregation_plot.py results/quality/view_aggregation
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(folder: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = Path(folder)
    presets = ("pixelnerf", "pixelnerf-attention")
    views = (1, 2, 3, 5)
    rows = ["| source views N | objects × target views | mean pooling PSNR / SSIM | attention PSNR / SSIM | "
            "attention − mean, PSNR (paired, s.e.) | objects better |", "| --- | --- | --- | --- | --- | --- |"]
    curves: dict[str, list[float]] = {p: [] for p in presets}
    for n in views:
        results = {}
        for p in presets:
            path = root / f"eval_{p}_test_{n}v.json"
            if not path.is_file():  # scored on fewer objects (time); compared on the objects both have
                path = root / f"eval_{p}_test_{n}v_4obj.json"
            results[p] = json.loads(path.read_text())
        per = {p: {o["scene_id"]: o for o in results[p]["objects"]} for p in presets}
        common = [k for k in per["pixelnerf"] if k in per["pixelnerf-attention"]]
        stats = {}
        for p in presets:
            stats[p] = (float(np.mean([per[p][k]["psnr"] for k in common])), float(np.mean([per[p][k]["ssim"] for k in common])))
            curves[p].append(stats[p][0])
        diff = np.array([per["pixelnerf-attention"][k]["psnr"] - per["pixelnerf"][k]["psnr"] for k in common])
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        targets = per["pixelnerf"][common[0]]["num_views"]
        m, t = stats["pixelnerf"], stats["pixelnerf-attention"]
        rows.append(f"| {n} | {len(common)} × {targets} | {m[0]:.2f} / {m[1]:.3f} | {t[0]:.2f} / {t[1]:.3f} | "
                    f"{diff.mean():+.2f} ({se:.2f}) | {int((diff > 0).sum())} of {len(diff)} |")
    (root / "table.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for p, label in zip(presets, ("mean pooling (pixelnerf)", "attention (pixelnerf-attention)")):
        ax.plot(views, curves[p], marker="o", label=label)
    ax.set_xlabel("source views N")
    ax.set_ylabel("held-out PSNR (dB), test")
    ax.set_xticks(views)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(root / "curve.png", dpi=120)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/quality/view_aggregation")
