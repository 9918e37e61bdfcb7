"""The common interface of every image model: typed latents, render outputs, training batches, and
:class:`SceneModel`.

A model answers three questions (FRAMEWORK.md §4): what its latent is (:class:`SceneLatent`), how the latent is
obtained from images (``encode`` — one forward pass — or auto-decoding, see :mod:`sceneprior.inference`), and how
a latent is rendered from any camera (``render`` / ``render_rays``). Images are RGB in [0, 1] on white; cameras
follow :mod:`sceneprior.geometry` (OpenCV cam2world, K in pixels, pixel centres at +0.5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from ..data.types import PosedViews
from ..errors import ConfigError
from ..geometry import get_rays, rays_from_pixels

if TYPE_CHECKING:  # only for annotations: models never import the trainer
    from ..renderers.gaussians import Gaussians
    from ..training.data import BatchConfig
    from ..training.distributed import DistContext

InferenceMode = Literal["encode", "autodecode", "encode+autodecode"]
LatentInit = Literal["zeros", "mean", "given"]
#: what 3D geometry a model can give (see :attr:`SceneModel.geometry`)
GeometryKind = Literal["density", "depth", "sdf", "occupancy", "none"]
#: inference's auto-decoding of one observed scene, handed to :meth:`SceneModel.preview` by its caller (models
#: never import :mod:`sceneprior.inference`): ``(model, *observation) -> latent``
Autodecode = Callable[..., Any]


class ModelConfig:
    """Base of every model's config dataclass: the config names its model (``kind``, the key of
    :mod:`sceneprior.registry` and of a run's ``config.json``) and builds it (:meth:`build`).

    A subclass is a dataclass with a class-level ``kind`` (not a field: the serialised model config is unchanged,
    the kind is stored beside it). It lists its named presets in :meth:`presets`, adapts itself to a dataset in
    :meth:`for_dataset` and gives a tiny variant of itself for tests in :meth:`tiny`."""

    #: the model's registry name, written as ``kind`` in a run's ``config.json``
    kind: ClassVar[str]

    def build(self, num_train_scenes: int) -> "SceneModel":
        """The model this config describes (an auto-decoder table holds ``num_train_scenes`` latents)."""
        raise NotImplementedError(f"{type(self).__name__}.build")

    def for_dataset(self, metadata: dict[str, Any]) -> "ModelConfig":
        """This config adapted to a dataset's ``metadata.json`` (e.g. its scene bounds); default: unchanged."""
        return self

    def tiny(self) -> "ModelConfig":
        """The same architecture with the smallest sizes that still exercise every part (for tests and tiny runs)."""
        raise NotImplementedError(f"{type(self).__name__}.tiny")

    @classmethod
    def presets(cls) -> "list[Preset]":
        """The named presets of this model (fresh config objects on every call)."""
        return []


@dataclass
class TrainingDefaults:
    """What a preset suggests for training (each can be overridden on the command line)."""

    lr: float = 1e-4
    #: learning rate of the auto-decoder latents (None: same as ``lr``)
    latent_lr: float | None = None
    scenes_per_batch: int = 4
    target_views: int = 1
    rays_per_scene: int | None = 128  # None: full target images
    input_views: tuple[int, ...] = (1,)  # a number of source views is drawn from this per batch
    object_bbox_rays: bool = False


@dataclass
class Preset:
    """A named model config plus the training defaults that suit it on a CPU."""

    name: str
    model: Any  # a ModelConfig dataclass
    training: TrainingDefaults = field(default_factory=TrainingDefaults)
    description: str = ""

    @property
    def kind(self) -> str:
        """The registry name of the preset's model (its config's ``kind``)."""
        return self.model.kind


