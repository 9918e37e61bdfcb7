"""Reading a mesh file and putting it into the generator's frame (pure: numpy and trimesh, no renderer).

Every supported file (OBJ + MTL + textures, GLB / GLTF, PLY, OFF with trimesh; AC3D ``.ac`` / TORCS ``.acc``
with :mod:`.ac3d`) is read into a list of
:class:`MeshPart` s -- triangles with per-vertex normals, and either a texture with UVs, per-vertex colours
or one base colour -- and moved by :class:`Normalisation`:

1. **axes**: the file's ``up`` axis becomes world +y and its ``forward`` axis becomes the category's forward
   (cars +x, chairs +z, as in the generator);
2. **centre**: the centre of the axis-aligned bounding box goes to the origin;
3. **scale**: uniformly, so that the longest side of the bounding box is ``extent`` (default 0.9: the
   generator's cars are 0.72-0.94 long; every object then lies inside its box [-0.5, 0.5]^3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ConfigError, DataError
from .ac3d import read_ac3d
from .parts import MeshPart, smooth_normals_fit

#: file types render-meshes reads (by suffix, lower case)
MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".off", ".ac", ".acc")
_AXES = {"x": 0, "y": 1, "z": 2}
#: where the generator's objects face (its ``forward`` in world coordinates)
CATEGORY_FORWARD = {"cars": "+x", "chairs": "+z"}


def parse_axis(text: str) -> np.ndarray:
    """``"+y"``, ``"-z"``, ``"x"`` ... as a unit vector."""
    t = text.strip().lower()
    sign = -1.0 if t.startswith("-") else 1.0
    name = t.lstrip("+-")
    if name not in _AXES:
        raise ConfigError(f"axis must be one of +x -x +y -y +z -z, got {text!r}")
    out = np.zeros(3)
    out[_AXES[name]] = sign
    return out


@dataclass(frozen=True)
class Normalisation:
    """How a mesh is put into the generator's frame (see the module docstring).

    ``up`` / ``forward``: the mesh file's up and forward axes; ``target_forward``: where forward goes
    (the category's convention); ``extent``: the longest bounding-box side after scaling."""

    up: str = "+y"
    forward: str = "+x"
    target_forward: str = "+x"
    extent: float = 0.9

    def rotation(self) -> np.ndarray:
        """The 3x3 rotation taking mesh coordinates to world coordinates."""
        up, fwd, target = parse_axis(self.up), parse_axis(self.forward), parse_axis(self.target_forward)
        if abs(float(up @ fwd)) > 0.5:
            raise ConfigError(f"--up {self.up} and --forward {self.forward} must be different axes")
        world_up = np.array([0.0, 1.0, 0.0])
        if abs(float(target @ world_up)) > 0.5:
            raise ConfigError(f"the target forward axis {self.target_forward} must be horizontal (x or z)")
        src = np.stack([up, fwd, np.cross(up, fwd)], 1)
        dst = np.stack([world_up, target, np.cross(world_up, target)], 1)
        return dst @ src.T

    def validate(self) -> None:
        self.rotation()
        if not 0.05 <= self.extent <= 1.0:
            raise ConfigError(f"--extent must be between 0.05 and 1.0 (the generator's box is [-0.5, 0.5]^3), got {self.extent}")

    def to_json(self) -> dict[str, object]:
        return {"up": self.up, "forward": self.forward, "target_forward": self.target_forward, "extent": self.extent,
                "centre": "bounding-box centre at the origin", "world_up": "+y"}


def _part_of(mesh: "object") -> MeshPart | None:
    import trimesh

    assert isinstance(mesh, trimesh.Trimesh)
    if len(mesh.faces) == 0:
        return None
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    normals = np.asarray(mesh.vertex_normals, dtype=np.float64)
    colour = np.array([0.8, 0.8, 0.8])
    uv = texture = vertex_colours = None
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.texture.TextureVisuals):
        material = visual.material
        if isinstance(material, trimesh.visual.material.PBRMaterial):
            factor = material.baseColorFactor
            image = material.baseColorTexture
        else:
            factor = getattr(material, "diffuse", None)
            image = getattr(material, "image", None)
        if factor is not None:
            f = np.asarray(factor, dtype=np.float64).reshape(-1)[:3]
            colour = f / 255.0 if f.max() > 1.0 else f
        if image is not None and visual.uv is not None and len(visual.uv) == len(vertices):
            texture = np.asarray(image.convert("RGB"), dtype=np.uint8)
            uv = np.asarray(visual.uv, dtype=np.float64)
    elif visual is not None and visual.kind == "vertex":
        vertex_colours = np.asarray(visual.vertex_colors, dtype=np.uint8)[:, :3]
    elif visual is not None and visual.kind == "face":
        face_colours = np.asarray(visual.face_colors, dtype=np.uint8)[:, :3]
        # one colour per face: unshare the vertices so each face carries its own colour
        vertices = vertices[faces].reshape(-1, 3)
        normals = normals[faces].reshape(-1, 3)
        vertex_colours = np.repeat(face_colours, 3, axis=0)
        faces = np.arange(len(vertices), dtype=np.int64).reshape(-1, 3)
    smooth = smooth_normals_fit(vertices, faces, normals)
    return MeshPart(vertices, faces, normals, np.clip(colour, 0.0, 1.0), uv, texture, vertex_colours, smooth)


