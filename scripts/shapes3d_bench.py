"""Train every 3D shape preset for the same wall-clock budget on one dataset, then evaluate each on held-out
objects (full and partial observations), writing results/shapes3d-style JSON.

    python scripts/shapes3d_bench.py --data data/cars3d --out runs/shapes3d/cars --minutes 3

Training is the shared loop's recipe (Adam with the preset's lr / latent lr, the preset's shapes per step, the
model's own batch sampler and loss, seed 0, one torch thread); each run folder gets a checkpoint in the
trainer's format (``checkpoints/step_*.safetensors`` + ``config.json``) and ``metrics.jsonl``, and
``eval.json`` / ``eval_partial.json`` from :func:`sceneprior.evaluation.eval3d.evaluate_shapes`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from sceneprior.checkpoint import save_checkpoint
from sceneprior.data.image_io import atomic_write_bytes
from sceneprior.evaluation.eval3d import Eval3DConfig, evaluate_shapes
from sceneprior.inference import FitConfig
from sceneprior.models.configs import to_plain
from sceneprior.registry import get_preset
from sceneprior.training import BatchConfig, dataset_metadata, open_split, training_batches

PRESETS = ("deepsdf", "occnet", "convonet-grid", "convonet-plane", "convonet-triplane", "voxel-decoder")


def train_one(name: str, data: str, out: Path, minutes: float, seed: int = 0):
    preset = get_preset(name)
    metadata = dataset_metadata(data)
    split = open_split(data, "train", load_extras=False)
    config = preset.model.for_dataset(metadata)
    torch.manual_seed(seed)
    model = config.build(len(split))
    model.train()
    latent_ids = {id(p) for p in model.latents.parameters()} if model.latents is not None else set()
    groups = [{"params": [p for p in model.parameters() if id(p) not in latent_ids], "lr": preset.training.lr}]
    if latent_ids:
        groups.append({"params": list(model.latents.parameters()), "lr": preset.training.latent_lr or preset.training.lr})
    optimizer = torch.optim.Adam(groups)
    batches = training_batches(model, split, BatchConfig(scenes_per_batch=preset.training.scenes_per_batch), seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 60.0 * minutes
    step = 0
    with open(out / "metrics.jsonl", "w") as log:
        while time.monotonic() < deadline:
            step += 1
            loss = model.loss(batches.at(step))
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            optimizer.step()
            if step % 10 == 0:
                log.write(json.dumps({"step": step, "loss": float(loss.total.detach()), **loss.terms}) + "\n")
                log.flush()
    run_config = {"kind": preset.kind, "model": to_plain(config),
                  "train": {"data": data, "preset": name, "minutes": minutes, "seed": seed, "lr": preset.training.lr,
                            "latent_lr": preset.training.latent_lr,
                            "batch": {"scenes_per_batch": preset.training.scenes_per_batch}},
                  "num_train_scenes": len(split)}
    rng = {"torch": torch.get_rng_state(), "sampler": torch.tensor([step], dtype=torch.int64)}  # batch plans continue from the step
    save_checkpoint(out, step, model, optimizer, rng, run_config, keep=1)
    return model, step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--fit-steps", type=int, default=100)
    parser.add_argument("--max-objects", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.presets.split(","):
        out = Path(args.out) / name
        start = time.time()
        model, step = train_one(name, args.data, out, args.minutes)
        print(f"{name}: {step} steps in {time.time() - start:.0f} s", flush=True)
        fit = FitConfig(steps=args.fit_steps, lr=5e-3, samples_per_step=2048)
        for partial in (False, True):
            config = Eval3DConfig(data=args.data, partial=partial, fit=fit, max_objects=args.max_objects,
                                  save_meshes=str(out / ("meshes_partial" if partial else "meshes")))
            result = evaluate_shapes(model, config, name, get_preset(name).kind, progress=False)
            result.run, result.checkpoint_step = str(out), step
            path = out / ("eval_partial.json" if partial else "eval.json")
            atomic_write_bytes(path, (json.dumps(result.to_json(), indent=1) + "\n").encode())
            print(f"  {'partial' if partial else 'full'}: IoU {result.iou:.3f} CD-L1 {result.chamfer_l1:.4f} "
                  f"NC {result.normal_consistency:.3f} F@1% {result.fscore:.3f} params {result.params} "
                  f"mem {result.peak_memory_mb:.1f} MB ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
