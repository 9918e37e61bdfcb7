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


def _speed(args: argparse.Namespace) -> int:
    from ..bench.speed import format_report, run_speed

    report = run_speed(args.json, quick=args.quick)
    print(format_report(report))
    if args.json:
        print(f"wrote {args.json}")
    return 0
