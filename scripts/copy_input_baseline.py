"""The copy-the-input baseline of ``sceneprior eval``: every target view is predicted as the input view itself
(view 0 of the split's fixed input views), scored with the same PSNR / SSIM, per image then per object then over
objects, as ``sceneprior eval --input-views 1`` does. A model that does not beat it has learned nothing of 3D.

    python scripts/copy_input_baseline.py DATA --split test --json OUT.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from sceneprior.evaluation import psnr, ssim
from sceneprior.evaluation.evaluate import source_views
from sceneprior.data.metadata import dataset_metadata
from sceneprior.training.data import open_split


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data")
    p.add_argument("--split", default="test")
    p.add_argument("--json", default=None)
    p.add_argument("--max-views", type=int, default=None, help="targets per object, chosen as sceneprior eval --max-views does")
    args = p.parse_args(argv)
    dataset = open_split(args.data, args.split, None, load_extras=False)
    metadata = dataset_metadata(args.data)
    objects = []
    for i in range(len(dataset)):
        total = dataset.num_views(i)
        sources = source_views(metadata, args.split, total, 1)
        targets = [v for v in range(total) if v not in sources]
        if args.max_views is not None:
            targets = targets[:: max(1, math.ceil(len(targets) / args.max_views))][: args.max_views]
        observed = dataset.load_views(i, sources).images[0].permute(1, 2, 0).numpy()
        truth = dataset.load_views(i, targets)
        ps = [psnr(observed, truth.images[k].permute(1, 2, 0).numpy()) for k in range(len(targets))]
        ss = [ssim(observed, truth.images[k].permute(1, 2, 0).numpy()) for k in range(len(targets))]
        objects.append({"scene_id": truth.scene_id, "psnr": float(np.mean(ps)), "ssim": float(np.mean(ss)), "num_views": len(targets)})
    result = {"baseline": "copy the input view", "data": str(args.data), "split": args.split, "num_objects": len(objects),
              "psnr": float(np.mean([o["psnr"] for o in objects])), "ssim": float(np.mean([o["ssim"] for o in objects])), "objects": objects}
    print(f"copy-the-input baseline | {args.split} | {len(objects)} objects: PSNR {result['psnr']:.2f}  SSIM {result['ssim']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
