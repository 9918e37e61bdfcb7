"""``sceneprior reconstruct``: one photo in; novel views, depth, normals, a turntable, a mesh and index.html out."""

from __future__ import annotations

import argparse

from ..defaults import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reconstruct",
        help="infer a 3D scene from one photo: novel views, depth, normals, turntable MP4/GIF, mesh PLY/GLB, index.html",
        description="Find the object in each IMAGE (alpha channel, or a plain near-white background), centre and crop "
        "it like the training images, infer its latent with the model, then write a turntable, novel views, depth and "
        "normal maps, a vertex-coloured mesh and index.html into --out. Without IMAGE the bundled example car is used. "
        "Several IMAGEs are reconstructed one by one, into --out/<image name>/.",
    )
    p.add_argument("images", nargs="*", metavar="IMAGE", help="PNG or JPEG, RGB or RGBA (default: the bundled example)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"shipped model name, run folder or checkpoint file (default: {DEFAULT_MODEL})")
    p.add_argument("--out", default="reconstruction", help="output folder (default: ./reconstruction)")
    p.add_argument("--views", type=int, default=24, help="turntable views (default 24)")
    p.add_argument("--resolution", type=int, default=None,
                   help="side of the rendered views in pixels (default: the model's input resolution)")
    p.add_argument("--mesh-resolution", type=int, default=64, help="marching-cubes cells per axis (default 64)")
    p.add_argument("--no-mesh", action="store_true", help="skip the mesh")
    p.add_argument("--mode", default=None, choices=["encode", "autodecode", "encode+autodecode"],
                   help="inference mode (default: encode, one forward pass, when the model has an encoder; else "
                   "autodecode)")
    p.add_argument("--steps", type=int, default=100,
                   help="auto-decoding steps of --mode autodecode / encode+autodecode and of models without an "
                   "encoder (default 100)")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="encoder models: start from the encoder's latent and refine it with STEPS auto-decoding steps "
                   "(encode+autodecode; default 0: off, one forward pass)")
    p.add_argument("--azimuth", type=float, default=None, help="assumed azimuth of the photo, degrees")
    p.add_argument("--elevation", type=float, default=None, help="assumed elevation of the photo, degrees")
    p.add_argument("--distance", type=float, default=None, help="assumed camera distance (scene units)")
    p.add_argument("--turntable-elevation", type=float, default=None, help="elevation of the turntable (default: the photo's)")
    p.add_argument("--parts", default=None, metavar="LABELS",
                   help="also render part maps of the turntable views: a linear probe on the model's per-pixel features "
                   "(SRN) fitted on a few labelled views of LABELS, a dataset with part labels (parts/*.png, as "
                   "`data generate` writes; class names from its metadata.json)")
    p.add_argument("--parts-objects", type=int, default=5, metavar="N",
                   help="labelled objects of LABELS' train split used (default 5; view 0 of each)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: measured faster than 2 on the 2-core development machine, results/reconstruct_speed.md)")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from ..errors import ConfigError

    if not 1 <= args.views <= 360:
        raise ConfigError(f"--views must be in 1..360, got {args.views}")
    if args.resolution is not None and not 16 <= args.resolution <= 1024:
        raise ConfigError(f"--resolution must be in 16..1024, got {args.resolution}")
    if not 8 <= args.mesh_resolution <= 512:
        raise ConfigError(f"--mesh-resolution must be in 8..512, got {args.mesh_resolution}")
    if args.steps < 0:
        raise ConfigError(f"--steps must be >= 0, got {args.steps}")
    if args.refine < 0:
        raise ConfigError(f"--refine must be >= 0, got {args.refine}")
    if args.refine > 0 and args.mode not in (None, "encode+autodecode"):
        raise ConfigError(f"--refine {args.refine} means encode+autodecode; it cannot be combined with --mode {args.mode}")


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ..api import example_images, inference_mode, load_model, reconstruct
    from ..inference.outputs import OutputConfig, prepare_out_dir, write_reconstruction
    from ..inference.preprocess import load_image
    from ..errors import ConfigError

    _check(args)
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    images = [Path(p) for p in args.images] or example_images()[:1]
    if not images:
        raise ConfigError("no IMAGE given and no bundled example found")
    out = Path(args.out)
    targets = [out] if len(images) == 1 else [out / p.stem for p in images]
    if len({t.name for t in targets}) != len(targets):
        raise ConfigError("several IMAGEs share a file name; reconstruct them one by one with different --out")
    for target in targets:
        prepare_out_dir(target)
    for path in images:  # every input is checked before any work, so a bad one costs nothing
        load_image(path)

    start = time.perf_counter()
    loaded = load_model(args.model)
    load_seconds = time.perf_counter() - start
    print(f"model: {loaded.name} ({loaded.kind}, step {loaded.step}) loaded in {load_seconds:.2f} s")
    mode, steps = inference_mode(loaded, args.mode, args.steps, args.refine)  # --refine on an auto-decoder: fails here
    if args.refine > 0 and args.steps != 100:
        print(f"  note: --refine {args.refine} sets the auto-decoding steps; --steps {args.steps} is ignored")
    probe = None
    if args.parts is not None:
        from ..inference.infer import InferenceConfig
        from ..inference.parts import fit_part_probe

        start = time.perf_counter()
        init = "mean" if loaded.model.latents is not None else "zeros"
        probe = fit_part_probe(loaded.model, args.parts, InferenceConfig(mode=mode, steps=steps, init=init),  # type: ignore[arg-type]
                               objects=args.parts_objects)
        print(f"part probe: {len(probe.names)} classes ({', '.join(probe.names)}) from "
              f"{sum(len(v) for v in probe.labelled.values())} labelled view(s) of {args.parts} in "
              f"{time.perf_counter() - start:.1f} s")
    config = OutputConfig(views=args.views, resolution=args.resolution, mesh_resolution=args.mesh_resolution,
                          elevation=args.turntable_elevation, mesh=not args.no_mesh)
    for path, target in zip(images, targets):
        print(f"input: {path}")
        rec = reconstruct(loaded, path, mode=mode, steps=steps, azimuth=args.azimuth,
                          elevation=args.elevation, distance=args.distance)
        rec.timings = {"load model": load_seconds, **rec.timings}
        crop = rec.preprocessed[0]
        if crop is not None:
            box = ", ".join(f"{v:.0f}" for v in crop.crop_box)
            print(f"  object found from {crop.mask_source}: box {crop.object_box}, square crop ({box}) -> "
                  f"{rec.images.shape[-1]}x{rec.images.shape[-2]}")
        print(f"  inference: {rec.inference_label} in {rec.timings['inference']:.2f} s")
        result = write_reconstruction(rec, target, config, log=lambda line: print(f"  {line}"), parts=probe)
        for note in result.notes[1:]:
            if note.startswith("No mesh") or "no depth" in note:
                print(f"  note: {note}")
        print(f"  wrote {target}/")
        for section in ("index", "turntable", "mesh", "splats", "input"):
            for name in result.files.get(section, []):
                print(f"    {target / name}")
        print(f"    {target / 'summary.json'}")
        for section in ("views", "depth", "normals", "parts"):
            if result.files.get(section):
                print(f"    {target / section}/ ({len(result.files[section])} PNG)")
        print("  timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))
    return 0
