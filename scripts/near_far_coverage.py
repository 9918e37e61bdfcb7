"""How much of a dataset's visible surface a fixed near/far pair clips: the fraction of foreground pixels whose
distance along the ray (unit directions, as pixelNeRF samples ``z_near``..``z_far``) lies outside [near, far].
pixelNeRF's SRN config uses near 0.8, far 1.8 for cars (1.25, 2.75 for chairs); sceneprior's image presets
instead take each ray's near/far from its intersection with the dataset's ``scene_bounds`` box.

    python scripts/near_far_coverage.py /work/data/cars300 --split test --near 0.8 --far 1.8 --json OUT.json
"""

from __future__ import annotations

import argparse
import json

import torch

from sceneprior.geometry import get_rays
from sceneprior.training.data import open_split


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data")
    p.add_argument("--split", default="test")
    p.add_argument("--near", type=float, default=0.8)
    p.add_argument("--far", type=float, default=1.8)
    p.add_argument("--max-objects", type=int, default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    dataset = open_split(args.data, args.split, None, load_extras=True)
    objects = len(dataset) if args.max_objects is None else min(args.max_objects, len(dataset))
    total = beyond = before = views = views_clipped = 0
    t_max = 0.0
    for i in range(objects):
        v = dataset[i]
        if v.depths is None:
            raise SystemExit(f"{args.data}: split {args.split} has no depth/ images")
        _, _, z_per_t = get_rays(v.cam2world.double(), v.intrinsics.double(), v.height, v.width)
        fg = v.depths[:, 0] > 0
        t = v.depths[:, 0].double() / z_per_t  # distance along the unit ray
        total += int(fg.sum())
        far_out, near_out = fg & (t > args.far), fg & (t < args.near)
        beyond += int(far_out.sum())
        before += int(near_out.sum())
        clipped = (far_out | near_out).flatten(1).any(1)
        views += v.num_views
        views_clipped += int(clipped.sum())
        t_max = max(t_max, float(t[fg].max()))
    report = {"data": args.data, "split": args.split, "objects": objects, "views": views, "near": args.near, "far": args.far,
              "foreground_pixels": total, "fraction_beyond_far": beyond / total, "fraction_before_near": before / total,
              "fraction_of_views_clipped": views_clipped / views, "max_surface_distance": t_max}
    print(json.dumps(report, indent=2))
    if args.json:
        from sceneprior.bench.reconstruct import write_json

        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
