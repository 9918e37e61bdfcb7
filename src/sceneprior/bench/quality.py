"""``sceneprior bench quality``: every preset, image and 3D alike, trained on the same data under the same budget,
then scored with its family's protocol, in one report with two sections:

* **novel views** (image presets, :mod:`sceneprior.evaluation.evaluate`): PSNR / SSIM / depth error of held-out
  views from one (and two) input views, every inference mode, on ``test`` and ``test_ood_pose``;
* **3D shapes** (3D-supervised presets, :mod:`sceneprior.evaluation.eval3d`): volumetric IoU, Chamfer-L1, normal
  consistency and F-score of meshes on ``test`` (full point clouds, and partial ones with ``partial_3d``).

A generated dataset holds both the images and the 3D supervision (``points.npz``, ``sdf.npz``), so one ``--data``
serves both sections.

Each training and each evaluation is its own ``sceneprior train`` / ``sceneprior eval`` process (so that runs can
go side by side on a machine with spare cores or an accelerator, ``--parallel``), writing into ``RUNS/<preset>``.
A run folder that already holds a finished run of the same preset, data and budget is reused (the cache);
one made with other settings is refused rather than overwritten. The table is written as Markdown, JSON and a
PNG plot into ``OUT``, with the command line and the machine it ran on.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError

IMAGE_PRESETS = ("autoencoder", "srn", "srn-encoder", "lfn", "lfn-encoder", "pixelnerf", "splatter",
                 "global-hypernet", "global-concat", "global-film", "global-voxels",
                 "pixelnerf-attention", "srn-pixel", "sdf-sphere", "sdf-volsdf")
#: the 3D-supervised presets of the shapes tables (results/shapes3d_cars, results/shapes3d_rooms)
SHAPE_PRESETS = ("deepsdf", "occnet", "convonet-grid", "convonet-plane", "convonet-triplane", "voxel-decoder")
STAMP = "bench_quality.json"


@dataclass
class QualityConfig:
    data: str
    out: str = "results/quality"
    runs: str = "runs/quality"
    presets: tuple[str, ...] = IMAGE_PRESETS
    budget_minutes: float = 120.0
    device: str = "cpu"
    #: trainings / evaluations run side by side
    parallel: int = 1
    threads: int = 1
    splits: tuple[str, ...] = ("test", "test_ood_pose")
    #: the split the 3D presets are scored on, and whether also from partial point clouds (``eval --partial``)
    split_3d: str = "test"
    partial_3d: bool = False
    max_objects: int | None = None
    max_views: int | None = None
    autodecode_steps: int = 100
    #: extra ``sceneprior train`` arguments per preset, e.g. {"pixelnerf": ["--batch-size", "8"]}
    train_args: dict[str, list[str]] = field(default_factory=dict)
    seed: int = 0
    save_images: int = 0  # keep renders (image presets) and meshes (3D presets, RUNS/<preset>/meshes) for pictures
    command: str = ""


@dataclass
class Job:
    name: str
    argv: list[str]
    log: Path
    done: Path | None = None  # the file whose presence means the job needs no rerun
    returncode: int | None = None
    seconds: float = 0.0


def _cli() -> list[str]:
    return [sys.executable, "-m", "sceneprior"]


def _run_jobs(jobs: list[Job], parallel: int, env: dict[str, str]) -> None:
    """Run ``jobs`` as subprocesses, ``parallel`` at a time; logs to each job's file; never raises on failure."""
    pending = [j for j in jobs if not (j.done is not None and j.done.exists())]
    for j in jobs:
        if j not in pending:
            j.returncode = 0
    running: list[tuple[Job, subprocess.Popen, float]] = []
    while pending or running:
        while pending and len(running) < max(1, parallel):
            job = pending.pop(0)
            job.log.parent.mkdir(parents=True, exist_ok=True)
            handle = open(job.log, "w")
            handle.write("$ " + shlex.join(job.argv) + "\n")
            handle.flush()
            print(f"[bench quality] start {job.name}", flush=True)
            proc = subprocess.Popen(job.argv, stdout=handle, stderr=subprocess.STDOUT, env=env)
            handle.close()
            running.append((job, proc, time.perf_counter()))
        time.sleep(0.5)
        still = []
        for job, proc, start in running:
            code = proc.poll()
            if code is None:
                still.append((job, proc, start))
                continue
            job.returncode, job.seconds = code, time.perf_counter() - start
            status = "ok" if code == 0 else f"FAILED (exit {code}, see {job.log})"
            print(f"[bench quality] {job.name}: {status} in {job.seconds:.0f} s", flush=True)
        running = still


