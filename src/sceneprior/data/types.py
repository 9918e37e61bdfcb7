"""Typed containers for posed observations. Every loader returns these, in our camera convention
(OpenCV camera-to-world, intrinsics in pixels, pixel centres at +0.5; see ``sceneprior.geometry``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import torch
from jaxtyping import Float, Int, UInt8
from torch import Tensor


@dataclass
class SceneViews:
    """Posed views of one scene. Images are RGB in [0, 1], composited on white.

    Optional channels are ``None`` when a dataset does not provide them. ``depths`` are z-depths with
    0 for background; ``normals`` are world-space unit normals (0 on background); ``parts`` are integer
    part labels (0 = background).
    """

    scene_id: str
    view_ids: list[str]
    images: Float[Tensor, "view 3 height width"]
    cam2world: Float[Tensor, "view 4 4"]
    intrinsics: Float[Tensor, "view 3 3"]
    masks: Float[Tensor, "view 1 height width"] | None = None
    depths: Float[Tensor, "view 1 height width"] | None = None
    normals: Float[Tensor, "view 3 height width"] | None = None
    parts: Int[Tensor, "view 1 height width"] | None = None

    @property
    def num_views(self) -> int:
        return self.images.shape[0]

    @property
    def height(self) -> int:
        return self.images.shape[-2]

    @property
    def width(self) -> int:
        return self.images.shape[-1]

    def select(self, index: list[int] | Tensor) -> "SceneViews":
        """The subset of views at ``index`` (in that order)."""
        index_t = torch.as_tensor(index, dtype=torch.long)
        ids = [self.view_ids[i] for i in index_t.tolist()]
        updates: dict[str, object] = {"view_ids": ids}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Tensor):
                updates[f.name] = value[index_t]
        return replace(self, **updates)


@dataclass
class StoredViews:
    """Posed views of one scene as training keeps them: images quantised to uint8 (an in-memory split holds
    these; batches turn them back into floats in [0, 1])."""

    images: UInt8[Tensor, "view 3 height width"]
    cam2world: Float[Tensor, "view 4 4"]
    intrinsics: Float[Tensor, "view 3 3"]

    @staticmethod
    def quantise(views: SceneViews) -> "StoredViews":
        return StoredViews((views.images.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8), views.cam2world, views.intrinsics)

    @property
    def num_views(self) -> int:
        return self.images.shape[0]

    def select(self, index: list[int]) -> "StoredViews":
        """Views ``index``, in that order (repeats allowed)."""
        return StoredViews(self.images[index], self.cam2world[index], self.intrinsics[index])

    def float_images(self) -> Float[Tensor, "view 3 height width"]:
        return self.images.to(torch.float32) / 255.0


@dataclass
class PosedViews:
    """Posed views of a batch of scenes, the same number of views each: what a model observes, as it travels
    between modules (loaders, inference, the trainer, the main job). Images are RGB in [0, 1] on white."""

    images: Float[Tensor, "batch view 3 height width"]
    cam2world: Float[Tensor, "batch view 4 4"]
    intrinsics: Float[Tensor, "batch view 3 3"]

    @staticmethod
    def of_scene(views: SceneViews) -> "PosedViews":
        """The views of one scene as a batch of one."""
        return PosedViews(views.images[None], views.cam2world[None], views.intrinsics[None])

    @property
    def batch_size(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device | str) -> "PosedViews":
        return PosedViews(self.images.to(device), self.cam2world.to(device), self.intrinsics.to(device))


@dataclass
class PointCloudSample:
    """3D supervision of one scene: surface points with normals, and query points with SDF/occupancy."""

    scene_id: str
    surface_points: Float[Tensor, "point 3"]
    surface_normals: Float[Tensor, "point 3"]
    query_points: Float[Tensor, "query 3"]
    query_sdf: Float[Tensor, " query"]
    query_occupancy: Float[Tensor, " query"]
    surface_parts: Int[Tensor, " point"] | None = field(default=None)
