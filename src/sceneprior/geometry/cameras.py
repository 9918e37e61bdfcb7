"""The one camera convention of sceneprior, and the converters at its edges.

Convention (used everywhere inside the library)
------------------------------------------------
* **Poses are OpenCV camera-to-world 4x4 matrices** (``cam2world``). In camera space
  +x points right in the image, +y points *down* in the image and +z points forward,
  along the optical axis. ``cam2world @ [x_cam, 1]`` gives the world point; the last
  column holds the camera centre in world coordinates.
* **Intrinsics are 3x3 matrices in pixels**: ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``.
* **Pixel centres are at +0.5**: the pixel in row ``i`` and column ``j`` covers the
  continuous image square ``[j, j+1] x [i, i+1]`` and its centre is ``(u, v) = (j + 0.5, i + 0.5)``.
  A camera whose principal point is the image centre has ``cx = W / 2, cy = H / 2``.
  Resizing an image by a factor ``s`` multiplies ``fx, fy, cx, cy`` by ``s`` (see
  :func:`scale_intrinsics`); no half-pixel shifts are needed.
* **Depth** means z-depth (distance along the optical axis), not distance along the ray.
  :func:`get_rays` returns unit directions together with the factor that converts one into the other.
* **World frame**: datasets made by our generator are y-up (ground plane x-z); loaders keep the world
  frame of the files they read.

Other conventions, converted only where files are read or written
-----------------------------------------------------------------
* **OpenGL / Blender / NeRF-synthetic** camera-to-world: +x right, +y *up*, camera looks along *-z*.
  ``cam2world_opencv = cam2world_opengl @ diag(1, -1, -1, 1)`` (the same matrix converts back).
* **SRN files** (``pose/*.txt``) already hold OpenCV camera-to-world matrices (the SRN README); pixelNeRF
  multiplies them by ``diag(1, -1, -1, 1)`` to get its OpenGL-style convention. SRN's
  ``intrinsics.txt`` gives ``f cx cy`` in pixels of the resolution written on its fourth line.
* **Integer pixel centres** (SRN's and pixelNeRF's ray code, original NeRF): pixel ``(i, j)`` is the point
  ``(u, v) = (j, i)``, so the same camera has ``cx, cy`` half a pixel smaller:
  ``K_integer = K with cx - 0.5, cy - 0.5`` (:func:`intrinsics_to_integer_centres` and back).
  Resizing by ``s`` then maps ``c`` to ``(c + 0.5) s - 0.5``, not ``c s``.

Names say the direction of a transform: ``cam2world`` maps camera to world, ``world2cam`` the reverse.
"""

from __future__ import annotations

import math

import torch
from jaxtyping import Float
from torch import Tensor

#: Right-multiplying a camera-to-world matrix by this flips the camera's y and z axes, which converts
#: OpenGL/Blender camera-to-world matrices to OpenCV ones and back.
_FLIP_YZ = (1.0, -1.0, -1.0, 1.0)


def _flip_yz(like: Tensor) -> Tensor:
    return torch.diag(torch.tensor(_FLIP_YZ, dtype=like.dtype, device=like.device))


def opengl_to_opencv(cam2world_opengl: Float[Tensor, "*batch 4 4"]) -> Float[Tensor, "*batch 4 4"]:
    """OpenGL/Blender camera-to-world (y up, looking along -z) -> OpenCV camera-to-world."""
    return cam2world_opengl @ _flip_yz(cam2world_opengl)


def opencv_to_opengl(cam2world_opencv: Float[Tensor, "*batch 4 4"]) -> Float[Tensor, "*batch 4 4"]:
    """OpenCV camera-to-world -> OpenGL/Blender camera-to-world (y up, looking along -z)."""
    return cam2world_opencv @ _flip_yz(cam2world_opencv)


def srn_to_opencv(cam2world_srn: Float[Tensor, "*batch 4 4"]) -> Float[Tensor, "*batch 4 4"]:
    """SRN pose files hold OpenCV camera-to-world matrices already: this is the identity, kept so that
    every conversion at the edge of the library has a name."""
    return cam2world_srn.clone()


def opencv_to_srn(cam2world_opencv: Float[Tensor, "*batch 4 4"]) -> Float[Tensor, "*batch 4 4"]:
    """Inverse of :func:`srn_to_opencv` (the identity)."""
    return cam2world_opencv.clone()


