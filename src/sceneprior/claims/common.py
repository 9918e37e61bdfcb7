"""``sceneprior bench claim NAME``: the lecture's claims (shared/design/FRAMEWORK.md), each as one command that
produces a number, a verdict and a plot under ``OUT`` (``README.md`` with the exact command and the machine,
``claim.json``, ``claim.png``).

=================  ======================================================================================  =========
name               claim                                                                                   module
=================  ======================================================================================  =========
``pose``           the 2D auto-encoder fits its training views but fails on unseen camera poses, where      generalisation
                   3D-structured models hold (from ``results/quality``; no model needed)
``ood-input``      an encoder fails on out-of-distribution inputs, auto-decoding degrades gracefully        generalisation
``resolution``     an auto-decoded SRN renders at 2x and 4x its training resolution without retraining       rendering
``lfn-prior``      an LFN fitted to a few views without a prior is wrong at held-out views; the prior fixes  rendering
``interpolation``  latent interpolation between two objects gives plausible intermediate objects           latent
``parts``          features learned by the prior segment object parts from a handful of labelled views      latent
``static-dynamic`` static / dynamic ground plans learned from video split one image of a street; removal  scenes
=================  ======================================================================================  =========

A claim that does not hold on our data is reported as not holding, with the evidence. Every size has a default
(``DEFAULTS``) so that the committed results are reproduced exactly by the command in their Markdown; the only
randomness is seeded (``--seed``). Ground truth at other resolutions and out-of-distribution inputs come from the
procedural generator (:func:`generated_views`): scene ``i`` of a split depends only on (seed, split, i), so it is
the object ``sceneprior data generate --seed S`` writes, at any resolution.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from ..errors import ConfigError

CLAIM_NAMES = ("pose", "ood-input", "resolution", "lfn-prior", "interpolation", "parts", "static-dynamic")


@dataclass
class ClaimConfig:
    """Everything a claim needs. ``None`` sizes take the claim's default from :data:`DEFAULTS`."""

    name: str
    model: str | None = None
    data: str = "data/cars300"
    out: str | None = None
    #: held-out objects (per input set)
    objects: int | None = None
    #: target views per object
    views: int | None = None
    #: auto-decoding (or, for lfn-prior, no-prior fitting) steps
    steps: int | None = None
    #: random rays per auto-decoding step
    rays: int | None = None
    seed: int = 0
    threads: int = 1
    #: bench quality folder (claim ``pose``)
    quality: str = "results/quality"
    #: numbers of labelled views (claim ``parts``)
    ks: tuple[int, ...] | None = None
    #: free text: how the model was made (printed in the Markdown next to the model's own record)
    model_note: str = ""
    command: str = ""


#: default sizes per claim (sized to run in <= 8 minutes on one CPU core)
DEFAULTS: dict[str, dict[str, Any]] = {
    "pose": {},
    "ood-input": {"model": "cars", "objects": 5, "views": 5, "steps": 100, "rays": 512},
    "resolution": {"model": "cars-srn", "objects": 6, "views": 4, "steps": 100, "rays": 512},
    "lfn-prior": {"model": None, "objects": 5, "views": 10, "steps": 400, "rays": 2048},
    "interpolation": {"model": "cars-srn", "objects": 3, "views": 2, "steps": 0, "rays": 0},
    "parts": {"model": "cars-srn", "objects": 8, "views": 1, "steps": 100, "rays": 512, "ks": (1, 2, 5, 10, 20)},
    "static-dynamic": {"model": None, "objects": 10, "views": 2},
}


def resolve(config: ClaimConfig) -> ClaimConfig:
    """``config`` with every ``None`` size replaced by the claim's default; checks the values."""
    if config.name not in CLAIM_NAMES:
        raise ConfigError(f"unknown claim {config.name!r}; choose from {', '.join(CLAIM_NAMES)}")
    defaults = DEFAULTS[config.name]
    updates = {k: v for k, v in defaults.items() if getattr(config, k) is None}
    config = replace(config, **updates)
    if config.out is None:
        config = replace(config, out=f"results/claims/{config.name}")
    if config.name not in ("pose",) and not config.model:
        raise ConfigError(f"claim {config.name}: pass --model (a run folder, checkpoint or shipped model name)")
    for name in ("objects", "views", "steps", "rays"):
        value = getattr(config, name)
        if value is not None and value < 0:
            raise ConfigError(f"--{name} must be >= 0, got {value}")
    if config.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {config.threads}")
    return config


@dataclass
class ClaimReport:
    """What a claim found: a verdict, a headline number, a Markdown body, plain data, and a figure."""

    claim: str
    title: str
    statement: str
    holds: bool | None
    verdict: str
    headline: dict[str, float]
    body: str
    data: dict[str, Any]
    figures: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    machine: str = ""
    date: str = ""
    seconds: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ machinery


