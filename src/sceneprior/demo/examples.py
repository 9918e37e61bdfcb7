"""The bundled example photos (``src/sceneprior/assets/examples/``), made by the procedural generator.

* ``car.png``: a test-split car (seed 0, index 0; never seen in training) rendered at 128² from the default camera
  of :class:`sceneprior.inference.prior.ViewPrior` (azimuth 45°, elevation 30°, distance 1.6, field of view 40°), on
  white, exactly as the training images are made.
* ``car_rgba.png``: the same car as a photo-like RGBA cut-out: 320x240, the object off-centre and larger, soft
  (anti-aliased) alpha edges, a warm colour cast and sensor noise, transparent background.

``car.json`` records both cameras. Rebuild with ``python -m sceneprior.demo.examples``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..data.image_io import to_uint8, write_png
from ..geometry import intrinsics_matrix
from ..inference.prior import ViewPrior

EXAMPLE_SCENE = ("cars", "test", 0)


def _camera(prior: ViewPrior) -> torch.Tensor:
    return prior.camera().double()[None]


def make_examples(out_dir: str | Path) -> list[Path]:
    from ..data.generator import GeneratorConfig, make_scene, render_views

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    category, split, index = EXAMPLE_SCENE
    scene = make_scene(GeneratorConfig(category=category), split, index).scene
    prior = ViewPrior()
    cam = _camera(prior)
    K = prior.intrinsics(128).double()
    rgb = render_views(scene, cam, K, 128, 128, supersample=2).rgb[0].numpy()
    write_png(out / "car.png", rgb)

    # photo-like cut-out: a wider frame with the object off-centre, rendered 4x and box-filtered for soft alpha
    width, height, factor = 320, 240, 4
    f = 0.5 * 200 / math.tan(math.radians(prior.fov_deg) / 2)  # the object ~1.6x larger than in car.png
    cx, cy = 0.42 * width, 0.55 * height
    K_big = intrinsics_matrix(f * factor, f * factor, cx * factor, cy * factor, dtype=torch.float64)
    views = render_views(scene, cam, K_big, height * factor, width * factor, supersample=1)
    big_rgb = views.rgb[0].numpy().reshape(height, factor, width, factor, 3)
    big_mask = views.mask[0].numpy().astype(np.float64).reshape(height, factor, width, factor)
    alpha = big_mask.mean((1, 3))
    premultiplied = (big_rgb * big_mask[..., None]).sum((1, 3)) / factor**2
    colour = np.where(alpha[..., None] > 0, premultiplied / np.maximum(alpha[..., None], 1e-6), 0.0)
    rng = np.random.default_rng(0)
    colour = np.clip(colour * np.array([1.04, 1.0, 0.93]) + rng.normal(0.0, 0.012, colour.shape), 0.0, 1.0)
    rgba = np.concatenate([colour, alpha[..., None]], -1)
    rgba[alpha == 0, :3] = 0.0
    write_png(out / "car_rgba.png", to_uint8(rgba))
    info = {
        "scene": {"category": category, "split": split, "index": index, "generator_seed": 0},
        "car.png": {"width": 128, "height": 128, "azimuth_deg": prior.azimuth_deg, "elevation_deg": prior.elevation_deg,
                    "distance": prior.distance, "fov_deg": prior.fov_deg, "cam2world_opencv": cam[0].tolist()},
        "car_rgba.png": {"width": width, "height": height, "focal": f, "principal_point": [cx, cy],
                         "cam2world_opencv": cam[0].tolist()},
    }
    (out / "car.json").write_text(json.dumps(info, indent=2) + "\n")
    return [out / "car.png", out / "car_rgba.png", out / "car.json"]


if __name__ == "__main__":
    from ..api import EXAMPLES_DIR

    for path in make_examples(EXAMPLES_DIR):
        print(path)
