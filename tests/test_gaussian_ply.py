"""The 3DGS PLY writer, read back by a parser written against the PLY format (not our writer's inverse) and by
trimesh's PLY loader; the file's Gaussians render the same image as the originals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sceneprior.geometry import intrinsics_matrix, look_at
from sceneprior.meshing.gaussian_ply import write_gaussian_ply
from sceneprior.renderers.gaussians import Gaussians, rasterize_gaussians

# the 3DGS layout for SH degree 3 (graphdeco-inria/gaussian-splatting construct_list_of_attributes): 62 floats
STANDARD = (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"] + [f"f_rest_{i}" for i in range(45)]
            + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])
PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2", "ushort": "u2",
             "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4",
             "double": "f8", "float64": "f8"}


def read_ply_vertices(path) -> np.ndarray:
    """A minimal reader of the PLY format (binary little/big endian, scalar vertex properties), from the spec:
    header lines up to ``end_header``, then the vertex records."""
    raw = path.read_bytes()
    end = raw.index(b"end_header") + len(b"end_header")
    end = raw.index(b"\n", end) + 1
    lines = raw[:end].decode("ascii").splitlines()
    assert lines[0] == "ply"
    fmt = lines[1].split()
    assert fmt[0] == "format" and fmt[2] == "1.0"
    order = {"binary_little_endian": "<", "binary_big_endian": ">"}[fmt[1]]
    fields, count, in_vertex = [], None, False
    for line in lines[2:]:
        words = line.split()
        if words[0] == "element":
            in_vertex = words[1] == "vertex"
            if in_vertex:
                count = int(words[2])
        elif words[0] == "property" and in_vertex:
            assert words[1] != "list"
            fields.append((words[2], order + PLY_TYPES[words[1]]))
    dtype = np.dtype(fields)
    return np.frombuffer(raw, dtype=dtype, count=count, offset=end)


def _gaussians(n=50, seed=0) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    opacities = 0.05 + 0.9 * torch.rand(1, n, generator=g)
    opacities[0, :3] = 1e-3  # below 1/255: never rendered, left out of the file
    return Gaussians(
        means=(torch.rand(1, n, 3, generator=g) - 0.5) * 0.6,
        scales=0.01 + 0.05 * torch.rand(1, n, 3, generator=g),
        rotations=torch.randn(1, n, 4, generator=g),
        opacities=opacities,
        colors=torch.rand(1, n, 3, generator=g),
    )


def test_ply_layout_and_values(tmp_path):
    g = _gaussians()
    path = write_gaussian_ply(g, tmp_path / "splats.ply")
    data = read_ply_vertices(path)
    assert list(data.dtype.names) == STANDARD
    assert all(data.dtype[name] == np.dtype("<f4") for name in STANDARD)
    keep = g.opacities[0] >= 1 / 255
    assert len(data) == int(keep.sum()) == 47
    kept = lambda t: t[0][keep].double().numpy()  # noqa: E731
    np.testing.assert_allclose(np.stack([data["x"], data["y"], data["z"]], -1), kept(g.means), atol=1e-6)
    assert not np.any(np.stack([data["nx"], data["ny"], data["nz"]]))
    # activations as 3DGS applies them: sigmoid, exp, normalise, 0.5 + C0 * dc
    np.testing.assert_allclose(1 / (1 + np.exp(-data["opacity"].astype(np.float64))), kept(g.opacities), rtol=1e-5)
    scales = np.exp(np.stack([data[f"scale_{i}"] for i in range(3)], -1).astype(np.float64))
    np.testing.assert_allclose(scales, kept(g.scales), rtol=1e-5)
    q = np.stack([data[f"rot_{i}"] for i in range(4)], -1).astype(np.float64)
    q_ref = kept(g.rotations)
    q_ref /= np.linalg.norm(q_ref, axis=-1, keepdims=True)
    np.testing.assert_allclose(q / np.linalg.norm(q, axis=-1, keepdims=True), q_ref, atol=1e-6)  # w first
    rgb = 0.5 + 0.28209479177387814 * np.stack([data[f"f_dc_{i}"] for i in range(3)], -1)
    np.testing.assert_allclose(rgb, kept(g.colors), atol=1e-6)
    assert not np.any(np.stack([data[f"f_rest_{i}"] for i in range(45)]))


def test_ply_reads_in_trimesh(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    g = _gaussians(seed=1)
    path = write_gaussian_ply(g, tmp_path / "splats.ply")
    cloud = trimesh.load(path, process=False)
    ours = read_ply_vertices(path)
    np.testing.assert_allclose(np.asarray(cloud.vertices), np.stack([ours["x"], ours["y"], ours["z"]], -1), atol=1e-7)
    raw = cloud.metadata["_ply_raw"]["vertex"]["data"]
    for name in ("opacity", "scale_2", "rot_0", "f_dc_1", "f_rest_44"):
        np.testing.assert_array_equal(np.asarray(raw[name]).reshape(-1), ours[name])


def test_ply_gaussians_render_like_the_originals(tmp_path):
    g = _gaussians(seed=2)
    data = read_ply_vertices(write_gaussian_ply(g, tmp_path / "splats.ply"))
    col = lambda *names: torch.from_numpy(np.stack([data[n] for n in names], -1).astype(np.float32))[None]  # noqa: E731
    loaded = Gaussians(
        means=col("x", "y", "z"), scales=torch.exp(col("scale_0", "scale_1", "scale_2")),
        rotations=col("rot_0", "rot_1", "rot_2", "rot_3"), opacities=torch.sigmoid(col("opacity"))[..., 0],
        colors=0.5 + 0.28209479177387814 * col("f_dc_0", "f_dc_1", "f_dc_2"),
    )
    cam2world = look_at(torch.tensor([0.4, -0.5, -1.5]), torch.zeros(3), torch.tensor([0.0, -1.0, 0.0]))[None]
    K = intrinsics_matrix(40.0, 40.0, 16.0, 16.0)[None]
    with torch.no_grad():
        a = rasterize_gaussians(g, cam2world, K, 32, 32)
        b = rasterize_gaussians(loaded, cam2world, K, 32, 32)
    assert float((a.alpha < 0.99).float().mean()) > 0.1 and float(a.alpha.max()) > 0.5
    torch.testing.assert_close(a.rgb, b.rgb, atol=1e-5, rtol=0)
