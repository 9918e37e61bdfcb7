"""A picture of the 3D presets' meshes of a few held-out objects (matplotlib ``plot_trisurf``, ground-truth
surface points in the first column), from the run folders of ``sceneprior bench quality --presets 3d
--save-images 1`` (``RUNS/<preset>/meshes/<scene>.ply``). The tables come from ``bench quality`` itself.

    python scripts/shapes3d_report.py --rooms-runs runs/rooms150 --rooms data/rooms150 --image meshes.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sceneprior.bench.quality import SHAPE_PRESETS as PRESETS


def picture(root: dict[str, Path], data: dict[str, str], out: Path, objects: int = 2) -> None:
    """``root[dataset]``: the bench's run folder of that dataset; ``data[dataset]``: the dataset."""
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
                path = root[dataset] / name / "meshes" / f"{scene.name}.ply"
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
    parser.add_argument("--image", default="meshes.png")
    parser.add_argument("--cars", default=None, help="cars dataset")
    parser.add_argument("--cars-runs", default=None, help="bench quality --runs folder of the cars presets")
    parser.add_argument("--rooms", default=None, help="rooms dataset")
    parser.add_argument("--rooms-runs", default=None, help="bench quality --runs folder of the rooms presets")
    args = parser.parse_args()
    pairs = {"cars": (args.cars, args.cars_runs), "rooms": (args.rooms, args.rooms_runs)}
    data = {name: d for name, (d, r) in pairs.items() if d and r}
    picture({name: Path(pairs[name][1]) for name in data}, data, Path(args.image))


if __name__ == "__main__":
    main()
