"""Checkpoints as safetensors (never pickle): model state, optimiser state flattened into tensors (its
non-tensor parts as JSON metadata), the step, RNG states, and the run config as JSON. Written atomically
(temporary file + ``os.replace``); the last ``keep`` are kept. Written by :mod:`sceneprior.training`, read by it
(resume) and by :mod:`sceneprior.inference` (loading a model), so it sits below both."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes
from torch import Tensor

from .data.image_io import atomic_write_bytes
from .errors import ConfigError

FORMAT = "sceneprior-checkpoint-1"
_NAME = re.compile(r"^step_(\d+)\.safetensors$")


@dataclass
class Checkpoint:
    step: int
    model_state: dict[str, Tensor]
    optimizer_state: dict[str, Any] | None
    rng: dict[str, Tensor]
    run_config: dict[str, Any]
    extra: dict[str, Any]


def flatten_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """``optimizer.state_dict()`` -> (tensors keyed ``optim.<param>.<key>``, JSON-able rest)."""
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"optim.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer_state(tensors: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith("optim."):
            continue
        _, pid, key = name.split(".", 2)
        state.setdefault(int(pid), {})[key] = value
    for pid, entry in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(entry)
    out = {"state": state, "param_groups": meta["param_groups"]}
    if "param_names" in meta:
        out["param_names"] = meta["param_names"]
    return out


def _parameter_names(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[list[str]]:
    names = {id(p): n for n, p in model.named_parameters()}
    return [[names.get(id(p), f"?{i}") for i, p in enumerate(g["params"])] for g in optimizer.param_groups]


def align_optimizer_state(state: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                          path: str | Path) -> dict[str, Any]:
    """A checkpoint's optimiser state re-indexed to ``optimizer``'s parameters by name (checkpoints record the
    names; those written before they did are taken in order), and checked: every moment has its parameter's shape.
    A state that does not fit (a model whose layout changed since the checkpoint) is a ConfigError, never a
    silent mix-up of moments."""
    remedy = "; --reset-optimizer resumes with fresh optimizer moments"
    current = _parameter_names(model, optimizer)
    flat_current = [n for group in current for n in group]
    saved = state.get("param_names")
    inner = {int(k): v for k, v in state["state"].items()}
    if saved is not None:
        where = {n: i for i, n in enumerate(n for group in saved for n in group)}
        missing = [n for n in flat_current if n not in where]
        if missing or [len(g) for g in saved] != [len(g) for g in current]:
            raise ConfigError(f"{path}: its optimizer state does not match the model (parameters "
                              f"{', '.join(missing[:3]) or 'grouped differently'}){remedy}")
        inner = {i: inner[where[n]] for i, n in enumerate(flat_current) if where[n] in inner}
    if len(state["param_groups"]) != len(optimizer.param_groups):
        raise ConfigError(f"{path}: its optimizer state has {len(state['param_groups'])} parameter groups, the model "
                          f"{len(optimizer.param_groups)}{remedy}")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for i, entry in inner.items():
        if i >= len(params):
            raise ConfigError(f"{path}: its optimizer state has more parameters than the model{remedy}")
        for key, value in entry.items():
            if isinstance(value, Tensor) and value.dim() > 0 and value.shape != params[i].shape:
                raise ConfigError(f"{path}: its optimizer state does not match the model ({key} of "
                                  f"{flat_current[i]}: {tuple(value.shape)}, parameter {tuple(params[i].shape)}), e.g. "
                                  f"a checkpoint of an older model layout{remedy}")
    # the saved hyper-parameters, with the current optimiser's parameter indices
    groups = [{**saved_group, "params": own["params"]}
              for saved_group, own in zip(state["param_groups"], optimizer.state_dict()["param_groups"])]
    return {"state": inner, "param_groups": groups}


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def save_checkpoint(
    run_dir: str | Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
    rng: dict[str, Tensor], run_config: dict[str, Any], keep: int = 3, extra: dict[str, Any] | None = None,
) -> Path:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"format": FORMAT, "step": step, "run_config": run_config, "extra": extra or {}}
    if optimizer is not None:
        opt_tensors, opt_meta = flatten_optimizer_state(optimizer.state_dict())
        opt_meta["param_names"] = _parameter_names(model, optimizer)
        tensors.update(opt_tensors)
        meta["optimizer"] = opt_meta
    tensors.update({f"rng.{k}": v.contiguous() for k, v in rng.items()})
    data = save_bytes(tensors, metadata={"sceneprior": json.dumps(meta)})
    path = checkpoint_dir(run_dir) / f"step_{step:08d}.safetensors"
    atomic_write_bytes(path, data)
    atomic_write_bytes(Path(run_dir) / "config.json", (json.dumps(run_config, indent=2) + "\n").encode())
    for _, old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw_meta = (handle.metadata() or {}).get("sceneprior")
        tensors = load_bytes(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: checkpoint not found") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for corrupt files
        raise ConfigError(f"{path}: not a readable checkpoint ({exc})") from None
    if raw_meta is None:
        raise ConfigError(f"{path}: not a sceneprior checkpoint (no metadata)")
    meta = json.loads(raw_meta)
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{path}: unknown checkpoint format {meta.get('format')!r}")
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    optimizer_state = unflatten_optimizer_state(tensors, meta["optimizer"]) if "optimizer" in meta else None
    return Checkpoint(meta["step"], model_state, optimizer_state, rng, meta["run_config"], meta.get("extra", {}))


def remove_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files of writes that a kill cut short (``.<name>.<random>.tmp`` next to the
    checkpoints and config.json); the files they were replacing are intact. Returns what was removed."""
    removed = []
    for folder in (Path(run_dir), checkpoint_dir(run_dir)):
        if folder.is_dir():
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None
