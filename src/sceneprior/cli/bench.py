"""``sceneprior bench speed``: figures measured on this machine, printed and saved as JSON."""

from __future__ import annotations

import argparse

from .reconstruct import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("bench", help="benchmarks that print and save figures")
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    speed = sub.add_parser(
        "speed",
        help="matmul limit and field-MLP efficiency (interleaved), renderer rays/s, preset training speed",
        description="Measures (i) dense matmul FLOP/s (the practical limit) and (ii) the field MLP's forward and "
        "forward+backward FLOP/s interleaved in one run (repeats alternating, medians, the spread of each series) and "
        "reports the MLP as a fraction of the limit unless the limit's spread exceeds --max-spread (a busy machine: "
        "then it prints why instead); then (iii) rays/s of each renderer at equal image size and (iv)/(v) training "
        "speed and memory per image preset.",
    )
    speed.add_argument("--repeats", type=int, default=None, help="interleaved repeats of (i)/(ii) (default 9; --quick 3)")
    speed.add_argument("--max-spread", type=float, default=0.10,
                       help="largest (max - min) / median of the limit's repeats for which a fraction is reported (default 0.10)")
    speed.add_argument("--limit-only", action="store_true", help="only (i) and (ii)")
    speed.add_argument("--json", default=None, help="also write the figures to this JSON file")
    speed.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (a smoke run)")
    speed.add_argument("--presets", default=None, help="comma-separated image presets for (iv)/(v) (default: all)")
    speed.add_argument("--device", default="cpu", help="device for the per-preset training figures")
    speed.set_defaults(func=_speed)
    quality = sub.add_parser(
        "quality",
        help="train image and 3D presets under one budget and score each family with its protocol, in one table",
        description="Trains (or reuses the finished runs in --runs of) every chosen preset on DATA under the same "
        "wall-clock budget. Image presets: each inference mode on test and test_ood_pose (1 input view) and the "
        "default mode with 2 views (PSNR, SSIM, depth error). 3D presets (deepsdf, occnet, convonet-*, "
        "voxel-decoder): IoU, Chamfer-L1, normal consistency and F-score of meshes on --split-3d (and from partial "
        "point clouds with --partial-3d). Writes OUT/quality.md (two sections), quality.json and quality.png.",
    )
    quality.add_argument("--data", required=True, help="generated dataset (sceneprior data generate)")
    quality.add_argument("--out", default="results/quality", help="folder for the table, JSON and plot")
    quality.add_argument("--runs", default="runs/quality", help="run folders, one per preset (the cache)")
    quality.add_argument("--presets", default=None,
                         help="comma-separated presets, image and 3D alike (default: every image preset; "
                         "'3d': the 3D shape presets; 'all': both)")
    quality.add_argument("--split-3d", default="test", help="split the 3D presets are scored on")
    quality.add_argument("--partial-3d", action="store_true", help="also score the 3D presets from partial point clouds")
    quality.add_argument("--budget-minutes", type=float, default=120.0, help="training wall clock per preset")
    quality.add_argument("--device", default="cpu", help="cpu or cuda, for training and evaluation")
    quality.add_argument("--parallel", type=int, default=1, help="trainings/evaluations side by side")
    quality.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    quality.add_argument("--max-objects", type=int, default=None, help="held-out objects per split (default: all)")
    quality.add_argument("--max-views", type=int, default=None, help="target views per object (default: all)")
    quality.add_argument("--autodecode-steps", type=int, default=100)
    quality.add_argument("--save-images", type=int, default=0, help="keep the default mode's renders (image presets) and the meshes (3D presets) (1: yes)")
    quality.add_argument("--train-arg", action="append", default=[], metavar="PRESET=ARGS",
                         help="extra 'sceneprior train' arguments for one preset, e.g. 'pixelnerf=--batch-size 8'")
    quality.add_argument("--seed", type=int, default=0)
    quality.set_defaults(func=_quality)
    rec = sub.add_parser(
        "reconstruct",
        help="time each stage of the main job (sceneprior reconstruct) on this machine",
        description="Times the stages of 'sceneprior reconstruct' for one input (default: the bundled example car): "
        "load the model, preprocess, infer the latent (encode; encode+autodecode and autodecode with --steps where the "
        "model supports them), render a --views turntable, mesh, write the outputs. Prints a table; --json saves it "
        "with the machine and its load average.",
    )
    rec.add_argument("--model", default=DEFAULT_MODEL, help=f"shipped model name, run folder or checkpoint (default: {DEFAULT_MODEL})")
    rec.add_argument("--image", default=None, help="input photo (default: the bundled example car)")
    rec.add_argument("--views", type=int, default=36, help="turntable views (default 36)")
    rec.add_argument("--resolution", type=int, default=None, help="rendered side (default: the model's)")
    rec.add_argument("--mesh-resolution", type=int, default=64, help="marching-cubes cells per axis (default 64)")
    rec.add_argument("--steps", type=int, default=100, help="auto-decoding steps of the timed refine/autodecode (default 100)")
    rec.add_argument("--repeat", type=int, default=3, help="timed runs per fast stage (default 3; auto-decoding once)")
    rec.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as reconstruct)")
    rec.add_argument("--json", default=None, help="also write the figures to this JSON file")
    rec.add_argument("--md", default=None, help="also write the table to this Markdown file")
    rec.add_argument("--quick", action="store_true", help="a smoke run: 4 views, mesh 16³, 3 steps, 1 repeat")
    rec.set_defaults(func=_reconstruct)
    parts = sub.add_parser(
        "parts",
        help="part segmentation from a few labelled views (reconstruct --parts), mIoU on held-out objects",
        description="Fits reconstruct --parts' probe on view 0 of --labelled objects of the labelled dataset's train "
        "split, then scores the part maps of novel views of --objects held-out objects of --split (latent from view 0) "
        "against their part labels (mIoU). Prints a table; --json / --md save it with the load average.",
    )
    parts.add_argument("--model", required=True, help="shipped model name, run folder or checkpoint (an SRN)")
    parts.add_argument("--data", required=True, help="dataset with part labels whose --split is scored")
    parts.add_argument("--labels", default=None, help="labelled dataset (default: --data; its train split)")
    parts.add_argument("--split", default="test", help="scored split (default test)")
    parts.add_argument("--labelled", type=int, default=5, help="labelled objects, view 0 of each (default 5)")
    parts.add_argument("--objects", type=int, default=8, help="held-out objects scored (default 8)")
    parts.add_argument("--max-views", type=int, default=8, help="novel views scored per object (default 8)")
    parts.add_argument("--steps", type=int, default=100, help="auto-decoding steps per object (default 100)")
    parts.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parts.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parts.add_argument("--md", default=None, help="also write the table to this Markdown file")
    parts.set_defaults(func=_parts)
    check = sub.add_parser(
        "reconstruct-check",
        help="score the main job's novel views against a generated dataset's ground truth",
        description="For every object of --split, its fixed input view is read from its PNG file and reconstructed "
        "like 'sceneprior reconstruct' does (object found and cropped; the camera of the cropped input is the dataset "
        "camera mapped through the crop), then rendered at the ground-truth cameras of the other views and scored "
        "(PSNR/SSIM as 'sceneprior eval'). A control scores the same input uncropped.",
    )
    check.add_argument("--data", required=True, help="generated dataset root (e.g. data/cars_seed1)")
    check.add_argument("--model", default=DEFAULT_MODEL, help=f"shipped model name, run folder or checkpoint (default: {DEFAULT_MODEL})")
    check.add_argument("--split", default="test")
    check.add_argument("--mode", default=None, choices=["encode", "autodecode", "encode+autodecode"],
                       help="inference mode (default: as reconstruct: encode when the model has an encoder)")
    check.add_argument("--steps", type=int, default=100, help="auto-decoding steps (default 100)")
    check.add_argument("--refine", type=int, default=0, metavar="STEPS", help="as reconstruct --refine")
    check.add_argument("--max-objects", type=int, default=None)
    check.add_argument("--max-views", type=int, default=None, help="targets per object (default: all but the input)")
    check.add_argument("--no-control", action="store_true", help="skip the uncropped control")
    check.add_argument("--reference-psnr", type=float, default=None, help="the model card's PSNR to compare with")
    check.add_argument("--reference-ssim", type=float, default=None, help="the model card's SSIM")
    check.add_argument("--reference", default="", help="where the reference figures come from (text)")
    check.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as eval)")
    check.add_argument("--json", default=None, help="write the results to this JSON file")
    check.add_argument("--md", default=None, help="write the table to this Markdown file")
    check.set_defaults(func=_reconstruct_check)
    from .bench_claims import register_claims  # sceneprior bench claim NAME

    register_claims(sub)


