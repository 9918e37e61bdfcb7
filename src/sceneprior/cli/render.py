"""``sceneprior render``: a turntable of a held-out object inferred from one input view, at any resolution."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render",
        help="render a turntable of a held-out object from one input view (PNG frames + GIF)",
        description="Infer the latent of scene ID of the split from its fixed input view, then render frames on a "
        "circle around the world up axis at the input camera's distance and elevation, at any resolution.",
    )
    p.add_argument("run")
    p.add_argument("--scene", required=True, help="scene id (folder name) in the split")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resolution", type=int, default=None, help="frame size (default: the dataset's)")
    p.add_argument("--frames", type=int, default=36)
    p.add_argument("--input-views", type=int, default=1, metavar="N",
                   help="source views (the dataset's fixed input views first, then views spread over the rest)")
    p.add_argument("--mode", default=None, choices=["encode", "autodecode", "encode+autodecode"])
    p.add_argument("--steps", type=int, default=200, help="auto-decoding steps")
    p.add_argument("--mp4", action="store_true", help="also write an MP4 (imageio-ffmpeg)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fastest on a shared machine, where spinning threads collide)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch as _torch

    _torch.set_num_threads(max(1, args.threads))
    from pathlib import Path

    from ..evaluation.turntable import TurntableConfig, render_turntable

    config = TurntableConfig(
        data=args.data, split=args.split, scene=args.scene, resolution=args.resolution, frames=args.frames,
        input_views=args.input_views, mode=args.mode, steps=args.steps, mp4=args.mp4,
    )
    written = render_turntable(args.run, Path(args.out), config)
    print(f"wrote {len(written)} files to {args.out}")
    return 0
