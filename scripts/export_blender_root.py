"""Write splits of an SRN-layout dataset as a NeRF-Blender root (``<category>_<split>/<scene>/transforms_all.json``
and RGBA PNGs, OpenGL cameras), with the source's ``metadata.json``, so that ``sceneprior eval`` can score the same
run on both layouts (the Blender reader's measured check: the two must give the same numbers).

    python scripts/export_blender_root.py data/cars300 --out /tmp/cars300_blender --splits test --max-objects 2
    sceneprior eval RUN --data data/cars300 --split test --max-objects 2 --json srn.json
    sceneprior eval RUN --data /tmp/cars300_blender --split test --max-objects 2 --json blender.json
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from sceneprior.data.datasets import detect_format, open_dataset
from sceneprior.data.export import export_blender


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="SRN root (sceneprior data generate)")
    parser.add_argument("--out", required=True, help="new folder (must not exist)")
    parser.add_argument("--splits", nargs="+", default=["test"])
    parser.add_argument("--max-objects", type=int, default=None, help="the first N objects of each split")
    parser.add_argument("--alpha", choices=("opaque", "mask"), default="opaque",
                        help="PNG alpha: opaque (the RGB exactly) or the dataset's mask")
    args = parser.parse_args(argv)
    source, out = Path(args.source), Path(args.out)
    location = detect_format(source)
    if location.format != "srn-root":
        print(f"{source}: not an SRN root (found {location.format})", file=sys.stderr)
        return 2
    if out.exists():
        print(f"{out}: exists; pass a new folder", file=sys.stderr)
        return 2
    for split in args.splits:
        if split not in location.splits:
            print(f"{source}: no split {split!r} (has {', '.join(location.splits)})", file=sys.stderr)
            return 2
        dataset = open_dataset(source, split=split, load_extras=True)
        count = len(dataset) if args.max_objects is None else min(args.max_objects, len(dataset))
        for i in range(count):
            views = dataset[i] if args.alpha == "mask" else replace(dataset[i], masks=None)
            export_blender(views, out / location.splits[split].name / views.scene_id, ["all"] * views.num_views)
        print(f"{split}: {count} objects -> {out / location.splits[split].name}")
    shutil.copy(source / "metadata.json", out / "metadata.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
