"""``sceneprior data generate``: turn the parsed arguments into a :class:`GeneratorConfig` and run it."""

from __future__ import annotations

import argparse

from ...errors import ConfigError
from .dataset import GeneratorConfig, generate_dataset, write_preview


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    """The generator configuration of parsed ``data generate`` arguments (validated)."""
    splits = tuple(s.strip() for s in str(args.splits).split(",") if s.strip())
    config = GeneratorConfig(
        category=args.category,
        out=args.out,
        objects=args.objects,
        views=args.views,
        test_views=args.test_views,
        val_objects=args.val_objects,
        test_objects=args.test_objects,
        resolution=args.resolution,
        seed=args.seed,
        workers=args.workers,
        splits=splits,
        progress=True,
        preview=args.preview,
        style=getattr(args, "style", "v1"),
    )
    config.validate()
    return config


def run_generate(args: argparse.Namespace) -> int:
    """Entry point of ``sceneprior data generate`` (returns the exit code; errors are one-line
    :class:`~sceneprior.errors.SceneError` s)."""
    config = config_from_args(args)
    if not str(config.out).strip():
        raise ConfigError("--out is empty")
    root = generate_dataset(config)
    if config.preview:
        path = write_preview(config, config.preview)
        print(f"preview: {path}")
    print(f"dataset: {root}")
    return 0
