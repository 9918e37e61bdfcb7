"""Getting a latent from observations (FRAMEWORK.md §5), for every model: encoding (one forward pass),
auto-decoding (a fresh latent, network weights frozen, gradient steps on the latent only) and encoding then
auto-decoding (start the optimisation from the encoder's latent). :mod:`.infer`: image models from posed views;
:mod:`.shapes`: shape models from point clouds; both run the one loop :func:`optimise_code`."""

from .infer import InferenceConfig, InferenceResult, frozen, infer, observations_from_views, optimise_code
from .shapes import FitConfig, fit_shape_latent, infer_shape_latent, preview_autodecode

__all__ = ["FitConfig", "InferenceConfig", "InferenceResult", "fit_shape_latent", "frozen", "infer",
           "infer_shape_latent", "observations_from_views", "optimise_code", "preview_autodecode"]
