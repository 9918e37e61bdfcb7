"""One training split made of the scenes of several datasets (SRN layout), as symbolic links; nothing is copied.

    python scripts/mix_datasets.py --out data/cars_mix --source data/cars_v2_64 all --source data/cars300 80 --prefixes v2 v1

Each ``--source ROOT COUNT`` adds the first COUNT scenes (``all``: every scene) of ``ROOT/<category>_train``, linked as
``<out>/<category>_train/<prefix>_<scene>`` (``--prefixes``; default ``s<k>``, k: the source's position). ``metadata.json`` is the first source's, with the
split size and the sources recorded under ``mixture``; every source must share its category, resolution and camera
model (fov), since one model is trained on all of them. This is how the training data of the shipped
``cars-splatter-v2`` was assembled (its model card)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="new dataset root (must not exist)")
    parser.add_argument("--source", nargs=2, action="append", required=True, metavar=("ROOT", "COUNT"))
    parser.add_argument("--prefixes", nargs="+", default=None, metavar="NAME",
                        help="link-name prefix of each source, in order (default s0 s1 ...); scenes are listed by name")
    args = parser.parse_args()
    prefixes = args.prefixes or [f"s{k}" for k in range(len(args.source))]
    if len(prefixes) != len(args.source) or len(set(prefixes)) != len(prefixes):
        print(f"error: --prefixes needs {len(args.source)} different names, one per --source", file=sys.stderr)
        return 2
    if args.out.exists():
        print(f"error: {args.out} exists; the mixture is written to a new folder", file=sys.stderr)
        return 2
    metas, chosen = [], []
    for root, count in args.source:
        root = Path(root)
        try:
            meta = json.loads((root / "metadata.json").read_text())
        except (OSError, ValueError) as exc:
            print(f"error: {root / 'metadata.json'}: cannot read it ({exc})", file=sys.stderr)
            return 2
        split = root / f"{meta.get('category', 'cars')}_train"
        scenes = sorted(p for p in split.iterdir() if p.is_dir() and not p.name.startswith(".")) if split.is_dir() else []
        if not scenes:
            print(f"error: {split}: no training scenes", file=sys.stderr)
            return 2
        if count != "all":
            if not count.isdigit() or not 0 < int(count) <= len(scenes):
                print(f"error: --source {root} {count}: COUNT must be 'all' or 1..{len(scenes)}", file=sys.stderr)
                return 2
            scenes = scenes[: int(count)]
        metas.append(meta)
        chosen.append((root, scenes))
    first = metas[0]
    for (root, _), meta in zip(chosen[1:], metas[1:]):
        for key in ("category", "resolution"):
            if meta.get(key) != first.get(key):
                print(f"error: {root}: {key} {meta.get(key)!r} differs from {chosen[0][0]}'s {first.get(key)!r}", file=sys.stderr)
                return 2
        if meta.get("camera", {}).get("fov_deg") != first.get("camera", {}).get("fov_deg"):
            print(f"error: {root}: another camera field of view than {chosen[0][0]}", file=sys.stderr)
            return 2
    split = args.out / f"{first.get('category', 'cars')}_train"
    split.mkdir(parents=True)
    for prefix, (_, scenes) in zip(prefixes, chosen):
        for scene in scenes:
            os.symlink(scene.resolve(), split / f"{prefix}_{scene.name}")
    mixed = dict(first)
    mixed["splits"] = {"train": sum(len(s) for _, s in chosen)}
    mixed["views_per_scene"] = {"train": min(m.get("views_per_scene", {}).get("train", 0) for m in metas)}
    mixed.pop("input_views", None)
    mixed["mixture"] = [{"root": str(root), "scenes": len(scenes), "style": meta.get("style", "v1"), "seed": meta.get("seed")}
                        for (root, scenes), meta in zip(chosen, metas)]
    (args.out / "metadata.json").write_text(json.dumps(mixed, indent=1) + "\n")
    print(f"wrote {args.out}: " + ", ".join(f"{len(s)} scenes of {r}" for r, s in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
