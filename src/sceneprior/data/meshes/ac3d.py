"""AC3D (``.ac``) and TORCS / Speed Dreams ``.acc`` files, read into :class:`~.parts.MeshPart` s.

trimesh has no AC3D reader, and AC3D is the format of the open racing simulators' car models (TORCS, Speed
Dreams) and of many older game assets. Written from the format's published description (AC3D file format,
inivis.com): a header ``AC3Db``; ``MATERIAL "name" rgb r g b amb ... spec ... shi n trans t`` lines, indexed
from 0 in order; then a tree of ``OBJECT world|group|poly`` blocks, each with optional ``name``, ``data``,
``texture "file"``, ``texrep u v``, ``texoff u v``, ``rot`` (3x3, row-major), ``loc`` (x y z), ``crease``,
``url``, then ``numvert n`` and n vertex lines, ``numsurf m`` and m surfaces (``SURF flags``, ``mat i``,
``refs k`` and k lines ``vertex u v``), and ``kids c`` followed by c child objects. A child's coordinates are in
its parent's frame: world = parent(rot @ v + loc).

The ``.acc`` variant (TORCS) adds a normal to each vertex line (``x y z nx ny nz``), up to four ``texture``
lines per object (base, tiled, skids, shadow: only the first, the colour texture, is used) and up to four uv pairs
per ref (only the first is used), and surfaces of type 4 (``flags & 0xF``), triangle strips, wound either way (the game draws them two-sided):
each surface is turned to face the way most of its vertex normals do. Surfaces that are
lines (types 1, 2) are skipped; polygons (type 0) are triangulated as fans. One :class:`MeshPart` per object and material; texture coordinates are per face corner, so
vertices are split where a corner's uv differs. ``texrep`` / ``texoff`` are applied (uv * rep + off). Textures
are found beside the file (the path as written, else its file name) and opened through
:func:`~sceneprior.data.image_io.open_image` (size-checked before decoding). Anything malformed is a one-line
:class:`~sceneprior.errors.DataError` naming the file and the line.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..image_io import open_image
from .parts import MeshPart, smooth_normals_fit

AC3D_SUFFIXES = (".ac", ".acc")


class _Lines:
    """The file's non-empty lines with their 1-based numbers, read in order."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.items = [(k + 1, line.strip()) for k, line in enumerate(text.splitlines()) if line.strip()]
        self.pos = 0

    def next(self, what: str) -> tuple[int, str]:
        if self.pos >= len(self.items):
            raise DataError(self.path, f"ends early (expected {what})")
        item = self.items[self.pos]
        self.pos += 1
        return item

    def peek(self) -> str | None:
        return self.items[self.pos][1] if self.pos < len(self.items) else None

    def fail(self, number: int, message: str) -> DataError:
        return DataError(self.path, f"line {number}: {message}")


def _numbers(lines: _Lines, number: int, fields: list[str], count: int, what: str) -> np.ndarray:
    if len(fields) < count:
        raise lines.fail(number, f"{what} needs {count} numbers, got {len(fields)}")
    try:
        values = np.array([float(v) for v in fields[:count]])
    except ValueError:
        raise lines.fail(number, f"{what} has a value that is not a number: {' '.join(fields[:count])!r}") from None
    if not np.isfinite(values).all():
        raise lines.fail(number, f"{what} has a non-finite value")
    return values


def _count(lines: _Lines, number: int, fields: list[str], what: str) -> int:
    try:
        n = int(fields[1])
    except (IndexError, ValueError):
        raise lines.fail(number, f"{what} needs a count") from None
    if n < 0:
        raise lines.fail(number, f"{what} count is negative")
    return n


