"""Analytic rendering of procedural scenes: RGB (Lambertian, white background, 2x2 supersampled), and
exact z-depth, world normals, foreground mask and part labels at pixel centres."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange, reduce
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ...geometry import get_rays, rays_from_pixels
from .primitives import PackedScene, Scene, cast_rays, pack_scene, packed_sdf


@dataclass(frozen=True)
class Lighting:
    """Lambertian shading: ``albedo * (ambient + sum_k intensity_k * max(0, n . l_k))``, fixed world lights."""

    ambient: float = 0.32
    directions: tuple[tuple[float, float, float], ...] = ((0.45, 0.8, 0.4), (-0.6, 0.35, -0.7))
    intensities: tuple[float, ...] = (0.62, 0.28)

    def to_json(self) -> dict[str, object]:
        return {"ambient": self.ambient, "directions": [list(d) for d in self.directions], "intensities": list(self.intensities)}


DEFAULT_LIGHTING = Lighting()


@dataclass
class RenderedViews:
    """What :func:`render_views` returns, one entry per camera.

    ``rgb`` in [0, 1] on a white background (2x2 supersampled); ``depth`` is z-depth (0 on background);
    ``normals`` are unit world-space normals (0 on background); ``mask`` is the pixel-centre hit;
    ``parts`` the part label (0 = background). All but ``rgb`` are exact values at pixel centres.
    """

    rgb: Float[Tensor, "view height width 3"]
    depth: Float[Tensor, "view height width"]
    normals: Float[Tensor, "view height width 3"]
    mask: Bool[Tensor, "view height width"]
    parts: Int[Tensor, "view height width"]


def shade(
    packed: PackedScene, index: Int[Tensor, " ray"], normal: Float[Tensor, "ray 3"], lighting: Lighting = DEFAULT_LIGHTING
) -> Float[Tensor, "ray 3"]:
    """Colour of each ray's hit (white where ``index < 0``)."""
    dtype = normal.dtype
    hit = index >= 0
    albedo = packed.albedo.to(dtype)[index.clamp_min(0)]
    light_dirs = torch.nn.functional.normalize(torch.tensor(lighting.directions, dtype=dtype), dim=-1)
    cosines = (normal @ light_dirs.T).clamp_min(0.0)
    radiance = lighting.ambient + cosines @ torch.tensor(lighting.intensities, dtype=dtype)
    colour = (albedo * radiance[:, None]).clamp(0.0, 1.0)
    return torch.where(hit[:, None], colour, torch.ones_like(colour))


def _cast_chunked(packed: PackedScene, origins: Tensor, dirs: Tensor, chunk: int) -> tuple[Tensor, Tensor, Tensor]:
    ts, normals, indices = [], [], []
    for start in range(0, origins.shape[0], chunk):
        hits = cast_rays(packed, origins[start : start + chunk], dirs[start : start + chunk])
        ts.append(hits.t)
        normals.append(hits.normal)
        indices.append(hits.index)
    if not ts:
        return origins.new_zeros(0), origins.new_zeros(0, 3), torch.zeros(0, dtype=torch.long)
    return torch.cat(ts), torch.cat(normals), torch.cat(indices)


def edge_pixels(index: Int[Tensor, "view height width"], normal: Float[Tensor, "view height width 3"]) -> Bool[Tensor, "view height width"]:
    """Pixels whose 3x3 neighbourhood of pixel-centre hits is not one flat face (another primitive,
    background, or a different normal): the only pixels where sub-pixel samples can differ from the centre."""
    feat = torch.cat([index.to(normal.dtype)[:, None], rearrange(normal, "v h w c -> v c h w")], dim=1)
    padded = torch.nn.functional.pad(feat, (1, 1, 1, 1), mode="replicate")
    height, width = index.shape[1:]
    edge = torch.zeros_like(index, dtype=torch.bool)
    for dy in range(3):
        for dx in range(3):
            if dy == 1 and dx == 1:
                continue
            diff = (padded[:, :, dy : dy + height, dx : dx + width] - feat).abs().amax(dim=1)
            edge |= diff > 1e-4
    return edge