def _stamp(config: QualityConfig, preset: str) -> dict:
    return {"preset": preset, "data": str(Path(config.data).resolve()), "budget_minutes": config.budget_minutes,
            "seed": config.seed, "train_args": config.train_args.get(preset, [])}


def _prepare_run(config: QualityConfig, preset: str) -> tuple[Path, bool]:
    """The run folder of ``preset`` and whether it already holds the finished run (cache hit)."""
    run = Path(config.runs) / preset
    stamp_path = run / STAMP
    if stamp_path.exists():
        stamp = json.loads(stamp_path.read_text())
        wanted = _stamp(config, preset)
        if {k: stamp.get(k) for k in wanted} != wanted:
            raise ConfigError(f"{run}: holds a run made with other settings ({stamp_path}); "
                              f"pass another --runs folder or remove it")
        return run, bool(stamp.get("finished"))
    if run.exists() and any(run.iterdir()):
        raise ConfigError(f"{run}: exists and was not made by 'bench quality'; pass another --runs folder")
    return run, False


#: what a 3D evaluation's JSON (``sceneprior eval --json`` of a 3D preset) gives each row
SHAPE_METRICS = ("iou", "chamfer_l1", "normal_consistency", "fscore", "latent_floats", "peak_memory_mb",
                 "inference_seconds_per_object", "num_objects")


def is_shape_preset(preset: str) -> bool:
    """Whether ``preset`` is a 3D-supervised shape preset (scored on meshes) rather than an image preset."""
    from ..models3d import ShapeModelConfig
    from ..registry import get_preset

    return isinstance(get_preset(preset).model, ShapeModelConfig)


def _description(preset: str) -> str:
    from ..registry import get_preset

    return get_preset(preset).description


def modes_of(preset: str) -> tuple[str, ...]:
    from ..registry import get_preset

    p = get_preset(preset)
    return tuple(p.model.build(1).modes)


def _last_metrics(run: Path, count: int = 20) -> dict:
    from ..training.trainer import mean_rays_per_second

    path = run / "metrics.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if mean_rays_per_second(r) is not None]
    if not rows:
        return {}
    tail = rows[-count:]
    # the run's throughput: rays/s since the start at the last record (the step's own rate is noisy)
    return {"step": rows[-1]["step"], "rays_per_second": mean_rays_per_second(rows[-1]),
            "train_psnr": sum(r.get("psnr", 0.0) for r in tail) / len(tail)}


def _checkpoint_step(run: Path) -> int:
    from ..checkpoint import latest_checkpoint

    path = latest_checkpoint(run) if run.exists() else None
    digits = "".join(c for c in path.stem if c.isdigit()) if path is not None else ""
    return int(digits) if digits else 0


def _parameter_counts(run: Path) -> tuple[int, int]:
    """(all parameters, parameters without the auto-decoder table) of the run's last checkpoint."""
    from safetensors import safe_open

    from ..checkpoint import latest_checkpoint

    path = latest_checkpoint(run)
    if path is None:
        return 0, 0
    total = table = 0
    with safe_open(str(path), "pt") as f:
        for key in f.keys():
            if not key.startswith("model."):
                continue
            n = 1
            for s in f.get_slice(key).get_shape():
                n *= s
            total += n
            if key.startswith("model.latents."):
                table += n
    return total, total - table


