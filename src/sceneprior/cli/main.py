"""Entry point of the ``sceneprior`` command.

Each job lives in a module of this package that defines ``register(subparsers)``; the module adds its
subcommand(s) and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
Errors meant for the user (:class:`sceneprior.errors.SceneError`) are printed as one line; anything else
is reported as an internal error, with the traceback only when ``SCENEPRIOR_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from .. import __version__
from ..errors import SceneError, printable

#: Modules of ``sceneprior.cli`` that contribute subcommands, in the order shown by ``--help``.
COMMAND_MODULES = ["data", "train", "eval", "render", "reconstruct", "serve", "package", "bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sceneprior",
        description="Learned 3D inference: learn a prior over a family of 3D scenes from posed images, "
        "then infer new scenes from one image, a few views or a point cloud.",
    )
    parser.add_argument("--version", action="version", version=f"sceneprior {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        # a command group without its subcommand (e.g. ``sceneprior data``) prints its own help
        (getattr(args, "group_parser", None) or parser).print_help()
        return 2
    try:
        code = args.func(args)
        return int(code or 0)
    except SceneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.filename is None:  # not about a file the user can act on
            return _internal(exc)
        print(f"error: {printable(str(exc.filename))}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, not a traceback
        return _internal(exc)


def _internal(exc: BaseException) -> int:
    if os.environ.get("SCENEPRIOR_DEBUG") == "1":
        traceback.print_exception(exc)
    print(f"error: internal error: {type(exc).__name__}: {exc} (set SCENEPRIOR_DEBUG=1 for the traceback)", file=sys.stderr)
    return 3


if __name__ == "__main__":
    raise SystemExit(main())
