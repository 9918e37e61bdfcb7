"""Conditional static / dynamic ground plans from one image (Sharma et al., "Neural Groundplans", ICLR 2023;
FRAMEWORK.md §8; REFERENCE.md §8 lists what is known -- no code was released, so this is our reading).

Encoder: a 2D CNN (:class:`~sceneprior.encoders.FeatureMapEncoder` + a 1x1 head) gives every source view a
feature map and a depth map. Lifting: each cell of a ground plan over the street's x-z square has a vertical
column of samples; each sample takes the views' features where it projects, merged with occlusion-aware
weights (:mod:`sceneprior.conditioning.lifting`), and the column is integrated into one feature
(:class:`~sceneprior.representations.groundplan.ColumnIntegral`). A 2D U-Net maps that plan to two plans of
``plan_channels`` each: **static** and **dynamic**. A point is decoded from each plan, bilinearly sampled at
its (x, z), plus its height (two :class:`~sceneprior.representations.groundplan.PlanDecoder` s); the two
densities are composited (they add; colours are density-weighted) and volume rendered
(:func:`sceneprior.renderers.volume_render`, coarse + importance samples, white background).

Training without labels, on multi-view video (the ``streets`` data: snapshots ``<video>_t<time>`` share their
cameras). Each batch entry is one video at two time steps a and b, one input view at each. The model encodes
both and renders target rays of each time step twice: with its own plans, and with its dynamic plan and the
*other* time step's static plan (the swap). Whatever the static plan holds must therefore be true at both
times: anything that moves between a and b can only be explained by the dynamic plan. A small L1 penalty on
the dynamic part of the rendering weights keeps what does not move in the static plan. Nothing reads the
generator's labels; ``bench claim static-dynamic`` scores the split against them.

From one image at test time: render the full scene, the static plan alone or the dynamic plan alone from any
camera (:meth:`GroundPlanModel.render_parts`); remove or move an object by editing its region of the dynamic
plan (:func:`edit_dynamic`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..conditioning.lifting import unproject
from ..encoders import FeatureMapEncoderConfig
from ..encoders3d import UNet2D, UNet2DConfig
from ..errors import ConfigError, DataError
from ..fields.base import FieldFn, FieldOutput
from ..geometry import get_rays
from ..renderers import VolumeRenderOutput
from ..representations.groundplan import ColumnIntegral, PlanDecoder, PlanGeometry, composite_densities, plan_at
from ._parts import LiftedBoxModel, points_field
from .base import LossOutput, ModelConfig, Preset, SceneLatent, TrainingDefaults

Part = Literal["full", "static", "dynamic"]


@dataclass
class GroundPlanConfig(ModelConfig):
    encoder: FeatureMapEncoderConfig = field(default_factory=lambda: FeatureMapEncoderConfig(16, (16, 32, 64)))
    #: lifted feature channels per view (plus one depth channel)
    features: int = 32
    plan: PlanGeometry = field(default_factory=PlanGeometry)
    #: channels of the integrated plan fed to the U-Net, and of each output plan (static, dynamic)
    lifted_channels: int = 32
    plan_channels: int = 16
    unet_depth: int = 3
    unet_filters: int = 32
    decoder_width: int = 64
    decoder_layers: int = 2
    #: samples per ray: stratified in the (thin) content box; importance samples on top when > 0
    coarse_samples: int = 48
    importance_samples: int = 0
    #: box_min (3) then box_max (3): rays are sampled where they cross it
    bounds: tuple[float, ...] = (-1.0, -0.37, -1.0, 1.0, 0.2, 1.0)
    #: weight of the swapped-static-plan loss, and of the L1 penalty on the dynamic part of the weights
    swap_weight: float = 1.0
    dynamic_weight: float = 0.005
    #: an extra L1 penalty on the dynamic part of the weights of rays whose pixel does *not* change between the two
    #: time steps (same camera; RGB only, never labels): what looks the same at both times needs no dynamic plan
    unchanged_dynamic_weight: float = 0.0
    #: both penalties ramp up linearly from 0 over this many training steps (0: from the start), so that the
    #: dynamic plan can learn something before it is made to pay for it
    dynamic_warmup_steps: int = 0
    #: fraction of training rays drawn from pixels whose colour changes between the two time steps of a batch
    #: entry (seen by the same camera; max channel difference > ``change_threshold``): what moves is a small part
    #: of a street, and uniform rays would hardly see it. Computed from the RGB video only, never from labels.
    changed_rays: float = 0.5
    change_threshold: float = 0.1
    chunk_points: int = 16384

    kind = "groundplan"

    def build(self, num_train_scenes: int = 0) -> "GroundPlanModel":
        return GroundPlanModel(self, num_train_scenes)

    def tiny(self) -> "GroundPlanConfig":
        return replace(self, encoder=replace(self.encoder, stem_channels=8, stage_channels=(8, 16, 16)),
                       plan=replace(self.plan, resolution=16, column_samples=4), features=8, lifted_channels=8,
                       plan_channels=4, unet_depth=2, unet_filters=8, decoder_width=32, coarse_samples=16)

    @classmethod
    def presets(cls) -> list[Preset]:
        return [Preset(
            "groundplan", cls(),
            TrainingDefaults(lr=5e-4, scenes_per_batch=4, target_views=2, rays_per_scene=192),
            "Conditional static + dynamic ground plans from one image (Neural Groundplans); trains on streets videos",
        )]

    def for_dataset(self, metadata: dict) -> "GroundPlanConfig":
        """Bounds and plan extent from ``metadata.json`` ``scene_bounds`` (the box the content lies in)."""
        bounds = metadata.get("scene_bounds")
        if bounds is None:
            return self
        lo, hi = [float(v) for v in bounds[0]], [float(v) for v in bounds[1]]
        half = max(abs(lo[0]), abs(hi[0]), abs(lo[2]), abs(hi[2]))
        plan = replace(self.plan, half_extent=half, y_min=lo[1], y_max=hi[1])
        return replace(self, bounds=(*lo, *hi), plan=plan)


@dataclass
class GroundPlanLatent(SceneLatent):
    """A batch of scenes as two ground plans. ``dynamic_keep`` (1 keep, 0 remove), when set, multiplies the
    dynamic density at each (x, z) (bilinear over the plan's cells): the edit mask of :func:`edit_dynamic`."""

    static: Float[Tensor, "batch channel z x"] | None = None
    dynamic: Float[Tensor, "batch channel z x"] | None = None
    dynamic_keep: Float[Tensor, "batch 1 z x"] | None = None

    @property
    def batch_size(self) -> int:
        assert self.static is not None
        return self.static.shape[0]

    def detach(self) -> "GroundPlanLatent":
        d = lambda t: None if t is None else t.detach()  # noqa: E731
        return replace(self, static=d(self.static), dynamic=d(self.dynamic), dynamic_keep=d(self.dynamic_keep),
                       cam2world=d(self.cam2world), intrinsics=d(self.intrinsics))

    def index(self, i: int) -> "GroundPlanLatent":
        take = lambda t: None if t is None else t[i : i + 1]  # noqa: E731
        return replace(self, static=take(self.static), dynamic=take(self.dynamic), dynamic_keep=take(self.dynamic_keep),
                       cam2world=take(self.cam2world), intrinsics=take(self.intrinsics))


@dataclass
class PartRenders:
    """Images of one camera per scene: the composite, each plan alone (white background), and the dynamic share
    of the composite's rendering weights (the model's per-pixel dynamic segmentation, in [0, 1])."""

    full: Float[Tensor, "batch 3 height width"]
    static: Float[Tensor, "batch 3 height width"]
    dynamic: Float[Tensor, "batch 3 height width"]
    dynamic_share: Float[Tensor, "batch 1 height width"]
    opacity: Float[Tensor, "batch 1 height width"]
    dynamic_opacity: Float[Tensor, "batch 1 height width"]


@dataclass
class VideoBatch:
    """Training batch of the ground-plan model: each scene at two time steps ``a, b``, one input view each, and
    target rays of each time step."""

    scene_index: Int[Tensor, "batch time"]
    input_images: Float[Tensor, "batch time view 3 height width"]
    input_cam2world: Float[Tensor, "batch time view 4 4"]
    input_intrinsics: Float[Tensor, "batch time view 3 3"]
    ray_origins: Float[Tensor, "batch time ray 3"]
    ray_dirs: Float[Tensor, "batch time ray 3"]
    ray_rgb: Float[Tensor, "batch time ray 3"]
    #: whether each ray's pixel changes between the two time steps (max channel difference > the threshold)
    ray_changed: Bool[Tensor, "batch time ray"] | None = None
    #: the training step this batch belongs to (the penalties' warm-up reads it)
    step: int = 0


class GroundPlanModel(LiftedBoxModel):
    modes = ("encode",)
    #: a volume density: the composite of the static and the dynamic plan (meshes are its level set)
    geometry = "density"

    def __init__(self, config: GroundPlanConfig, num_train_scenes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.setup_lifting(config.encoder, config.features)
        self.column = ColumnIntegral(self.pool.out_channels, config.lifted_channels)
        factor = 2 ** (config.unet_depth - 1)
        if config.plan.resolution % factor:
            raise ConfigError(f"ground plan resolution {config.plan.resolution} must be divisible by {factor} (U-Net depth {config.unet_depth})")
        self.unet = UNet2D(UNet2DConfig(config.lifted_channels, 2 * config.plan_channels, config.unet_depth, config.unet_filters))
        self.static_decoder = PlanDecoder(config.plan_channels, config.decoder_width, config.decoder_layers)
        self.dynamic_decoder = PlanDecoder(config.plan_channels, config.decoder_width, config.decoder_layers)
        self.setup_box(config.bounds)

    # ------------------------------------------------------------------ encoding
    def lift(self, images: Float[Tensor, "batch view 3 height width"], cam2world: Float[Tensor, "batch view 4 4"],
             intrinsics: Float[Tensor, "batch view 3 3"]) -> Float[Tensor, "batch channel z x"]:
        """Image features lifted onto the plan and integrated along each cell's column (before the U-Net)."""
        batch = images.shape[0]
        maps = self.view_maps(images)
        features, depth = maps[:, :, :-1], F.softplus(maps[:, :, -1:] + 2.0)
        geometry = self.config.plan
        points = geometry.column_points(images.dtype).to(images.device)  # z y x 3
        nz, ny, nx = points.shape[:3]
        flat = points.reshape(1, -1, 3).expand(batch, -1, -1)
        samples = unproject(features, depth, flat, cam2world, intrinsics, (images.shape[-2], images.shape[-1]))
        pooled = self.pool(samples).reshape(batch, nz, ny, nx, -1)
        return self.column(pooled, geometry.height01(points[0, :, 0, 1]))

    def encode(self, images, cam2world, intrinsics) -> GroundPlanLatent:
        plans = self.unet(self.lift(images, cam2world, intrinsics))
        static, dynamic = plans.split(self.config.plan_channels, dim=1)
        return GroundPlanLatent(cam2world=cam2world, intrinsics=intrinsics, image_size=(images.shape[-2], images.shape[-1]),
                                static=static, dynamic=dynamic)

    # ------------------------------------------------------------------ fields and rendering
    def field(self, latent: GroundPlanLatent, part: Part = "full") -> FieldFn:
        """The decoded field of ``part`` as a callable over world points ``(batch, N, 3)``; the composite's
        ``features`` hold the dynamic share of its density."""
        assert latent.static is not None and latent.dynamic is not None
        geometry = self.config.plan
        static_plan, dynamic_plan = plan_at(latent.static, geometry), plan_at(latent.dynamic, geometry)
        keep = None if latent.dynamic_keep is None else plan_at(latent.dynamic_keep, geometry)

        def decode_static(points: Tensor) -> FieldOutput:
            return self.static_decoder(static_plan.sample(points), geometry.height01(points[..., 1:2]))

        def decode_dynamic(points: Tensor) -> FieldOutput:
            out = self.dynamic_decoder(dynamic_plan.sample(points), geometry.height01(points[..., 1:2]))
            if keep is not None:
                out = replace(out, density=out.density * keep.sample(points).clamp(0.0, 1.0))
            return out

        if part == "static":
            return points_field(decode_static)
        if part == "dynamic":
            return points_field(decode_dynamic)
        return points_field(lambda flat: composite_densities(decode_static(flat), decode_dynamic(flat))[0])

    # meshes (density_field, density_level) and render_rays: the composite's, as LiftedBoxModel has them

    def _render(self, latent: GroundPlanLatent, origins: Tensor, dirs: Tensor, part: Part = "full") -> VolumeRenderOutput:
        return self.render_box(self.field(latent, part), origins, dirs)

    def render_parts(self, latent: GroundPlanLatent, cam2world: Float[Tensor, "batch 4 4"], intrinsics: Float[Tensor, "batch 3 3"],
                     height: int, width: int, chunk: int = 4096) -> PartRenders:
        """The composite, the static plan alone, the dynamic plan alone and the dynamic share, from each camera."""
        cam2world, intrinsics = cam2world.to(self.device), intrinsics.to(self.device)
        origins, dirs, _ = get_rays(cam2world, intrinsics, height, width)
        origins = rearrange(origins, "b h w c -> b (h w) c")
        dirs = rearrange(dirs, "b h w c -> b (h w) c")
        pieces: dict[str, list[Tensor]] = {k: [] for k in ("full", "static", "dynamic", "share", "opacity", "dyn_opacity")}
        for s in range(0, origins.shape[1], chunk):
            o, d = origins[:, s : s + chunk], dirs[:, s : s + chunk]
            full = self._render(latent, o, d, "full")
            assert full.features is not None and full.rgb is not None
            pieces["full"].append(full.rgb)
            pieces["share"].append(full.features[..., 0] / full.opacity.clamp_min(1e-6))
            pieces["opacity"].append(full.opacity)
            pieces["dyn_opacity"].append(full.features[..., 0])
            pieces["static"].append(self._render(latent, o, d, "static").rgb)
            pieces["dynamic"].append(self._render(latent, o, d, "dynamic").rgb)

        def image(values: list[Tensor]) -> Tensor:
            v = torch.cat(values, 1)
            if v.dim() == 2:
                v = v[..., None]
            return rearrange(v, "b (h w) c -> b c h w", h=height, w=width)

        return PartRenders(full=image(pieces["full"]), static=image(pieces["static"]), dynamic=image(pieces["dynamic"]),
                           dynamic_share=image(pieces["share"]), opacity=image(pieces["opacity"]),
                           dynamic_opacity=image(pieces["dyn_opacity"]))

    # ------------------------------------------------------------------ training
    def loss(self, batch: VideoBatch) -> LossOutput:  # type: ignore[override]
        if not isinstance(batch, VideoBatch):
            raise ConfigError("the ground-plan model trains on multi-view video (a streets dataset); got a batch of static scenes")
        b, t = batch.input_images.shape[:2]
        flat = lambda x: x.reshape(b * t, *x.shape[2:])  # noqa: E731
        latent = self.encode(flat(batch.input_images), flat(batch.input_cam2world), flat(batch.input_intrinsics))
        assert latent.static is not None
        static = latent.static.reshape(b, t, *latent.static.shape[1:])
        swapped = replace(latent, static=static.flip(1).reshape(b * t, *static.shape[2:]))
        origins, dirs, rgb = flat(batch.ray_origins), flat(batch.ray_dirs), flat(batch.ray_rgb)
        full = self._render(latent, origins, dirs)
        swap = self._render(swapped, origins, dirs)
        assert full.rgb is not None and swap.rgb is not None and full.features is not None and swap.features is not None
        mse_full = (full.rgb - rgb).pow(2).mean()
        mse_swap = (swap.rgb - rgb).pow(2).mean()
        total = mse_full + self.config.swap_weight * mse_swap
        terms = {"mse": float(mse_full.detach()), "mse_swap": float(mse_swap.detach())}
        for name, out in (("coarse", full.coarse), ("swap_coarse", swap.coarse)):
            if out is not None and out.rgb is not None:
                term = (out.rgb - rgb).pow(2).mean()
                total = total + (1.0 if name == "coarse" else self.config.swap_weight) * term
                terms[f"mse_{name}"] = float(term.detach())
        config = self.config
        share = 0.5 * (full.features[..., 0] + swap.features[..., 0])  # (b*t, ray): dynamic part of the weights
        dynamic = share.mean()
        ramp = 1.0 if config.dynamic_warmup_steps <= 0 else min(1.0, batch.step / config.dynamic_warmup_steps)
        total = total + ramp * config.dynamic_weight * dynamic
        terms["dynamic_weight"] = float(dynamic.detach())
        if config.unchanged_dynamic_weight > 0.0 and batch.ray_changed is not None:
            unchanged = (~flat(batch.ray_changed)).to(share.dtype)
            penalty = (share * unchanged).sum() / unchanged.sum().clamp_min(1.0)
            total = total + ramp * config.unchanged_dynamic_weight * penalty
            terms["dynamic_weight_unchanged"] = float(penalty.detach())
        terms["psnr"] = float(-10.0 * torch.log10(mse_full.detach().clamp_min(1e-10)))
        return LossOutput(total=total, terms=terms, num_rays=2 * rgb.shape[0] * rgb.shape[1])

    def batch_source(self, dataset, batch_config, seed: int, ctx) -> "VideoBatches":
        """The shared trainer's batch source: pairs of time steps of the training videos."""
        return VideoBatches(dataset, batch_config, seed, ctx.rank, ctx.world_size, self.config.changed_rays,
                            self.config.change_threshold)


# ---------------------------------------------------------------------------------------------------- editing


def edit_dynamic(latent: GroundPlanLatent, geometry: PlanGeometry, region: tuple[float, float, float, float],
                 move: tuple[float, float] | None = None) -> GroundPlanLatent:
    """Remove (``move=None``) or move by ``(dx, dz)`` whatever the dynamic plan holds inside ``region`` =
    ``(x_min, z_min, x_max, z_max)`` (world units). Removing zeroes the dynamic density over the region's cells;
    moving also copies the region's dynamic features ``round(d / cell)`` cells over and keeps them there. The
    static plan is untouched: what the object hid comes from the static plan."""
    assert latent.dynamic is not None
    _, _, nz, nx = latent.dynamic.shape
    s, cell = geometry.half_extent, geometry.cell
    xs = torch.linspace(-s, s, nx, device=latent.dynamic.device)
    zs = torch.linspace(-s, s, nz, device=latent.dynamic.device)
    inside = ((zs[:, None] >= region[1]) & (zs[:, None] <= region[3]) & (xs[None, :] >= region[0]) & (xs[None, :] <= region[2]))
    keep = torch.ones_like(latent.dynamic[:, :1]) if latent.dynamic_keep is None else latent.dynamic_keep.clone()
    dynamic = latent.dynamic.clone()
    keep[:, :, inside] = 0.0
    if move is not None:
        di, dk = int(round(move[0] / cell)), int(round(move[1] / cell))
        src = inside.nonzero()
        dst_z, dst_x = src[:, 0] + dk, src[:, 1] + di
        ok = (dst_z >= 0) & (dst_z < nz) & (dst_x >= 0) & (dst_x < nx)
        dynamic[:, :, dst_z[ok], dst_x[ok]] = latent.dynamic[:, :, src[ok, 0], src[ok, 1]]
        keep[:, :, dst_z[ok], dst_x[ok]] = 1.0
    return replace(latent, dynamic=dynamic, dynamic_keep=keep)


# ---------------------------------------------------------------------------------------------------- batches


def video_groups(scene_ids: list[str]) -> list[list[int]]:
    """Indices of each video's snapshots (``<video>_t<time>``), sorted by time; videos with fewer than two time
    steps are left out."""
    from ..data.generator.streets import parse_snapshot_id

    groups: dict[str, list[tuple[int, int]]] = {}
    for i, name in enumerate(scene_ids):
        parsed = parse_snapshot_id(name)
        if parsed is not None:
            groups.setdefault(parsed[0], []).append((parsed[1], i))
    return [[i for _, i in sorted(items)] for _, items in sorted(groups.items()) if len(items) >= 2]


class _ViewCache:
    """Every view of the snapshots used so far, kept as uint8 (loaded on first use of each snapshot)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self._scenes: dict[int, tuple[Tensor, Tensor, Tensor]] = {}

    def scene(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        """(images uint8 (view, 3, H, W), cam2world (view, 4, 4), intrinsics (view, 3, 3))."""
        if i not in self._scenes:
            views = self.dataset[i]
            self._scenes[i] = ((views.images.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8), views.cam2world, views.intrinsics)
        return self._scenes[i]


class VideoBatches:
    """Step-seeded video batches (same protocol as ``training.distributed.ShardedBatches``: repeatable, exact
    resume, sharded by rank): per slot a video, two distinct time steps, one random input camera at each, and
    ``rays_per_scene`` random rays of ``target_views`` random cameras at each."""

    def __init__(self, dataset, batch_config, seed: int, rank: int = 0, world_size: int = 1, changed_rays: float = 0.0,
                 change_threshold: float = 0.1) -> None:
        self.dataset, self.cache = dataset, _ViewCache(dataset)
        self.groups = video_groups(list(dataset.scene_ids))
        if not self.groups:
            raise DataError(getattr(dataset, "root", None), "no multi-view video found: the ground-plan model trains on "
                            "snapshot folders <video>_t<time> (sceneprior data generate --category streets)")
        if batch_config.scenes_per_batch % world_size:
            raise ConfigError(f"--batch-size {batch_config.scenes_per_batch} must be a multiple of the number of processes ({world_size})")
        if batch_config.rays_per_scene is None:
            raise ConfigError("the ground-plan model trains on rays: set --rays")
        self.config, self.seed, self.rank, self.world_size = batch_config, seed, rank, world_size
        self.changed_rays, self.change_threshold = changed_rays, change_threshold

    def plan(self, step: int):
        from ..data.batch_plan import plan_batch

        return plan_batch(self.seed, step, len(self.groups), self.config.scenes_per_batch, (1,))

    def _slots(self, step: int, ranks: list[int] | None) -> list[tuple[int, int]]:
        plan = self.plan(step)
        ranks = list(range(self.world_size)) if ranks is None else ranks
        return [(plan.scenes[s], plan.seeds[s]) for r in ranks for s in plan.shard(r, self.world_size)]

    def scene_ids(self, step: int, ranks: list[int] | None = None) -> list[str]:
        ids = self.dataset.scene_ids
        return [ids[i] for video, _ in self._slots(step, ranks) for i in self.groups[video]]

    def at(self, step: int) -> VideoBatch:
        slots = self._slots(step, [self.rank])
        cfg = self.config
        index, images, cams, Ks, rays = [], [], [], [], []
        for video, seed in slots:
            generator = torch.Generator().manual_seed(seed)
            group = self.groups[video]
            times = torch.randperm(len(group), generator=generator)[:2].tolist()
            per_time = []
            frames = [self.cache.scene(group[t]) for t in times]
            for a, t in enumerate(times):
                scene = group[t]
                imgs, c2w, K = frames[a]
                imgs = imgs.to(torch.float32) / 255.0
                other = frames[1 - a][0].to(torch.float32) / 255.0  # the same cameras at the other time step
                order = torch.randperm(imgs.shape[0], generator=generator)
                src, tgt = order[:1], order[1 : 1 + cfg.target_views]
                changed = (imgs[tgt] - other[tgt]).abs().amax(1) > self.change_threshold  # (view, H, W)
                o, d, rgb, hit = _video_rays(imgs[tgt], c2w[tgt], K[tgt], changed, cfg.rays_per_scene, self.changed_rays, generator)
                per_time.append((scene, imgs[src], c2w[src], K[src], (o, d, rgb, hit)))
            index.append(torch.tensor([p[0] for p in per_time]))
            images.append(torch.stack([p[1] for p in per_time]))
            cams.append(torch.stack([p[2] for p in per_time]))
            Ks.append(torch.stack([p[3] for p in per_time]))
            rays.append([torch.stack([p[4][k] for p in per_time]) for k in range(4)])
        return VideoBatch(
            scene_index=torch.stack(index), input_images=torch.stack(images), input_cam2world=torch.stack(cams),
            input_intrinsics=torch.stack(Ks), ray_origins=torch.stack([r[0] for r in rays]),
            ray_dirs=torch.stack([r[1] for r in rays]), ray_rgb=torch.stack([r[2] for r in rays]),
            ray_changed=torch.stack([r[3] for r in rays]), step=step,
        )

    def iterate(self, start: int, stop: int | None) -> Iterator[tuple[int, VideoBatch]]:
        step = start + 1
        while stop is None or step <= stop:
            yield step, self.at(step)
            step += 1


def _video_rays(images: Tensor, cam2world: Tensor, intrinsics: Tensor, changed: Tensor, count: int, fraction: float,
                generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``count`` distinct random pixels of ``images`` (view, 3, H, W), about ``fraction`` of them among the
    ``changed`` pixels (view, H, W) when there are any: (origins, unit directions, colours, whether changed)."""
    from ..geometry import rays_from_pixels

    views, _, height, width = images.shape
    flat = changed.reshape(-1)
    n_changed = int(flat.sum())
    if n_changed == 0 or fraction <= 0.0:
        weights = torch.ones(flat.shape[0])
    else:
        weights = torch.where(flat, fraction / n_changed, (1.0 - fraction) / max(1, flat.shape[0] - n_changed))
    index = torch.multinomial(weights, min(count, flat.shape[0]), replacement=False, generator=generator)
    view, pixel = index // (height * width), index % (height * width)
    row, col = pixel // width, pixel % width
    uv = torch.stack([col, row], -1).to(images.dtype) + 0.5
    origins, dirs, _ = rays_from_pixels(uv, cam2world[view], intrinsics[view])
    rgb = images[view, :, row, col]
    return origins, dirs, rgb, changed[view, row, col]


__all__ = ["GroundPlanConfig", "GroundPlanLatent", "GroundPlanModel", "PartRenders", "VideoBatch", "VideoBatches",
           "edit_dynamic", "video_groups"]
