"""The Python API of the main job: one photo (or a few posed images) in; novel views, depth, normals and a mesh out.

::

    from sceneprior.api import load_model, reconstruct

    model = load_model("runs/pixelnerf-cars")          # a run folder, a checkpoint file or a shipped model's name
    rec = reconstruct(model, "car.png")                # one unposed photo: cropped, default camera
    view = rec.render(cam2world, K, 128, 128)          # RenderedView: rgb, depth (z), normals (world), opacity
    frames = rec.turntable(24, elevation=30, resolution=128)
    rec.export_mesh("car.glb", resolution=64)          # .ply or .glb, with vertex colours

Cameras follow :mod:`sceneprior.geometry` (OpenCV cam2world, K in pixels). Models load from safetensors and a
JSON config only (never a pickle). An unposed photo is assumed to be seen like a typical training view
(:mod:`sceneprior.inference.prior`). Meshes: pixelNeRF by marching cubes of its density, SRN by fusing rendered depth
maps (TSDF); LFN and the auto-encoder have no 3D geometry and raise :class:`ConfigError`.

This module is a facade: the work is done in :mod:`sceneprior.inference` (loading, preprocessing, the unposed-photo
prior, inference, the :class:`Reconstruction`) and :mod:`sceneprior.geometry` (camera maths).
"""

from __future__ import annotations

from .geometry import crop_intrinsics, orbit
from .inference.loading import (EXAMPLES_DIR, MODELS_DIR, LoadedModel, example_images, load_model, package_model,
                                resolve_model, shipped_models)
from .inference.preprocess import BACKGROUND_TOLERANCE, ImageInput, reframe
from .inference.reconstruction import (Reconstruction, RenderedView, inference_mode, preprocess_config,
                                       reconstruct)

__all__ = ["BACKGROUND_TOLERANCE", "EXAMPLES_DIR", "ImageInput", "LoadedModel", "MODELS_DIR", "Reconstruction",
           "RenderedView", "crop_intrinsics", "example_images", "inference_mode", "load_model", "orbit",
           "package_model", "preprocess_config", "reconstruct", "reframe", "resolve_model", "shipped_models"]
