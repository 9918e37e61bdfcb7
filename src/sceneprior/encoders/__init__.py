"""Encoders: images -> latent codes. A global convolutional encoder (one vector per scene), a multi-scale
feature-map encoder for pixel-aligned features (pixelNeRF's structure, CPU-sized), and the auto-decoder
embedding table (one optimised latent per training scene, DeepSDF / SRN)."""

from .autodecoder import AutoDecoder, AutoDecoderConfig
from .conv import ConvEncoderConfig, ConvGlobalEncoder
from .feature_maps import FeatureMapEncoder, FeatureMapEncoderConfig

__all__ = [
    "AutoDecoder",
    "AutoDecoderConfig",
    "ConvEncoderConfig",
    "ConvGlobalEncoder",
    "FeatureMapEncoder",
    "FeatureMapEncoderConfig",
]
