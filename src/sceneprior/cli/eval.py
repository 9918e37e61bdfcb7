"""``sceneprior eval``: the SRN / pixelNeRF novel-view protocol on held-out objects."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="PSNR / SSIM / depth error of a trained run on held-out objects from fixed input views "
        "(3D presets: IoU, Chamfer-L1, normal consistency, F-score of meshes)",
        description="For each object of the split, infer the latent from its fixed input view(s) (metadata.json "
        "input_views) and render every other view; report PSNR and SSIM (per image, then per object), depth error "
        "where the model gives depth, and the inference time per object. For 3D presets (deepsdf, occnet, "
        "convonet-*, voxel-*): infer the latent from each object's surface point cloud (encoder, or test-time "
        "optimisation for auto-decoders; --partial: only the points facing one view direction), report volumetric "
        "IoU on the uniform points of sdf.npz, and Chamfer-L1, normal consistency and F-score@1% of the "
        "marching-cubes mesh (a dense grid, 64^3 by default), plus parameter count and peak activation memory "
        "(sceneprior.evaluation.eval3d).",
    )
    p.add_argument("run", metavar="MODEL",
                   help="run folder written by 'sceneprior train', a checkpoint file, or a shipped model's name as "
                   "'reconstruct --model' takes it ('default': the main job's default model)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", help="test, test_ood_pose, val, ...")
    p.add_argument("--input-views", type=int, default=1, metavar="N",
                   help="source views per object (any N below the object's view count): the dataset's fixed input "
                   "views first, then views spread evenly over the rest (default 1)")
    p.add_argument("--mode", default=None, choices=["encode", "autodecode", "encode+autodecode"],
                   help="inference mode (default: encode when the model has an encoder, else autodecode)")
    p.add_argument("--steps", type=int, default=200, help="auto-decoding steps")
    p.add_argument("--inference-lr", type=float, default=None,
                   help="auto-decoding learning rate (default 1e-2; 3D auto-decoders: 5e-3, DeepSDF's)")
    p.add_argument("--init", default=None, choices=["zeros", "mean"], help="auto-decoding start (default: mean for auto-decoders)")
    p.add_argument("--rays-per-step", type=int, default=2048, help="auto-decoding rays per step (0: all pixels)")
    p.add_argument("--max-objects", type=int, default=None)
    p.add_argument("--max-views", type=int, default=None, help="targets per object (default: all but the inputs)")
    p.add_argument("--checkpoint", default=None, help="a checkpoint file (default: the run's last)")
    p.add_argument("--save-images", default=None, help="write the rendered views here")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--partial", action="store_true",
                   help="3D presets: observe only the surface points facing one view direction (n.v > 0)")
    p.add_argument("--mesh-resolution", type=int, default=64,
                   help="3D presets: resolution of the dense marching-cubes grid (default 64, i.e. 64^3)")
    p.add_argument("--save-meshes", default=None, help="3D presets: write each object's mesh (PLY) here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (image presets; results are moved to the CPU to be scored)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fastest on a shared machine, where spinning threads collide)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch as _torch

    _torch.set_num_threads(max(1, args.threads))
    import json
    from pathlib import Path

    import torch

    from ..data.image_io import atomic_write_bytes
    from ..evaluation import EvalConfig, evaluate
    from ..inference import InferenceConfig
    from ..training import load_run

    from ..models3d import is_shape_model

    from ..api import resolve_model
    from ..defaults import DEFAULT_MODEL

    torch.manual_seed(args.seed)
    if args.run == "default":
        args.run = DEFAULT_MODEL
    checkpoint, folder = resolve_model(args.run)
    model, run_config, step = load_run(folder, args.checkpoint or checkpoint)
    if is_shape_model(model):
        return _run_shapes(args, model, run_config, step)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        from ..errors import ConfigError

        raise ConfigError(f"--device {args.device}: no CUDA device is available here")
    model = model.to(device)
    if args.inference_lr is None:
        args.inference_lr = 1e-2
    mode = args.mode or ("encode" if "encode" in model.modes else "autodecode")
    init = args.init or ("mean" if model.latents is not None else "zeros")
    inference = InferenceConfig(mode=mode, steps=args.steps, lr=args.inference_lr, init=init,
                                rays_per_step=args.rays_per_step or None, seed=args.seed)
    config = EvalConfig(data=args.data, split=args.split, input_views=args.input_views, inference=inference,
                        max_objects=args.max_objects, max_views=args.max_views, image_size=run_config.train.image_size,
                        save_images=args.save_images)
    result = evaluate(model, config)
    result.run, result.checkpoint_step = str(args.run), step
    depth = "n/a" if result.depth_error is None else f"{result.depth_error:.4f}"
    print(f"{run_config.train.preset} step {step} | {args.split} | {args.input_views}-view | mode {mode} | "
          f"{result.num_objects} objects: PSNR {result.psnr:.2f}  SSIM {result.ssim:.3f}  depth err {depth}  "
          f"inference {result.inference_seconds_per_object:.2f} s/object  render {result.render_seconds_per_view:.2f} s/view  "
          f"on {device}")
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(result.to_json(), indent=2) + "\n").encode())
        print(f"wrote {args.json}")
    return 0


def _run_shapes(args: argparse.Namespace, model, run_config, step: int) -> int:
    """``sceneprior eval`` of a 3D shape preset (see :mod:`sceneprior.evaluation.eval3d` for the protocol)."""
    import json
    from pathlib import Path

    from ..data.image_io import atomic_write_bytes
    from ..evaluation.eval3d import Eval3DConfig, evaluate_shapes
    from ..inference import FitConfig

    fit = FitConfig(steps=args.steps, lr=args.inference_lr if args.inference_lr is not None else 5e-3,
                    init=args.init or "mean", seed=args.seed)
    config = Eval3DConfig(data=args.data, split=args.split, partial=args.partial, max_objects=args.max_objects,
                          mesh_resolution=args.mesh_resolution, fit=fit, seed=args.seed, save_meshes=args.save_meshes)
    result = evaluate_shapes(model, config, run_config.train.preset, run_config.kind)
    result.run, result.checkpoint_step = str(args.run), step
    print(f"{run_config.train.preset} step {step} | {args.split} | {'partial' if args.partial else 'full'} point cloud | "
          f"{result.num_objects} objects: IoU {result.iou:.3f}  Chamfer-L1 {result.chamfer_l1:.4f}  "
          f"normal consistency {result.normal_consistency:.3f}  F@1% {result.fscore:.3f}  params {result.params:,}  "
          f"peak activation memory {result.peak_memory_mb:.1f} MB  inference {result.inference_seconds_per_object:.2f} s/object")
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(result.to_json(), indent=2) + "\n").encode())
        print(f"wrote {args.json}")
    return 0