def invert_rigid(transform: Float[Tensor, "*batch 4 4"]) -> Float[Tensor, "*batch 4 4"]:
    """Inverse of a rigid transform [R t; 0 1] (e.g. ``cam2world`` -> ``world2cam``)."""
    rotation = transform[..., :3, :3]
    translation = transform[..., :3, 3:]
    rotation_t = rotation.transpose(-1, -2)
    out = torch.zeros_like(transform)
    out[..., :3, :3] = rotation_t
    out[..., :3, 3:] = -rotation_t @ translation
    out[..., 3, 3] = 1.0
    return out


def intrinsics_matrix(
    fx: float | Tensor, fy: float | Tensor, cx: float | Tensor, cy: float | Tensor, dtype: torch.dtype = torch.float32
) -> Float[Tensor, "*batch 3 3"]:
    """Build K from focal lengths and principal point, all in pixels."""
    fx, fy, cx, cy = (torch.as_tensor(v, dtype=dtype) for v in (fx, fy, cx, cy))
    fx, fy, cx, cy = torch.broadcast_tensors(fx, fy, cx, cy)
    zero, one = torch.zeros_like(fx), torch.ones_like(fx)
    rows = [torch.stack([fx, zero, cx], -1), torch.stack([zero, fy, cy], -1), torch.stack([zero, zero, one], -1)]
    return torch.stack(rows, -2)


def focal_from_fov(fov_radians: float, size_pixels: int | float) -> float:
    """Focal length in pixels for a full field of view across ``size_pixels`` (e.g. NeRF's camera_angle_x)."""
    return 0.5 * float(size_pixels) / math.tan(0.5 * fov_radians)


def scale_intrinsics(K: Float[Tensor, "*batch 3 3"], scale_x: float, scale_y: float) -> Float[Tensor, "*batch 3 3"]:
    """Intrinsics of an image resized by (scale_x, scale_y). Exact with pixel centres at +0.5."""
    out = K.clone()
    out[..., 0, :] = out[..., 0, :] * scale_x
    out[..., 1, :] = out[..., 1, :] * scale_y
    return out


def intrinsics_to_integer_centres(K: Float[Tensor, "*batch 3 3"]) -> Float[Tensor, "*batch 3 3"]:
    """The same camera for code that puts pixel centres at integer coordinates (SRN, pixelNeRF): cx, cy - 0.5."""
    out = K.clone()
    out[..., 0, 2] = out[..., 0, 2] - 0.5
    out[..., 1, 2] = out[..., 1, 2] - 0.5
    return out


def intrinsics_from_integer_centres(K: Float[Tensor, "*batch 3 3"]) -> Float[Tensor, "*batch 3 3"]:
    """Our K (centres at +0.5) of a camera written for integer pixel centres: cx, cy + 0.5."""
    out = K.clone()
    out[..., 0, 2] = out[..., 0, 2] + 0.5
    out[..., 1, 2] = out[..., 1, 2] + 0.5
    return out


def look_at(
    eye: Float[Tensor, "*batch 3"], target: Float[Tensor, "*batch 3"], up: Float[Tensor, "*batch 3"]
) -> Float[Tensor, "*batch 4 4"]:
    """OpenCV camera-to-world for a camera at ``eye`` looking at ``target``; image 'up' is along ``up``.

    Camera z (forward) points to the target, camera y (image down) points away from ``up``.
    """
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    right = torch.nn.functional.normalize(torch.linalg.cross(forward, up.expand_as(forward)), dim=-1)
    down = torch.linalg.cross(forward, right)
    rotation = torch.stack([right, down, forward], dim=-1)  # columns are camera axes in world coordinates
    batch = eye.shape[:-1]
    out = torch.zeros(*batch, 4, 4, dtype=eye.dtype, device=eye.device)
    out[..., :3, :3] = rotation
    out[..., :3, 3] = eye
    out[..., 3, 3] = 1.0
    return out