def machine_description() -> str:
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.2f}".format(os.getloadavg()[0])
    return (f"{platform.node() or 'host'}: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch thread(s), CPU{load}")


def describe_model(loaded: Any, note: str = "") -> dict[str, Any]:
    """What a loaded model is and how it was made: its path, preset, step, training data and budget, its model
    card when it has one, and ``note``."""
    train = (loaded.run_config or {}).get("train") or {}
    folder = Path(loaded.checkpoint).parent.parent if loaded.checkpoint is not None else None
    card = folder / "MODEL_CARD.md" if folder is not None and (folder / "MODEL_CARD.md").is_file() else None
    return {
        "name": loaded.name, "checkpoint": str(loaded.checkpoint), "kind": loaded.kind, "preset": train.get("preset"),
        "step": loaded.step, "modes": list(loaded.modes), "train_data": train.get("data"),
        "train_minutes": train.get("minutes"), "train_device": train.get("device"),
        "model_card": None if card is None else str(card), "note": note,
    }


def model_markdown(model: dict[str, Any]) -> str:
    if not model:
        return "no model (computed from stored results)"
    text = (f"`{model['name']}` (preset `{model['preset']}`, kind {model['kind']}, step {model['step']}, trained on "
            f"`{model['train_data']}` for {model['train_minutes']} min on {model['train_device']}; checkpoint "
            f"`{model['checkpoint']}`)")
    if model.get("model_card"):
        text += f"; how it was made: its model card `{model['model_card']}`"
    if model.get("note"):
        text += f"; {model['note']}"
    return text


