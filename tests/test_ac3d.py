"""The AC3D / TORCS ``.acc`` reader (data/meshes/ac3d.py), on files the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sceneprior.data.meshes.ac3d import read_ac3d
from sceneprior.data.meshes.normalise import MESH_SUFFIXES, Normalisation, find_meshes, load_mesh_parts, normalise_parts
from sceneprior.errors import DataError
from test_render_meshes import CUBE_QUADS as QUADS
from test_render_meshes import write_cube_texture as write_texture

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H = 0.5  # half the cube's side
UV = ((0, 0), (1, 0), (1, 1), (0, 1))  # OpenGL: v = 1 is the texture's top row


def write_cube_ac(folder: Path, loc=(0.0, 0.0, 0.0), rot_z_deg: float = 0.0, texrep=(1.0, 1.0)) -> Path:
    """A textured cube as an AC3D file: a group moved by ``loc`` holding a poly object turned ``rot_z_deg`` about z,
    six quads (polygons) and one line surface (to be skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_texture(folder / "paint.png")
    c, s = np.cos(np.radians(rot_z_deg)), np.sin(np.radians(rot_z_deg))
    rot = [c, -s, 0, s, c, 0, 0, 0, 1]  # row-major
    verts = [v for quad in QUADS for v in quad]
    lines = ["AC3Db", 'MATERIAL "white" rgb 1 1 1  amb 0.2 0.2 0.2  emis 0 0 0  spec 0.5 0.5 0.5  shi 10  trans 0',
             'MATERIAL "red" rgb 0.9 0.1 0.1  amb 0.2 0.2 0.2  emis 0 0 0  spec 0.5 0.5 0.5  shi 10  trans 0',
             "OBJECT world", "kids 1", "OBJECT group", 'name "car"', "loc {} {} {}".format(*loc), "kids 1",
             "OBJECT poly", 'name "the body"', "data 5", "hello", 'texture "paint.png"', "texrep {} {}".format(*texrep),
             "rot " + " ".join(f"{v:.9f}" for v in rot), "crease 45.0", f"numvert {len(verts)}"]
    lines += ["{} {} {}".format(*v) for v in verts]
    lines += [f"numsurf {len(QUADS) + 1}"]
    for k in range(len(QUADS)):
        lines += ["SURF 0x10", "mat 0", "refs 4"] + [f"{4 * k + j} {UV[j][0]} {UV[j][1]}" for j in range(4)]
    lines += ["SURF 0x02", "mat 1", "refs 2", "0 0 0", "1 0 0"]  # a line: not rendered
    lines += ["kids 0"]
    path = folder / "cube.ac"
    path.write_text("\n".join(lines) + "\n")
    return path


def _face_normals(part) -> np.ndarray:
    tri = part.vertices[part.faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def test_ac_polygons_transforms_uvs_and_winding(tmp_path):
    loc = np.array([1.0, 2.0, 3.0])
    parts = read_ac3d(write_cube_ac(tmp_path, loc=tuple(loc), rot_z_deg=90.0, texrep=(2.0, 1.0)))
    assert len(parts) == 1  # the line's material (1) makes no part
    part = parts[0]
    assert part.faces.shape == (12, 3) and part.texture is not None and part.texture.shape == (8, 8, 3)
    np.testing.assert_allclose(part.colour, [1.0, 1.0, 1.0])
    # world = loc + R_z(90) v: the cube's corners, turned (a cube turned 90 degrees is the same set), then moved
    np.testing.assert_allclose(np.sort(np.unique(part.vertices.round(9), axis=0), axis=0),
                               np.sort(np.unique(np.array([v for q in QUADS for v in q]) + loc, axis=0), axis=0), atol=1e-9)
    # counter-clockwise polygons face outwards after the transform
    centres = part.vertices[part.faces].mean(1) - loc
    assert (np.einsum("fj,fj->f", _face_normals(part), centres) > 0).all()
    # the +z quad's corner (-H, -H, H) turned by 90 degrees about z is (H, -H, H): its uv is (0, 0), texrep 2 in u
    k = np.argmin(np.linalg.norm(part.vertices - (loc + [H, -H, H]), axis=1) + 10 * (np.abs(part.normals[:, 2] - 1) > 1e-6))
    assert part.normals[k, 2] == pytest.approx(1.0)
    assert tuple(part.uv.max(0)) == (2.0, 1.0) and tuple(part.uv.min(0)) == (0.0, 0.0)
    # uv per corner: vertices are split at the cube's edges (24 corners with their own uv and normal)
    assert len(part.vertices) == 24


def test_acc_triangle_strips_and_vertex_normals(tmp_path):
    """A TORCS-style .acc: vertex lines carry normals, refs carry several uv pairs, SURF type 4 is a strip."""
    write_texture(tmp_path / "car.rgb.png")
    # a strip over a 1 x 3 row of squares in the plane y = 0, facing +y: corners zig-zag bottom/top
    xs = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    zs = [0.0, -1.0, 0.0, -1.0, 0.0, -1.0]
    lines = ["AC3Db", 'MATERIAL "m" rgb 0.5 0.6 0.7 amb 1 1 1 emis 0 0 0 spec 0 0 0 shi 0 trans 0', "OBJECT world", "kids 1",
             "OBJECT poly", 'name "strip"', 'texture "car.rgb.png" base', 'texture "car.rgb.png" tiled', 'texture "shadow.rgb" shad',
             "numvert 6"] + [f"{x} 0 {z} 0 1 0" for x, z in zip(xs, zs)]
    strip = [0, 1, 2, 3, 3, 3, 4, 5]  # vertex 3 repeated, as strips do to join: degenerate triangles, left out
    lines += ["numsurf 1", "SURF 0x34", "mat 0", f"refs {len(strip)}"] + [f"{j} {xs[j] / 2} {-zs[j]} 0.1 0.2 0.3 0.4" for j in strip]
    lines += ["kids 0"]
    path = tmp_path / "car.acc"
    path.write_text("\n".join(lines) + "\n")
    (part,) = load_mesh_parts(path)  # load_mesh_parts dispatches .acc to the AC3D reader
    assert part.faces.shape == (3, 3)  # 6 triangles of the strip, 3 degenerate
    # every strip triangle wound the same way: facing +y, like the file's normals (this strip starts clockwise)
    np.testing.assert_allclose(_face_normals(part), np.tile([0.0, 1.0, 0.0], (3, 1)), atol=1e-12)
    np.testing.assert_allclose(part.normals, np.tile([0.0, 1.0, 0.0], (len(part.vertices), 1)))
    np.testing.assert_allclose(part.uv[:, 0], part.vertices[:, 0] / 2)  # the first uv pair, not the others
    np.testing.assert_allclose(part.colour, [0.5, 0.6, 0.7])
    # the strip's triangles (0,1,2), (1,2,3), (3,4,5) with the join: area 1.5 of the 2 x 1 rectangle
    tri = part.vertices[part.faces]
    assert 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum() == pytest.approx(1.5)


def test_ac3d_files_are_found_and_normalised(tmp_path):
    assert ".ac" in MESH_SUFFIXES and ".acc" in MESH_SUFFIXES
    path = write_cube_ac(tmp_path / "m", loc=(5.0, 0.0, 0.0))
    assert find_meshes(tmp_path) == [path]
    parts, info = normalise_parts(load_mesh_parts(path), Normalisation(extent=0.5))
    allv = np.concatenate([p.vertices for p in parts])
    np.testing.assert_allclose(allv.min(0), [-0.25] * 3, atol=1e-9)
    np.testing.assert_allclose(allv.max(0), [0.25] * 3, atol=1e-9)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("AC3Db", "OBJ"), "is not an AC3D file"),
        (lambda t: t.replace('texture "paint.png"', 'texture "missing.png"'), "texture 'missing.png' not found"),
        (lambda t: t.replace("\n22 1 1\n", "\n99 1 1\n"), "vertex index 99 is out of range"),
        (lambda t: t.replace("SURF 0x02", "SURF 0x07"), "SURF type 7"),
        (lambda t: t.replace("SURF 0x10\nmat 0", "SURF 0x10\nmat 5", 1), "material 5 is not defined"),
        (lambda t: t[: t.index("numsurf")], "ends early"),
        (lambda t: t.replace("\n0.5 0.5 0.5\n", "\n0.5 x 0.5\n", 1), "not a number"),
    ],
)
def test_malformed_files_are_one_line_errors_naming_the_file(tmp_path, edit, message):
    path = write_cube_ac(tmp_path)
    text = path.read_text()
    edited = edit(text)
    assert edited != text, "the edit did not apply"
    path.write_text(edited)
    with pytest.raises(DataError) as info:
        load_mesh_parts(path)
    text = str(info.value)
    assert "cube.ac" in text and message in text and "\n" not in text


def test_an_ac3d_texture_renders_the_right_way_up(tmp_path):
    """Rendered with the mesh renderer, a side face of the AC3D cube shows the texture's top (red) above its
    bottom (blue): the reader's uvs follow the OpenGL convention MeshPart states."""
    import torch

    from sceneprior.data.generator import intrinsics_for, orbit_cameras
    from sceneprior.data.meshes.mitsuba_render import MeshRenderer

    parts, _ = normalise_parts(read_ac3d(write_cube_ac(tmp_path)), Normalisation(extent=0.5))
    cam = orbit_cameras(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.5]))[0].numpy()
    with MeshRenderer(parts, spp=8) as renderer:
        out = renderer.render(cam, intrinsics_for(32, 40.0).numpy(), 32, 32)
    rgb, mask = out["rgb"], out["mask"]
    rows = np.nonzero(mask.any(1))[0]
    upper = slice(rows[1], rows[len(rows) // 2 - 1])
    lower = slice(rows[len(rows) // 2 + 1], rows[-1])
    top, bottom = rgb[upper][mask[upper]].mean(0), rgb[lower][mask[lower]].mean(0)
    assert top[0] > top[2] + 0.2 and bottom[2] > bottom[0] + 0.2, (top, bottom)