def machine_description(device: str) -> str:
    import torch

    text = f"{platform.node() or 'host'}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def run_quality(config: QualityConfig) -> dict:
    """Train what is missing, evaluate every (preset, mode, split), write OUT/quality.{json,md,png}."""
    from ..registry import PRESET_NAMES

    unknown = [p for p in config.presets if p not in PRESET_NAMES]
    if unknown:
        raise ConfigError(f"bench quality: unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESET_NAMES)}")
    if not (Path(config.data) / "metadata.json").exists():
        raise ConfigError(f"{config.data}: not a generated dataset (no metadata.json); make one with 'sceneprior data generate'")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # --- training
    runs: dict[str, Path] = {}
    jobs: list[Job] = []
    for preset in config.presets:
        run, cached = _prepare_run(config, preset)
        runs[preset] = run
        if cached:
            print(f"[bench quality] {preset}: reusing the finished run in {run}", flush=True)
            continue
        run.mkdir(parents=True, exist_ok=True)
        (run / STAMP).write_text(json.dumps(_stamp(config, preset), indent=1))
        resume = ["--resume"] if (run / "checkpoints").exists() else []
        argv = _cli() + ["train", "--preset", preset, "--data", config.data, "--out", str(run),
                         "--minutes", str(config.budget_minutes), "--seed", str(config.seed), "--device", config.device,
                         "--threads", str(config.threads), "--no-progress", *resume, *config.train_args.get(preset, [])]
        jobs.append(Job(f"train {preset}", argv, run.parent / f"{preset}.train.log"))
    _run_jobs(jobs, config.parallel, env)
    train_seconds: dict[str, float] = {}
    for job in jobs:
        preset = job.name.split(" ", 1)[1]
        if job.returncode == 0:
            stamp = json.loads((runs[preset] / STAMP).read_text())
            stamp.update(finished=True, train_wall_seconds=job.seconds)
            (runs[preset] / STAMP).write_text(json.dumps(stamp, indent=1))
    for preset, run in runs.items():
        stamp = json.loads((run / STAMP).read_text()) if (run / STAMP).exists() else {}
        train_seconds[preset] = float(stamp.get("train_wall_seconds", 0.0))
    # --- evaluation
    evals: list[tuple[str, str, str, int, Job]] = []
    for preset, run in runs.items():
        stamp = json.loads((run / STAMP).read_text()) if (run / STAMP).exists() else {}
        if not stamp.get("finished"):
            continue
        if is_shape_preset(preset):
            for partial in (False, True) if config.partial_3d else (False,):
                tag = f"{preset}.3d.{config.split_3d}{'.partial' if partial else ''}"
                result = run / "eval" / f"{tag}.json"
                argv = _cli() + ["eval", str(run), "--data", config.data, "--split", config.split_3d, "--json", str(result),
                                 "--device", config.device, "--threads", str(config.threads), "--seed", str(config.seed)]
                if partial:
                    argv.append("--partial")
                if config.save_images and not partial:
                    argv += ["--save-meshes", str(run / "meshes")]
                if config.max_objects is not None:
                    argv += ["--max-objects", str(config.max_objects)]
                evals.append((preset, "partial" if partial else "full", config.split_3d, 0,
                              Job(f"eval {tag}", argv, run / "eval" / f"{tag}.log", result)))
            continue
        modes = modes_of(preset)
        default_mode = "encode" if "encode" in modes else "autodecode"
        combos = [(m, s, 1) for m in modes for s in config.splits]
        combos.append((default_mode, config.splits[0], 2))
        for mode, split, views in combos:
            tag = f"{preset}.{mode.replace('+', '_')}.{split}.{views}v"
            result = run / "eval" / f"{tag}.json"
            argv = _cli() + ["eval", str(run), "--data", config.data, "--split", split, "--mode", mode,
                             "--input-views", str(views), "--json", str(result), "--device", config.device,
                             "--threads", str(config.threads), "--seed", str(config.seed)]
            if "autodecode" in mode:
                argv += ["--steps", str(config.autodecode_steps)]
            if config.max_objects is not None:
                argv += ["--max-objects", str(config.max_objects)]
            if config.max_views is not None:
                argv += ["--max-views", str(config.max_views)]
            if config.save_images and views == 1 and mode == default_mode:
                argv += ["--save-images", str(run / "renders" / split)]
            evals.append((preset, mode, split, views, Job(f"eval {tag}", argv, run / "eval" / f"{tag}.log", result)))
    _run_jobs([e[-1] for e in evals], config.parallel, env)
    # --- table
    rows = []
    for preset, run in runs.items():
        params, params_net = _parameter_counts(run) if run.exists() else (0, 0)
        metrics = _last_metrics(run)
        row = {"preset": preset, "section": "shapes" if is_shape_preset(preset) else "views",
               "description": _description(preset), "params": params, "params_without_latent_table": params_net,
               "train_seconds": train_seconds.get(preset, 0.0), "train_steps": _checkpoint_step(run),
               "train_rays_per_second": metrics.get("rays_per_second"), "train_psnr_last": metrics.get("train_psnr"),
               "results": []}
        for p, mode, split, views, job in evals:
            if p != preset:
                continue
            entry = {"mode": mode, "split": split, "input_views": views, "ok": False}
            if row["section"] == "shapes":
                entry = {"observation": mode, "split": split, "ok": False}
                if job.done is not None and job.done.exists():
                    r = json.loads(job.done.read_text())
                    entry.update(ok=True, **{k: r.get(k) for k in SHAPE_METRICS})
                else:
                    entry["log"] = str(job.log)
                row["results"].append(entry)
                continue
            if job.done is not None and job.done.exists():
                r = json.loads(job.done.read_text())
                entry.update(ok=True, psnr=r["psnr"], ssim=r["ssim"], depth_error=r.get("depth_error"),
                             depth_coverage=r.get("depth_coverage"),
                             num_objects=r["num_objects"], inference_seconds=r["inference_seconds_per_object"],
                             render_seconds_per_image=r["render_seconds_per_view"], device=r.get("device"))
            else:
                entry["log"] = str(job.log)
            row["results"].append(entry)
        rows.append(row)
    report = {"command": config.command, "machine": machine_description(config.device),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "config": _plain(config), "rows": rows}
    (out / "quality.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "quality.md").write_text(format_markdown(report))
    try:
        plot_quality(report, out / "quality.png")
    except Exception as error:  # a plot is a convenience; the table stands without it
        print(f"[bench quality] no plot: {error}", flush=True)
    return report


def _plain(config: QualityConfig) -> dict:
    d = asdict(config)
    d["presets"] = list(config.presets)
    d["splits"] = list(config.splits)
    return d


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _depth(result: dict) -> str:
    """The depth error, with its coverage when the depth is sparse (e.g. ``0.041 (23% px)`` for LFN)."""
    text = _fmt(result.get("depth_error"), ".3f")
    coverage = result.get("depth_coverage")
    return text if coverage is None or coverage >= 0.999 or result.get("depth_error") is None else f"{text} ({coverage:.0%} px)"


def format_markdown(report: dict) -> str:
    cfg = report["config"]
    rows = report["rows"]
    views = [r for r in rows if r.get("section", "views") == "views"]
    shapes = [r for r in rows if r.get("section") == "shapes"]
    lines = [
        "# One benchmark: image and 3D presets",
        "",
        f"Made by `{report['command']}` on {report['machine']}, {report['date']}.",
        f"Data `{cfg['data']}`; training budget {cfg['budget_minutes']:g} min wall clock per preset "
        f"({cfg['parallel']} side by side, device {cfg['device']}).",
        "",
    ]
    if views:
        lines += [
            "## Novel views (image presets)",
            "",
            f"Protocol: a fixed input view per held-out object (metadata `input_views`), every other view rendered "
            f"(or `--max-views` of them); PSNR/SSIM per image, averaged per object, then over objects; depth error "
            f"(mean |Δz|) on pixels foreground in both where the model gives depth; auto-decoding "
            f"{cfg['autodecode_steps']} steps.",
            "",
            "| model | inference | params (net / all) | steps | train rays/s | split | views | PSNR | SSIM | depth err | infer s/obj | render s/img |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in views:
            for r in row["results"]:
                if not r["ok"]:
                    lines.append(f"| {row['preset']} | {r['mode']} | | | | {r['split']} | {r['input_views']} | failed: see `{r.get('log')}` | | | | |")
                    continue
                lines.append(
                    f"| {row['preset']} | {r['mode']} | {row['params_without_latent_table'] / 1e6:.2f}M / {row['params'] / 1e6:.2f}M | "
                    f"{row['train_steps']} | {_fmt(row['train_rays_per_second'], '.0f')} | {r['split']} | {r['input_views']} | "
                    f"{r['psnr']:.2f} | {r['ssim']:.3f} | {_depth(r)} | {r['inference_seconds']:.2f} | "
                    f"{r['render_seconds_per_image']:.3f} |")
        lines.append("")
    if shapes:
        lines += [
            "## 3D shapes (3D-supervised presets)",
            "",
            f"Protocol (`sceneprior.evaluation.eval3d`, split `{cfg.get('split_3d', 'test')}`): the object's surface "
            "point cloud (full, or `partial`: only points facing one view direction) is encoded or auto-decoded; IoU "
            "on the uniform points of `sdf.npz`; Chamfer-L1, normal consistency and F@1% of the dense marching-cubes "
            "mesh against the surface points; `act. memory` is the autograd-saved bytes of one training loss.",
            "",
            "| preset | model | observation | params | steps | objects | IoU | Chamfer-L1 | normal cons. | F@1% | latent floats | act. memory (MB) | infer s/obj |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in shapes:
            for r in row["results"]:
                if not r["ok"]:
                    lines.append(f"| {row['preset']} | {row['description']} | {r['observation']} | | | | failed: see `{r.get('log')}` | | | | | | |")
                    continue
                lines.append(
                    f"| {row['preset']} | {row['description']} | {r['observation']} | {row['params']:,} | {row['train_steps']:,} | "
                    f"{r['num_objects']} | {r['iou']:.3f} | {_fmt(r['chamfer_l1'], '.4f')} | {_fmt(r['normal_consistency'], '.3f')} | "
                    f"{_fmt(r['fscore'], '.3f')} | {r['latent_floats']:,} | {_fmt(r['peak_memory_mb'], '.1f')} | "
                    f"{r['inference_seconds_per_object']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def plot_quality(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, test, ood = [], [], []
    for row in report["rows"]:
        if row.get("section", "views") != "views":
            continue
        by = {(r["mode"], r["split"], r["input_views"]): r for r in row["results"] if r["ok"]}
        for mode in dict.fromkeys(r["mode"] for r in row["results"]):
            a, b = by.get((mode, "test", 1)), by.get((mode, "test_ood_pose", 1))
            if a is None and b is None:
                continue
            labels.append(f"{row['preset']}\n{mode}")
            test.append(a["psnr"] if a else 0.0)
            ood.append(b["psnr"] if b else 0.0)
    if not labels:
        return
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels)), 4))
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], test, 0.4, label="test (poses as in training)")
    ax.bar([i + 0.2 for i in x], ood, 0.4, label="test_ood_pose (unseen poses)")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("single-view PSNR (dB)")
    ax.set_title("held-out novel views")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def comparison_figure(runs: str | Path, data: str | Path, split: str, path: str | Path,
                      presets: tuple[str, ...] = IMAGE_PRESETS, objects: int = 3, views: tuple[int, ...] = (12, 30)) -> Path:
    """A grid of the same held-out views: per row one (object, target view); columns: the input view, the
    ground truth, then each preset's rendering (from the renders ``bench quality --save-images 1`` kept in
    ``RUNS/<preset>/renders/<split>/<scene>/<view>.png``). Presets without renders are left out."""
    import numpy as np

    from ..data.image_io import read_rgb as read_image, write_png
    from ..training.data import dataset_metadata

    runs, data = Path(runs), Path(data)
    category = dataset_metadata(str(data)).get("category", "cars")
    split_dir = data / f"{category}_{split}"
    if not split_dir.is_dir():
        raise ConfigError(f"{split_dir}: no such split folder")
    have = [p for p in presets if (runs / p / "renders" / split).is_dir()]
    if not have:
        raise ConfigError(f"{runs}: no renders of split {split!r} (run bench quality with --save-images 1)")
    scenes = sorted(d.name for d in (runs / have[0] / "renders" / split).iterdir())[:objects]
    inputs = dataset_metadata(str(data)).get("input_views", {}).get(split, [0])
    rows = []
    for scene in scenes:
        source = read_image(split_dir / scene / "rgb" / f"{int(inputs[0]):06d}.png")
        for v in views:
            name = f"{v:06d}.png"
            tiles = [source, read_image(split_dir / scene / "rgb" / name)]
            for p in have:
                file = runs / p / "renders" / split / scene / name
                tiles.append(read_image(file) if file.exists() else np.ones_like(tiles[0]))
            tiles = [t[..., :3] for t in tiles]
            pad = np.ones((tiles[0].shape[0], 2, 3), dtype=tiles[0].dtype)
            rows.append(np.concatenate([x for t in tiles for x in (t, pad)][:-1], 1))
    gap = np.ones((2, rows[0].shape[1], 3), dtype=rows[0].dtype)
    grid = np.concatenate([x for r in rows for x in (r, gap)][:-1], 0)
    path = Path(path)
    write_png(path, grid)
    (path.with_suffix(".txt")).write_text("columns: input view | ground truth | " + " | ".join(have) + "\n"
                                          f"rows: objects {', '.join(scenes)} of {split}, target views {', '.join(map(str, views))}\n")
    return path


