"""How a field is conditioned on a scene: concatenation, FiLM, hypernetwork, pixel-aligned features (pooled over
views by mean, max or learned attention)."""

from .concat import ConcatLinear, concat_latent
from .film import FiLM, apply_film
from .hypernetwork import HyperNetwork, LayerParams, batched_mlp
from .pixel_aligned import (
    PixelFeatures, bilinear_sample, channels_last_maps, directions_to_views, pool_views, sample_pixel_features, uv_to_grid,
)
from .view_attention import ViewAttentionLayer, ViewAttentionPool

__all__ = [
    "ConcatLinear", "concat_latent", "FiLM", "apply_film", "HyperNetwork", "LayerParams", "batched_mlp",
    "PixelFeatures", "bilinear_sample", "channels_last_maps", "directions_to_views", "pool_views", "sample_pixel_features", "uv_to_grid",
    "ViewAttentionLayer", "ViewAttentionPool",
]
