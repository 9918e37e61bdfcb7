"""Loading a trained model for inference: a shipped model's name (``assets/models/<name>``), a run folder or a
checkpoint file -> :class:`LoadedModel` (the model in eval mode and the :class:`~.prior.ViewPrior` an unposed
photo is assumed to have); packaging a model in the shipped layout. Weights come from safetensors, the
architecture from the JSON run config stored with them (never a pickle)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint, save_checkpoint
from ..data.metadata import dataset_metadata
from ..errors import ConfigError, DataError
from ..models.base import SceneModel
from ..registry import model_of_run
from .prior import ViewPrior, load_view_prior, measure_dataset_framing, prior_from_metadata

#: where shipped models live: ``assets/models/<name>/`` (a run folder: config.json + checkpoints/, or model.safetensors)
MODELS_DIR = Path(__file__).parent.parent / "assets" / "models"
#: the bundled example photos
EXAMPLES_DIR = Path(__file__).parent.parent / "assets" / "examples"


@dataclass
class LoadedModel:
    """A trained model ready for inference, with what an unposed photo is assumed to be (``prior``)."""

    model: SceneModel
    kind: str
    prior: ViewPrior
    name: str
    checkpoint: Path | None = None
    step: int = 0
    run_config: dict[str, Any] = field(default_factory=dict)

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.model.modes)


def shipped_models() -> list[str]:
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir() and not p.name.startswith("."))


def _checkpoint_in(folder: Path) -> Path | None:
    ckpts = sorted((folder / "checkpoints").glob("step_*.safetensors")) if (folder / "checkpoints").is_dir() else []
    if ckpts:
        return ckpts[-1]
    if (folder / "model.safetensors").is_file():
        return folder / "model.safetensors"
    found = sorted(folder.glob("*.safetensors"))
    return found[-1] if found else None


def _resolve(name_or_path: str | Path) -> tuple[Path, Path]:
    """(checkpoint file, the folder holding the model's side files)."""
    path = Path(name_or_path)
    if not path.exists() and not path.is_absolute() and len(path.parts) == 1 and (MODELS_DIR / path).is_dir():
        path = MODELS_DIR / path
    if path.is_file():
        folder = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return path, folder
    if path.is_dir():
        ckpt = _checkpoint_in(path)
        if ckpt is None:
            raise ConfigError(f"{path}: no model found (expected checkpoints/step_*.safetensors or model.safetensors)")
        return ckpt, path
    shipped = shipped_models()
    hint = f"shipped models: {', '.join(shipped)}" if shipped else "no model is shipped yet; train one with `sceneprior train` and pass its run folder"
    raise ConfigError(f"model {str(name_or_path)!r} not found: not a file, a folder or a shipped model name ({hint})")


def resolve_model(name_or_path: str | Path) -> tuple[Path, Path]:
    """(checkpoint file, model folder) of a shipped model's name, a run folder or a checkpoint file -- the
    lookup of :func:`load_model`, for callers that load runs themselves (``sceneprior eval``)."""
    return _resolve(name_or_path)


def _prior_for(folder: Path, run_config: dict[str, Any]) -> ViewPrior:
    image_size = (run_config.get("train") or {}).get("image_size")
    if (folder / "view_prior.json").is_file():
        return load_view_prior(folder / "view_prior.json")
    for candidate in (folder / "dataset_metadata.json", folder / "metadata.json"):
        if candidate.is_file():
            try:
                return prior_from_metadata(json.loads(candidate.read_text()), image_size)
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(f"{candidate}: cannot read ({exc})") from None
    data = (run_config.get("train") or {}).get("data")
    if data:
        try:
            metadata = dataset_metadata(data)
        except DataError:
            metadata = {}
        if metadata:
            prior = prior_from_metadata(metadata, image_size)
            framing = measure_dataset_framing(data)
            if framing is not None:  # how the training images are framed, measured on them
                prior = replace(prior, object_fraction=round(framing[0], 3),
                                object_centre=(round(framing[1], 3), round(framing[2], 3)),
                                source="dataset metadata and training images")
            return prior
    prior = ViewPrior()
    model = run_config.get("model") or {}
    if isinstance(model.get("bounds"), list) and len(model["bounds"]) == 6:
        prior = replace(prior, bounds=tuple(float(v) for v in model["bounds"]))
    return replace(prior, resolution=int(image_size or prior.resolution))


def load_model(name_or_path: str | Path) -> LoadedModel:
    """A model from a shipped model's name (``assets/models/<name>``), a run folder (its latest checkpoint) or a
    checkpoint file. Weights come from safetensors, the architecture from the JSON run config stored with them."""
    ckpt_path, folder = _resolve(name_or_path)
    ckpt = load_checkpoint(ckpt_path)
    config, num_train_scenes = model_of_run(ckpt.run_config)
    model = config.build(num_train_scenes)
    try:
        model.load_state_dict(ckpt.model_state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{ckpt_path}: weights do not match the model config ({first})") from None
    model.eval()
    prior = _prior_for(folder, ckpt.run_config)
    name = folder.name if folder.parent == MODELS_DIR else str(folder)
    return LoadedModel(model, config.kind, prior, name, ckpt_path, ckpt.step, ckpt.run_config)


def package_model(name_or_path: str | Path, out_dir: str | Path, half: bool = False) -> Path:
    """Write a model in the shipped layout (``assets/models/<name>/``): ``checkpoints/step_N.safetensors`` with the
    weights only (no optimiser state), ``config.json`` and ``view_prior.json`` (the camera and framing an unposed
    photo is assumed to have, resolved now from the training data's metadata so the package stands alone).

    ``half`` stores float32 weights as float16 (half the size); loading casts them back to float32."""
    loaded = load_model(name_or_path)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: exists and is not empty")
    path = save_checkpoint(out, loaded.step, loaded.model, None, {}, loaded.run_config, keep=1)
    if half:
        _halve_safetensors(path)
    prior = replace(loaded.prior, source=f"packaged from {loaded.name} ({loaded.prior.source})")
    (out / "view_prior.json").write_text(json.dumps(prior.to_json(), indent=2) + "\n")
    return out


def _halve_safetensors(path: Path) -> None:
    """Rewrite a safetensors file with its float32 tensors as float16 (atomically; metadata kept)."""
    from safetensors import safe_open

    from ..checkpoint import seal
    from ..data.image_io import atomic_write_bytes

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    halved = {k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}
    atomic_write_bytes(path, seal(halved, metadata))  # the checksum is of the halved tensors


def example_images() -> list[Path]:
    """The bundled example photos."""
    return sorted(p for p in EXAMPLES_DIR.glob("*.png")) if EXAMPLES_DIR.is_dir() else []