@dataclass
class SceneLatent:
    """What a model knows about a batch of scenes.

    ``code`` is a global latent vector (SRN, LFN, auto-encoder). Pixel-aligned models keep the encoder's
    ``feature_maps`` of the observed views together with those views' cameras (and the observed ``images``
    for models that need them, e.g. the auto-encoder's input pose).
    """

    code: Float[Tensor, "batch latent"] | None = None
    feature_maps: Float[Tensor, "batch view channel fheight fwidth"] | None = None
    cam2world: Float[Tensor, "batch view 4 4"] | None = None
    intrinsics: Float[Tensor, "batch view 3 3"] | None = None
    image_size: tuple[int, int] | None = None  # (height, width) of the observed images

    @property
    def batch_size(self) -> int:
        for value in (self.code, self.feature_maps, self.cam2world):
            if value is not None:
                return value.shape[0]
        raise ConfigError("empty latent")

    def detach(self) -> "SceneLatent":
        return replace(
            self,
            code=None if self.code is None else self.code.detach(),
            feature_maps=None if self.feature_maps is None else self.feature_maps.detach(),
        )

    def index(self, i: int) -> "SceneLatent":
        """The latent of scene ``i`` of the batch, as a batch of one."""
        take = lambda t: None if t is None else t[i : i + 1]  # noqa: E731
        return replace(self, code=take(self.code), feature_maps=take(self.feature_maps),
                       cam2world=take(self.cam2world), intrinsics=take(self.intrinsics))


@dataclass
class RayOutput:
    """Per-ray results. ``depth`` is the distance t along the unit ray direction (not z-depth)."""

    rgb: Float[Tensor, "batch ray 3"]
    depth: Float[Tensor, "batch ray"] | None = None
    opacity: Float[Tensor, "batch ray"] | None = None
    normals: Float[Tensor, "batch ray 3"] | None = None
    rgb_coarse: Float[Tensor, "batch ray 3"] | None = None
    extra_loss: Float[Tensor, ""] | None = None  # a model-specific regulariser computed while rendering


@dataclass
class RenderOutput:
    """Images from one camera per scene. ``depth`` is z-depth; entries a model cannot give are ``None``."""

    rgb: Float[Tensor, "batch 3 height width"]
    depth: Float[Tensor, "batch 1 height width"] | None = None
    normals: Float[Tensor, "batch 3 height width"] | None = None
    opacity: Float[Tensor, "batch 1 height width"] | None = None


@dataclass
class LossOutput:
    """The scalar to minimise and the named terms to log (floats, detached)."""

    total: Float[Tensor, ""]
    terms: dict[str, float] = field(default_factory=dict)
    num_rays: int = 0


@dataclass
class TrainBatch:
    """Observed (input) views and supervised (target) views of a batch of scenes, plus, for ray-based models,
    a random subset of target rays with their colours. ``scene_index`` indexes the training split (auto-decoder)."""

    scene_index: Int[Tensor, " batch"]
    input_images: Float[Tensor, "batch input_view 3 height width"]
    input_cam2world: Float[Tensor, "batch input_view 4 4"]
    input_intrinsics: Float[Tensor, "batch input_view 3 3"]
    target_images: Float[Tensor, "batch target_view 3 height width"]
    target_cam2world: Float[Tensor, "batch target_view 4 4"]
    target_intrinsics: Float[Tensor, "batch target_view 3 3"]
    ray_origins: Float[Tensor, "batch ray 3"] | None = None
    ray_dirs: Float[Tensor, "batch ray 3"] | None = None
    ray_rgb: Float[Tensor, "batch ray 3"] | None = None


