"""``sceneprior serve``: the web demo (gradio) on localhost."""

from __future__ import annotations

import argparse

from ..defaults import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="web demo: upload a photo, get a turntable, depth, normals, a rotatable mesh and new views",
        description="Serve the gradio web demo. It listens on 127.0.0.1 (this machine only) unless --host says "
        "otherwise; it needs no internet access.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"shipped model name, run folder or checkpoint file (default: {DEFAULT_MODEL})")
    p.add_argument("--views", type=int, default=24, help="turntable views (default 24)")
    p.add_argument("--resolution", type=int, default=None,
                   help="side of the rendered views (default: the model's input resolution)")
    p.add_argument("--mesh-resolution", type=int, default=48, help="marching-cubes cells per axis (default 48)")
    p.add_argument("--steps", type=int, default=100,
                   help="auto-decoding steps of a model without an encoder (default 100)")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="encoder models: refine the encoder's latent with STEPS auto-decoding steps (default 0: off)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: measured faster than 2 on the 2-core development machine, results/reconstruct_speed.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo.app import serve
    from ..errors import ConfigError

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 1..65535, got {args.port}")
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    serve(args.model, args.host, args.port, args.views, args.resolution, args.mesh_resolution, args.steps, args.refine)
    return 0
