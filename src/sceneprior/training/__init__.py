"""Training of the image models: in-memory batches, the loop, and safetensors checkpoints."""

from ..checkpoint import Checkpoint, latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from .data import BatchConfig, SplitCache, dataset_metadata, open_split, scene_bounds
from .distributed import training_batches
from .trainer import RunConfig, TrainConfig, TrainResult, load_run, lr_scale, make_optimizer, train

__all__ = [
    "BatchConfig", "Checkpoint", "RunConfig", "SplitCache", "TrainConfig", "TrainResult",
    "dataset_metadata", "latest_checkpoint", "list_checkpoints", "load_checkpoint", "load_run", "lr_scale", "make_optimizer",
    "open_split", "save_checkpoint", "scene_bounds", "train", "training_batches",
]
