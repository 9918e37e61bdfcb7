"""Moved to :mod:`sceneprior.training.tiny` (a tiny run is saved as training saves runs); this name keeps old
imports working."""

from ..training.tiny import save_tiny_run, tiny_config  # noqa: F401
