"""``sceneprior data render-meshes``: reading and normalising meshes (always), and rendering them with Mitsuba
(the ``render`` extra, installed by ``setup.sh --dev``) into a dataset whose depth reprojects onto the mesh."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sceneprior.data.meshes.dataset import assign_splits, sample_points
from sceneprior.data.meshes.normalise import Normalisation, find_meshes, load_mesh_parts, normalise_parts
from sceneprior.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# a box 2 x 1 x 0.5 (x, y, z) centred at (3, 4, 5): the 8 corners and 12 triangles (outward winding)
BOX_HALF = np.array([1.0, 0.5, 0.25])
BOX_CENTRE = np.array([3.0, 4.0, 5.0])


def _box() -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    box = trimesh.creation.box(extents=2 * BOX_HALF)
    return np.asarray(box.vertices) + BOX_CENTRE, np.asarray(box.faces)


_H = 0.5
#: the unit cube's faces, corners bottom-left, bottom-right, top-right, top-left as seen from outside
CUBE_QUADS = [
    ((-_H, -_H, _H), (_H, -_H, _H), (_H, _H, _H), (-_H, _H, _H)),  # +z
    ((_H, -_H, -_H), (-_H, -_H, -_H), (-_H, _H, -_H), (_H, _H, -_H)),  # -z
    ((_H, -_H, _H), (_H, -_H, -_H), (_H, _H, -_H), (_H, _H, _H)),  # +x
    ((-_H, -_H, -_H), (-_H, -_H, _H), (-_H, _H, _H), (-_H, _H, -_H)),  # -x
    ((-_H, _H, _H), (_H, _H, _H), (_H, _H, -_H), (-_H, _H, -_H)),  # +y
    ((-_H, -_H, -_H), (_H, -_H, -_H), (_H, -_H, _H), (-_H, -_H, _H)),  # -y
]


def write_cube_texture(path: Path) -> None:
    """An 8x8 PNG: top half red, bottom half blue."""
    texture = np.zeros((8, 8, 3), dtype=np.uint8)
    texture[:4] = (220, 20, 20)
    texture[4:] = (20, 20, 220)
    Image.fromarray(texture).save(path)


def write_textured_obj(folder: Path, name: str = "cube") -> Path:
    """A textured unit cube (OBJ + MTL + PNG): on every face the texture's top half (red) is up (+y on the side
    faces) and its bottom half blue; faces wound outwards."""
    folder.mkdir(parents=True, exist_ok=True)
    write_cube_texture(folder / f"{name}.png")
    (folder / f"{name}.mtl").write_text(f"newmtl paint\nKd 1 1 1\nmap_Kd {name}.png\n")
    lines = [f"mtllib {name}.mtl", "vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1", "usemtl paint"]
    for k, quad in enumerate(CUBE_QUADS):
        lines += ["v {} {} {}".format(*v) for v in quad]
        i = 4 * k + 1
        lines += [f"f {i}/1 {i + 1}/2 {i + 2}/3", f"f {i}/1 {i + 2}/3 {i + 3}/4"]
    path = folder / f"{name}.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_box_ply(path: Path) -> Path:
    import trimesh

    v, f = _box()
    colours = np.tile(np.array([[40, 200, 60, 255]], dtype=np.uint8), (len(v), 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(trimesh.Trimesh(v, f, vertex_colors=colours, process=False).export(file_type="ply"))
    return path


def write_box_off(path: Path) -> Path:
    v, f = _box()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["OFF", f"{len(v)} {len(f)} 0"] + ["{} {} {}".format(*p) for p in v] + ["3 {} {} {}".format(*t) for t in f]
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------------------------- pure parts


def test_normalisation_turns_up_and_forward_centres_and_scales():
    norm = Normalisation(up="+z", forward="-y", target_forward="+x", extent=0.8)
    rot = norm.rotation()
    np.testing.assert_allclose(rot @ [0, 0, 1], [0, 1, 0], atol=1e-12)  # up -> +y
    np.testing.assert_allclose(rot @ [0, -1, 0], [1, 0, 0], atol=1e-12)  # forward -> +x
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    v, f = _box()
    from sceneprior.data.meshes.normalise import MeshPart

    part = MeshPart(v, f, np.tile([0.0, 0.0, 1.0], (len(v), 1)), np.ones(3))
    (out,), info = normalise_parts([part], norm)
    lo, hi = out.vertices.min(0), out.vertices.max(0)
    np.testing.assert_allclose(lo + hi, 0.0, atol=1e-12)  # bounding-box centre at the origin
    assert (hi - lo).max() == pytest.approx(0.8)
    # the box's x extent (2, the longest) lies along the world's z after the turn (mesh x = right -> world -z or +z)
    np.testing.assert_allclose(sorted(hi - lo), sorted([0.8, 0.4, 0.2]), atol=1e-12)
    assert (hi - lo)[1] == pytest.approx(0.2)  # mesh z (0.5 long) is now up
    np.testing.assert_allclose(out.normals[0], [0, 1, 0], atol=1e-12)  # normals turn with the mesh
    assert info["scale"] == pytest.approx(0.4)
    with pytest.raises(ConfigError, match="different axes"):
        Normalisation(up="+z", forward="-z").rotation()
    with pytest.raises(ConfigError, match="axis must be"):
        Normalisation(up="up").rotation()


def test_every_format_is_read_with_its_colours(tmp_path):
    obj = write_textured_obj(tmp_path / "m" / "cube")
    (parts_obj) = load_mesh_parts(obj)
    assert len(parts_obj) == 1 and parts_obj[0].texture is not None and parts_obj[0].texture.shape == (8, 8, 3)
    assert parts_obj[0].uv is not None and parts_obj[0].uv.shape == (len(parts_obj[0].vertices), 2)
    ply = load_mesh_parts(write_box_ply(tmp_path / "m" / "box.ply"))
    assert ply[0].vertex_colours is not None and tuple(ply[0].vertex_colours[0]) == (40, 200, 60)
    off = load_mesh_parts(write_box_off(tmp_path / "m" / "box.off"))
    assert len(off[0].faces) == 12 and off[0].texture is None
    import trimesh

    glb = tmp_path / "m" / "two.glb"
    scene = trimesh.Scene()
    v, f = _box()
    scene.add_geometry(trimesh.Trimesh(v, f, process=False), geom_name="a")
    moved = np.eye(4)
    moved[0, 3] = 10.0
    scene.add_geometry(trimesh.Trimesh(v, f, process=False), geom_name="b", transform=moved)
    glb.write_bytes(scene.export(file_type="glb"))
    parts = load_mesh_parts(glb)
    assert len(parts) == 2
    xs = sorted(p.vertices[:, 0].mean() for p in parts)
    assert xs == pytest.approx([3.0, 13.0])  # node transforms applied
    names = [p.name for p in find_meshes(tmp_path / "m")]
    assert names == ["box.off", "box.ply", "cube.obj", "two.glb"]


def test_an_unreadable_mesh_is_a_one_line_error_naming_the_file(tmp_path):
    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"glTF\x02\x00\x00\x00garbage")
    with pytest.raises(DataError) as info:
        load_mesh_parts(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    empty = tmp_path / "empty.obj"
    empty.write_text("# nothing\n")
    with pytest.raises(DataError, match="no triangles|cannot read"):
        load_mesh_parts(empty)


def test_splits_are_deterministic_and_test_repeats_in_ood():
    meshes = [Path(f"m{i:02d}.obj") for i in range(20)]
    a, b = assign_splits(meshes, "auto", 3), assign_splits(meshes, "auto", 3)
    assert a == b and len(a["val"]) == 1 and len(a["test"]) == 2 and len(a["train"]) == 17
    assert a["test_ood_pose"] == a["test"]
    assert sorted(sum((a[s] for s in ("train", "val", "test")), [])) == meshes
    assert assign_splits(meshes, "auto", 4) != a
    only = assign_splits(meshes, "test", 0)
    assert set(only) == {"test", "test_ood_pose"} and only["test"] == meshes
    assert set(assign_splits(meshes, "test", 0, ood=False)) == {"test"}


def test_surface_samples_lie_on_the_mesh():
    v, f = _box()
    from sceneprior.data.meshes.normalise import MeshPart

    part = MeshPart(v - BOX_CENTRE, f, np.zeros_like(v), np.ones(3))
    points, normals = sample_points([part], 500, np.random.default_rng(0))
    q = np.abs(points) / BOX_HALF
    assert np.allclose(q.max(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------------------------- rendering

mitsuba = pytest.importorskip("mitsuba", reason="the render extra (pip install 'sceneprior[render]') is not installed")


def test_render_meshes_writes_a_dataset_whose_depth_reprojects_onto_the_mesh(tmp_path, capsys):
    from sceneprior.cli.main import main
    from sceneprior.data.srn import SRNDataset

    meshes = tmp_path / "meshes"
    write_box_off(meshes / "a_box.off")
    write_box_ply(meshes / "b_box.ply")
    write_textured_obj(meshes / "c_cube")
    (meshes / "d_broken.glb").write_bytes(b"not a mesh at all")
    out = tmp_path / "data"
    code = main(["data", "render-meshes", str(meshes), "--out", str(out), "--split", "test", "--views", "4",
                 "--resolution", "32", "--spp", "4", "--threads", "1", "--up", "+y", "--forward", "+x"])
    err = capsys.readouterr().err
    assert code == 1  # one mesh left out
    broken = [line for line in err.splitlines() if "d_broken.glb" in line and line.startswith("error: ")]
    assert len(broken) == 1 and len([line for line in err.splitlines() if line.startswith("error: ")]) == 1
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["splits"] == {"test": 3, "test_ood_pose": 3} and meta["input_views"]["test"] == [0, 1]
    assert meta["sources"]["test"] == ["a_box.off", "b_box.ply", "c_cube/cube.obj"] and len(meta["failed"]) == 1
    assert main(["data", "check", str(out), "--json"]) == 0

    # a_box: after normalisation a box of half extents 0.45, 0.225, 0.1125 centred at the origin
    half = BOX_HALF * 0.9 / 2.0
    dataset = SRNDataset(out / "cars_test")
    scene = dataset[0]
    for k in range(4):
        depth, mask = scene.depths[k, 0].numpy(), scene.masks[k, 0].numpy() > 0.5
        assert mask.sum() > 30
        K, c2w = scene.intrinsics[k].numpy(), scene.cam2world[k].numpy()
        ys, xs = np.nonzero(mask)
        z = depth[ys, xs]
        cam = np.stack([(xs + 0.5 - K[0, 2]) / K[0, 0] * z, (ys + 0.5 - K[1, 2]) / K[1, 1] * z, z], 1)
        world = cam @ c2w[:3, :3].T + c2w[:3, 3]
        # every depth pixel back-projects onto the box's surface (within the 16-bit depth step)
        on_surface = np.abs(np.abs(world) / half).max(1)
        assert np.abs(on_surface - 1.0).max() < 0.01
        # the mask is the box's silhouette: pixels inside it are not white, pixels away from it are
        from scipy.ndimage import binary_dilation

        rgb = scene.images[k].numpy().transpose(1, 2, 0)
        assert (rgb[mask].min(1) < 0.9).mean() > 0.95 and (rgb[~binary_dilation(mask)].min(1) > 0.98).mean() > 0.99
        normals = scene.normals[k].numpy().transpose(1, 2, 0)[mask]
        axis = np.argmax(np.abs(world) / half, axis=1)
        expected = np.zeros_like(world)
        expected[np.arange(len(axis)), axis] = np.sign(world[np.arange(len(axis)), axis])
        assert ((normals * expected).sum(1) > 0.95).mean() > 0.9  # world normals of the faces, towards the camera
    # the vertex-coloured PLY renders green; the textured cube shows red above blue on its side faces
    green = dataset[1]
    g = green.images[0].numpy().transpose(1, 2, 0)[green.masks[0, 0].numpy() > 0.5].mean(0)
    assert g[1] > g[0] + 0.2 and g[1] > g[2] + 0.2


def test_textures_are_not_upside_down(tmp_path):
    """A camera level with a side face of the textured cube sees the texture's top rows (red) above its bottom
    rows (blue)."""
    import torch

    from sceneprior.data.generator import intrinsics_for, orbit_cameras
    from sceneprior.data.meshes.mitsuba_render import MeshRenderer

    parts, _ = normalise_parts(load_mesh_parts(write_textured_obj(tmp_path / "cube")), Normalisation(extent=0.5))
    cam = orbit_cameras(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.5]))[0].numpy()  # looks along -z
    with MeshRenderer(parts, spp=8) as renderer:
        out = renderer.render(cam, intrinsics_for(32, 40.0).numpy(), 32, 32)
    rgb, mask = out["rgb"], out["mask"]
    rows = np.nonzero(mask.any(1))[0]
    top = rgb[rows[1] : rows[len(rows) // 2 - 1]][mask[rows[1] : rows[len(rows) // 2 - 1]]].mean(0)
    bottom = rgb[rows[len(rows) // 2 + 1] : rows[-1]][mask[rows[len(rows) // 2 + 1] : rows[-1]]].mean(0)
    assert top[0] > top[2] + 0.2 and bottom[2] > bottom[0] + 0.2, (top, bottom)
    # z-depth of the face at z = +0.25 seen from distance 1.5 along +z
    assert np.median(out["depth"][mask]) == pytest.approx(1.25, abs=0.01)
