"""Differentiable renderers: pure functions that take a field as a callable and never import a model.

* :mod:`.volume` — emission-absorption volume rendering with stratified + importance sampling (NeRF/pixelNeRF).
* :mod:`.sphere_tracing` — sphere tracing of SDFs with an implicit-differentiation (Newton) final step.
* :mod:`.lstm_marcher` — SRN's learned LSTM ray marcher.
* :mod:`.light_field` — LFN: one evaluation per ray on Plücker coordinates; sparse depth from colour derivatives.

Changes to the agreed interface: none.
"""

from .light_field import LightFieldDepth, LightFieldFn, LightFieldOutput, light_field_depth, light_field_render
from .lstm_marcher import FeatureFn, LSTMRayMarcher, RaymarchOutput, lstm_raymarch
from .sphere_tracing import SdfFn, SphereTraceOutput, sphere_trace
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
    "stratified_samples", "volume_render", "SdfFn", "SphereTraceOutput", "sphere_trace", "FeatureFn",
    "LSTMRayMarcher", "RaymarchOutput", "lstm_raymarch", "LightFieldDepth", "LightFieldFn", "LightFieldOutput",
    "light_field_depth", "light_field_render",
]