def pixel_centers(
    height: int, width: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Float[Tensor, "height width 2"]:
    """Continuous (u, v) coordinates of every pixel centre: (j + 0.5, i + 0.5)."""
    v, u = torch.meshgrid(
        torch.arange(height, dtype=dtype, device=device) + 0.5,
        torch.arange(width, dtype=dtype, device=device) + 0.5,
        indexing="ij",
    )
    return torch.stack([u, v], dim=-1)


def camera_directions(
    uv: Float[Tensor, "*batch 2"], K: Float[Tensor, "*#batch 3 3"]
) -> Float[Tensor, "*batch 3"]:
    """Camera-space directions with z = 1 through continuous pixel coordinates ``uv``."""
    fx, fy = K[..., 0, 0], K[..., 1, 1]
    cx, cy = K[..., 0, 2], K[..., 1, 2]
    x = (uv[..., 0] - cx) / fx
    y = (uv[..., 1] - cy) / fy
    return torch.stack([x, y, torch.ones_like(x)], dim=-1)


def rays_from_pixels(
    uv: Float[Tensor, "*batch 2"], cam2world: Float[Tensor, "*#batch 4 4"], K: Float[Tensor, "*#batch 3 3"]
) -> tuple[Float[Tensor, "*batch 3"], Float[Tensor, "*batch 3"], Float[Tensor, "*batch"]]:
    """World rays through pixel coordinates.

    Returns ``(origins, unit_directions, z_per_t)`` where ``z_per_t`` is the z-depth gained per unit of
    distance along the ray, so ``z_depth = t * z_per_t`` and ``t = z_depth / z_per_t``.
    """
    dirs_cam = camera_directions(uv, K)
    norm = dirs_cam.norm(dim=-1)
    dirs_world = (cam2world[..., :3, :3] @ dirs_cam.unsqueeze(-1)).squeeze(-1) / norm.unsqueeze(-1)
    origins = cam2world[..., :3, 3].expand_as(dirs_world)
    return origins, dirs_world, 1.0 / norm


def get_rays(
    cam2world: Float[Tensor, "*batch 4 4"], K: Float[Tensor, "*batch 3 3"], height: int, width: int
) -> tuple[Float[Tensor, "*batch height width 3"], Float[Tensor, "*batch height width 3"], Float[Tensor, "*batch height width"]]:
    """Rays through every pixel centre of an image: ``(origins, unit_directions, z_per_t)``."""
    uv = pixel_centers(height, width, dtype=cam2world.dtype, device=cam2world.device)
    batch = cam2world.shape[:-2]
    uv = uv.expand(*batch, height, width, 2)
    return rays_from_pixels(uv, cam2world[..., None, None, :, :], K[..., None, None, :, :])


def world_to_camera(
    points: Float[Tensor, "*batch 3"], cam2world: Float[Tensor, "*#batch 4 4"]
) -> Float[Tensor, "*batch 3"]:
    """World points in the camera frame of ``cam2world``."""
    rotation = cam2world[..., :3, :3]
    centre = cam2world[..., :3, 3]
    return ((points - centre).unsqueeze(-2) @ rotation).squeeze(-2)  # R^T (p - c)


def project(
    points: Float[Tensor, "*batch 3"], cam2world: Float[Tensor, "*#batch 4 4"], K: Float[Tensor, "*#batch 3 3"]
) -> tuple[Float[Tensor, "*batch 2"], Float[Tensor, "*batch"]]:
    """Project world points: continuous pixel coordinates ``uv`` (centres at +0.5) and z-depth."""
    cam = world_to_camera(points, cam2world)
    z = cam[..., 2]
    safe_z = torch.where(z.abs() < 1e-12, torch.full_like(z, 1e-12), z)
    u = K[..., 0, 0] * cam[..., 0] / safe_z + K[..., 0, 2]
    v = K[..., 1, 1] * cam[..., 1] / safe_z + K[..., 1, 2]
    return torch.stack([u, v], dim=-1), z


def unproject_depth(
    depth: Float[Tensor, "*batch height width"], cam2world: Float[Tensor, "*batch 4 4"], K: Float[Tensor, "*batch 3 3"]
) -> Float[Tensor, "*batch height width 3"]:
    """World points of every pixel of a z-depth map."""
    height, width = depth.shape[-2:]
    uv = pixel_centers(height, width, dtype=depth.dtype, device=depth.device).expand(*depth.shape, 2)
    dirs_cam = camera_directions(uv, K[..., None, None, :, :]) * depth.unsqueeze(-1)
    rotation = cam2world[..., None, None, :3, :3]
    return (rotation @ dirs_cam.unsqueeze(-1)).squeeze(-1) + cam2world[..., None, None, :3, 3]


def plucker(
    origins: Float[Tensor, "*batch 3"], directions: Float[Tensor, "*batch 3"]
) -> Float[Tensor, "*batch 6"]:
    """Plücker coordinates (d, o x d) of oriented rays, with d normalised. Invariant to the choice of
    ``o`` along the ray (LFN, Sitzmann et al. 2021)."""
    d = torch.nn.functional.normalize(directions, dim=-1)
    moment = torch.linalg.cross(origins, d)
    return torch.cat([d, moment], dim=-1)


def rotation_error(rotation: Float[Tensor, "*batch 3 3"]) -> tuple[Float[Tensor, "*batch"], Float[Tensor, "*batch"]]:
    """(max |R^T R - I|, det R): a proper rotation has ~0 and +1."""
    eye = torch.eye(3, dtype=rotation.dtype, device=rotation.device)
    ortho = (rotation.transpose(-1, -2) @ rotation - eye).abs().flatten(-2).amax(-1)
    return ortho, torch.linalg.det(rotation)


def orbit(
    start: Float[Tensor, "4 4"], frames: int, up: Float[Tensor, "3"], target: Float[Tensor, "3"],
    elevation_deg: float | None = None, distance: float | None = None, azimuth_offset_deg: float = 0.0,
) -> Float[Tensor, "frame 4 4"]:
    """``frames`` cameras circling ``up`` through ``target``, starting ``azimuth_offset_deg`` (counter-clockwise
    seen from above) from ``start``'s azimuth, at ``start``'s elevation and distance unless given, looking at the
    target."""
    up = up / up.norm()
    offset = start[:3, 3] - target
    height = float(offset @ up)
    radial = offset - height * up
    if float(radial.norm()) < 1e-6:  # looking straight down the axis: any horizontal start
        helper = torch.tensor([1.0, 0.0, 0.0]) if abs(float(up[0])) < 0.9 else torch.tensor([0.0, 0.0, 1.0])
        radial = torch.linalg.cross(up, helper)
    radial = radial / radial.norm()
    d = float(offset.norm()) if distance is None else float(distance)
    el = math.asin(max(-1.0, min(1.0, height / max(float(offset.norm()), 1e-9)))) if elevation_deg is None else math.radians(elevation_deg)
    side = torch.linalg.cross(up, radial)
    cameras = []
    for k in range(frames):
        angle = 2.0 * math.pi * k / frames + math.radians(azimuth_offset_deg)
        direction = math.cos(angle) * radial + math.sin(angle) * side
        eye = target + d * (math.cos(el) * direction + math.sin(el) * up)
        cameras.append(look_at(eye, target, up))
    return torch.stack(cameras)


def camera_on_sphere(
    target: Float[Tensor, "3"], up: Float[Tensor, "3"], azimuth_deg: float, elevation_deg: float, distance: float
) -> Float[Tensor, "4 4"]:
    """OpenCV cam2world on the sphere ``eye = target + d (cos el sin az, sin el, cos el cos az)`` in the frame whose
    y is ``up`` (for up = +y, the generator's orbit), looking at ``target`` with image-up along ``up``."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    y = up / up.norm()
    helper = torch.tensor([0.0, 0.0, 1.0]) if abs(float(y[2])) < 0.9 else torch.tensor([1.0, 0.0, 0.0])
    x = torch.linalg.cross(y, helper)
    x = x / x.norm()
    z = torch.linalg.cross(x, y)
    offset = math.cos(el) * math.sin(az) * x + math.sin(el) * y + math.cos(el) * math.cos(az) * z
    return look_at(target + distance * offset, target, y)


def crop_intrinsics(K: Float[Tensor, "3 3"], crop_box: tuple[float, float, float, float], size: int) -> Float[Tensor, "3 3"]:
    """The intrinsics of the ``size``² image cut from ``crop_box`` (x0, y0, x1, y1 in pixels; continuous
    coordinates, so pixel centres stay at +0.5) of an image with intrinsics ``K``: the same camera, zoomed and
    shifted."""
    x0, y0, x1, y1 = (float(v) for v in crop_box)
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    out = torch.as_tensor(K, dtype=torch.float32).clone()
    out[0, 0], out[0, 1], out[0, 2] = out[0, 0] * sx, out[0, 1] * sx, (out[0, 2] - x0) * sx
    out[1, 1], out[1, 2] = out[1, 1] * sy, (out[1, 2] - y0) * sy
    return out
