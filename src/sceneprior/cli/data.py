"""``sceneprior data generate``, ``sceneprior data render-meshes``, ``sceneprior data export`` and ``sceneprior data check``."""

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
    gen.add_argument("--category", choices=["cars", "chairs", "rooms", "streets"], default="cars",
                     help="streets: dynamic street videos (--objects streets, --views cameras per time step, --time-steps)")
    gen.add_argument("--out", required=True, help="output root folder")
    gen.add_argument("--objects", type=int, default=500, help="training scenes (val/test sizes follow, see --help-splits)")
    gen.add_argument("--views", type=int, default=50, help="views per training scene")
    gen.add_argument("--test-views", type=int, default=None, help="views per val/test scene (default: same as --views)")
    gen.add_argument("--val-objects", type=int, default=None, help="validation scenes (default: 5%% of --objects, at least 2)")
    gen.add_argument("--test-objects", type=int, default=None, help="scenes in test and in test_ood_pose (default: 10%% of --objects, at least 2)")
    gen.add_argument("--resolution", type=int, default=64)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--workers", type=int, default=None, help="processes (default: number of CPUs)")
    gen.add_argument("--splits", default=None,
                     help="comma-separated splits to write (default: train,val,test,test_ood_pose; streets: train,val,test,test_composition)")
    gen.add_argument("--time-steps", type=int, default=4, help="streets only: time steps per video (the cars move between them)")
    gen.add_argument("--preview", default=None, help="also write a PNG grid of a few views here")
    gen.add_argument("--style", default="v1", choices=["v1", "v2"],
                     help="v1 (default): the analytic-primitive scenes of every published result, byte-reproducible; v2: smooth, "
                     "textured, randomly lit cars (7 body types) and chairs (5 kinds) with specular shading and cast shadows")
    gen.set_defaults(func=_generate)

    meshes = sub.add_parser(
        "render-meshes",
        help="render a folder of meshes (OBJ+MTL+textures, GLB/GLTF, PLY, OFF, AC3D) into the SRN layout (needs sceneprior[render])",
        description="Render every mesh under MESH_DIR with Mitsuba 3 (pip install 'sceneprior[render]') into the SRN "
        "layout with depth, normals, masks and surface points, in the generator's camera model and splits (see "
        "docs/DATA_FORMAT.md). Each mesh is rotated so that --up becomes world +y and --forward the category's forward "
        "(cars +x, chairs +z), centred (bounding-box centre at the origin) and scaled so that its longest side is "
        "--extent. A mesh that cannot be read is reported in one line and left out; the exit code is then 1.",
    )
    meshes.add_argument("mesh_dir", metavar="MESH_DIR", help="folder of mesh files (searched recursively)")
    meshes.add_argument("--out", required=True, help="output root folder")
    meshes.add_argument("--category", default="cars", help="category name of the folders (cars, chairs, ...; default cars)")
    meshes.add_argument("--split", default="auto", choices=["auto", "train", "val", "test"],
                        help="auto: 5%% val, 10%% test (+ test_ood_pose), the rest train; or put every mesh in one split")
    meshes.add_argument("--up", default="+y", help="the meshes' up axis (+x -x +y -y +z -z; default +y)")
    meshes.add_argument("--forward", default=None, help="the meshes' forward axis (default: the category's: cars +x, chairs +z)")
    meshes.add_argument("--extent", type=float, default=0.9, help="longest bounding-box side after scaling (default 0.9)")
    meshes.add_argument("--views", type=int, default=50, help="views per training scene")
    meshes.add_argument("--test-views", type=int, default=None, help="views per val/test scene (default: --views)")
    meshes.add_argument("--resolution", type=int, default=64)
    meshes.add_argument("--seed", type=int, default=0, help="camera and split seed (the generator's camera streams)")
    meshes.add_argument("--spp", type=int, default=32, help="samples per pixel of the RGB render (default 32)")
    meshes.add_argument("--threads", type=int, default=None, help="renderer threads (default: all CPUs)")
    meshes.add_argument("--no-test-ood-pose", dest="ood", action="store_false",
                        help="do not render the test meshes a second time into test_ood_pose")
    meshes.set_defaults(func=_render_meshes)

    export = sub.add_parser(
        "export",
        help="copy an SRN-layout dataset for other tools, optionally with integer pixel centres (SRN / pixelNeRF code)",
        description="Copy an SRN-layout dataset (root, split or scene folder) to --out. Our intrinsics put pixel centres "
        "at +0.5 (pixel (i, j) is the point (j + 0.5, i + 0.5)); SRN's and pixelNeRF's ray code put them at integer "
        "coordinates, so on our files their rays land half a pixel off. --pixel-centres integer writes cx - 0.5, "
        "cy - 0.5 into every intrinsics.txt (the same rays in their convention) and records it in metadata.json "
        "(\"pixel_centres\"), which sceneprior's loaders read back. --out must not exist (see docs/DATA_FORMAT.md).",
    )
    export.add_argument("source", metavar="SOURCE", help="SRN root, split folder or scene folder")
    export.add_argument("--out", required=True, help="new folder to write (must not exist)")
    export.add_argument("--pixel-centres", choices=["half", "integer"], default="half",
                        help="half (default): ours, a plain copy; integer: for SRN / pixelNeRF code (cx, cy - 0.5)")
    export.set_defaults(func=_export)

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


def _export(args: argparse.Namespace) -> int:
    from ..data.export import export_srn_dataset

    written = export_srn_dataset(args.source, args.out, args.pixel_centres)
    print(f"wrote {args.out}: {len(written)} scene{'s' if len(written) != 1 else ''}, pixel centres {args.pixel_centres}"
          + (" (intrinsics cx, cy - 0.5)" if args.pixel_centres == "integer" else ""))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from ..data.generator.cli import run_generate

    return run_generate(args)


def _render_meshes(args: argparse.Namespace) -> int:
    from ..data.meshes.dataset import RenderMeshesConfig, default_normalisation, render_meshes

    config = RenderMeshesConfig(
        mesh_dir=args.mesh_dir, out=args.out, category=args.category,
        normalisation=default_normalisation(args.category, args.up, args.forward, args.extent), split=args.split,
        views=args.views, test_views=args.test_views, resolution=args.resolution, seed=args.seed, spp=args.spp,
        threads=args.threads, progress=True, ood=args.ood,
    )
    root, failed = render_meshes(config)
    print(f"dataset: {root}")
    return 1 if failed else 0


def _check(args: argparse.Namespace) -> int:
    from ..data.check import run_check

    return run_check(args)