def figure_tiles(figure: str | Path, runs: str | Path) -> list[Path]:
    """The inverse of :func:`comparison_figure`: cut a committed figure (and the ``.txt`` beside it) back into the
    renders it was made of, ``RUNS/<preset>/renders/<split>/<scene>/<view>.png`` (lossless: PNG tiles), so that a
    figure can be re-assembled with one model's column replaced after the other runs' folders are gone."""
    from ..data.image_io import read_rgb, write_png

    figure = Path(figure)
    legend = figure.with_suffix(".txt")
    try:
        columns_line, rows_line = legend.read_text().splitlines()[:2]
        columns = [c.strip() for c in columns_line.split(":", 1)[1].split("|")]
        match = re.fullmatch(r"rows: objects (.+) of (\S+), target views (.+)", rows_line.strip())
        assert columns[:2] == ["input view", "ground truth"] and match is not None
    except (OSError, ValueError, IndexError, AssertionError):
        raise ConfigError(f"{legend}: not the legend of a comparison figure (columns: ... / rows: objects ...)") from None
    scenes = [s.strip() for s in match.group(1).split(",")]
    split = match.group(2)
    views = [int(v) for v in match.group(3).split(",")]
    grid = read_rgb(figure)
    height, width = grid.shape[:2]
    tile_w = (width - 2 * (len(columns) - 1)) / len(columns)
    tile_h = (height - 2 * (len(scenes) * len(views) - 1)) / (len(scenes) * len(views))
    if tile_w != int(tile_w) or tile_h != int(tile_h):
        raise ConfigError(f"{figure}: {width}x{height} pixels do not fit {len(columns)} columns and "
                          f"{len(scenes) * len(views)} rows of tiles with 2-pixel gaps")
    tile_w, tile_h = int(tile_w), int(tile_h)
    written = []
    for r, (scene, view) in enumerate((s, v) for s in scenes for v in views):
        for c, preset in enumerate(columns[2:], start=2):
            y, x = r * (tile_h + 2), c * (tile_w + 2)
            path = Path(runs) / preset / "renders" / split / scene / f"{view:06d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_png(path, grid[y:y + tile_h, x:x + tile_w])
            written.append(path)
    return written