def sample_image_rays(
    images: Float[Tensor, "batch view 3 height width"],
    cam2world: Float[Tensor, "batch view 4 4"],
    intrinsics: Float[Tensor, "batch view 3 3"],
    num_rays: int,
    generator: torch.Generator | None = None,
    object_bbox: bool = False,
) -> tuple[Float[Tensor, "batch ray 3"], Float[Tensor, "batch ray 3"], Float[Tensor, "batch ray 3"]]:
    """``num_rays`` distinct random pixels per scene, drawn uniformly over all pixels of all its views:
    (origins, unit directions, colours). ``object_bbox`` draws them only inside each view's 2D bounding box of
    non-white pixels (pixelNeRF's sampling for its first 100k steps)."""
    batch, views, _, height, width = images.shape
    total = views * height * width
    # indices are drawn on the CPU (the generator's device: the same rays whatever device renders them)
    if object_bbox:
        foreground = (images < 0.99).any(2).cpu()  # b v h w
        rows, cols = foreground.any(-1), foreground.any(-2)  # b v h, b v w
        def extent(mask: Tensor) -> tuple[Tensor, Tensor]:
            ar = torch.arange(mask.shape[-1])
            low = torch.where(mask, ar, mask.shape[-1]).amin(-1)
            high = torch.where(mask, ar, -1).amax(-1)
            empty = high < low
            return torch.where(empty, 0, low), torch.where(empty, mask.shape[-1] - 1, high)
        r0, r1 = extent(rows)
        c0, c1 = extent(cols)
        ii = torch.arange(height)[:, None]
        jj = torch.arange(width)[None, :]
        inside = ((ii >= r0[..., None, None]) & (ii <= r1[..., None, None]) & (jj >= c0[..., None, None]) & (jj <= c1[..., None, None]))
        weights = rearrange(inside.to(torch.float32), "b v h w -> b (v h w)")
        index = torch.stack([
            torch.multinomial(w, num_rays, replacement=bool(w.sum() < num_rays), generator=generator) for w in weights
        ])  # boxes smaller than num_rays pixels: drawn with replacement
    elif num_rays >= total:
        index = torch.arange(total).expand(batch, total)
    else:
        index = torch.stack([torch.randperm(total, generator=generator)[:num_rays] for _ in range(batch)])
    index = index.to(images.device)
    view = index // (height * width)
    pixel = index % (height * width)
    row, col = pixel // width, pixel % width
    uv = torch.stack([col, row], -1).to(images.dtype) + 0.5
    b = torch.arange(batch, device=images.device)[:, None]
    origins, dirs, _ = rays_from_pixels(uv, cam2world[b, view], intrinsics[b, view])
    rgb = rearrange(images, "b v c h w -> b (v h w) c")
    rgb = torch.gather(rgb, 1, index[..., None].expand(-1, -1, 3))
    return origins, dirs, rgb


