"""3D-supervised shape models (FRAMEWORK.md §3, §7, §8): a latent -- one global code, or local codes on a grid /
ground plane / three planes -- decoded into an occupancy logit or a signed distance at any query point.

The four questions of FRAMEWORK.md §4, per kind:

=================  ============================  ==========================  =====================================
kind               latent codes                  obtained by                 decoder
=================  ============================  ==========================  =====================================
``deepsdf``        global code (table)           auto-decoding               concatenation ``[z, x]`` MLP -> SDF
``occnet``         global code                   PointNet encoder            conditional BN (or FiLM) -> occupancy
``convonet``       local codes: grid / plane(s)  local PointNet + U-Net      ``LocalDecoder`` (interpolation)
``voxel-decoder``  global code -> N^3 x C grid   PointNet encoder or table   transposed 3D convs + ``LocalDecoder``
=================  ============================  ==========================  =====================================

Every model is a :class:`~sceneprior.models.SceneModel` (so the shared trainer, checkpoints and ``load_run``
treat it like an image model) with a shape interface: :meth:`ShapeModel.shape_latent` (encode an input point
cloud or look up the training table), :meth:`ShapeModel.decode` (values at query points), :meth:`ShapeModel.loss`
on a :class:`~.batch.ShapeBatch`, :func:`sceneprior.inference.fit_shape_latent` (test-time latent optimisation, DeepSDF),
:meth:`ShapeModel.batch_source` and :meth:`ShapeModel.preview` (the shared trainer's hooks: it asks the model
for its batches and its TensorBoard image instead of drawing image batches).

Presets (each config's :meth:`presets`; CPU-sized defaults, each config's docstring lists the paper's sizes):

=====================  ======================================================================================
preset                 what
=====================  ======================================================================================
``deepsdf``            auto-decoder (64-d codes) + concatenation MLP 6x128 -> SDF; clamped L1 (delta 0.1),
                       code regulariser; test-time latent optimisation
``occnet``             ResNet-PointNet (300 noisy points) -> 128-d code -> conditional-BN decoder -> occupancy
``occnet-film``        the same with FiLM instead of conditional batch norm
``convonet-grid``      local PointNet -> 16^3 x 32 grid + 2-level 3D U-Net -> local decoder
``convonet-plane``     local PointNet -> ground plane (xz) 32^2 + depth-3 2D U-Net -> local decoder
``convonet-triplane``  local PointNet -> three planes 32^2 + depth-3 2D U-Net -> local decoder
``voxel-decoder``      ResNet-PointNet -> 128-d code -> transposed 3D convs -> 16^3 x 16 grid -> local decoder
``voxel-autodecoder``  the same grid decoder with an auto-decoder table instead of the encoder
=====================  ======================================================================================

Losses: occupancy models minimise BCE-with-logits averaged over query points (ONet/ConvONet sum over points;
the mean only rescales the gradient, which Adam ignores); SDF models minimise DeepSDF's L1 between
``clamp(pred, +-delta)`` and ``clamp(sdf, +-delta)``, delta = 0.1, plus ``code_reg * mean ||z||_2`` (DeepSDF's
regulariser, without its 100-epoch warm-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from ..data.metadata import scene_bounds
from ..encoders.autodecoder import AutoDecoder, AutoDecoderConfig
from ..encoders3d import LocalPointNet, LocalPointNetConfig, PointNetEncoder, PointNetEncoderConfig, UNet2DConfig, UNet3DConfig
from ..errors import ConfigError
from ..models.base import Autodecode, GeometryKind, LossOutput, ModelConfig, Preset, SceneModel, TrainingDefaults
from ..representations import (
    Bounds,
    FeatureGrid,
    FeaturePlanes,
    GlobalDecoder,
    GlobalDecoderConfig,
    LocalDecoder,
    LocalDecoderConfig,
    VoxelDecoder,
    VoxelDecoderConfig,
)
from .batch import ShapeBatch, ShapeBatches, ShapeDataConfig



@dataclass
class ShapeLatent:
    """A batch of shape latents: a global ``code`` or local ``features`` (grid / planes)."""

    code: Float[Tensor, "batch latent"] | None = None
    features: FeatureGrid | FeaturePlanes | None = None

    def detach(self) -> "ShapeLatent":
        if self.features is None:
            return ShapeLatent(code=None if self.code is None else self.code.detach())
        return ShapeLatent(code=self.code, features=replace(self.features, features=self.features.features.detach()))

    def floats_per_scene(self) -> int:
        """Size of the latent representation of one scene (numbers)."""
        if self.features is not None:
            return int(self.features.features[0].numel())
        return 0 if self.code is None else int(self.code.shape[-1])


# ------------------------------------------------------------------------------------------------- configs


def _bounds_for(metadata: dict) -> Bounds:
    """The cube around the dataset's ``scene_bounds`` (generator scenes: objects in [-0.5, 0.5]^3, rooms in
    [-1, 1]^3)."""
    return Bounds(half_extent=max(abs(v) for v in scene_bounds(metadata)))


class ShapeModelConfig(ModelConfig):
    """Base of the shape models' configs: trained on a dataset's points.npz / sdf.npz; the tiny variant draws
    fewer points per step."""

    def tiny(self) -> "ShapeModelConfig":
        data = self.data  # type: ignore[attr-defined]
        return replace(self, data=replace(data, input_points=min(data.input_points, 256), query_points=256))  # type: ignore[type-var]


#: the shape presets' training defaults: Adam, 8 shapes per step (ONet/ConvONet: 32-64 on a GPU); lr 5e-4
#: (DeepSDF's decoder rate; ONet/ConvONet use 1e-4 over days on a GPU, too slow for a minutes-long CPU run);
#: auto-decoder codes at 1e-3 as in DeepSDF
SHAPE_TRAINING = TrainingDefaults(lr=5e-4, scenes_per_batch=8, target_views=1, rays_per_scene=None)


@dataclass(frozen=True)
class DeepSDFConfig(ShapeModelConfig):
    """DeepSDF (Park et al. 2019): auto-decoder + concatenation decoder -> SDF.

    CPU-sized defaults: latent 64 (paper 256), 6 x 128 layers with the skip at layer 3 (paper 8 x 512, skip at
    4), no dropout (paper 0.2: a 6-minute run underfits long before it overfits); weight norm, tanh output,
    codes ~ N(0, 1/sqrt(latent)) as in the paper."""

    decoder: GlobalDecoderConfig = field(default_factory=lambda: GlobalDecoderConfig(
        latent_dim=64, conditioning="concat", width=128, num_layers=6, skip_layers=(3,), dropout=0.0))
    latent_init_std: float = 0.125
    clamp: float = 0.1
    code_reg: float = 1e-4
    #: the observed cloud at test time (clean points with normals -> SDF samples); no noise
    data: ShapeDataConfig = field(default_factory=lambda: ShapeDataConfig(input_points=3000, input_noise=0.0))
    bounds: Bounds = field(default_factory=Bounds)

    kind = "deepsdf"

    def build(self, num_train_scenes: int) -> "DeepSDF":
        return DeepSDF(self, num_train_scenes)

    def for_dataset(self, metadata: dict) -> "DeepSDFConfig":
        return replace(self, bounds=_bounds_for(metadata))

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset("deepsdf", cls(), replace(SHAPE_TRAINING, latent_lr=1e-3),
                       "DeepSDF: auto-decoder + concatenation MLP -> SDF (3D-supervised, sdf.npz)")]


@dataclass(frozen=True)
class OccNetConfig(ShapeModelConfig):
    """Occupancy Networks (Mescheder et al. 2019): ResNet-PointNet -> global code -> conditional-BN decoder.

    CPU-sized defaults: code 128 and PointNet width 128 (paper 512 / 512), decoder width 128 (paper 256),
    5 blocks; input 300 points with noise 0.005 (as the paper's point-cloud completion)."""

    encoder: PointNetEncoderConfig = field(default_factory=lambda: PointNetEncoderConfig(c_dim=128, hidden=128))
    decoder: GlobalDecoderConfig = field(default_factory=lambda: GlobalDecoderConfig(
        latent_dim=128, conditioning="cbatchnorm", width=128, num_blocks=5, dropout=0.0, weight_norm=False, tanh=False))
    data: ShapeDataConfig = field(default_factory=lambda: ShapeDataConfig(input_points=300, input_noise=0.005))
    bounds: Bounds = field(default_factory=Bounds)

    kind = "occnet"

    def build(self, num_train_scenes: int) -> "OccNet":
        return OccNet(self, num_train_scenes)

    def for_dataset(self, metadata: dict) -> "OccNetConfig":
        return replace(self, bounds=_bounds_for(metadata))

    @classmethod
    def presets(cls) -> list[Preset]:
        occnet = cls()
        return [
            Preset("occnet", occnet, replace(SHAPE_TRAINING),
                   "Occupancy Networks: PointNet encoder -> global code -> conditional batch norm decoder"),
            Preset("occnet-film", replace(occnet, decoder=replace(occnet.decoder, conditioning="film")), replace(SHAPE_TRAINING),
                   "Occupancy Networks with FiLM conditioning instead of conditional batch norm"),
        ]


@dataclass(frozen=True)
class ConvONetConfig(ShapeModelConfig):
    """Convolutional Occupancy Networks (Peng et al. 2020): local PointNet -> grid / ground plane / three planes
    -> U-Net -> ``LocalDecoder``.

    CPU-sized defaults: planes 32^2 with a depth-3 2D U-Net (paper 64^2, depth 4 on ShapeNet; 128^2, depth 5 on
    rooms), grid 16^3 with a 2-level 3D U-Net (paper 32^3, 3 levels; 64^3, 4 levels on rooms); c_dim / hidden 32
    as in the paper; input 3000 points with noise 0.005 (paper: 3000 on ShapeNet, 10k on rooms)."""

    encoder: LocalPointNetConfig = field(default_factory=lambda: LocalPointNetConfig(
        kind="triplane", plane_resolution=32, grid_resolution=16, unet2d=UNet2DConfig(depth=3),
        unet3d=UNet3DConfig(num_levels=2, feature_maps=32)))
    decoder: LocalDecoderConfig = field(default_factory=LocalDecoderConfig)
    data: ShapeDataConfig = field(default_factory=lambda: ShapeDataConfig(input_points=3000, input_noise=0.005))
    bounds: Bounds = field(default_factory=Bounds)

    kind = "convonet"

    def build(self, num_train_scenes: int) -> "ConvONet":
        return ConvONet(self, num_train_scenes)

    def for_dataset(self, metadata: dict) -> "ConvONetConfig":
        bounds = _bounds_for(metadata)
        return replace(self, bounds=bounds, encoder=replace(self.encoder, bounds=bounds))

    @classmethod
    def presets(cls) -> list[Preset]:
        def local(kind: str) -> "ConvONetConfig":
            return cls(encoder=LocalPointNetConfig(
                kind=kind, plane_resolution=32, grid_resolution=16, unet2d=UNet2DConfig(depth=3),
                unet3d=UNet3DConfig(num_levels=2, feature_maps=32)))

        return [
            Preset("convonet-grid", local("grid"), replace(SHAPE_TRAINING),
                   "ConvONet: local PointNet -> 16^3 feature grid + 3D U-Net -> local decoder"),
            Preset("convonet-plane", local("plane_xz"), replace(SHAPE_TRAINING),
                   "ConvONet: local PointNet -> ground plane 32^2 + 2D U-Net -> local decoder"),
            Preset("convonet-triplane", local("triplane"), replace(SHAPE_TRAINING),
                   "ConvONet: local PointNet -> three planes 32^2 + 2D U-Net -> local decoder"),
        ]


@dataclass(frozen=True)
class VoxelModelConfig(ShapeModelConfig):
    """A global code decoded by transposed 3D convolutions into an ``N^3 x C`` feature grid (FRAMEWORK.md §3,
    "Voxel grid"), read by trilinear interpolation and a small ``LocalDecoder`` -> occupancy. The code comes
    from a PointNet encoder, or from an auto-decoder table when ``encoder`` is None.

    CPU-sized defaults: code 128, grid 16^3 x 16 (base 128 channels), decoder width 32."""

    encoder: PointNetEncoderConfig | None = field(default_factory=lambda: PointNetEncoderConfig(c_dim=128, hidden=128))
    voxels: VoxelDecoderConfig = field(default_factory=lambda: VoxelDecoderConfig(
        latent_dim=128, resolution=16, out_channels=16, base_channels=128, min_channels=32))
    decoder: LocalDecoderConfig = field(default_factory=lambda: LocalDecoderConfig(c_dim=16, hidden=32))
    latent_init_std: float = 0.01
    #: weight of mean(z^2) for the auto-decoder table (and test-time optimisation)
    code_reg: float = 1e-4
    data: ShapeDataConfig = field(default_factory=lambda: ShapeDataConfig(input_points=300, input_noise=0.005))
    bounds: Bounds = field(default_factory=Bounds)

    kind = "voxel-decoder"

    def build(self, num_train_scenes: int) -> "VoxelShapeModel":
        return VoxelShapeModel(self, num_train_scenes)

    def for_dataset(self, metadata: dict) -> "VoxelModelConfig":
        bounds = _bounds_for(metadata)
        return replace(self, bounds=bounds, voxels=replace(self.voxels, bounds=bounds))

    @classmethod
    def presets(cls) -> list[Preset]:
        return [
            Preset("voxel-decoder", cls(), replace(SHAPE_TRAINING),
                   "global code (PointNet) -> transposed 3D convs -> 16^3 grid -> local decoder"),
            Preset("voxel-autodecoder", cls(encoder=None), replace(SHAPE_TRAINING, latent_lr=1e-3),
                   "auto-decoded global code -> transposed 3D convs -> 16^3 grid -> local decoder"),
        ]


# ------------------------------------------------------------------------------------------------- models


class ShapeModel(SceneModel):
    """Base class of the shape models; see the module docstring."""

    #: what ``decode`` returns: occupancy logits or signed distances
    geometry: GeometryKind = "occupancy"
    uses_rays = False

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    # ---------------------------------------------------------------- latents and values
    @property
    def bounds(self) -> Bounds:
        return self.config.bounds

    @property
    def data(self) -> ShapeDataConfig:
        return self.config.data

    def encode_points(self, points: Float[Tensor, "batch point 3"]) -> ShapeLatent:
        raise ConfigError(f"{type(self).__name__} has no encoder; fit a latent with test-time optimisation")

    def shape_latent(self, batch: ShapeBatch) -> ShapeLatent:
        """The latent used in training: the training table's entry of each scene, or the encoder's."""
        if self.latents is not None:
            return ShapeLatent(code=self.latents(batch.scene_index))
        return self.encode_points(batch.input_points)

    def decode(self, latent: ShapeLatent, points: Float[Tensor, "batch query 3"]) -> Float[Tensor, "batch query"]:
        raise NotImplementedError

    def field_fn(self, latent: ShapeLatent, index: int = 0):
        """``points (N, 3) -> values (N,)`` of scene ``index`` of the batch (for meshing)."""
        one = ShapeLatent(
            code=None if latent.code is None else latent.code[index : index + 1],
            features=None if latent.features is None else replace(
                latent.features, features=latent.features.features[index : index + 1]),
        )
        return lambda points: self.decode(one, points[None])[0]

    @property
    def latent_dim(self) -> int:
        raise ConfigError(f"{type(self).__name__} has no global latent code")

    # ---------------------------------------------------------------- objectives
    def value_loss(self, values: Tensor, occupancy: Tensor, sdf: Tensor) -> tuple[Tensor, dict[str, float]]:
        """BCE-with-logits against occupancy, or DeepSDF's clamped L1 against the SDF."""
        if self.geometry == "sdf":
            delta = self.config.clamp
            l1 = (values.clamp(-delta, delta) - sdf.clamp(-delta, delta)).abs().mean()
            inside = values < 0
            return l1, {"l1": float(l1.detach()), "accuracy": float((inside == (sdf < 0)).float().mean())}
        bce = F.binary_cross_entropy_with_logits(values, occupancy)
        inside = values >= math.log(0.2 / 0.8)
        truth = occupancy >= 0.5
        iou = (inside & truth).sum() / (inside | truth).sum().clamp(min=1)
        return bce, {"bce": float(bce.detach()), "iou": float(iou)}

    def code_regularizer(self, code: Tensor) -> Tensor:
        return code.pow(2).sum(-1).mean()

    def loss(self, batch: ShapeBatch) -> LossOutput:
        latent = self.shape_latent(batch)
        values = self.decode(latent, batch.query_points)
        total, terms = self.value_loss(values, batch.query_occupancy, batch.query_sdf)
        if self.latents is not None and latent.code is not None and self.config.code_reg > 0:
            reg = self.code_regularizer(latent.code)
            total = total + self.config.code_reg * reg
            terms["latent_reg"] = float(reg.detach())
        return LossOutput(total=total, terms=terms, num_rays=batch.query_points.shape[0] * batch.query_points.shape[1])

    # ---------------------------------------------------------------- trainer hooks
    def batch_source(self, dataset, batch_config, seed: int, ctx) -> ShapeBatches:
        """The shared trainer's batch source (step-seeded, sharded by ``ctx.rank`` / ``ctx.world_size``)."""
        return ShapeBatches(dataset, self.data, batch_config.scenes_per_batch, seed, ctx.rank, ctx.world_size)

    def preview(self, dataset, autodecode: Autodecode, count: int = 3, size: int = 64) -> Float[Tensor, "3 height width"]:
        """TensorBoard image: per scene, the predicted inside-ness on the slices x=0, y=0, z=0 (grey = inside,
        white = outside), the observed input points within one cell of each slice drawn in red. Auto-decoders
        fit the latent of each scene with ``autodecode`` to SDF samples made from its oriented surface points."""
        from .batch import ShapeCache

        cache = ShapeCache(dataset)
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        s = self.bounds.half_extent
        lin = torch.linspace(-s, s, size)
        a, b = torch.meshgrid(lin, -lin, indexing="xy")  # image rows go down, the second axis up
        rows = []
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for i in range(min(count, len(cache))):
                sample = cache.scene(i)
                from ..encoders3d import sample_input_points

                observed = sample_input_points(sample.surface_points[None], self.data.input_points, self.data.input_noise, generator)
                observed = observed.to(device)
                if self.latents is None:
                    latent = self.encode_points(observed)
                else:
                    from .batch import surface_observation

                    latent = autodecode(self, *surface_observation(sample.surface_points, sample.surface_normals))
                tiles = []
                for axis in range(3):
                    others = [k for k in range(3) if k != axis]
                    pts = torch.zeros(size * size, 3)
                    pts[:, others[0]], pts[:, others[1]] = a.reshape(-1), b.reshape(-1)
                    values = self.decode(latent, pts[None].to(device))[0].reshape(size, size).cpu()
                    inside = values < 0 if self.geometry == "sdf" else values >= math.log(0.2 / 0.8)
                    tile = torch.ones(3, size, size)
                    tile[:, inside] = 0.55
                    near = observed[0].cpu()[(observed[0][:, axis].cpu()).abs() < 2 * s / size]
                    col = ((near[:, others[0]] + s) / (2 * s) * (size - 1)).round().long().clamp(0, size - 1)
                    row = ((s - near[:, others[1]]) / (2 * s) * (size - 1)).round().long().clamp(0, size - 1)
                    tile[:, row, col] = torch.tensor([1.0, 0.0, 0.0])[:, None]
                    tiles.append(tile)
                rows.append(torch.cat(tiles, -1))
        self.train(was_training)
        return torch.cat(rows, -2)


class DeepSDF(ShapeModel):
    """Auto-decoder + concatenation decoder -> signed distance (``tanh`` output, clamped L1)."""

    geometry: GeometryKind = "sdf"
    modes = ("autodecode",)

    def __init__(self, config: DeepSDFConfig, num_train_scenes: int) -> None:
        super().__init__(config)
        self.decoder = GlobalDecoder(config.decoder)
        self.latents = AutoDecoder(num_train_scenes, AutoDecoderConfig(config.decoder.latent_dim, config.latent_init_std))

    @property
    def latent_dim(self) -> int:
        return self.config.decoder.latent_dim

    def code_regularizer(self, code: Tensor) -> Tensor:
        return code.norm(dim=-1).mean()  # DeepSDF: the L2 norm, not squared

    def decode(self, latent: ShapeLatent, points: Float[Tensor, "batch query 3"]) -> Float[Tensor, "batch query"]:
        assert latent.code is not None
        return self.decoder(points, latent.code)


class OccNet(ShapeModel):
    """PointNet encoder -> global code -> conditional batch norm (or FiLM) decoder -> occupancy logit."""

    modes = ("encode",)

    def __init__(self, config: OccNetConfig, num_train_scenes: int) -> None:
        super().__init__(config)
        if config.encoder.c_dim != config.decoder.latent_dim:
            raise ConfigError(f"occnet: encoder c_dim {config.encoder.c_dim} != decoder latent_dim {config.decoder.latent_dim}")
        self.encoder = PointNetEncoder(config.encoder)
        self.decoder = GlobalDecoder(config.decoder)

    @property
    def latent_dim(self) -> int:
        return self.config.encoder.c_dim

    def encode_points(self, points: Float[Tensor, "batch point 3"]) -> ShapeLatent:
        return ShapeLatent(code=self.encoder(points))

    def decode(self, latent: ShapeLatent, points: Float[Tensor, "batch query 3"]) -> Float[Tensor, "batch query"]:
        assert latent.code is not None
        return self.decoder(points, latent.code)


class ConvONet(ShapeModel):
    """Local PointNet -> U-Net-refined grid / ground plane / three planes -> local decoder -> occupancy logit."""

    modes = ("encode",)

    def __init__(self, config: ConvONetConfig, num_train_scenes: int) -> None:
        super().__init__(config)
        if config.encoder.c_dim != config.decoder.c_dim:
            raise ConfigError(f"convonet: encoder c_dim {config.encoder.c_dim} != decoder c_dim {config.decoder.c_dim}")
        self.encoder = LocalPointNet(replace(config.encoder, bounds=config.bounds))
        self.decoder = LocalDecoder(config.decoder)

    def encode_points(self, points: Float[Tensor, "batch point 3"]) -> ShapeLatent:
        return ShapeLatent(features=self.encoder(points))

    def decode(self, latent: ShapeLatent, points: Float[Tensor, "batch query 3"]) -> Float[Tensor, "batch query"]:
        assert latent.features is not None
        return self.decoder(points, latent.features)


class VoxelShapeModel(ShapeModel):
    """Global code (PointNet encoder or auto-decoder) -> transposed 3D convs -> ``N^3 x C`` grid -> local
    decoder -> occupancy logit."""

    def __init__(self, config: VoxelModelConfig, num_train_scenes: int) -> None:
        super().__init__(config)
        dim = config.voxels.latent_dim
        if config.decoder.c_dim != config.voxels.out_channels:
            raise ConfigError(f"voxel-decoder: decoder c_dim {config.decoder.c_dim} != grid channels {config.voxels.out_channels}")
        self.encoder: PointNetEncoder | None = None
        if config.encoder is not None:
            if config.encoder.c_dim != dim:
                raise ConfigError(f"voxel-decoder: encoder c_dim {config.encoder.c_dim} != latent_dim {dim}")
            self.encoder = PointNetEncoder(config.encoder)
        else:
            self.latents = AutoDecoder(num_train_scenes, AutoDecoderConfig(dim, config.latent_init_std))
        self.modes = ("encode",) if self.encoder is not None else ("autodecode",)
        self.voxels = VoxelDecoder(replace(config.voxels, bounds=config.bounds))
        self.decoder = LocalDecoder(config.decoder)

    @property
    def latent_dim(self) -> int:
        return self.config.voxels.latent_dim

    def encode_points(self, points: Float[Tensor, "batch point 3"]) -> ShapeLatent:
        if self.encoder is None:
            return super().encode_points(points)
        return ShapeLatent(code=self.encoder(points))

    def decode(self, latent: ShapeLatent, points: Float[Tensor, "batch query 3"]) -> Float[Tensor, "batch query"]:
        features = latent.features
        if features is None:
            assert latent.code is not None
            features = self.voxels(latent.code)
        return self.decoder(points, features)

    def field_fn(self, latent: ShapeLatent, index: int = 0):
        if latent.features is None and latent.code is not None:  # decode the grid once, not per chunk
            with torch.no_grad():
                latent = ShapeLatent(code=latent.code, features=self.voxels(latent.code[index : index + 1]))
            return lambda points: self.decoder(points[None], latent.features)[0]
        return super().field_fn(latent, index)


def is_shape_model(model: nn.Module) -> bool:
    return isinstance(model, ShapeModel)


def parameter_count(model: SceneModel, include_latents: bool = False) -> int:
    """Trainable numbers of the networks (the auto-decoder table excluded unless asked: it grows with the data)."""
    skip = set() if include_latents or model.latents is None else {id(p) for p in model.latents.parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)
