"""Getting a latent from observations (FRAMEWORK.md §5): encoding (one forward pass), auto-decoding (a fresh
latent, network weights frozen, gradient steps on the latent only) and encoding then auto-decoding (start the
optimisation from the encoder's latent)."""

from .infer import InferenceConfig, InferenceResult, infer, observations_from_views

__all__ = ["InferenceConfig", "InferenceResult", "infer", "observations_from_views"]
