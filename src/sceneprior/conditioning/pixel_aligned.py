"""Pixel-aligned features (PIFu, Saito 2019; pixelNeRF, Yu et al. 2021): project each 3D point into every
source view and bilinearly sample that view's CNN feature map there.

Sampling convention (ours, not pixelNeRF's)
-------------------------------------------
Our pixel centres are at +0.5: continuous image coordinates ``u in [0, W]``, ``v in [0, H]`` cover the image,
and pixel ``(i, j)`` has its centre at ``(j + 0.5, i + 0.5)`` (see :mod:`sceneprior.geometry.cameras`).
``grid_sample`` with ``align_corners=False`` uses the same convention in normalised coordinates: -1 and +1
are the outer *edges* of the border pixels. So ``x_n = 2 u / W - 1``, ``y_n = 2 v / H - 1``, where ``W, H``
are the size of the image the intrinsics ``K`` refer to. A feature map of another resolution (e.g. H/2 from a
strided CNN) covers the same image extent, so the same normalised coordinates are right for it too; this is
why ``align_corners=False`` is used throughout. (pixelNeRF used ``align_corners=True`` with its own pixel
convention; we do not copy that.) Outside the map, ``padding_mode="border"`` repeats the edge features.

How it is computed: :func:`bilinear_sample` gives exactly ``grid_sample``'s values (bilinear, border padding,
``align_corners=False``) as a weighted sum of the four neighbouring pixels of a channels-last copy of the maps
(``embedding_bag`` with per-sample weights), point-major: the features of a point are contiguous, as the MLP that
reads them wants. On a CPU this is several times faster than ``grid_sample`` (whose output is channel-major and
whose backward scatters channel by channel), most of all with many channels: at pixelNeRF's matched training
configuration (1,536 projected channels) it cut ~15% off a whole step (results/peers/README.md).
Maps already laid out channels-last (:func:`channels_last_maps`) are read without a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

from ..errors import ConfigError

#: Points closer to the image plane than this (in camera z) count as behind the camera.
MIN_DEPTH = 1e-6


@dataclass
class PixelFeatures:
    """Per-view samples for ``N`` points of each scene.

    ``points_view``: the point in each source camera's frame, ``R^T (p - c)`` (OpenCV: z forward).
    ``points_rotated``: the point rotated into the camera's axes without the translation, ``R^T p``
    (pixelNeRF's input with ``normalize_z=True``). ``uv``: continuous pixel coordinates in the image ``K``
    refers to (meaningless where ``in_front`` is False). ``in_front``: camera z > ``MIN_DEPTH``.
    """

    features: Float[Tensor, "batch view point channel"]
    points_view: Float[Tensor, "batch view point 3"]
    points_rotated: Float[Tensor, "batch view point 3"]
    uv: Float[Tensor, "batch view point 2"]
    in_front: Bool[Tensor, "batch view point"]


def uv_to_grid(uv: Float[Tensor, "*b 2"], image_size: tuple[int, int]) -> Float[Tensor, "*b 2"]:
    """Continuous pixel coordinates (centres at +0.5) -> ``grid_sample`` coordinates for ``align_corners=False``."""
    height, width = image_size
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=uv.dtype, device=uv.device)
    return uv * scale - 1.0


def sample_pixel_features(
    feature_maps: Float[Tensor, "batch view channel h w"],
    points: Float[Tensor, "batch point 3"],
    cam2world: Float[Tensor, "batch view 4 4"],
    K: Float[Tensor, "batch view 3 3"],
    image_size: tuple[int, int],
) -> PixelFeatures:
    """Bilinearly sample every view's feature map where each world point projects (border padding).

    ``image_size = (H, W)`` is the size of the images ``K`` is given for (not of the feature maps).
    """
    rotation = cam2world[:, :, :3, :3]  # (batch, view, 3, 3); columns are camera axes in world coordinates
    centre = cam2world[:, :, :3, 3]  # (batch, view, 3)
    # Row vectors times R give R^T p (one batched matmul, not one tiny matmul per point).
    points_rotated = torch.einsum("bnj,bvjk->bvnk", points, rotation)
    points_view = points_rotated - torch.einsum("bvj,bvjk->bvk", centre, rotation).unsqueeze(2)
    z = points_view[..., 2]
    in_front = z > MIN_DEPTH
    safe_z = torch.where(in_front, z, torch.full_like(z, MIN_DEPTH))
    fx, fy = K[:, :, None, 0, 0], K[:, :, None, 1, 1]
    cx, cy = K[:, :, None, 0, 2], K[:, :, None, 1, 2]
    uv = torch.stack([fx * points_view[..., 0] / safe_z + cx, fy * points_view[..., 1] / safe_z + cy], dim=-1)
    features = bilinear_sample(feature_maps, uv, image_size)
    return PixelFeatures(features, points_view, points_rotated, uv, in_front)


def channels_last_maps(feature_maps: Float[Tensor, "batch view channel h w"]) -> Float[Tensor, "batch view channel h w"]:
    """The same maps stored channels-last (a permuted view of a ``(b, v, h, w, c)`` tensor): sampling them many
    times (:func:`bilinear_sample`) then needs no copy per call."""
    return feature_maps.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)


def bilinear_sample(
    feature_maps: Float[Tensor, "batch view channel h w"],
    uv: Float[Tensor, "batch view point 2"],
    image_size: tuple[int, int],
) -> Float[Tensor, "batch view point channel"]:
    """Each view's map sampled at continuous pixel coordinates ``uv`` of an ``image_size = (H, W)`` image
    (centres at +0.5; the map may have another resolution and covers the same extent): bilinear with border
    padding, the values of ``grid_sample(..., align_corners=False, padding_mode="border")``, point-major and
    contiguous. Differentiable in the maps and in ``uv`` (zero outside the border, as ``grid_sample``)."""
    batch, view, channels, h, w = feature_maps.shape
    height, width = image_size
    # map pixel coordinates with centres at integers, clamped to the border (grid_sample's border padding)
    x = (uv[..., 0] * (w / width) - 0.5).clamp(0.0, w - 1)
    y = (uv[..., 1] * (h / height) - 0.5).clamp(0.0, h - 1)
    x0 = x.detach().floor().clamp(0.0, max(w - 2, 0))
    y0 = y.detach().floor().clamp(0.0, max(h - 2, 0))
    fx, fy = x - x0, y - y0  # in [0, 1]; 0 on a map one pixel wide
    step_x, step_y = int(w > 1), w * int(h > 1)
    first = (torch.arange(batch * view, device=uv.device) * (h * w)).reshape(batch, view, 1)
    corner = (first + y0.long() * w + x0.long()).clamp(0, batch * view * h * w - 1)  # clamp: NaN never indexes
    index = torch.stack([corner, corner + step_x, corner + step_y, corner + step_x + step_y], dim=-1)
    gx, gy = 1.0 - fx, 1.0 - fy
    weights = torch.stack([gx * gy, fx * gy, gx * fy, fx * fy], dim=-1).to(feature_maps.dtype)
    table = feature_maps.permute(0, 1, 3, 4, 2).reshape(batch * view * h * w, channels)  # a view if channels-last
    sampled = F.embedding_bag(index.reshape(-1, 4), table, per_sample_weights=weights.reshape(-1, 4), mode="sum")
    return sampled.reshape(batch, view, uv.shape[2], channels)


def directions_to_views(
    directions: Float[Tensor, "batch point 3"], cam2world: Float[Tensor, "batch view 4 4"]
) -> Float[Tensor, "batch view point 3"]:
    """Directions rotated into each source camera's frame, ``R^T d`` (pixelNeRF's view-space directions)."""
    return torch.einsum("bnj,bvjk->bvnk", directions, cam2world[:, :, :3, :3])


def pool_views(
    values: Float[Tensor, "batch view point channel"],
    mask: Bool[Tensor, "batch view point"] | None = None,
    mode: str = "mean",
) -> Float[Tensor, "batch point channel"]:
    """Pool per-view values over views: ``"mean"`` (pixelNeRF) or ``"max"``; with ``mask``, only over the
    views where it is True (a point seen by no view gets zeros)."""
    if mask is None:
        if mode == "mean":
            return values.mean(dim=1)
        if mode == "max":
            return values.amax(dim=1)
        raise ConfigError(f"unknown view pooling {mode!r} (mean, max)")
    m = mask.unsqueeze(-1).to(values.dtype)
    if mode == "mean":
        return (values * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)
    if mode == "max":
        filled = torch.where(mask.unsqueeze(-1), values, torch.full_like(values, float("-inf"))).amax(dim=1)
        return torch.where(mask.any(dim=1).unsqueeze(-1), filled, torch.zeros_like(filled))
    raise ConfigError(f"unknown view pooling {mode!r} (mean, max)")