def write_report(report: ClaimReport, out: str | Path) -> Path:
    """``OUT/README.md`` and ``OUT/claim.json`` (the figures are already written into ``OUT``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    verdict = {True: "**Holds.**", False: "**Does not hold.**", None: "**Inconclusive.**"}[report.holds]
    headline = ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}" for k, v in report.headline.items())
    lines = [
        f"# Claim `{report.claim}`: {report.title}",
        "",
        f"> {report.statement}",
        "",
        f"{verdict} {report.verdict}",
        "",
        f"Headline: {headline}.",
        "",
        f"Made by `{report.command}` on {report.machine}, {report.date}, in {report.seconds:.0f} s.",
        "",
        f"Model: {model_markdown(report.model)}.",
        "",
        report.body.rstrip(),
        "",
    ]
    for figure in report.figures:
        lines += [f"![{figure}]({figure})", ""]
    lines.append("Every number above is in `claim.json`.")
    (out / "README.md").write_text("\n".join(lines) + "\n")
    (out / "claim.json").write_text(json.dumps(_plain(asdict(report)), indent=1) + "\n")
    return out / "README.md"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_claim(config: ClaimConfig) -> ClaimReport:
    """Run one claim and write its report into ``config.out``."""
    config = resolve(config)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    runner = _runner(config.name)
    out = Path(config.out)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report = runner(config, out)
    report.seconds = time.perf_counter() - start
    report.command = config.command or f"sceneprior bench claim {config.name}"
    report.machine = machine_description()
    report.date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    plain = asdict(config)
    plain["ks"] = None if config.ks is None else list(config.ks)
    report.config = plain
    write_report(report, out)
    return report


def _runner(name: str) -> Callable[[ClaimConfig, Path], ClaimReport]:
    import importlib

    module, function = {"pose": ("generalisation", "claim_pose"),
                        "ood-input": ("generalisation", "claim_ood_input"),
                        "resolution": ("rendering", "claim_resolution"),
                        "lfn-prior": ("rendering", "claim_lfn_prior"),
                        "interpolation": ("latent", "claim_interpolation"),
                        "parts": ("latent", "claim_parts"),
                        "static-dynamic": ("scenes", "claim_static_dynamic")}[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


# ------------------------------------------------------------------------------------------------ shared helpers


def load(name_or_path: str):
    from ..api import load_model

    return load_model(name_or_path)


def infer_latent(model, images: Tensor, cam2world: Tensor, intrinsics: Tensor, mode: str, steps: int, rays: int | None,
                 seed: int):
    """The latent of one scene from its observed views ((view, 3, H, W), (view, 4, 4), (view, 3, 3)) and the
    inference result (losses, seconds). Auto-decoding starts at the mean training latent (auto-decoders) or zeros."""
    from ..data.types import PosedViews
    from ..inference import InferenceConfig, infer

    init = "mean" if model.latents is not None else "zeros"
    config = InferenceConfig(mode=mode, steps=steps, init=init, rays_per_step=rays, seed=seed)  # type: ignore[arg-type]
    result = infer(model, PosedViews(images[None].float(), cam2world[None].float(), intrinsics[None].float()), config)
    return result.latent, result


def render_rgb(model, latent, cam2world: Float[Tensor, "4 4"], K: Float[Tensor, "3 3"], height: int, width: int
               ) -> Float[np.ndarray, "height width 3"]:
    with torch.no_grad():
        out = model.render(latent, cam2world[None].float(), K[None].float(), height, width)
    return out.rgb[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()


def psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    from ..evaluation.metrics import psnr as _psnr

    return float(_psnr(np.asarray(prediction, np.float32), np.asarray(target, np.float32)))


def hwc(image: Tensor) -> np.ndarray:
    return image.permute(1, 2, 0).float().cpu().numpy()


def spread(count: int, total: int, exclude: tuple[int, ...] = ()) -> list[int]:
    """``count`` view indices spread evenly over ``range(total)`` without ``exclude``."""
    pool = [v for v in range(total) if v not in exclude]
    if count >= len(pool):
        return pool
    step = len(pool) / count
    return [pool[int(i * step)] for i in range(count)]


@dataclass
class GeneratedViews:
    """Views of one generated scene rendered in memory, as ``sceneprior data generate`` writes them (RGB
    quantised to 8 bits), in our camera convention."""

    images: Float[Tensor, "view 3 height width"]
    cam2world: Float[Tensor, "view 4 4"]
    intrinsics: Float[Tensor, "view 3 3"]
    parts: Tensor  # (view, height, width) int64
    depths: Float[Tensor, "view height width"]
    scene: Any = None


def generator_config(metadata: dict, category: str | None = None, resolution: int | None = None):
    """The :class:`GeneratorConfig` that made a generated dataset (from its ``metadata.json``), optionally for
    another category or resolution: the same seed and view counts, hence the same cameras."""
    from ..data.generator import GeneratorConfig

    if metadata.get("format") != "sceneprior-srn" or "seed" not in metadata:
        raise ConfigError("--data must be a dataset made by 'sceneprior data generate' (metadata.json with its seed)")
    views = metadata.get("views_per_scene") or {}
    return GeneratorConfig(category=category or metadata["category"], seed=int(metadata["seed"]),
                           resolution=int(resolution or metadata["resolution"]), views=int(views.get("train", 50)),
                           test_views=int(views.get("test", views.get("train", 50))),
                           supersample=int(metadata.get("supersample", 2)))


def generated_views(config, split: str, index: int, view_ids: list[int],
                    recolour: Callable[[Any], Any] | None = None) -> GeneratedViews:
    """Render views ``view_ids`` of scene ``index`` of ``split`` (a :class:`GeneratorConfig`) in memory; with
    ``recolour`` (Scene -> Scene) the geometry and cameras are kept and the colours changed."""
    from ..data.generator import make_scene, pack_scene, render_packed

    sample = make_scene(config, split, index)
    scene = sample.scene if recolour is None else recolour(sample.scene)
    cams = sample.cam2world[view_ids]
    K = sample.K.expand(len(view_ids), 3, 3)
    res = config.resolution
    out = render_packed(pack_scene(scene, dtype=torch.float32), cams, K, res, res, config.supersample)
    rgb = ((out.rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).float() / 255.0).permute(0, 3, 1, 2).contiguous()
    return GeneratedViews(images=rgb, cam2world=cams.float(), intrinsics=K.float(), parts=out.parts.long(),
                          depths=out.depth.float(), scene=scene)


@dataclass
class GeneratedSetup:
    """Where the claims that re-render generated test objects start: the model, its dataset's metadata and the
    generator settings that made it, and the scored test views."""

    loaded: Any
    metadata: dict
    #: the :class:`GeneratorConfig` of ``--data`` (:func:`generator_config`)
    generator: Any
    #: ``--views`` test view ids spread over the test views, the input views 0 and 1 left out
    targets: list[int]

    @property
    def model(self) -> Any:
        return self.loaded.model


def generated_setup(config: ClaimConfig) -> GeneratedSetup:
    """:class:`GeneratedSetup` of a claim's ``--model`` and ``--data`` (a dataset made by ``data generate``)."""
    from ..training.data import dataset_metadata

    loaded = load(config.model)  # type: ignore[arg-type]
    metadata = dataset_metadata(config.data)
    generator = generator_config(metadata)
    targets = spread(config.views, generator.views_for("test"), exclude=(0, 1))  # type: ignore[arg-type]
    return GeneratedSetup(loaded, metadata, generator, targets)


def save_figure(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path.name


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_strip(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """A grid of equally sized HxWx3 images in [0, 1] with white gaps."""
    height, width = rows[0][0].shape[:2]
    out = np.ones((len(rows) * (height + gap) - gap, len(rows[0]) * (width + gap) - gap, 3), np.float32)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            out[r * (height + gap): r * (height + gap) + height, c * (width + gap): c * (width + gap) + width] = tile[..., :3]
    return out