def _oriented(corners: list[tuple[int, float, float]], vertices: np.ndarray, normals: np.ndarray) -> list[tuple[int, float, float]]:
    """A surface's triangles, all turned over when most of them face against the file's vertex normals."""
    if not corners:
        return corners
    index = np.array([c[0] for c in corners], dtype=np.int64).reshape(-1, 3)
    tri = vertices[index]
    facing = np.einsum("fj,fj->f", np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), normals[index].sum(1))
    if (facing < 0).sum() <= (facing > 0).sum():
        return corners
    return [c for k in range(0, len(corners), 3) for c in (corners[k + 1], corners[k], corners[k + 2])]


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _Lines(path, text)
        self.materials: list[np.ndarray] = []
        self.textures: dict[str, np.ndarray] = {}
        self.parts: list[MeshPart] = []

    def texture(self, number: int, name: str) -> np.ndarray:
        if name not in self.textures:
            candidates = [self.path.parent / name, self.path.parent / Path(name.replace("\\", "/")).name]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise self.lines.fail(number, f"texture {name!r} not found beside the file")
            with open_image(found) as image:
                self.textures[name] = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return self.textures[name]

    def read(self) -> list[MeshPart]:
        number, header = self.lines.next("the AC3D header")
        if not header.startswith("AC3D"):
            raise DataError(self.path, "is not an AC3D file (no 'AC3D' header)")
        while (line := self.lines.peek()) is not None and line.startswith("MATERIAL"):
            number, line = self.lines.next("MATERIAL")
            fields = shlex.split(line)
            if "rgb" not in fields:
                raise self.lines.fail(number, "MATERIAL has no rgb colour")
            k = fields.index("rgb")
            self.materials.append(np.clip(_numbers(self.lines, number, fields[k + 1:], 3, "rgb"), 0.0, 1.0))
        self.object(np.eye(3), np.zeros(3))
        return self.parts

    def object(self, parent_rot: np.ndarray, parent_loc: np.ndarray) -> None:
        lines = self.lines
        number, line = lines.next("OBJECT")
        if not line.startswith("OBJECT"):
            raise lines.fail(number, f"expected OBJECT, got {line[:40]!r}")
        rot, loc = np.eye(3), np.zeros(3)
        texture_name: tuple[int, str] | None = None
        rep, off = np.ones(2), np.zeros(2)
        vertices = np.zeros((0, 3))
        normals: np.ndarray | None = None
        surfaces: list[tuple[int, list[tuple[int, float, float]]]] = []
        while True:
            number, line = lines.next("kids")
            fields = shlex.split(line) if '"' in line else line.split()
            key = fields[0]
            if key == "kids":
                kids = _count(lines, number, fields, "kids")
                break
            if key == "texture" and texture_name is None and len(fields) > 1:
                texture_name = (number, fields[1])
            elif key == "texrep":
                rep = _numbers(lines, number, fields[1:], 2, "texrep")
            elif key == "texoff":
                off = _numbers(lines, number, fields[1:], 2, "texoff")
            elif key == "rot":
                rot = _numbers(lines, number, fields[1:], 9, "rot").reshape(3, 3)
            elif key == "loc":
                loc = _numbers(lines, number, fields[1:], 3, "loc")
            elif key == "data":
                size = _count(lines, number, fields, "data")
                taken = 0
                while taken < size:  # the data's characters, which may span lines
                    _, chunk = lines.next("data")
                    taken += len(chunk) + 1
            elif key == "numvert":
                n = _count(lines, number, fields, "numvert")
                rows = [lines.next("a vertex") for _ in range(n)]
                width = 6 if rows and len(rows[0][1].split()) >= 6 else 3
                values = np.stack([_numbers(lines, k, text.split(), width, "a vertex") for k, text in rows]) if rows else np.zeros((0, width))
                vertices = values[:, :3]
                normals = values[:, 3:6] if width == 6 else None
            elif key == "numsurf":
                for _ in range(_count(lines, number, fields, "numsurf")):
                    surfaces.append(self.surface(len(vertices)))
            # name, crease, url, subdiv and unknown keys: nothing to render
        if normals is not None:  # .acc strips are wound either way (two-sided in the game): face them as the normals say
            surfaces = [(m, _oriented(corners, vertices, normals)) for m, corners in surfaces]
        world_rot = parent_rot @ rot
        world_loc = parent_rot @ loc + parent_loc
        if surfaces:
            self.emit(vertices @ world_rot.T + world_loc, None if normals is None else normals @ world_rot.T,
                      surfaces, texture_name, rep, off)
        for _ in range(kids):
            self.object(world_rot, world_loc)

    def surface(self, n_vertices: int) -> tuple[int, list[tuple[int, float, float]]]:
        """One surface as (material, triangle corners): polygons as fans, ``.acc`` strips (type 4) unrolled."""
        lines = self.lines
        number, line = lines.next("SURF")
        fields = line.split()
        if fields[0] != "SURF" or len(fields) < 2:
            raise lines.fail(number, f"expected SURF, got {line[:40]!r}")
        try:
            flags = int(fields[1], 0)
        except ValueError:
            raise lines.fail(number, f"SURF flags {fields[1]!r} are not a number") from None
        material = 0
        number, line = lines.next("mat or refs")
        fields = line.split()
        if fields[0] == "mat":
            material = _count(lines, number, fields, "mat")
            number, line = lines.next("refs")
            fields = line.split()
        if fields[0] != "refs":
            raise lines.fail(number, f"expected refs, got {line[:40]!r}")
        refs = []
        for _ in range(_count(lines, number, fields, "refs")):
            k, text = lines.next("a ref")
            parts = text.split()
            values = _numbers(lines, k, parts, 3 if len(parts) >= 3 else 1, "a ref")
            index = int(values[0])
            if not 0 <= index < n_vertices:
                raise lines.fail(k, f"vertex index {index} is out of range (the object has {n_vertices})")
            refs.append((index, float(values[1]) if len(values) > 1 else 0.0, float(values[2]) if len(values) > 2 else 0.0))
        kind = flags & 0xF
        if kind not in (0, 1, 2, 4):
            raise lines.fail(number, f"SURF type {kind} (flags {flags:#x}) is not a polygon, line or triangle strip")
        if kind in (1, 2) or len(refs) < 3:  # lines, or a degenerate polygon
            return (material, [])
        if material >= len(self.materials):
            raise lines.fail(number, f"material {material} is not defined (the file has {len(self.materials)})")
        if kind == 4:  # triangle strip: (i, i+1, i+2), every other one turned to keep the winding
            corners = []
            for i in range(len(refs) - 2):
                a, b = (refs[i], refs[i + 1]) if i % 2 == 0 else (refs[i + 1], refs[i])
                if len({a[0], b[0], refs[i + 2][0]}) == 3:  # strips repeat a vertex to join: no triangle there
                    corners += [a, b, refs[i + 2]]
        else:  # polygon: a fan from its first corner
            corners = [c for j in range(1, len(refs) - 1) for c in (refs[0], refs[j], refs[j + 1])]
        return (material, corners)

    def emit(self, vertices: np.ndarray, normals: np.ndarray | None, surfaces: list, texture_name: tuple[int, str] | None,
             rep: np.ndarray, off: np.ndarray) -> None:
        texture = self.texture(*texture_name) if texture_name is not None else None
        for material in sorted({m for m, refs in surfaces if refs}):
            corners = [c for m, tri in surfaces if m == material for c in tri]  # each corner (vertex, u, v)
            table = np.array(corners, dtype=np.float64).reshape(-1, 3)
            keys, inverse = np.unique(table, axis=0, return_inverse=True)
            index = keys[:, 0].astype(np.int64)
            faces = inverse.reshape(-1, 3).astype(np.int64)
            verts = vertices[index]
            if normals is not None:
                part_normals = normals[index]
            else:  # area-weighted normals of the object's own vertices, shared across uv seams
                corner_vertex = table[:, 0].astype(np.int64).reshape(-1, 3)
                tri = vertices[corner_vertex]
                face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
                acc = np.zeros_like(vertices)
                for c in range(3):
                    np.add.at(acc, corner_vertex[:, c], face_n)
                part_normals = acc[index]
            length = np.linalg.norm(part_normals, axis=1, keepdims=True)
            part_normals = np.where(length > 1e-12, part_normals / np.maximum(length, 1e-12), np.array([0.0, 0.0, 1.0]))
            uv = keys[:, 1:] * rep + off if texture is not None else None
            smooth = smooth_normals_fit(verts, faces, part_normals)
            self.parts.append(MeshPart(verts, faces, part_normals, self.materials[material].copy(), uv, texture, None, smooth))


def read_ac3d(path: str | Path) -> list[MeshPart]:
    """The triangles of an AC3D / ``.acc`` file, one part per object and material, in the file's own frame.

    Raises :class:`DataError` naming the file (and the line) when it is malformed or holds no triangles."""
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise DataError(path, f"cannot read the file ({exc.strerror})") from None
    parts = _Reader(path, text).read()
    if not parts:
        raise DataError(path, "holds no triangles")
    return parts
