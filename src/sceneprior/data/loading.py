"""Helpers shared by the dataset loaders (which raise :class:`DataError` on the first problem) and by
``sceneprior data check`` (which collects every problem): camera validation, metadata search, resizing.

Validation functions return lists of one-line problem strings (empty when everything is fine), so the
same rule is applied by both callers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from ..errors import DataError
from .types import SceneViews

#: Largest allowed max |R^T R - I| of a pose's rotation part, and largest |det R - 1|.
ROTATION_TOLERANCE = 1e-3
#: Largest allowed deviation of a pose's bottom row from [0, 0, 0, 1].
BOTTOM_ROW_TOLERANCE = 1e-6
#: camera positions farther than this from the origin (scene units) are refused: no dataset is that large, and
#: rays from there overflow float32 (a translation of 1e30 gave NaN at the first training step)
MAX_TRANSLATION = 1e6

#: Image file extensions the loaders accept (PNG is what our generator writes).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def format_matrix_row(row: np.ndarray) -> str:
    return "[" + " ".join(f"{v:.4g}" for v in row) + "]"


def pose_problems(matrix: np.ndarray) -> list[str]:
    """Problems of a 4x4 rigid transform (camera-to-world or world-to-camera): finite values, bottom row
    [0 0 0 1], orthonormal rotation part with det +1."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        return [f"pose must be a 4x4 matrix, got shape {tuple(m.shape)}"]
    if not np.all(np.isfinite(m)):
        return ["pose contains NaN or infinite values"]
    problems = []
    if np.abs(m[:3, 3]).max() > MAX_TRANSLATION:
        problems.append(f"translation {format_matrix_row(m[:3, 3])} is absurdly far from the origin (more than "
                        f"{MAX_TRANSLATION:g} scene units)")
    if np.abs(m[3] - np.array([0.0, 0.0, 0.0, 1.0])).max() > BOTTOM_ROW_TOLERANCE:
        problems.append(f"pose bottom row is {format_matrix_row(m[3])}, expected [0 0 0 1]")
    rotation = m[:3, :3]
    ortho = float(np.abs(rotation.T @ rotation - np.eye(3)).max())
    det = float(np.linalg.det(rotation))
    if ortho > ROTATION_TOLERANCE:
        problems.append(
            f"rotation part is not orthonormal (max |R^T R - I| = {ortho:.3g}, tolerance {ROTATION_TOLERANCE:g})"
        )
    elif det < 0:
        problems.append(f"rotation part has det {det:.3f}, expected +1 (a reflection: mirrored axis or wrong handedness)")
    elif abs(det - 1.0) > ROTATION_TOLERANCE:
        problems.append(f"rotation part has det {det:.4f}, expected +1")
    return problems


def intrinsics_problems(K: np.ndarray, width: int, height: int) -> list[str]:
    """Problems of a 3x3 pinhole matrix for an image of ``width`` x ``height`` pixels: finite, positive focal
    lengths, principal point inside the image."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        return [f"intrinsics must be 3x3, got shape {tuple(K.shape)}"]
    if not np.all(np.isfinite(K)):
        return ["intrinsics contain NaN or infinite values"]
    problems = []
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if fx <= 0 or fy <= 0:
        problems.append(f"focal length must be positive, got fx={fx:.4g} fy={fy:.4g}")
    if not (0.0 <= cx <= width and 0.0 <= cy <= height):
        problems.append(f"principal point ({cx:.4g}, {cy:.4g}) lies outside the {width}x{height} image")
    return problems


def find_metadata(start: Path, levels: int = 3) -> tuple[Path | None, dict | None]:
    """Search ``start`` and up to ``levels`` parent folders for ``metadata.json``.

    Returns ``(path, parsed)`` or ``(None, None)``; raises :class:`DataError` for a file that is not a
    JSON object.
    """
    folder = start.resolve()
    for _ in range(levels + 1):
        candidate = folder / "metadata.json"
        if candidate.is_file():
            return candidate, read_json_object(candidate)
        if folder.parent == folder:
            break
        folder = folder.parent
    return None, None


def read_json_object(path: Path) -> dict:
    """A JSON file whose top level is an object, with one-line errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except UnicodeDecodeError:
        raise DataError(path, "not a UTF-8 text file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror or exc})") from None
    if not text.strip():
        raise DataError(path, "file is empty, expected a JSON object")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(value, dict):
        raise DataError(path, f"expected a JSON object at the top level, got {type(value).__name__}")
    return value


