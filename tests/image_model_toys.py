"""A tiny SRN-layout dataset of shaded coloured spheres, rendered analytically, for the image-model tests
(independent of the procedural generator, so these tests run in seconds)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from sceneprior.data.image_io import write_png
from sceneprior.geometry import get_rays, intrinsics_matrix, look_at


def _render_sphere(cam2world, K, size, centre, radius, colour):
    origins, dirs, z_per_t = get_rays(cam2world[None], K[None], size, size)
    o, d, zt = origins[0].numpy(), dirs[0].numpy(), z_per_t[0].numpy()
    oc = o - centre
    b = (oc * d).sum(-1)
    c = (oc * oc).sum(-1) - radius**2
    disc = b * b - c
    hit = disc > 0
    t = -b - np.sqrt(np.clip(disc, 0, None))
    points = o + t[..., None] * d
    normals = (points - centre) / radius
    light = np.array([0.4, -0.8, -0.45])
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip((normals * -light).sum(-1), 0, None)
    # a second colour on the upper half makes the sphere's orientation visible
    top = np.where(points[..., 1] > centre[1], 1.0, 0.55)
    rgb = np.where(hit[..., None], colour * shade[..., None] * top[..., None], 1.0)
    depth = np.where(hit, t * zt, 0.0)
    return rgb.astype(np.float32), depth.astype(np.float32), hit


def write_toy_dataset(root: Path, scenes: dict[str, int] | None = None, views: int = 8, size: int = 32, seed: int = 0) -> Path:
    """SRN layout under ``root`` with metadata.json (input_views, depth_scale, scene_bounds)."""
    scenes = scenes or {"train": 6, "val": 2, "test": 2}
    rng = np.random.default_rng(seed)
    depth_scale = 1e-4
    focal = 0.5 * size / math.tan(math.radians(25))
    K = intrinsics_matrix(focal, focal, size / 2, size / 2)
    for split, count in scenes.items():
        for s in range(count):
            scene = root / f"toys_{split}" / f"{split}{s:03d}"
            for sub in ("rgb", "pose", "depth", "mask"):
                (scene / sub).mkdir(parents=True, exist_ok=True)
            radius = float(rng.uniform(0.22, 0.38))
            centre = np.array([rng.uniform(-0.08, 0.08), rng.uniform(-0.05, 0.05), rng.uniform(-0.08, 0.08)])
            colour = rng.uniform(0.1, 0.9, 3)
            for v in range(views):
                azimuth = 2 * math.pi * v / views + (0.3 if split != "train" else 0.0)
                elevation = math.radians(25 + 10 * math.sin(3 * v))
                eye = 1.6 * torch.tensor([math.cos(elevation) * math.cos(azimuth), math.sin(elevation), math.cos(elevation) * math.sin(azimuth)])
                cam2world = look_at(eye.float(), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]))
                rgb, depth, hit = _render_sphere(cam2world, K, size, centre, radius, colour)
                name = f"{v:06d}"
                write_png(scene / "rgb" / f"{name}.png", rgb)
                write_png(scene / "depth" / f"{name}.png", np.round(depth / depth_scale).astype(np.uint16))
                write_png(scene / "mask" / f"{name}.png", (hit * 255).astype(np.uint8))
                (scene / "pose" / f"{name}.txt").write_text(" ".join(f"{x:.8f}" for x in cam2world.flatten().tolist()) + "\n")
            (scene / "intrinsics.txt").write_text(f"{focal} {size / 2} {size / 2} 0.\n0. 0. 0.\n1.\n{size} {size}\n")
    metadata = {
        "format": "sceneprior-srn", "version": 1, "category": "toys", "resolution": size, "depth_scale": depth_scale,
        "world_up": [0, 1, 0], "input_views": {split: [0, views // 2] for split in scenes},
        "scene_bounds": [[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]], "near_far": [0.8, 2.4],
        "splits": scenes,
    }
    (root / "metadata.json").write_text(json.dumps(metadata))
    return root
