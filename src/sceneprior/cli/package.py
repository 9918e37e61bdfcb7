"""``sceneprior package``: write a trained run in the shipped-model layout (assets/models/<name>/)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "package",
        help="write a trained run as a self-contained model folder (weights-only safetensors + JSON)",
        description="Write a run (folder or checkpoint) in the shipped-model layout used by `reconstruct --model`: "
        "weights-only safetensors, config.json and view_prior.json (the camera assumed for unposed photos).",
    )
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--out", required=True, help="new, empty output folder (e.g. src/sceneprior/assets/models/cars)")
    p.add_argument("--half", action="store_true", help="store weights as float16 (half the size)")
    p.set_defaults(func=_package)


def _package(args: argparse.Namespace) -> int:
    from ..api import package_model

    out = package_model(args.run, args.out, half=args.half)
    print(f"packaged {args.run} -> {out}")
    return 0
