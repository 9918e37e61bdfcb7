"""``sceneprior data generate`` and ``sceneprior data check``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("data", help="make, inspect and validate datasets")
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    gen = sub.add_parser(
        "generate",
        help="render a procedural multi-view dataset (SRN layout + depth, normals, masks, parts, 3D samples)",
        description="Render a procedural family of 3D scenes into train/val/test/test_ood_pose splits in the SRN "
        "layout (see docs/DATA_FORMAT.md). Deterministic for a seed.",
    )
    gen.add_argument("--category", choices=["cars", "chairs", "rooms"], default="cars")
    gen.add_argument("--out", required=True, help="output root folder")
    gen.add_argument("--objects", type=int, default=500, help="training scenes (val/test sizes follow, see --help-splits)")
    gen.add_argument("--views", type=int, default=50, help="views per training scene")
    gen.add_argument("--test-views", type=int, default=None, help="views per val/test scene (default: same as --views)")
    gen.add_argument("--val-objects", type=int, default=None, help="validation scenes (default: 5%% of --objects, at least 2)")
    gen.add_argument("--test-objects", type=int, default=None, help="scenes in test and in test_ood_pose (default: 10%% of --objects, at least 2)")
    gen.add_argument("--resolution", type=int, default=64)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--workers", type=int, default=None, help="processes (default: number of CPUs)")
    gen.add_argument("--splits", default="train,val,test,test_ood_pose", help="comma-separated splits to write")
    gen.add_argument("--preview", default=None, help="also write a PNG grid of a few views here")
    gen.set_defaults(func=_generate)

    check = sub.add_parser(
        "check",
        help="validate a dataset (SRN layout or NeRF-Blender) and draw its cameras",
        description="Load any supported dataset, validate files, image sizes, rotations, intrinsics, and report. "
        "Without --json, also writes a PNG of the cameras and of epipolar lines between two views.",
    )
    check.add_argument("path", help="dataset root, one split folder, one scene folder, or a NeRF-Blender folder")
    check.add_argument("--json", action="store_true", help="print the machine-readable report to stdout")
    check.add_argument("--plot", default=None, help="where to write the camera/epipolar picture (default: ./<name>_check.png)")
    check.add_argument("--max-scenes", type=int, default=None, help="check only the first N scenes")
    check.set_defaults(func=_check)


def _generate(args: argparse.Namespace) -> int:
    from ..data.generator.cli import run_generate

    return run_generate(args)


def _check(args: argparse.Namespace) -> int:
    from ..data.check import run_check

    return run_check(args)
