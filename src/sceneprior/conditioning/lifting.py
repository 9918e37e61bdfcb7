"""Lifting 2D image features into 3D (FRAMEWORK.md §8: Learnt Stereo Machines, DeepVoxels, Tung et al.).

Every 3D point (a voxel centre, or a sample of a vertical column above a ground-plan cell) is projected into
each posed source view and the view's feature map is sampled there bilinearly (:func:`unproject`, built on
:func:`~sceneprior.conditioning.sample_pixel_features`). The per-view features are then merged by
:class:`OcclusionAwarePooling` rather than a plain mean: along a camera ray only the first surface is seen, so
a point behind what a view sees should not take that view's feature. Each view also predicts a depth map (one
extra channel of its CNN); a small MLP scores every (point, view) from the view's feature, the point's depth
in that view ``z`` and the signed gap ``z - d`` to the depth the view sees there, and the views are weighted by
a softmax of the scores over the views that see the point. (DeepVoxels reasons about occlusion in the *target*
frustum with a softmax over depth planes; here the same idea -- visibility from depth -- weighs the *source*
views while lifting, which also lets a single view mark what lies behind its visible surface.)

Geometry follows :mod:`sceneprior.geometry`: OpenCV cam2world, intrinsics in pixels, pixel centres at +0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor, nn

from .pixel_aligned import sample_pixel_features


@dataclass
class ViewSamples:
    """What each source view says about each point: its feature there, the point's depth ``z`` in the view,
    the depth ``seen`` the view predicts at that pixel, and whether the point is inside the view's frustum."""

    features: Float[Tensor, "batch view point channel"]
    z: Float[Tensor, "batch view point"]
    seen: Float[Tensor, "batch view point"]
    inside: Bool[Tensor, "batch view point"]


def unproject(
    feature_maps: Float[Tensor, "batch view channel fheight fwidth"],
    depth_maps: Float[Tensor, "batch view 1 fheight fwidth"],
    points: Float[Tensor, "batch point 3"],
    cam2world: Float[Tensor, "batch view 4 4"],
    intrinsics: Float[Tensor, "batch view 3 3"],
    image_size: tuple[int, int],
) -> ViewSamples:
    """Bilinear samples of every view's features and predicted depth at the projection of each world point
    (``image_size`` = (H, W) of the images the intrinsics refer to). ``inside``: in front of the camera and
    projecting inside the image."""
    maps = torch.cat([feature_maps, depth_maps], dim=2)
    sampled = sample_pixel_features(maps, points, cam2world, intrinsics, image_size)
    height, width = image_size
    uv = sampled.uv
    inside = sampled.in_front & (uv[..., 0] >= 0) & (uv[..., 0] <= width) & (uv[..., 1] >= 0) & (uv[..., 1] <= height)
    return ViewSamples(sampled.features[..., :-1], sampled.points_view[..., 2], sampled.features[..., -1], inside)


class OcclusionAwarePooling(nn.Module):
    """Merge per-view samples into one feature per point with visibility weights (see the module docstring).

    Output per point: ``sum_v w_v [f_v, tanh((z_v - d_v) / scale)]`` plus the fraction of views that see the
    point; ``w`` is a softmax over the views whose frustum holds the point (points no view sees get zeros).
    """

    def __init__(self, channels: int, hidden: int = 32, depth_scale: float = 0.1) -> None:
        super().__init__()
        self.depth_scale = depth_scale
        self.score = nn.Sequential(nn.Linear(channels + 2, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.out_channels = channels + 2

    def weights(self, samples: ViewSamples) -> Float[Tensor, "batch view point"]:
        gap = torch.tanh((samples.z - samples.seen) / self.depth_scale)
        scores = self.score(torch.cat([samples.features, samples.z[..., None], gap[..., None]], dim=-1))[..., 0]
        scores = scores.masked_fill(~samples.inside, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return torch.nan_to_num(weights, nan=0.0)  # points no view sees: all -inf -> nan -> 0

    def forward(self, samples: ViewSamples) -> Float[Tensor, "batch point channel_out"]:
        w = self.weights(samples)
        gap = torch.tanh((samples.z - samples.seen) / self.depth_scale)
        per_view = torch.cat([samples.features, gap[..., None]], dim=-1)
        pooled = (w[..., None] * per_view).sum(dim=1)
        seen_by = samples.inside.to(pooled.dtype).mean(dim=1)[..., None]
        return torch.cat([pooled, seen_by], dim=-1)


def grid_points(
    box_min: tuple[float, float, float], box_max: tuple[float, float, float], resolution: tuple[int, int, int],
    dtype: torch.dtype = torch.float32,
) -> Float[Tensor, "depth height width 3"]:
    """World positions ``(x, y, z)`` of a grid's samples, indexed ``[k, j, i]`` (z, y, x) as a ``(C, D, H, W)``
    volume is; the first and last sample of each axis lie on the box faces (``grid_sample``'s
    ``align_corners=True`` convention, :class:`~sceneprior.representations.FeatureGrid`)."""
    nx, ny, nz = resolution
    xs = torch.linspace(box_min[0], box_max[0], nx, dtype=dtype)
    ys = torch.linspace(box_min[1], box_max[1], ny, dtype=dtype)
    zs = torch.linspace(box_min[2], box_max[2], nz, dtype=dtype)
    z, y, x = torch.meshgrid(zs, ys, xs, indexing="ij")
    return torch.stack([x, y, z], dim=-1)
