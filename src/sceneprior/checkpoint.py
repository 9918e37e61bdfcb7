"""Checkpoints as safetensors (never pickle): model state, optimiser state flattened into tensors (its
non-tensor parts as JSON metadata), the step, RNG states, and the run config as JSON. Written atomically
(temporary file + ``os.replace``); the last ``keep`` are kept. Written by :mod:`sceneprior.training`, read by it
(resume) and by :mod:`sceneprior.inference` (loading a model), so it sits below both.

Each file stores the SHA-256 of its tensors (names, dtypes, shapes and bytes; metadata key ``sceneprior_sha256``),
verified on every load, so flipped bytes give a one-line error instead of a model rendering black images; a
``--resume`` whose newest checkpoint is damaged continues from the newest intact one and says so
(:func:`load_latest_intact`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes
from torch import Tensor

from .data.image_io import atomic_write_bytes
from .errors import ConfigError, WriteError

FORMAT = "sceneprior-checkpoint-1"
#: metadata key of the tensors' SHA-256 (see :func:`tensor_digest`)
DIGEST_KEY = "sceneprior_sha256"
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
    # the saved hyper-parameters, with the current optimiser's parameter indices and implementation (fused or not:
    # the same update, so a checkpoint of either resumes in the other)
    implementation = ("fused", "foreach")
    groups = [{**{k: v for k, v in saved_group.items() if k not in implementation}, "params": own["params"],
               **{k: own[k] for k in implementation if k in own}}
              for saved_group, own in zip(state["param_groups"], optimizer.state_dict()["param_groups"])]
    return {"state": inner, "param_groups": groups}


def tensor_digest(tensors: dict[str, Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order (independent of the file layout)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def seal(tensors: dict[str, Tensor], metadata: dict[str, str]) -> bytes:
    """safetensors bytes of ``tensors`` with ``metadata`` and the tensors' checksum."""
    return save_bytes(tensors, metadata={**metadata, DIGEST_KEY: tensor_digest(tensors)})


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
    data = seal(tensors, {"sceneprior": json.dumps(meta)})
    path = checkpoint_dir(run_dir) / f"step_{step:08d}.safetensors"
    try:
        atomic_write_bytes(path, data)
        atomic_write_bytes(Path(run_dir) / "config.json", (json.dumps(run_config, indent=2) + "\n").encode())
    except OSError as exc:
        raise WriteError(exc.filename or path, exc) from None
    for _, old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A checkpoint, its tensors verified against the checksum stored with them (files written before checksums
    are checked for non-finite weights only). Every problem is a one-line :class:`ConfigError` naming the file."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_bytes(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: checkpoint not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a .safetensors checkpoint") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for corrupt files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{path}: not a readable checkpoint (truncated or damaged: {first})") from None
    raw_meta = metadata.get("sceneprior")
    if raw_meta is None:
        raise ConfigError(f"{path}: not a sceneprior checkpoint (no metadata)")
    stored = metadata.get(DIGEST_KEY)
    if stored is not None and tensor_digest(tensors) != stored:
        raise ConfigError(f"{path}: corrupt checkpoint (its tensors do not match the checksum stored with them); "
                          "use an earlier checkpoint or a fresh copy")
    try:
        meta = json.loads(raw_meta)
    except ValueError:
        raise ConfigError(f"{path}: corrupt checkpoint (its metadata is not valid JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ConfigError(f"{path}: unknown checkpoint format {meta.get('format') if isinstance(meta, dict) else meta!r}")
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    for name, value in model_state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ConfigError(f"{path}: corrupt checkpoint (weight {name} holds NaN or infinite values)")
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    try:
        optimizer_state = unflatten_optimizer_state(tensors, meta["optimizer"]) if "optimizer" in meta else None
        return Checkpoint(meta["step"], model_state, optimizer_state, rng, meta["run_config"], meta.get("extra", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: corrupt checkpoint (metadata lacks {exc})") from None


def load_latest_intact(run_dir: str | Path, set_aside: bool = True,
                       warn: Callable[[str], None] | None = None) -> tuple[Path, Checkpoint] | None:
    """The newest checkpoint of a run that loads and verifies, or None if the run has none. Damaged newer ones are
    reported through ``warn`` and (``set_aside``) renamed ``*.safetensors.damaged``, so that later saves (which
    keep the newest ``keep`` by step) never delete an intact checkpoint in their favour. If every checkpoint is
    damaged, a ConfigError names the newest and its problem."""
    found = list_checkpoints(run_dir)
    problems: list[tuple[Path, str]] = []
    for _, path in reversed(found):
        try:
            ckpt = load_checkpoint(path)
        except ConfigError as exc:
            problems.append((path, str(exc)))
            continue
        for bad, problem in problems:
            if set_aside:
                bad.replace(bad.with_name(bad.name + ".damaged"))
            if warn is not None:
                warn(f"warning: {problem}; resuming from {path.name} (step {ckpt.step}), the newest intact checkpoint"
                     + (f"; the damaged file is kept as {bad.name}.damaged" if set_aside else ""))
        return path, ckpt
    if problems:
        more = f" (and {len(problems) - 1} older, all damaged)" if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0][1]}{more}; no intact checkpoint to resume from")
    return None


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
