"""The built-in procedural dataset generator (``sceneprior data generate``).

Scene families with part structure, random proportions and colours -- ``cars``, ``chairs`` (in the spirit
of the ShapeNet-SRN categories) and ``rooms`` (floor, low walls, a few objects) -- made of analytic
primitives (boxes, convex prisms, capped cylinders, spheres), ray cast exactly and shaded Lambertian on a
white background. Per view: RGB, z-depth, world normals, mask, part labels; per scene: surface points
with normals and parts, and DeepSDF-style SDF / occupancy samples. Written in the SRN layout of
``docs/DATA_FORMAT.md``.

Public API::

    config = GeneratorConfig(category="cars", out="data/cars", objects=500, views=50)
    root = generate_dataset(config)                       # writes every split + metadata.json
    scene = sample_scene("chairs", np.random.default_rng(0))
    cams = orbit_cameras(azimuth_deg, elevation_deg, distance)  # OpenCV cam2world, image-up = +y
    out = render_views(scene, cams, intrinsics_for(64, 50.0), 64, 64)   # RenderedViews
    d = scene_sdf(scene, points)                           # union SDF, negative inside
"""

from .cameras import (
    OBJECT_CAMERAS,
    ROOM_CAMERAS,
    CameraRange,
    CameraSetup,
    camera_angles,
    camera_setup,
    intrinsics_for,
    orbit_cameras,
    sample_orbit,
    sample_source_pair,
)
from .categories import CATEGORIES, PART_NAMES, sample_car, sample_chair, sample_room, sample_scene
from .dataset import (
    ALL_SPLITS,
    DEPTH_SCALE,
    INPUT_VIEWS,
    GeneratorConfig,
    SceneSample,
    generate_dataset,
    make_scene,
    metadata,
    preview_grid,
    scene_rng,
    write_preview,
)
from .primitives import Box, Cylinder, PackedScene, Prism, Scene, Sphere, cast_rays, pack_scene, sample_surface
from .render import DEFAULT_LIGHTING, Lighting, RenderedViews, render_packed, render_views, scene_occupancy, scene_sdf

__all__ = [
    "ALL_SPLITS", "CATEGORIES", "DEFAULT_LIGHTING", "DEPTH_SCALE", "INPUT_VIEWS", "OBJECT_CAMERAS", "PART_NAMES",
    "ROOM_CAMERAS", "Box", "CameraRange", "CameraSetup", "Cylinder", "GeneratorConfig", "Lighting", "PackedScene",
    "Prism", "RenderedViews", "Scene", "SceneSample", "Sphere", "camera_angles", "camera_setup", "cast_rays",
    "generate_dataset", "intrinsics_for", "make_scene", "metadata", "orbit_cameras", "pack_scene", "preview_grid",
    "render_packed", "render_views", "sample_car", "sample_chair", "sample_orbit", "sample_room", "sample_scene",
    "sample_source_pair", "sample_surface", "scene_occupancy", "scene_rng", "scene_sdf", "write_preview",
]
