"""Rendering normalised mesh parts with Mitsuba 3 (``scalar_rgb``, CPU): the optional ``render`` extra.

* **RGB** -- Mitsuba's path tracer, direct light only (``max_depth`` 2: shadows, no inter-reflection), box
  filter, ``spp`` random samples per pixel; textures and colours are sRGB and converted to linear, every
  material is a two-sided diffuse BSDF (game meshes often have inconsistent winding), shaded with the mesh's
  vertex normals where they suit its faces, else flat (:func:`~.normalise.smooth_normals_fit`); lights are the
  generator's key light (:data:`MESH_LIGHTING`) -- one directional light of irradiance
  ``pi * intensity`` (with cast shadows) plus ``ambient`` times the pixel's mean albedo (Mitsuba's ``albedo``
  AOV; unshadowed, as in the generator, and free of the noise a sampled environment light gives) -- so a lit
  surface has the value the generator gives it; the linear result is sRGB-encoded and composited on white
  with its alpha.
* **depth, normals, mask** -- a second pass with Mitsuba's ``aov`` integrator, one sample at each pixel
  centre (``stratified`` sampler without jitter): world position and geometric (face) normal of the first hit. z-depth
  is the position in camera coordinates, normals are turned to face the camera.

Cameras are OpenCV camera-to-world with pixel intrinsics (principal point at the image centre); Mitsuba's
camera looks along +z with +x to the left and +y up, so its ``to_world`` is ``cam2world @ diag(-1, -1, 1, 1)``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

from ...errors import ConfigError
from ..generator.render import DEFAULT_LIGHTING, Lighting
from .normalise import MeshPart

VARIANT = "scalar_rgb"
#: One sun (the generator's key light) and an ambient term that also stands for the generator's fill light
#: (half its intensity): Mitsuba picks one emitter at random per shadow ray, so a second directional light
#: would add noise to every pixel, where one sun gives exact shadows.
MESH_LIGHTING = Lighting(ambient=round(DEFAULT_LIGHTING.ambient + 0.5 * DEFAULT_LIGHTING.intensities[1], 4),
                         directions=(DEFAULT_LIGHTING.directions[0],), intensities=(DEFAULT_LIGHTING.intensities[0],))


def import_mitsuba():  # noqa: ANN201 - the module object
    """Mitsuba set to the ``scalar_rgb`` variant, or a one-line :class:`ConfigError` on how to install it."""
    try:
        import mitsuba as mi
    except ImportError:
        raise ConfigError("render-meshes needs Mitsuba 3: pip install 'sceneprior[render]' (or pip install mitsuba)") from None
    if mi.variant() != VARIANT:
        mi.set_variant(VARIANT)
    return mi


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def write_ply(path: Path, part: MeshPart) -> None:
    """Binary little-endian PLY with positions, normals, and UVs (v flipped for Mitsuba, whose texture rows
    run top-down) or vertex colours (linear, in [0, 1])."""
    n = len(part.vertices)
    fields = [("x", part.vertices[:, 0]), ("y", part.vertices[:, 1]), ("z", part.vertices[:, 2]),
              ("nx", part.normals[:, 0]), ("ny", part.normals[:, 1]), ("nz", part.normals[:, 2])]
    if part.uv is not None and part.texture is not None:
        fields += [("u", part.uv[:, 0]), ("v", 1.0 - part.uv[:, 1])]
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {n}"]
    header += [f"property float {name}" for name, _ in fields]
    vertex_dtype = [(name, "<f4") for name, _ in fields]
    if part.vertex_colours is not None:
        header += ["property float red", "property float green", "property float blue"]
        vertex_dtype += [("red", "<f4"), ("green", "<f4"), ("blue", "<f4")]
    header += [f"element face {len(part.faces)}", "property list uchar int vertex_indices", "end_header"]
    vertex = np.empty(n, dtype=vertex_dtype)
    for name, values in fields:
        vertex[name] = values
    if part.vertex_colours is not None:
        linear = srgb_to_linear(part.vertex_colours[:, :3] / 255.0)  # Mitsuba reads them as linear reflectance
        for k, name in enumerate(("red", "green", "blue")):
            vertex[name] = linear[:, k]
    faces = np.empty(len(part.faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    faces["n"] = 3
    faces["i"] = part.faces
    path.write_bytes(("\n".join(header) + "\n").encode() + vertex.tobytes() + faces.tobytes())


def _bsdf(mi, part: MeshPart, folder: Path, k: int) -> dict:  # noqa: ANN001
    if part.texture is not None and part.uv is not None:
        texture_path = folder / f"texture_{k}.png"
        from PIL import Image

        Image.fromarray(part.texture).save(texture_path)
        reflectance: dict = {"type": "bitmap", "filename": str(texture_path), "filter_type": "bilinear"}
    elif part.vertex_colours is not None:
        reflectance = {"type": "mesh_attribute", "name": "vertex_color"}
    else:
        reflectance = {"type": "rgb", "value": srgb_to_linear(part.colour).tolist()}
    return {"type": "twosided", "bsdf": {"type": "diffuse", "reflectance": reflectance}}


def build_scene_dict(mi, parts: list[MeshPart], folder: Path, lighting) -> dict:  # noqa: ANN001
    """The Mitsuba scene (shapes and lights, no sensor) of normalised parts; files go to ``folder``."""
    if len(lighting.directions) != 1:
        raise ConfigError("render-meshes lights a mesh with one sun (see MESH_LIGHTING)")
    scene: dict = {"type": "scene"}
    for k, part in enumerate(parts):
        path = folder / f"part_{k}.ply"
        write_ply(path, part)
        scene[f"part_{k}"] = {"type": "ply", "filename": str(path), "face_normals": not part.smooth, "bsdf": _bsdf(mi, part, folder, k)}
    for k, (direction, intensity) in enumerate(zip(lighting.directions, lighting.intensities)):
        towards_light = np.asarray(direction, dtype=np.float64)
        towards_light /= np.linalg.norm(towards_light)
        scene[f"sun_{k}"] = {"type": "directional", "direction": (-towards_light).tolist(),
                             "irradiance": {"type": "rgb", "value": [math.pi * float(intensity)] * 3}}
    return scene


def _sensor(mi, cam2world: np.ndarray, K: np.ndarray, height: int, width: int, spp: int, centre: bool) -> object:  # noqa: ANN001
    if abs(K[0, 2] - width / 2) > 1e-6 or abs(K[1, 2] - height / 2) > 1e-6 or abs(K[0, 0] - K[1, 1]) > 1e-6 * K[0, 0]:
        raise ConfigError("render-meshes renders square pixels with the principal point at the image centre")
    fov_x = math.degrees(2.0 * math.atan(0.5 * width / K[0, 0]))
    to_world = cam2world @ np.diag([-1.0, -1.0, 1.0, 1.0])
    sampler = {"type": "stratified", "sample_count": 1, "jitter": False} if centre else {"type": "independent", "sample_count": spp}
    return mi.load_dict({
        "type": "perspective", "fov": fov_x, "fov_axis": "x", "near_clip": 0.01, "far_clip": 100.0,
        "to_world": mi.ScalarTransform4f(to_world.tolist()),
        "film": {"type": "hdrfilm", "width": width, "height": height, "rfilter": {"type": "box"},
                 "pixel_format": "rgba", "sample_border": False},
        "sampler": sampler,
    })


class MeshRenderer:
    """One mesh loaded into Mitsuba, rendered from any number of cameras (:meth:`render`)."""

    def __init__(self, parts: list[MeshPart], lighting: Lighting = MESH_LIGHTING, spp: int = 32, seed: int = 0) -> None:
        self.mi = import_mitsuba()
        self._tmp = tempfile.TemporaryDirectory(prefix="sceneprior-mesh-")
        self.scene = self.mi.load_dict(build_scene_dict(self.mi, parts, Path(self._tmp.name), lighting))
        self.spp = spp
        self.seed = seed
        self.ambient = float(lighting.ambient)
        self.rgb_integrator = self.mi.load_dict({"type": "aov", "aovs": "al:albedo",
                                                 "image": {"type": "path", "max_depth": 2, "hide_emitters": True}})
        self.aov_integrator = self.mi.load_dict({"type": "aov", "aovs": "pp:position,nn:geo_normal"})

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> "MeshRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, cam2world: np.ndarray, K: np.ndarray, height: int, width: int, view_seed: int = 0) -> dict[str, np.ndarray]:
        """One view: ``rgb`` (h, w, 3) float in [0, 1] (sRGB, on white), ``depth`` (h, w) z-depth (0 on
        background), ``normals`` (h, w, 3) unit world normals facing the camera (0 on background), ``mask``."""
        mi = self.mi
        sensor = _sensor(mi, cam2world, K, height, width, self.spp, centre=False)
        image = np.asarray(mi.render(self.scene, sensor=sensor, integrator=self.rgb_integrator, seed=(self.seed * 100003 + view_seed) % 2**32,
                                     spp=self.spp), dtype=np.float64)
        alpha = np.clip(image[..., 3:4], 0.0, 1.0)
        # sunlight (with shadows) + ambient * albedo, both alpha-weighted pixel means (a miss adds 0);
        # un-weight, encode, composite on white
        linear = image[..., :3] + self.ambient * image[..., 4:7]
        colour = linear_to_srgb(linear / np.maximum(alpha, 1e-6))
        rgb = alpha * colour + (1.0 - alpha)
        centre = _sensor(mi, cam2world, K, height, width, 1, centre=True)
        aov = np.asarray(mi.render(self.scene, sensor=centre, integrator=self.aov_integrator, spp=1), dtype=np.float64)
        position, normal = aov[..., 0:3], aov[..., 3:6]
        mask = np.linalg.norm(normal, axis=-1) > 0.5  # a hit has a unit shading normal, a miss zeros
        world2cam = np.linalg.inv(cam2world)
        z = position @ world2cam[2, :3] + world2cam[2, 3]
        depth = np.where(mask, z, 0.0)
        to_camera = cam2world[:3, 3] - position
        flip = np.where((normal * to_camera).sum(-1, keepdims=True) < 0, -1.0, 1.0)
        normal = normal * flip
        normal = normal / np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)
        normal = np.where(mask[..., None], normal, 0.0)
        return {"rgb": np.clip(rgb, 0.0, 1.0), "depth": depth, "normals": normal, "mask": mask}
