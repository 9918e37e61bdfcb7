"""``sceneprior data generate``: turn the parsed arguments into a :class:`GeneratorConfig` and run it."""

from __future__ import annotations

import argparse

from ...errors import ConfigError
from .categories import VIDEO_CATEGORIES
from .dataset import ALL_SPLITS, GeneratorConfig, generate_dataset, write_preview


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    """The generator configuration of parsed ``data generate`` arguments (validated)."""
    splits = ALL_SPLITS if args.splits is None else tuple(s.strip() for s in str(args.splits).split(",") if s.strip())
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


def street_config_from_args(args: argparse.Namespace):
    """The :class:`~.streets.StreetConfig` of parsed ``data generate --category streets`` arguments (validated)."""
    from .streets import STREET_SPLITS, StreetConfig

    splits = STREET_SPLITS if args.splits is None else tuple(s.strip() for s in str(args.splits).split(",") if s.strip())
    if args.test_views is not None and args.test_views != args.views:
        raise ConfigError("streets keep one camera rig per video: --test-views must equal --views (or be left out)")
    config = StreetConfig(
        out=args.out, videos=args.objects, cameras=args.views, time_steps=args.time_steps, val_videos=args.val_objects,
        test_videos=args.test_objects, resolution=args.resolution, seed=args.seed, workers=args.workers, splits=splits,
        progress=True,
    )
    config.validate()
    return config


def run_generate(args: argparse.Namespace) -> int:
    """Entry point of ``sceneprior data generate`` (returns the exit code; errors are one-line
    :class:`~sceneprior.errors.SceneError` s)."""
    if args.category in VIDEO_CATEGORIES:
        from ..image_io import write_png
        from .streets import generate_streets, preview_streets

        street = street_config_from_args(args)
        if not str(street.out).strip():
            raise ConfigError("--out is empty")
        root = generate_streets(street)
        if args.preview:
            write_png(args.preview, preview_streets(street))
            print(f"preview: {args.preview}")
        print(f"dataset: {root}")
        return 0
    config = config_from_args(args)
    if not str(config.out).strip():
        raise ConfigError("--out is empty")
    root = generate_dataset(config)
    if config.preview:
        path = write_preview(config, config.preview)
        print(f"preview: {path}")
    print(f"dataset: {root}")
    return 0
