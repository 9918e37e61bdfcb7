"""A dataset's ``metadata.json`` (written by the generator, optional elsewhere) and what models read from it."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError


def dataset_metadata(root: str | Path) -> dict:
    """``metadata.json`` of a dataset root (or of a parent of a split folder); empty when there is none."""
    path = Path(root)
    for candidate in (path, *path.parents[:2]):
        meta = candidate / "metadata.json"
        if meta.is_file():
            try:
                return json.loads(meta.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(meta, f"cannot read metadata ({exc})") from None
    return {}


def scene_bounds(metadata: dict) -> tuple[float, ...]:
    """(min xyz, max xyz) of the scenes: metadata ``scene_bounds`` or the generator's default cube (objects in
    [-0.5, 0.5]^3, rooms in [-1, 1]^3)."""
    bounds = metadata.get("scene_bounds")
    if bounds is None:
        half = 1.0 if metadata.get("category") == "rooms" else 0.5
        return (-half, -half, -half, half, half, half)
    flat = [float(v) for row in bounds for v in (row if isinstance(row, (list, tuple)) else [row])]
    if len(flat) != 6:
        raise DataError("metadata.json", f"scene_bounds must hold 6 numbers (min xyz, max xyz), got {bounds!r}")
    return tuple(flat)
