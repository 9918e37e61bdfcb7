"""``sceneprior bench speed``: figures measured on this machine, printed and saved as JSON."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("bench", help="benchmarks that print and save figures")
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    speed = sub.add_parser(
        "speed",
        help="matmul limit, field-MLP efficiency, renderer rays/s on this machine",
        description="Measures (i) dense matmul FLOP/s (the practical limit), (ii) the field MLP's forward+backward "
        "FLOP/s as a fraction of it, (iii) rays/s of each renderer at equal image size.",
    )
    speed.add_argument("--json", default=None, help="also write the figures to this JSON file")
    speed.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (a smoke run)")
    speed.set_defaults(func=_speed)
    quality = sub.add_parser(
        "quality",
        help="train every image preset under one budget and score them with one protocol",
        description="Trains (or reuses the finished runs in --runs of) every image preset on DATA under the same "
        "wall-clock budget, evaluates each inference mode on test and test_ood_pose (1 input view) and the default "
        "mode with 2 views, and writes OUT/quality.md, quality.json and quality.png.",
    )
    quality.add_argument("--data", required=True, help="generated dataset (sceneprior data generate)")
    quality.add_argument("--out", default="results/quality", help="folder for the table, JSON and plot")
    quality.add_argument("--runs", default="runs/quality", help="run folders, one per preset (the cache)")
    quality.add_argument("--presets", default=None, help="comma-separated subset (default: every image preset)")
    quality.add_argument("--budget-minutes", type=float, default=120.0, help="training wall clock per preset")
    quality.add_argument("--device", default="cpu", help="cpu or cuda, for training and evaluation")
    quality.add_argument("--parallel", type=int, default=1, help="trainings/evaluations side by side")
    quality.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    quality.add_argument("--max-objects", type=int, default=None, help="held-out objects per split (default: all)")
    quality.add_argument("--max-views", type=int, default=None, help="target views per object (default: all)")
    quality.add_argument("--autodecode-steps", type=int, default=100)
    quality.add_argument("--save-images", type=int, default=0, help="keep the default mode's renders (1: yes)")
    quality.add_argument("--train-arg", action="append", default=[], metavar="PRESET=ARGS",
                         help="extra 'sceneprior train' arguments for one preset, e.g. 'pixelnerf=--batch-size 8'")
    quality.add_argument("--seed", type=int, default=0)
    quality.set_defaults(func=_quality)


def _quality(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from ..bench.quality import IMAGE_PRESETS, QualityConfig, format_markdown, run_quality
    from ..errors import ConfigError

    train_args: dict[str, list[str]] = {}
    for item in args.train_arg:
        preset, sep, rest = item.partition("=")
        if not sep:
            raise ConfigError(f"--train-arg {item!r}: expected PRESET=ARGS")
        train_args.setdefault(preset, []).extend(shlex.split(rest))
    presets = tuple(p.strip() for p in args.presets.split(",")) if args.presets else IMAGE_PRESETS
    config = QualityConfig(
        data=args.data, out=args.out, runs=args.runs, presets=presets, budget_minutes=args.budget_minutes,
        device=args.device, parallel=args.parallel, threads=args.threads, max_objects=args.max_objects,
        max_views=args.max_views, autodecode_steps=args.autodecode_steps, train_args=train_args, seed=args.seed,
        save_images=args.save_images, command="sceneprior " + shlex.join(sys.argv[1:]),
    )
    report = run_quality(config)
    print(format_markdown(report))
    print(f"wrote {config.out}/quality.md, quality.json, quality.png")
    return 0


def _speed(args: argparse.Namespace) -> int:
    from ..bench.speed import format_report, run_speed

    report = run_speed(args.json, quick=args.quick)
    print(format_report(report))
    if args.json:
        print(f"wrote {args.json}")
    return 0
