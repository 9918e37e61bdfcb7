"""The main job: infer a scene from one unposed photo (or a few posed images) with a loaded model, then render it
from any camera, circle it and mesh it (:class:`Reconstruction`).

An unposed photo is assumed to be seen like a typical training view (:mod:`.prior`); it is found, centred and
cropped like the training images (:mod:`.preprocess`). Meshes come from the model's declared geometry
(:mod:`.meshes`): pixelNeRF by marching cubes of its density, SRN and LFN by fusing rendered depth maps (TSDF); the
auto-encoder has no 3D geometry and raises :class:`ConfigError`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import trimesh
from jaxtyping import Float
from PIL import Image
from torch import Tensor

from ..data.image_io import image_size
from ..data.types import PosedViews
from ..errors import ConfigError
from ..geometry import crop_intrinsics, orbit, scale_intrinsics, unproject_depth
from ..models.base import SceneLatent, SceneModel
from . import meshes as geo
from .infer import InferenceConfig, infer
from .loading import LoadedModel, load_model
from .preprocess import ImageInput, PreprocessConfig, PreprocessResult, as_image_array, non_white, preprocess_array, reframe
from .prior import ViewPrior

if TYPE_CHECKING:
    from ..renderers.gaussians import Gaussians


@dataclass
class RenderedView:
    """One rendered camera. ``depth`` is z-depth (NaN where nothing was hit), ``normals`` world-space unit normals
    (NaN where unknown), ``opacity`` in [0, 1]; each is None when the model cannot give it."""

    rgb: Float[np.ndarray, "height width 3"]
    depth: Float[np.ndarray, "height width"] | None
    normals: Float[np.ndarray, "height width 3"] | None
    opacity: Float[np.ndarray, "height width"] | None
    cam2world: Float[Tensor, "4 4"]
    K: Float[Tensor, "3 3"]


class Reconstruction:
    """An inferred scene: render it from any camera, circle it, mesh it."""

    def __init__(
        self, loaded: LoadedModel, latent: SceneLatent, images: Tensor, cam2world: Tensor, K: Tensor,
        preprocessed: list[PreprocessResult | None], mode: str, timings: dict[str, float], losses: list[float],
    ) -> None:
        self.loaded = loaded
        self.latent = latent
        #: the observed views as the model saw them: (view, 3, H, W) in [0, 1], their cam2world and K
        self.images = images
        self.cam2world = cam2world
        self.K = K
        self.preprocessed = preprocessed
        self.mode = mode
        self.timings = dict(timings)
        self.losses = losses
        self.mesh_note = ""

    @property
    def model(self) -> SceneModel:
        return self.loaded.model

    @property
    def inference_label(self) -> str:
        """How the latent was inferred, e.g. ``encode (one forward pass)`` or ``encode+autodecode (100 steps)``."""
        if self.mode == "encode":
            return "encode (one forward pass)"
        return f"{self.mode} ({len(self.losses)} steps)"

    @property
    def prior(self) -> ViewPrior:
        return self.loaded.prior

    def intrinsics(self, height: int, width: int) -> Float[Tensor, "3 3"]:
        """The first input view's intrinsics rescaled to ``height`` x ``width``."""
        return scale_intrinsics(self.K[0], width / self.images.shape[-1], height / self.images.shape[-2])

    def render(
        self, cam2world: Float[Tensor, "4 4"] | np.ndarray | None = None, K: Float[Tensor, "3 3"] | np.ndarray | None = None,
        height: int | None = None, width: int | None = None,
    ) -> RenderedView:
        """Render from ``cam2world`` (default: the first input camera) with ``K`` (default: the input intrinsics
        scaled to the size) at ``height`` x ``width`` (default: the input size)."""
        height = int(height or self.images.shape[-2])
        width = int(width or height * self.images.shape[-1] // self.images.shape[-2])
        if height < 1 or width < 1 or height * width > 4096 * 4096:
            raise ConfigError(f"render size {height}x{width} is out of range (1 to 4096 per side)")
        cam = self.cam2world[0] if cam2world is None else torch.as_tensor(np.asarray(cam2world), dtype=torch.float32)
        K_ = self.intrinsics(height, width) if K is None else torch.as_tensor(np.asarray(K), dtype=torch.float32)
        if cam.shape != (4, 4) or K_.shape != (3, 3):
            raise ConfigError(f"render needs one 4x4 cam2world and one 3x3 K, got {tuple(cam.shape)} and {tuple(K_.shape)}")
        with torch.no_grad():
            out = self.model.render(self.latent, cam[None].float(), K_[None].float(), height, width)
        rgb = out.rgb[0].clamp(0, 1).permute(1, 2, 0).numpy().astype(np.float32)
        opacity = None if out.opacity is None else out.opacity[0, 0].clamp(0, 1).numpy().astype(np.float32)
        depth = normals = None
        if out.depth is not None:
            depth = out.depth[0, 0].numpy().astype(np.float32).copy()
            valid = np.isfinite(depth) & (depth > 0)
            if opacity is not None:
                valid &= opacity > 0.5
            valid &= self._inside_bounds(depth, cam, K_)
            if opacity is None:
                # no opacity (SRN): every ray "hits" something; pixels rendered in the training background's colour
                # (white) are background, so depth, normals and the fused mesh leave them out
                valid &= non_white(rgb)
            depth[~valid] = np.nan
            if out.normals is not None:
                normals = out.normals[0].permute(1, 2, 0).numpy().astype(np.float32)
                normals = np.where(valid[..., None], normals, np.nan)
            else:
                normals = geo.normals_from_depth(depth, cam, K_).astype(np.float32)
        return RenderedView(rgb, depth, normals, opacity, cam.float(), K_.float())

    def _inside_bounds(self, depth: np.ndarray, cam: Tensor, K: Tensor) -> np.ndarray:
        """Pixels whose surface point lies in the scene box (padded by 5%): drops rays that marched off."""
        bounds = np.asarray(self.prior.bounds, np.float64)
        pad = 0.05 * (bounds[3:] - bounds[:3])
        filled = np.where(np.isfinite(depth), depth, 0.0)
        points = unproject_depth(torch.as_tensor(filled, dtype=torch.float64), cam.double(), K.double()).numpy()
        return np.all((points >= bounds[:3] - pad) & (points <= bounds[3:] + pad), axis=-1)

    def orbit_cameras(self, n: int, elevation: float | None = None, distance: float | None = None) -> Float[Tensor, "n 4 4"]:
        """``n`` cameras circling the world up axis through the target, starting at the first input camera."""
        up = torch.tensor(self.prior.up, dtype=torch.float32)
        target = torch.tensor(self.prior.target, dtype=torch.float32)
        return orbit(self.cam2world[0].float(), n, up, target, elevation, distance)

    def turntable(self, n: int = 24, elevation: float | None = None, distance: float | None = None,
                  resolution: int | None = None) -> list[RenderedView]:
        """``n`` views around the object (elevation in degrees and distance default to the input camera's)."""
        if n < 1:
            raise ConfigError(f"a turntable needs at least 1 view, got {n}")
        size = int(resolution or self.images.shape[-1])
        K = self.intrinsics(size, size)
        return [self.render(cam, K, size, size) for cam in self.orbit_cameras(n, elevation, distance)]

    def view(self, azimuth_deg: float, elevation_deg: float | None = None, distance: float | None = None,
             resolution: int | None = None) -> RenderedView:
        """One view at ``azimuth_deg`` around the up axis from the first input camera (elevation in degrees)."""
        size = int(resolution or self.images.shape[-1])
        cam = orbit(self.cam2world[0].float(), 1, torch.tensor(self.prior.up, dtype=torch.float32),
                    torch.tensor(self.prior.target, dtype=torch.float32), elevation_deg, distance, azimuth_deg)[0]
        return self.render(cam, self.intrinsics(size, size), size, size)

    def mesh(self, resolution: int = 64) -> trimesh.Trimesh:
        """A vertex-coloured mesh of the inferred scene (see the module doc for how each model kind is meshed)."""
        kind = geo.require_geometry(self.model)
        if resolution < 8 or resolution > 512:
            raise ConfigError(f"mesh resolution must be in 8..512, got {resolution}")
        bounds = tuple(float(v) for v in self.prior.bounds)
        if kind == "density":
            density_fn, colour_fn = self.model.density_field(self.latent)
            mesh, self.mesh_note = geo.density_mesh(density_fn, colour_fn, bounds, resolution, self.model.density_level())
            return mesh
        if kind == "sdf":
            sdf_fn, colour_fn = self.model.sdf_field(self.latent)
            mesh, self.mesh_note = geo.sdf_mesh(sdf_fn, colour_fn, bounds, resolution)
            return mesh
        if kind != "depth":
            raise ConfigError(f"{type(self.model).__name__} gives {kind} values at 3D points, not images: mesh it with "
                              "`sceneprior eval`")
        # depth fusion: 3 rings of 8 views (elevations -20°, 20°, 60°) at the input distance
        size = max(48, min(128, resolution))
        distance = float((self.cam2world[0, :3, 3] - torch.tensor(self.prior.target)).norm())
        views = []
        for elevation in (-20.0, 20.0, 60.0):
            for view in self.turntable(8, elevation, distance, size):
                if view.depth is not None:
                    # background: what the render shows as empty (opacity, else the training background's white);
                    # other pixels without depth (a sparse-depth model's unknowns) do not carve
                    background = view.opacity < 0.5 if view.opacity is not None else ~non_white(view.rgb)
                    views.append(geo.DepthView(view.depth, view.rgb, view.cam2world, view.K, background))
        self.mesh_note = f"TSDF fusion of {len(views)} rendered depth maps"
        return geo.fused_mesh(views, bounds, resolution)

    def export_mesh(self, path: str | Path, resolution: int = 64) -> Path:
        """Write the mesh as ``.ply`` or ``.glb`` (by suffix), with vertex colours."""
        from ..meshing import export_mesh

        path = Path(path)
        if path.suffix.lower() not in (".ply", ".glb"):
            raise ConfigError(f"{path}: mesh export supports .ply and .glb")
        return export_mesh(self.mesh(resolution), path)

    def splats(self) -> "Gaussians | None":
        """The inferred scene as 3D Gaussians in world coordinates, for models whose scene is one (``splatter``);
        None otherwise."""
        with torch.no_grad():
            return self.model.gaussian_splats(self.latent)

    def export_splats(self, path: str | Path) -> Path:
        """Write the 3D Gaussians as a standard 3D Gaussian Splatting PLY (:mod:`sceneprior.meshing.gaussian_ply`)."""
        from ..meshing.gaussian_ply import write_gaussian_ply

        splats = self.splats()
        if splats is None:
            raise ConfigError(f"{type(self.model).__name__} has no 3D Gaussians to export (a splatter model has)")
        return write_gaussian_ply(splats, path)


def preprocess_config(prior: ViewPrior) -> PreprocessConfig:
    return PreprocessConfig(resolution=prior.resolution, object_fraction=prior.object_fraction,
                            object_centre=tuple(prior.object_centre))  # type: ignore[arg-type]


def inference_mode(loaded: LoadedModel, mode: str | None = None, steps: int = 100, refine_steps: int = 0) -> tuple[str, int]:
    """(mode, auto-decoding steps) for ``reconstruct``: ``mode`` if given; else encode+autodecode with
    ``refine_steps`` when that is > 0; else encode when the model has an encoder, autodecode with ``steps`` when it
    has not (an auto-decoder)."""
    if refine_steps < 0:
        raise ConfigError(f"refine steps must be >= 0, got {refine_steps}")
    if steps < 0:
        raise ConfigError(f"auto-decoding steps must be >= 0, got {steps}")
    if refine_steps > 0:
        if "encode" not in loaded.modes:
            raise ConfigError(f"{loaded.name} has no encoder, so there is nothing to refine (it auto-decodes; "
                              f"set its steps instead)")
        if mode not in (None, "encode+autodecode"):
            raise ConfigError(f"refine steps ({refine_steps}) mean encode+autodecode; got mode {mode!r} as well")
        if "encode+autodecode" not in loaded.modes:
            raise ConfigError(f"{loaded.name} encodes in one forward pass and has no latent code to refine (refining "
                              f"works for an encoder with an auto-decoding objective, e.g. --model cars)")
        return "encode+autodecode", refine_steps
    chosen = mode or ("encode" if "encode" in loaded.modes else "autodecode")
    if chosen not in loaded.modes:
        raise ConfigError(f"{type(loaded.model).__name__} supports modes {', '.join(loaded.modes)}; got {chosen!r}")
    return chosen, steps


def reconstruct(
    model: LoadedModel | str | Path,
    images: ImageInput | Sequence[ImageInput],
    cam2world: Float[Tensor, "view 4 4"] | np.ndarray | None = None,
    K: Float[Tensor, "view 3 3"] | np.ndarray | None = None,
    mode: str | None = None,
    steps: int = 100,
    azimuth: float | None = None,
    elevation: float | None = None,
    distance: float | None = None,
    seed: int = 0,
    refine_steps: int = 0,
    crop: bool | None = None,
) -> Reconstruction:
    """Infer a scene from one unposed photo (found, centred and cropped like the training images; camera = the
    training distribution's typical one, or ``azimuth``/``elevation``/``distance``) or from several posed images
    (``cam2world`` (view, 4, 4) and ``K`` (view, 3, 3) in pixels of each image; resized to the model's
    resolution, not cropped unless ``crop``: then one posed photo is found and cropped like an unposed one, its
    ``K`` is mapped through the crop (:func:`crop_intrinsics`) and the crop is resampled to the model's own
    intrinsics at that pose (:func:`reframe`), so the model sees the framing it was trained on and knows the camera).

    ``mode`` (see :func:`inference_mode`): encode (one forward pass; the default when the model has an encoder),
    autodecode (``steps`` Adam steps on a fresh latent; the only mode of an auto-decoder) or encode+autodecode.
    ``refine_steps`` > 0 is encode+autodecode with that many steps (start from the encoder's latent)."""
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    prior = loaded.prior
    chosen, steps = inference_mode(loaded, mode, steps, refine_steps)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    items = list(images) if isinstance(images, (list, tuple)) else [images]
    if not items:
        raise ConfigError("reconstruct needs at least one image")
    size = prior.resolution
    prepared: list[PreprocessResult | None] = []
    if crop is None:
        crop = cam2world is None
    if crop and cam2world is not None:
        if len(items) > 1:
            raise ConfigError("crop=True takes one posed photo; several posed images are resized, not cropped")
        rgb, alpha, where = as_image_array(items[0], 0)
        height, width = rgb.shape[:2]
        result = preprocess_array(rgb, alpha, preprocess_config(prior), where)
        prepared.append(result)
        cams = torch.as_tensor(np.asarray(cam2world), dtype=torch.float32).reshape(-1, 4, 4)
        Kin = prior.intrinsics(width) if K is None else torch.as_tensor(np.asarray(K), dtype=torch.float32).reshape(-1, 3, 3)[0]
        if K is not None and isinstance(items[0], (str, Path)):  # K is in the file's pixels; load_image may reduce
            scale = max(height, width) / max(image_size(items[0]))
            Kin = scale_intrinsics(Kin, scale, scale)
        if cams.shape[0] != 1:
            raise ConfigError(f"1 image but {cams.shape[0]} cameras")
        # the camera of the cropped input is the photo's, zoomed and shifted (crop_intrinsics); mapped back to the
        # model's own intrinsics (the training framing at that camera pose), because an encoder of global latents
        # does not see cameras: it reads the object's size and place in the frame as the training images show them
        Ks = prior.intrinsics(size)[None]
        stack = torch.from_numpy(reframe(result.image, crop_intrinsics(Kin, result.crop_box, size), Ks[0], size)).permute(2, 0, 1)[None]
    elif not crop and cam2world is None:
        raise ConfigError("crop=False needs the photo's camera (cam2world and K); an unposed photo is always cropped")
    elif cam2world is None:
        if len(items) > 1:
            raise ConfigError("several images need their cameras (cam2world and K); or reconstruct each photo alone")
        if K is not None:
            raise ConfigError("K without cam2world: give both, or neither for the default camera")
        rgb, alpha, where = as_image_array(items[0], 0)
        result = preprocess_array(rgb, alpha, preprocess_config(prior), where)
        prepared.append(result)
        stack = torch.from_numpy(result.image).permute(2, 0, 1)[None]
        cams = prior.camera(azimuth, elevation, distance)[None]
        Ks = prior.intrinsics(size)[None]
    else:
        cams = torch.as_tensor(np.asarray(cam2world), dtype=torch.float32).reshape(-1, 4, 4)
        if cams.shape[0] != len(items):
            raise ConfigError(f"{len(items)} images but {cams.shape[0]} cameras")
        tensors, K_list = [], []
        Kin = None if K is None else torch.as_tensor(np.asarray(K), dtype=torch.float32).reshape(-1, 3, 3)
        if Kin is not None and Kin.shape[0] not in (1, len(items)):
            raise ConfigError(f"{len(items)} images but {Kin.shape[0]} intrinsics")
        for i, item in enumerate(items):
            rgb, alpha, _ = as_image_array(item, i)
            if alpha is not None:
                rgb = rgb * alpha[..., None] + (1.0 - alpha[..., None])
            height, width = rgb.shape[:2]
            k = prior.intrinsics(width) if Kin is None else Kin[min(i, Kin.shape[0] - 1)]
            resized = np.asarray(Image.fromarray(np.ascontiguousarray(rgb * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BOX))
            tensors.append(torch.from_numpy(resized.astype(np.float32) / 255.0).permute(2, 0, 1))
            K_list.append(scale_intrinsics(k, size / width, size / height))
            prepared.append(None)
        stack = torch.stack(tensors)
        Ks = torch.stack(K_list)
    timings["preprocess"] = time.perf_counter() - start
    init = "mean" if loaded.model.latents is not None else "zeros"
    start = time.perf_counter()
    torch.manual_seed(seed)
    result_ = infer(loaded.model, PosedViews(stack[None], cams[None].float(), Ks[None].float()),
                    InferenceConfig(mode=chosen, steps=steps, init=init, seed=seed))  # type: ignore[arg-type]
    timings["inference"] = time.perf_counter() - start
    return Reconstruction(loaded, result_.latent, stack, cams.float(), Ks.float(), prepared, chosen, timings, result_.losses)