def depth_scale_from_metadata(metadata: dict | None, metadata_path: Path | None) -> float | None:
    """``depth_scale`` of our metadata.json, checked; ``None`` when there is no metadata or no such key."""
    if metadata is None or "depth_scale" not in metadata:
        return None
    value = metadata["depth_scale"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise DataError(metadata_path, f"depth_scale must be a positive number, got {value!r}")
    return float(value)


def normalize_image_size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    """``None``, ``s`` or ``(height, width)`` -> ``None`` or ``(height, width)``."""
    if image_size is None:
        return None
    if isinstance(image_size, int):
        size = (image_size, image_size)
    else:
        size = tuple(int(v) for v in image_size)
        if len(size) != 2:
            raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}")
    if min(size) < 1:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return size  # type: ignore[return-value]


def _smooth_resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Antialiased bilinear resize of (V, C, H, W), exact with pixel centres at +0.5 (align_corners=False)."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def _masked_resize(values: Tensor, valid: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Resize ``values`` averaging only over ``valid`` pixels; returns (values, coverage of valid pixels)."""
    coverage = _smooth_resize(valid, size).clamp(0.0, 1.0)
    summed = _smooth_resize(values * valid, size)
    averaged = summed / coverage.clamp_min(1e-6)
    keep = (coverage > 0.5).to(values.dtype)
    return averaged * keep, coverage


def resize_views(views: SceneViews, size: tuple[int, int]) -> SceneViews:
    """Resize every image channel of ``views`` to ``size`` = (height, width) and scale the intrinsics.

    Colours are resized with antialiased bilinear filtering; masks by coverage (> 0.5); depths and normals by
    averaging over foreground pixels only (so background zeros never blend into surfaces); parts by nearest.
    """
    height, width = views.height, views.width
    if (height, width) == tuple(size):
        return views
    scale_x, scale_y = size[1] / width, size[0] / height
    images = _smooth_resize(views.images, size).clamp(0.0, 1.0)
    masks = depths = normals = parts = None
    if views.masks is not None:
        masks = (_smooth_resize(views.masks, size) > 0.5).to(views.masks.dtype)
    if views.depths is not None:
        valid = (views.depths > 0).to(views.depths.dtype)
        depths, _ = _masked_resize(views.depths, valid, size)
    if views.normals is not None:
        valid = (views.normals.abs().sum(1, keepdim=True) > 0).to(views.normals.dtype)
        averaged, _ = _masked_resize(views.normals, valid, size)
        length = averaged.norm(dim=1, keepdim=True)
        normals = torch.where(length > 1e-6, averaged / length.clamp_min(1e-6), torch.zeros_like(averaged))
    if views.parts is not None:
        parts = F.interpolate(views.parts.to(torch.float32), size=size, mode="nearest-exact").round().to(views.parts.dtype)
    intrinsics = views.intrinsics.clone()
    intrinsics[:, 0, :] = intrinsics[:, 0, :] * scale_x
    intrinsics[:, 1, :] = intrinsics[:, 1, :] * scale_y
    intrinsics[:, 2, :] = torch.tensor([0.0, 0.0, 1.0], dtype=intrinsics.dtype)
    return SceneViews(
        scene_id=views.scene_id,
        view_ids=list(views.view_ids),
        images=images,
        cam2world=views.cam2world,
        intrinsics=intrinsics,
        masks=masks,
        depths=depths,
        normals=normals,
        parts=parts,
    )


def stack_float(arrays: list[np.ndarray], channels_last: bool = True) -> Float[Tensor, "view channel height width"]:
    """HxWxC (or HxW) float arrays -> a float32 (V, C, H, W) tensor."""
    out = []
    for array in arrays:
        if array.ndim == 2:
            array = array[..., None]
        out.append(np.ascontiguousarray(np.moveaxis(array, -1, 0) if channels_last else array))
    return torch.from_numpy(np.stack(out).astype(np.float32, copy=False))


def check_same_size(paths: list[Path], sizes: list[tuple[int, int]], what: str = "images") -> None:
    """Raise for the first file whose (width, height) differs from the first one's."""
    for path, size in zip(paths, sizes):
        if size != sizes[0]:
            raise DataError(
                path,
                f"image is {size[0]}x{size[1]} but other {what} of this scene are {sizes[0][0]}x{sizes[0][1]} ({paths[0].name})",
            )
