"""Cameras, rays, projection and Plücker coordinates in sceneprior's one convention
(OpenCV camera-to-world, intrinsics in pixels, pixel centres at +0.5). See :mod:`.cameras`."""

from .cameras import (
    camera_directions,
    camera_on_sphere,
    crop_intrinsics,
    focal_from_fov,
    get_rays,
    intrinsics_from_integer_centres,
    intrinsics_matrix,
    intrinsics_to_integer_centres,
    invert_rigid,
    look_at,
    orbit,
    opencv_to_opengl,
    opencv_to_srn,
    opengl_to_opencv,
    pixel_centers,
    plucker,
    project,
    rays_from_pixels,
    rotation_error,
    scale_intrinsics,
    srn_to_opencv,
    unproject_depth,
    world_to_camera,
)

__all__ = [
    "camera_directions", "camera_on_sphere", "crop_intrinsics", "focal_from_fov", "get_rays", "intrinsics_from_integer_centres", "intrinsics_matrix", "intrinsics_to_integer_centres", "invert_rigid", "look_at", "orbit",
    "opencv_to_opengl", "opencv_to_srn", "opengl_to_opencv", "pixel_centers", "plucker", "project",
    "rays_from_pixels", "rotation_error", "scale_intrinsics", "srn_to_opencv", "unproject_depth",
    "world_to_camera",
]
