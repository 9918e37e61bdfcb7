"""A real-object example for the README: one view of a rendered real car in, novel views and a mesh out.

    python scripts/real_object_example.py data/real_cars --objects 000002 000006 --views 10 22 34 --model default \
        --out results/real_cars/example

For each object of the check set (``sceneprior data render-meshes`` layout, ``test`` split): the model infers the
scene from view 0 (its camera given, as ``sceneprior eval`` does), renders the other listed views, and its mesh
(``Reconstruction.export_mesh``) is rendered at the same cameras with the renderer of ``render-meshes`` (Mitsuba 3,
``pip install 'sceneprior[render]'``). Writes ``example.png`` (per object three rows: ground truth, the model's
views, its mesh; the first column is the input view), ``example.json`` (PSNR/SSIM of each rendered view against
the ground truth, as ``sceneprior eval`` computes them) and each object's mesh (``<object>.ply``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="dataset root (SRN layout) holding cars_test")
    parser.add_argument("--objects", nargs="+", required=True, help="object folder names of the test split")
    parser.add_argument("--views", nargs="+", type=int, default=[10, 22, 34], help="target views to render")
    parser.add_argument("--model", default="default", help="shipped model name ('default': the main job's), run folder or checkpoint")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mesh-resolution", type=int, default=64)
    parser.add_argument("--scale", type=int, default=2, help="nearest-neighbour zoom of the figure")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from sceneprior.api import load_model, reconstruct
    from sceneprior.defaults import DEFAULT_MODEL
    from sceneprior.data.meshes.mitsuba_render import MeshRenderer
    from sceneprior.data.meshes.normalise import load_mesh_parts
    from sceneprior.data.srn import SRNDataset
    from sceneprior.evaluation.metrics import psnr, ssim

    name = DEFAULT_MODEL if args.model == "default" else args.model
    loaded = load_model(name)
    dataset = SRNDataset(args.data / "cars_test")
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[list[np.ndarray]] = []
    record: dict[str, object] = {"model": name, "checkpoint_step": loaded.step, "data": str(args.data), "objects": {}}
    for obj in args.objects:
        index = dataset.scene_ids.index(obj)
        scene = dataset[index]
        images = scene.images  # v 3 h w, float in [0, 1]
        size = images.shape[-1]
        rec = reconstruct(loaded, images[0].permute(1, 2, 0).numpy(), cam2world=scene.cam2world[:1], K=scene.intrinsics[:1])
        mesh_path = rec.export_mesh(args.out / f"{obj}.ply", resolution=args.mesh_resolution)
        truth, views, meshes, scores = [images[0]], [images[0]], [images[0]], []
        parts = load_mesh_parts(mesh_path)
        with MeshRenderer(parts, spp=16) as renderer:
            for v in args.views:
                cam, K = scene.cam2world[v], scene.intrinsics[v]
                out = rec.render(cam, K, size, size)
                pred = torch.from_numpy(out.rgb).permute(2, 0, 1)
                shown = renderer.render(cam.numpy().astype(np.float64), K.numpy().astype(np.float64), size, size, view_seed=v)
                truth.append(images[v])
                views.append(pred)
                meshes.append(torch.from_numpy(shown["rgb"]).float().permute(2, 0, 1))
                target = images[v].permute(1, 2, 0).numpy()
                scores.append({"view": v, "psnr": psnr(out.rgb, target), "ssim": ssim(out.rgb, target)})
        record["objects"][obj] = {"views": scores, "mesh_vertices": int(sum(len(p.vertices) for p in parts))}  # type: ignore[index]
        for row in (truth, views, meshes):
            rows.append([(t.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for t in row])
        print(obj, " ".join(f"view {s['view']}: {s['psnr']:.2f} dB" for s in scores))
    grid = np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0)
    image = Image.fromarray(grid)
    image = image.resize((image.width * args.scale, image.height * args.scale), Image.Resampling.NEAREST)
    image.save(args.out / "example.png")
    (args.out / "example.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out / 'example.png'} and example.json")


if __name__ == "__main__":
    main()
