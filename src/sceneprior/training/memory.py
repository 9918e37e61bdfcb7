"""Training-step memory, measured on the tensors themselves (device-independent)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor


def saved_activation_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of the distinct storages autograd saves for the backward pass while ``fn()`` runs (each storage
    counted once): what a training step holds at its peak beyond the weights."""
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        try:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        except (RuntimeError, NotImplementedError):
            seen[id(t)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return int(sum(seen.values()))
