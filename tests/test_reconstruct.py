"""``sceneprior reconstruct``: complete, readable outputs; bad inputs end with one line, a non-zero exit and no
output folder; a failed run leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sceneprior.cli.main import main
from sceneprior.training.tiny import save_tiny_run

VIEWS = 5


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return save_tiny_run(tmp_path_factory.mktemp("runs") / "tiny", "pixelnerf", resolution=32)


@pytest.fixture(scope="module")
def reconstruction(tiny_run, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("rec") / "car"
    proc = subprocess.run(
        [sys.executable, "-m", "sceneprior", "reconstruct", "--model", str(tiny_run), "--out", str(out), "--views",
         str(VIEWS), "--resolution", "48", "--mesh-resolution", "24"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_outputs_are_complete_and_readable(reconstruction):
    import imageio.v2 as imageio
    import trimesh

    out, stdout = reconstruction
    for name in ("index.html", "turntable.mp4", "turntable.gif", "mesh.ply", "mesh.glb", "input.png", "summary.json"):
        assert (out / name).is_file(), name
        assert str(out / name) in stdout  # every file is printed
    for stage in ("load model", "preprocess", "inference", "render views", "mesh"):
        assert re.search(rf"{stage} \d+\.\d\d s", stdout), stage
    frames = imageio.mimread(out / "turntable.mp4", memtest=False)
    assert len(frames) == VIEWS and frames[0].shape[:2] == (48, 48)
    with Image.open(out / "turntable.gif") as gif:
        assert gif.n_frames == VIEWS and gif.size == (48, 48)
    for sub, prefix in (("views", "view"), ("depth", "depth"), ("normals", "normals")):
        files = sorted((out / sub).glob("*.png"))
        assert [f.name for f in files] == [f"{prefix}_{k:03d}.png" for k in range(VIEWS)]
        with Image.open(files[0]) as image:
            assert image.size == (48, 48) and image.mode == "RGB"
    ply = trimesh.load(out / "mesh.ply", force="mesh")
    glb = trimesh.load(out / "mesh.glb", force="mesh")
    for mesh in (ply, glb):
        assert len(mesh.faces) > 0 and mesh.visual.kind == "vertex"
        assert mesh.visual.vertex_colors.shape == (len(mesh.vertices), 4)
    assert len(ply.faces) == len(glb.faces)


def test_index_html_references_every_file_and_inlines_the_mesh(reconstruction):
    import trimesh

    from sceneprior.inference.viewer import decode_payload

    out, _ = reconstruction
    page = (out / "index.html").read_text()
    referenced = set(re.findall(r"(?:src|href)='([^']+)'", page))
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"index.html", "summary.json",
                                                                                   ".sceneprior-outputs.json"}
    assert written <= referenced, written - referenced
    assert all((out / ref).is_file() for ref in referenced)
    assert "http://" not in page and "https://" not in page  # works offline: nothing fetched from elsewhere
    payload = json.loads(re.search(r"<script type='application/json' id='mesh-data'>(.*?)</script>", page, re.S).group(1))
    positions, colours, indices = decode_payload(payload)
    ply = trimesh.load(out / "mesh.ply", force="mesh")
    assert np.allclose(positions, ply.vertices, atol=1e-5)
    assert np.array_equal(colours, ply.visual.vertex_colors[:, :3])
    assert np.array_equal(indices, ply.faces)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["normals"].startswith("world space") and summary["crop"]["mask_from"] == "background"
    assert set(summary["files"]) >= {"input", "views", "depth", "normals", "turntable", "mesh", "index"}


def _bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    paths["text"] = folder / "notes.png"
    paths["text"].write_text("this is not an image\n")
    paths["empty"] = folder / "empty.png"
    paths["empty"].write_bytes(b"")
    good = folder / "good.png"
    rgb = np.full((64, 64, 3), 255, np.uint8)
    rgb[20:40, 20:44] = (30, 120, 40)
    Image.fromarray(rgb).save(good)
    paths["truncated"] = folder / "truncated.png"
    paths["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    paths["tiny"] = folder / "tiny.png"
    Image.new("RGB", (1, 1), (0, 0, 0)).save(paths["tiny"])
    paths["huge"] = folder / "huge.png"
    Image.new("L", (8000, 6250), 255).save(paths["huge"])  # 50 megapixels, a small file
    paths["white"] = folder / "white.png"
    Image.new("RGB", (64, 64), (255, 255, 255)).save(paths["white"])
    paths["transparent"] = folder / "transparent.png"
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(paths["transparent"])
    paths["missing"] = folder / "missing.png"
    return paths


EXPECTED = {"text": "not a readable image", "empty": "empty", "truncated": "truncated", "tiny": "too small",
            "huge": "megapixels", "white": "no object", "transparent": "no object", "missing": "not found"}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_input_is_one_line_nonzero_and_leaves_no_folder(case, tiny_run, tmp_path, capsys):
    path = _bad_inputs(tmp_path / "inputs")[case]
    out = tmp_path / "out"
    code = main(["reconstruct", str(path), "--model", str(tiny_run), "--out", str(out)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("error: ") and EXPECTED[case] in lines[0], captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_bad_input_through_the_real_command(tiny_run, tmp_path):
    path = _bad_inputs(tmp_path / "inputs")["truncated"]
    proc = subprocess.run([sys.executable, "-m", "sceneprior", "reconstruct", str(path), "--model", str(tiny_run),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_failure_while_writing_leaves_no_folder(tiny_run, tmp_path, monkeypatch, capsys):
    from sceneprior.inference import outputs

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "write_videos", broken)
    out = tmp_path / "out"
    code = main(["reconstruct", "--model", str(tiny_run), "--out", str(out), "--views", "2", "--resolution", "16",
                 "--no-mesh"])
    assert code != 0 and "disk full" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_folder_that_is_not_a_reconstruction(tiny_run, tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    assert main(["reconstruct", "--model", str(tiny_run), "--out", str(out)]) != 0
    assert "was not written by sceneprior" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_rgba_photo_and_model_without_geometry(tmp_path, capsys):
    """The bundled RGBA cut-out is found by its alpha; a model without 3D geometry (the 2D auto-encoder) writes
    views but says why there is no mesh (and no depth or normal maps)."""
    from sceneprior.api import example_images

    run = save_tiny_run(tmp_path / "autoencoder", "autoencoder", resolution=32)
    out = tmp_path / "out"
    code = main(["reconstruct", str(example_images()[1]), "--model", str(run), "--out", str(out), "--views", "2",
                 "--resolution", "16", "--steps", "2"])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "object found from alpha" in stdout and "no 3D geometry" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert "mesh" not in summary["files"] and len(summary["files"]["views"]) == 2 and summary["files"]["depth"] == []


def test_splatter_model_writes_its_gaussians_as_a_3dgs_ply(tmp_path, capsys):
    """A splat model's reconstruction holds splats.ply (read by a format-level PLY reader: every Gaussian that can
    show, with the activations 3DGS viewers apply) and the splat viewer's data in index.html."""
    import base64

    import torch

    from sceneprior.api import example_images, load_model, reconstruct
    from test_gaussian_ply import STANDARD, read_ply_vertices

    run = save_tiny_run(tmp_path / "splatter", "splatter", resolution=32)
    out = tmp_path / "out"
    assert main(["reconstruct", "--model", str(run), "--out", str(out), "--views", "3", "--resolution", "32",
                 "--mesh-resolution", "24"]) == 0
    assert f"{out / 'splats.ply'}" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"]["splats"] == ["splats.ply"]
    data = read_ply_vertices(out / "splats.ply")
    assert list(data.dtype.names) == STANDARD
    splats = reconstruct(load_model(run), example_images()[0]).splats()  # the same photo, the same Gaussians
    visible = splats.opacities[0] >= 1 / 255
    assert len(data) == int(visible.sum()) == 32 * 32  # untrained: every opacity is sigmoid(-3) > 1/255
    np.testing.assert_allclose(1 / (1 + np.exp(-data["opacity"])), splats.opacities[0][visible].numpy(), rtol=1e-4)
    np.testing.assert_allclose(np.stack([data["x"], data["y"], data["z"]], -1), splats.means[0][visible].numpy(), atol=1e-4)
    page = (out / "index.html").read_text()
    assert "id='splat-viewer'" in page and "href='splats.ply'" in page
    payload = json.loads(re.search(r"<script type='application/json' id='splat-data'>(.*?)</script>", page, re.S).group(1))
    assert payload["count"] == len(data) and len(base64.b64decode(payload["positions"])) == 12 * len(data)
    assert torch.isfinite(splats.means).all()
