"""``sceneprior bench parts``: part segmentation as ``reconstruct --parts`` does it, scored on held-out objects.

The probe is fitted on view 0 of the first ``labelled`` objects of the labelled dataset's train split; each scored
object of ``split`` (never seen in training or labelling) is inferred from its input view 0 and its part map is
rendered at every other view (at most ``max_views``), against the dataset's part labels."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass

import torch


@dataclass
class PartsBenchConfig:
    model: str
    data: str
    labels: str | None = None
    split: str = "test"
    labelled: int = 5
    objects: int = 8
    max_views: int | None = 8
    steps: int = 100
    threads: int = 1
    command: str = ""


def run_parts_bench(config: PartsBenchConfig) -> dict:
    from ..api import load_model
    from ..inference.infer import InferenceConfig
    from ..inference.parts import evaluate_parts, fit_part_probe

    torch.set_num_threads(config.threads)
    load_start = os.getloadavg()
    loaded = load_model(config.model)
    mode = "encode" if "encode" in loaded.modes else "autodecode"
    inference = InferenceConfig(mode=mode, steps=config.steps, init="mean" if loaded.model.latents is not None else "zeros")  # type: ignore[arg-type]
    start = time.perf_counter()
    probe = fit_part_probe(loaded.model, config.labels or config.data, inference, objects=config.labelled)
    fit_seconds = time.perf_counter() - start
    result = evaluate_parts(loaded.model, probe, config.data, inference, config.split, config.objects, (0,), config.max_views)
    return {
        "config": asdict(config), "model": {"name": loaded.name, "kind": loaded.kind, "step": loaded.step},
        "inference": asdict(inference), "labelled": probe.labelled, "part_names": probe.names,
        "miou": result.miou, "per_class_iou": result.per_class, "objects": result.objects,
        "seconds": {"fit": fit_seconds, "score": result.seconds},
        "machine": {"host": platform.node(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "threads": config.threads, "load_average_start": [round(v, 2) for v in load_start],
                    "load_average_end": [round(v, 2) for v in os.getloadavg()]},
    }


def format_parts_markdown(report: dict) -> str:
    config, names = report["config"], report["part_names"]
    lines = [
        f"Model `{report['model']['name']}` ({report['model']['kind']}, step {report['model']['step']}), inference "
        f"{report['inference']['mode']} ({report['inference']['steps']} steps where it auto-decodes). Probe fitted on "
        f"view 0 of {len(report['labelled'])} labelled objects of `{config['labels'] or config['data']}` (train split: "
        + ", ".join(report["labelled"]) + f"). Scored: {len(report['objects'])} held-out objects of split "
        f"`{config['split']}` of `{config['data']}`, latent from view 0, part maps of up to {config['max_views']} other "
        "(novel) views each against their labels; mIoU over the pooled pixels, mean over the classes present.",
        "",
        f"**mIoU {report['miou']:.3f}**",
        "",
        "| " + " | ".join(names) + " |",
        "| " + " | ".join("---" for _ in names) + " |",
        "| " + " | ".join("—" if v is None else f"{v:.3f}" for v in report["per_class_iou"]) + " |",
        "",
        "| object | views | mIoU |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {o['scene_id']} | {o['views']} | {o['miou']:.3f} |" for o in report["objects"]]
    machine = report["machine"]
    lines += ["", f"Fit {report['seconds']['fit']:.1f} s, scoring {report['seconds']['score']:.1f} s on {machine['host']} "
              f"({machine['cpus']} CPUs, torch {machine['torch']}, {machine['threads']} thread(s)); load average "
              f"{machine['load_average_start'][0]:.2f} at the start, {machine['load_average_end'][0]:.2f} at the end."]
    return "\n".join(lines)