def load_mesh_parts(path: str | Path) -> list[MeshPart]:
    """The triangles of a mesh file (every node of a GLTF scene with its transform), one part per material.

    Raises :class:`DataError` naming the file when it cannot be read or holds no triangles."""
    import trimesh

    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise DataError(path, f"unsupported mesh type {path.suffix!r}; supported: {', '.join(MESH_SUFFIXES)}")
    if path.suffix.lower() in (".ac", ".acc"):
        return read_ac3d(path)
    try:
        loaded = trimesh.load(str(path), force="scene", process=False)
        meshes = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
    except Exception as exc:  # noqa: BLE001 - any parser failure is this file's problem, told in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(path, f"cannot read the mesh ({type(exc).__name__}: {first[:200]})") from None
    parts = [p for p in (_part_of(m) for m in meshes) if p is not None]
    if not parts:
        raise DataError(path, "holds no triangles")
    for part in parts:
        if not (np.isfinite(part.vertices).all() and np.isfinite(part.normals).all()):
            raise DataError(path, "has non-finite vertex coordinates")
    return parts


def normalise_parts(parts: list[MeshPart], norm: Normalisation) -> tuple[list[MeshPart], dict[str, object]]:
    """The parts rotated, centred and scaled into the generator's frame, and what was done (for scene.json)."""
    rotation = norm.rotation()
    rotated = [p.vertices @ rotation.T for p in parts]
    allv = np.concatenate(rotated)
    lo, hi = allv.min(0), allv.max(0)
    size = float((hi - lo).max())
    if not size > 0:
        raise ValueError("the mesh has zero size")
    scale = norm.extent / size
    centre = 0.5 * (lo + hi)
    out = []
    for part, verts in zip(parts, rotated):
        normals = part.normals @ rotation.T
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        normals = np.where(length > 0, normals / np.maximum(length, 1e-12), np.array([0.0, 1.0, 0.0]))
        out.append(MeshPart((verts - centre) * scale, part.faces, normals, part.colour, part.uv, part.texture, part.vertex_colours, part.smooth))
    info = {"rotation": rotation.round(6).tolist(), "scale": round(scale, 9), "source_centre": (centre @ rotation).round(6).tolist(),
            "source_size": round(size, 6), "extent": norm.extent, "bounds": [((lo - centre) * scale).round(6).tolist(), ((hi - centre) * scale).round(6).tolist()]}
    return out, info


def find_meshes(folder: str | Path) -> list[Path]:
    """Mesh files of a folder and its sub-folders, sorted by relative path."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(root, "is not a folder")
    return sorted((p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES), key=lambda p: str(p.relative_to(root)))