class SceneModel(nn.Module):
    """Base class of every model (image models here, the 3D-supervised shape models in
    :mod:`sceneprior.models3d`). Subclasses set ``modes`` and implement ``encode`` (if they have an encoder),
    ``render_rays`` (ray-based models) or override ``render``, and ``loss``.

    Optional capabilities are declared here, with defaults, and overridden by the models that have them; code
    that must behave differently per model asks the model through these members, never by its name:

    * :attr:`geometry` -- what 3D geometry the model gives ("density": :meth:`density_field` and
      :meth:`density_level`; "depth": 3D-consistent depth maps; "sdf" / "occupancy": a shape field; "none"),
      with :attr:`geometry_note` saying what a model without geometry is;
    * :meth:`sdf_field` -- the signed distance (and colour) of an inferred scene, for image models whose geometry is
      "sdf";
    * :meth:`batch_source` -- the model's own training batches (None: the trainer's posed-view batches);
    * :meth:`preview` -- the model's own TensorBoard image (None: the trainer's input | render | truth grid);
    * :meth:`gaussian_splats` -- the model's scene as explicit 3D Gaussians (None: it has none), exported as a 3DGS
      PLY and shown in the splat viewer of ``index.html``;
    * the config's :meth:`ModelConfig.for_dataset` (adapting to dataset metadata) and :meth:`ModelConfig.tiny`
      (a tiny variant for tests)."""

    #: inference modes this model supports
    modes: tuple[str, ...] = ("encode",)
    #: whether training samples rays (else full target images)
    uses_rays: bool = True
    #: the 3D geometry this model gives (see the class docstring)
    geometry: GeometryKind = "none"
    #: what the model is, said when it is asked for geometry it does not have
    geometry_note: str = "a model"
    #: weight of mean(z²) in the auto-decoding objective (and in training where it applies)
    latent_weight: float = 0.0
    #: weight of the colour MSE in training and auto-decoding objectives
    rgb_weight: float = 1.0

    def __init__(self) -> None:
        super().__init__()
        #: the auto-decoder table (an :class:`sceneprior.encoders.AutoDecoder`) or None for encoder models
        self.latents: nn.Module | None = None

    @property
    def device(self) -> torch.device:
        """Where the model's parameters are (inputs given on another device are moved here)."""
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    # ------------------------------------------------------------------ latents
    def encode(
        self,
        images: Float[Tensor, "batch view 3 height width"],
        cam2world: Float[Tensor, "batch view 4 4"],
        intrinsics: Float[Tensor, "batch view 3 3"],
    ) -> SceneLatent:
        raise ConfigError(f"{type(self).__name__} has no encoder; use --mode autodecode")

    def training_latent(self, batch: TrainBatch) -> SceneLatent:
        """The latent used in training: the encoder's, or the auto-decoder table's entry of each scene."""
        if self.latents is not None:
            return SceneLatent(code=self.latents(batch.scene_index))
        return self.encode(batch.input_images, batch.input_cam2world, batch.input_intrinsics)

    def initial_latent(
        self, batch_size: int, init: str = "zeros", given: Tensor | None = None, observed: PosedViews | None = None,
    ) -> SceneLatent:
        """A fresh latent for test-time auto-decoding: zeros, the mean of the training latents, or ``given``."""
        dim = self.latent_dim
        if init == "given":
            if given is None:
                raise ConfigError("latent init 'given' needs a latent")
            code = given.detach().clone().reshape(batch_size, dim)
        elif init == "mean":
            if self.latents is None:
                raise ConfigError("latent init 'mean' needs an auto-decoder model (it has a table of training latents)")
            code = self.latents.mean_code().expand(batch_size, dim).clone()
        elif init == "zeros":
            code = torch.zeros(batch_size, dim, device=self.device)
        else:
            raise ConfigError(f"unknown latent init {init!r} (zeros, mean, given)")
        latent = SceneLatent(code=code)
        if observed is not None:
            latent = self.attach_observations(latent, observed.images, observed.cam2world, observed.intrinsics)
        return latent

    def attach_observations(self, latent: SceneLatent, images: Tensor, cam2world: Tensor, intrinsics: Tensor) -> SceneLatent:
        """Models whose rendering depends on the observed cameras store them here (default: nothing)."""
        return latent

    @property
    def latent_dim(self) -> int:
        raise ConfigError(f"{type(self).__name__} has no global latent code")

    def latent_regularizer(self, latent: SceneLatent) -> Tensor:
        if latent.code is None:
            return torch.zeros((), device=self.device)
        return latent.code.pow(2).mean()

    # ------------------------------------------------------------------ rendering
    def render_rays(self, latent: SceneLatent, origins: Float[Tensor, "batch ray 3"], dirs: Float[Tensor, "batch ray 3"]) -> RayOutput:
        raise NotImplementedError

    def render(
        self,
        latent: SceneLatent,
        cam2world: Float[Tensor, "batch 4 4"],
        intrinsics: Float[Tensor, "batch 3 3"],
        height: int,
        width: int,
        chunk: int = 8192,
    ) -> RenderOutput:
        """Render every pixel of a ``height`` x ``width`` camera per scene (any resolution: rays are independent).
        Cameras on another device than the model are moved to it; the output is on the model's device."""
        cam2world, intrinsics = cam2world.to(self.device), intrinsics.to(self.device)
        origins, dirs, z_per_t = get_rays(cam2world, intrinsics, height, width)
        origins = rearrange(origins, "b h w c -> b (h w) c")
        dirs = rearrange(dirs, "b h w c -> b (h w) c")
        z_per_t = rearrange(z_per_t, "b h w -> b (h w)")
        outputs = [self.render_rays(latent, origins[:, s : s + chunk], dirs[:, s : s + chunk]) for s in range(0, origins.shape[1], chunk)]

        def cat(name: str) -> Tensor | None:
            values = [getattr(o, name) for o in outputs]
            return None if values[0] is None else torch.cat(values, 1)

        def image(values: Tensor | None) -> Tensor | None:
            if values is None:
                return None
            if values.dim() == 2:
                values = values[..., None]
            return rearrange(values, "b (h w) c -> b c h w", h=height, w=width)

        depth = cat("depth")
        return RenderOutput(
            rgb=image(cat("rgb")),
            depth=image(None if depth is None else depth * z_per_t),
            normals=image(cat("normals")),
            opacity=image(cat("opacity")),
        )

    # ------------------------------------------------------------------ optional capabilities
    def density_field(
        self, latent: SceneLatent
    ) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
        """(density_fn, colour_fn) over world points ``(N, 3)`` of scene 0 of ``latent`` (models whose
        :attr:`geometry` is "density")."""
        raise ConfigError(f"{type(self).__name__} is {self.geometry_note} with no volume density to query")

    def density_level(self) -> float:
        """The density whose level set is the model's surface (models whose :attr:`geometry` is "density")."""
        raise ConfigError(f"{type(self).__name__} is {self.geometry_note} with no volume density to mesh")

    def sdf_field(
        self, latent: SceneLatent
    ) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
        """(sdf_fn, colour_fn) over world points ``(N, 3)`` of scene 0 of ``latent``: image models whose
        :attr:`geometry` is "sdf" (the mesh is the zero level set; negative inside)."""
        raise ConfigError(f"{type(self).__name__} is {self.geometry_note} with no signed distance field of an inferred "
                          "scene to mesh")

    def batch_source(self, dataset: Any, batch_config: "BatchConfig", seed: int, ctx: "DistContext") -> Any | None:
        """The model's own training batches (an object with ``iterate(start, stop)`` and ``scene_ids(step,
        ranks)``, step-seeded and sharded by ``ctx``), or None for the trainer's posed-view batches."""
        return None

    def preview(self, dataset: Any, autodecode: Autodecode) -> Float[Tensor, "3 height width"] | None:
        """The model's own TensorBoard image of a few scenes of ``dataset`` (latents of auto-decoders from
        ``autodecode``), or None for the trainer's grid."""
        return None

    def gaussian_splats(self, latent: SceneLatent) -> "Gaussians | None":
        """The scenes of ``latent`` as 3D Gaussians in world coordinates (colours RGB in [0, 1]), or None for a
        model whose scene is not a set of Gaussians."""
        return None

    def pixel_features(self, latent: SceneLatent, cam2world: Float[Tensor, "4 4"], K: Float[Tensor, "3 3"], height: int,
                       width: int) -> Float[Tensor, "pixel channel"] | None:
        """Per-pixel features of scene 0 of ``latent`` seen from one camera (pixels row-major): what the model's
        own pixel decoder reads, for the few-label part probe (:mod:`sceneprior.inference.parts`); None for a model
        that exposes none."""
        return None

    # ------------------------------------------------------------------ objectives
    def loss(self, batch: TrainBatch) -> LossOutput:
        latent = self.training_latent(batch)
        assert batch.ray_origins is not None and batch.ray_dirs is not None and batch.ray_rgb is not None
        out = self.render_rays(latent, batch.ray_origins, batch.ray_dirs)
        return self.ray_loss(latent, out, batch.ray_rgb)

    def ray_loss(self, latent: SceneLatent, out: RayOutput, rgb: Tensor) -> LossOutput:
        mse = (out.rgb - rgb).pow(2).mean()
        total = self.rgb_weight * mse
        terms = {"mse": float(mse.detach())}
        if out.rgb_coarse is not None:
            mse_coarse = (out.rgb_coarse - rgb).pow(2).mean()
            total = total + self.rgb_weight * mse_coarse
            terms["mse_coarse"] = float(mse_coarse.detach())
        if self.latent_weight > 0 and latent.code is not None:
            reg = self.latent_regularizer(latent)
            total = total + self.latent_weight * reg
            terms["latent_reg"] = float(reg.detach())
        if out.extra_loss is not None:
            total = total + out.extra_loss
            terms["extra"] = float(out.extra_loss.detach())
        terms["psnr"] = float(-10.0 * torch.log10(torch.clamp(mse.detach(), min=1e-10)))
        return LossOutput(total=total, terms=terms, num_rays=rgb.shape[0] * rgb.shape[1])

    def observation_loss(
        self,
        latent: SceneLatent,
        images: Float[Tensor, "batch view 3 height width"],
        cam2world: Float[Tensor, "batch view 4 4"],
        intrinsics: Float[Tensor, "batch view 3 3"],
        num_rays: int | None,
        generator: torch.Generator | None = None,
    ) -> LossOutput:
        """The auto-decoding objective: how well ``latent`` explains the observed views (random rays of them,
        or all pixels when ``num_rays`` is None), plus the latent regulariser."""
        rays = num_rays if num_rays is not None else images.shape[1] * images.shape[-1] * images.shape[-2]
        origins, dirs, rgb = sample_image_rays(images, cam2world, intrinsics, rays, generator)
        out = self.render_rays(latent, origins, dirs)
        return self.ray_loss(latent, out, rgb)
