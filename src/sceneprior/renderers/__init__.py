"""Differentiable renderers: pure functions that take a field as a callable and never import a model.

* :mod:`.volume` — emission-absorption volume rendering with stratified + importance sampling (NeRF/pixelNeRF).

Changes to the agreed interface: none.
"""

from .volume import (
    VolumeRenderConfig,
    VolumeRenderOutput,
    composite,
    ray_aabb,
    render_samples,
    sample_pdf,
    stratified_samples,
    volume_render,
)

__all__ = [
    "VolumeRenderConfig", "VolumeRenderOutput", "composite", "ray_aabb", "render_samples", "sample_pdf",
    "stratified_samples", "volume_render",
]
