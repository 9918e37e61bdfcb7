"""What a neural field returns, the callable type renderers take, and chunked evaluation.

Convention: a field callable (:data:`FieldFn`) is built for one batch of scenes (it closes over their
latents, generated weights or feature maps) and receives points whose **first** dimension is that scene
batch, ``(batch, ..., 3)``, together with unit directions of the same shape. Renderers only ever call it;
they never import a model, and a field never imports a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from collections.abc import Callable

import torch
from jaxtyping import Float
from torch import Tensor


@dataclass
class FieldOutput:
    """Values of a field at ``*b`` points. Any entry a field does not model is ``None``.

    ``density`` is a non-negative volume density (per unit of distance along a unit ray), ``sdf`` a signed
    distance (negative inside), ``rgb`` colour in [0, 1], ``features`` a per-point feature vector.
    """

    density: Float[Tensor, "*b 1"] | None = None
    sdf: Float[Tensor, "*b 1"] | None = None
    rgb: Float[Tensor, "*b 3"] | None = None
    features: Float[Tensor, "*b channel"] | None = None

    def map(self, fn: Callable[[Tensor], Tensor]) -> "FieldOutput":
        """Apply ``fn`` to every tensor present (e.g. a reshape)."""
        return replace(self, **{f.name: fn(v) for f in fields(self) if (v := getattr(self, f.name)) is not None})

    @staticmethod
    def cat(outputs: list["FieldOutput"], dim: int) -> "FieldOutput":
        """Concatenate outputs (of chunks of points) along ``dim``; every output must have the same entries."""
        first = outputs[0]
        values = {}
        for f in fields(first):
            items = [getattr(o, f.name) for o in outputs]
            values[f.name] = None if items[0] is None else torch.cat(items, dim=dim)
        return FieldOutput(**values)


#: ``field(points (batch, ..., 3), unit_directions (batch, ..., 3)) -> FieldOutput`` with entries ``(batch, ..., k)``.
FieldFn = Callable[[Tensor, Tensor], FieldOutput]

#: Default number of points per field evaluation: large enough for efficient matmuls, small enough to keep
#: intermediate activations in cache-friendly sizes on a CPU.
DEFAULT_CHUNK_POINTS = 16384


def evaluate_chunked(
    field: FieldFn,
    points: Float[Tensor, "batch point 3"],
    directions: Float[Tensor, "batch point 3"],
    chunk_points: int = DEFAULT_CHUNK_POINTS,
) -> FieldOutput:
    """Evaluate ``field`` on ``(batch, point, 3)`` in chunks of about ``chunk_points`` points in total.

    Chunks split the ``point`` dimension (every chunk keeps the whole scene batch). The result equals one
    call on all points for any field that treats points independently. Chunking bounds the size of the
    intermediate activations; under autograd the graph of every chunk is kept, so it saves no memory when
    training.
    """
    batch, num = points.shape[:2]
    per_chunk = max(1, chunk_points // max(batch, 1))
    if num <= per_chunk:
        return field(points, directions)
    outputs = [
        field(points[:, start : start + per_chunk], directions[:, start : start + per_chunk])
        for start in range(0, num, per_chunk)
    ]
    return FieldOutput.cat(outputs, dim=1)