def render_packed(
    packed: PackedScene,
    cam2world: Float[Tensor, "view 4 4"],
    K: Float[Tensor, "view 3 3"],
    height: int,
    width: int,
    supersample: int = 2,
    lighting: Lighting = DEFAULT_LIGHTING,
    chunk: int = 32768,
) -> RenderedViews:
    """:func:`render_views` on an already packed scene (the generator's inner loop).

    Sub-pixel samples are cast only for pixels flagged by :func:`edge_pixels`; elsewhere all
    ``supersample``^2 samples would land on the same flat face and have the pixel centre's colour.
    """
    dtype = packed.albedo.dtype
    cam2world = cam2world.to(dtype)
    K = K.to(dtype)
    views = cam2world.shape[0]
    origins, dirs, z_per_t = get_rays(cam2world, K, height, width)
    t, normal, index = _cast_chunked(packed, origins.reshape(-1, 3), dirs.reshape(-1, 3), chunk)
    mask = index >= 0
    depth = torch.where(mask, t * z_per_t.reshape(-1), torch.zeros_like(t))
    parts = torch.where(mask, packed.part[index.clamp_min(0)], torch.zeros_like(index))
    colour = shade(packed, index, normal, lighting)

    def img(x: Tensor) -> Tensor:
        return rearrange(x, "(v h w) ... -> v h w ...", v=views, h=height)

    rgb = img(colour)
    if supersample > 1:
        s = supersample
        where = edge_pixels(img(index), img(normal)).nonzero()  # (edge, 3): view, row, column
        if where.shape[0]:
            offsets = (torch.arange(s, dtype=dtype) + 0.5) / s
            oy, ox = torch.meshgrid(offsets, offsets, indexing="ij")
            sub = torch.stack([ox.reshape(-1), oy.reshape(-1)], dim=-1)  # (s*s, 2) as (u, v)
            corner = torch.stack([where[:, 2], where[:, 1]], dim=-1).to(dtype)
            uv = corner[:, None, :] + sub[None]  # (edge, s*s, 2)
            view = where[:, 0]
            so, sd, _ = rays_from_pixels(uv, cam2world[view][:, None], K[view][:, None])
            _, sn, si = _cast_chunked(packed, so.reshape(-1, 3), sd.reshape(-1, 3), chunk)
            sub_colour = reduce(shade(packed, si, sn, lighting), "(e k) c -> e c", "mean", k=s * s)
            rgb = rgb.clone()
            rgb[where[:, 0], where[:, 1], where[:, 2]] = sub_colour
    return RenderedViews(rgb=rgb, depth=img(depth), normals=img(normal), mask=img(mask), parts=img(parts))


def render_views(
    scene: Scene,
    cam2world: Float[Tensor, "view 4 4"],
    K: Float[Tensor, "view 3 3"] | Float[Tensor, "3 3"],
    height: int,
    width: int,
    supersample: int = 2,
    lighting: Lighting = DEFAULT_LIGHTING,
) -> RenderedViews:
    """Render a procedural scene from OpenCV ``cam2world`` cameras with pixel intrinsics ``K``.

    Computation runs in the dtype of ``cam2world`` (float32 or float64). RGB is the mean of
    ``supersample``^2 sub-pixel samples; depth, normals, mask and parts are exact at pixel centres
    (rays of :func:`sceneprior.geometry.get_rays`). Cameras must be outside every primitive.
    """
    if K.dim() == 2:
        K = K.expand(cam2world.shape[0], 3, 3)
    packed = pack_scene(scene, dtype=cam2world.dtype)
    return render_packed(packed, cam2world, K, height, width, supersample, lighting)


def scene_sdf(scene: Scene, points: Float[Tensor, "point 3"]) -> Float[Tensor, " point"]:
    """Signed distance of world ``points`` to the scene: minimum of the exact per-primitive SDFs
    (exact outside the union of primitives, a bound inside), negative inside. Same dtype as ``points``."""
    return packed_sdf(pack_scene(scene, dtype=points.dtype), points)


def scene_occupancy(scene: Scene, points: Float[Tensor, "point 3"]) -> Bool[Tensor, " point"]:
    """Inside-ness of world ``points`` (``scene_sdf < 0``)."""
    return scene_sdf(scene, points) < 0
