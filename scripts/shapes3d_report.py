"""Tables and a picture from the runs of ``scripts/shapes3d_bench.py``.

    python scripts/shapes3d_report.py --runs runs/shapes3d --image docs/images/shapes3d.png > table.md

Prints a Markdown table per dataset (full and partial observations) and renders the meshes of a few held-out
objects for every preset (matplotlib ``plot_trisurf``, ground-truth surface points in the first column).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

PRESETS = ("deepsdf", "occnet", "convonet-grid", "convonet-plane", "convonet-triplane", "voxel-decoder")


def table(root: Path, dataset: str) -> str:
    lines = [
        "| preset | steps | IoU | Chamfer-L1 | normal cons. | F@1% | partial IoU | partial Chamfer-L1 | partial F@1% "
        "| params | peak act. memory (MB) | latent floats |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in PRESETS:
        full_path, part_path = root / dataset / name / "eval.json", root / dataset / name / "eval_partial.json"
        if not full_path.exists():
            lines.append(f"| {name} | (missing) |||||||||||")
            continue
        full = json.loads(full_path.read_text())
        part = json.loads(part_path.read_text()) if part_path.exists() else {}
        fmt = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
        lines.append(
            f"| {name} | {full['checkpoint_step']} | {fmt(full['iou'])} | {fmt(full['chamfer_l1'], 4)} | "
            f"{fmt(full['normal_consistency'])} | {fmt(full['fscore'])} | {fmt(part.get('iou'))} | "
            f"{fmt(part.get('chamfer_l1'), 4)} | {fmt(part.get('fscore'))} | {full['params']:,} | "
            f"{full['peak_memory_mb']:.1f} | {full['latent_floats']:,} |"
        )
    return "\n".join(lines)


def picture(root: Path, data: dict[str, str], out: Path, objects: int = 2) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import trimesh

    rows = [(dataset, k) for dataset in data for k in range(objects)]
    cols = ["ground truth", *PRESETS]
    fig = plt.figure(figsize=(2.2 * len(cols), 2.2 * len(rows)))
    for r, (dataset, k) in enumerate(rows):
        split = sorted(Path(data[dataset]).glob("*_test"))[0]
        scene = sorted(p for p in split.iterdir() if p.is_dir())[k]
        gt = np.load(scene / "points.npz")["points"][::4]
        half = 1.0 if dataset == "rooms" else 0.5
        for c, name in enumerate(cols):
            ax = fig.add_subplot(len(rows), len(cols), r * len(cols) + c + 1, projection="3d")
            if c == 0:
                ax.scatter(gt[:, 0], gt[:, 2], gt[:, 1], s=0.3, c=gt[:, 1], cmap="viridis")
            else:
                path = root / dataset / name / "meshes" / f"{scene.name}.ply"
                if path.exists():
                    mesh = trimesh.load(path, force="mesh")
                    if len(mesh.faces):
                        faces = mesh.faces[:: max(1, len(mesh.faces) // 40000)]
                        v = mesh.vertices
                        ax.plot_trisurf(v[:, 0], v[:, 2], faces, v[:, 1], color="lightsteelblue", edgecolor="none",
                                        linewidth=0, shade=True)
            for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
                setter(-half, half)
            ax.view_init(elev=25, azim=-60)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(name, fontsize=9)
            if c == 0:
                ax.text2D(-0.1, 0.5, f"{dataset} {scene.name}", transform=ax.transAxes, rotation=90, va="center", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default="runs/shapes3d")
    parser.add_argument("--image", default="docs/images/shapes3d.png")
    parser.add_argument("--cars", default="data/cars3d")
    parser.add_argument("--rooms", default="data/rooms3d")
    args = parser.parse_args()
    root = Path(args.runs)
    for dataset in ("cars", "rooms"):
        print(f"\n### {dataset}\n")
        print(table(root, dataset))
    data = {name: path for name, path in (("cars", args.cars), ("rooms", args.rooms)) if (root / name).exists()}
    picture(root, data, Path(args.image))


if __name__ == "__main__":
    main()