def _write_md(path: str, title: str, command: str, body: str) -> None:
    from pathlib import Path

    from ..data.image_io import atomic_write_bytes

    text = f"# {title}\n\nMade by `{command}`.\n\n{body}\n"
    atomic_write_bytes(Path(path), text.encode())


def _report(args: argparse.Namespace, text: str, result: object, title: str, command: str) -> None:
    """Print a benchmark's Markdown and write it (``--md``) and its JSON (``--json``) where asked."""
    from ..bench.reconstruct import write_json

    print(text)
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json}")
    if args.md:
        _write_md(args.md, title, command, text)
        print(f"wrote {args.md}")


def _reconstruct(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from ..bench.reconstruct import ReconstructSpeedConfig, format_speed_markdown, run_reconstruct_speed

    command = "sceneprior " + shlex.join(sys.argv[1:])
    config = ReconstructSpeedConfig(model=args.model, image=args.image, views=args.views, resolution=args.resolution,
                                    mesh_resolution=args.mesh_resolution, steps=args.steps, repeat=args.repeat,
                                    threads=args.threads, command=command)
    if args.quick:
        config.views, config.mesh_resolution, config.steps, config.repeat = min(args.views, 4), 16, 3, 1
    report = run_reconstruct_speed(config)
    _report(args, format_speed_markdown(report), report, "The main job's speed: sceneprior bench reconstruct", command)
    return 0


def _parts(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from ..bench.parts import PartsBenchConfig, format_parts_markdown, run_parts_bench

    command = "sceneprior " + shlex.join(sys.argv[1:])
    config = PartsBenchConfig(model=args.model, data=args.data, labels=args.labels, split=args.split,
                              labelled=args.labelled, objects=args.objects, max_views=args.max_views, steps=args.steps,
                              threads=args.threads, command=command)
    report = run_parts_bench(config)
    _report(args, format_parts_markdown(report), report, "Part segmentation from a few labels: sceneprior bench parts",
            command)
    return 0


def _reconstruct_check(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from ..bench.reconstruct import ReconstructCheckConfig, format_check_markdown, run_reconstruct_check
    from ..errors import ConfigError

    if args.refine < 0 or args.steps < 0:
        raise ConfigError("--refine and --steps must be >= 0")
    command = "sceneprior " + shlex.join(sys.argv[1:])
    config = ReconstructCheckConfig(
        data=args.data, model=args.model, split=args.split, mode=args.mode, steps=args.steps, refine_steps=args.refine,
        max_objects=args.max_objects, max_views=args.max_views, control=not args.no_control, threads=args.threads,
        reference_psnr=args.reference_psnr, reference_ssim=args.reference_ssim, reference=args.reference, command=command)
    result = run_reconstruct_check(config)
    _report(args, format_check_markdown(result), result, "The main job against ground truth: sceneprior bench reconstruct-check",
            command)
    return 0


def _quality(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from ..bench.quality import IMAGE_PRESETS, SHAPE_PRESETS, QualityConfig, format_markdown, run_quality
    from ..errors import ConfigError

    train_args: dict[str, list[str]] = {}
    for item in args.train_arg:
        preset, sep, rest = item.partition("=")
        if not sep:
            raise ConfigError(f"--train-arg {item!r}: expected PRESET=ARGS")
        train_args.setdefault(preset, []).extend(shlex.split(rest))
    named = {"3d": SHAPE_PRESETS, "all": IMAGE_PRESETS + SHAPE_PRESETS, "image": IMAGE_PRESETS}
    presets: tuple[str, ...] = ()
    for item in (p.strip() for p in (args.presets or "image").split(",")):
        presets += named.get(item, (item,))
    config = QualityConfig(
        data=args.data, out=args.out, runs=args.runs, presets=presets, budget_minutes=args.budget_minutes,
        device=args.device, parallel=args.parallel, threads=args.threads, max_objects=args.max_objects,
        max_views=args.max_views, autodecode_steps=args.autodecode_steps, train_args=train_args, seed=args.seed,
        save_images=args.save_images, split_3d=args.split_3d, partial_3d=args.partial_3d,
        command="sceneprior " + shlex.join(sys.argv[1:]),
    )
    report = run_quality(config)
    print(format_markdown(report))
    print(f"wrote {config.out}/quality.md, quality.json, quality.png")
    return 0


def _speed(args: argparse.Namespace) -> int:
    from ..bench.speed import format_report, run_speed

    presets = tuple(p.strip() for p in args.presets.split(",")) if args.presets else None
    report = run_speed(args.json, quick=args.quick, presets=presets, device=args.device, repeats=args.repeats,
                       max_spread=args.max_spread, limit_only=args.limit_only)
    print(format_report(report))
    if args.json:
        print(f"wrote {args.json}")
    return 0
