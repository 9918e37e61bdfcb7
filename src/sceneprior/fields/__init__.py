"""Neural fields: what they return (:class:`FieldOutput`), positional encoding, MLPs (plain, SIREN),
latent-conditioned fields and pixelNeRF's ResnetFC. Fields never import renderers."""

from .base import DEFAULT_CHUNK_POINTS, FieldFn, FieldOutput, evaluate_chunked
from .encoding import PositionalEncoding
from .sdf_density import laplace_density
from .mlp import MLP, ConditionedField, ResnetBlockFC, ResnetFCField, Sine, pixelnerf_inputs, siren_init_

__all__ = [
    "DEFAULT_CHUNK_POINTS", "FieldFn", "FieldOutput", "evaluate_chunked", "PositionalEncoding", "MLP",
    "ConditionedField", "laplace_density", "ResnetBlockFC", "ResnetFCField", "Sine", "pixelnerf_inputs", "siren_init_",
]
