"""``sceneprior data check``: the JSON report's schema and values, the summary, the plot, exit codes, and the
dataset folder left untouched."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sceneprior.cli.main import main
from sceneprior.data.check import check_dataset, fundamental_matrix, rig_look_at
from test_loaders import make_blender_dataset, make_srn_dataset, ring_cameras, sphere_views, write_metadata


def tree_digest(folder: Path) -> str:
    """Hash of every path, size and content under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "cwd"
    out.mkdir()
    monkeypatch.chdir(out)
    return out


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["data", "check", *args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def test_json_schema_srn_root(tmp_path: Path, workdir: Path, capsys):
    make_srn_dataset(tmp_path / "data", num_scenes=2, num_views=3, size=16)
    code, report = run_json(capsys, str(tmp_path / "data"))
    assert code == 0
    assert {"format", "scenes", "problems"} <= set(report)
    assert report["format"] == "srn-root" and report["problems"] == []
    assert [s["id"] for s in report["scenes"]] == ["spheres_train/000000", "spheres_train/000001"]
    expected = sphere_views(3, 16)
    for scene in report["scenes"]:
        assert len(scene["views"]) == 3
        for k, view in enumerate(scene["views"]):
            assert set(view) == {"image", "cam2world", "K", "width", "height"}
            assert view["image"] == f"spheres_train/{scene['id'].split('/')[1]}/rgb/{k:06d}.png"
            assert (tmp_path / "data" / view["image"]).is_file()
            assert np.allclose(view["cam2world"], expected.cam2world[k].numpy(), atol=1e-6)
            assert np.allclose(view["K"], expected.intrinsics[k].numpy())
            assert (view["width"], view["height"]) == (16, 16)
    assert report["counts"] == {"scenes": 2, "views": 6, "problems": 0, "warnings": 0}
    assert not list(workdir.iterdir())  # --json alone draws nothing


def test_json_blender_and_max_scenes(tmp_path: Path, workdir: Path, capsys):
    make_blender_dataset(tmp_path / "lego", num_views=4, size=16)
    code, report = run_json(capsys, str(tmp_path / "lego"))
    assert code == 0 and report["format"] == "nerf-blender" and len(report["scenes"]) == 1
    views = report["scenes"][0]["views"]
    assert [v["image"] for v in views] == ["train/r_0.png", "train/r_1.png", "train/r_2.png", "test/r_0.png"]
    assert np.allclose(views[3]["cam2world"], ring_cameras(4)[3].numpy(), atol=1e-6)
    make_srn_dataset(tmp_path / "srn", num_scenes=3, num_views=2, size=8)
    code, report = run_json(capsys, str(tmp_path / "srn" / "spheres_train"), "--max-scenes", "2")
    assert code == 0 and report["format"] == "srn-split" and [s["id"] for s in report["scenes"]] == ["000000", "000001"]


def test_summary_plot_and_dataset_unchanged(tmp_path: Path, workdir: Path, capsys):
    make_srn_dataset(tmp_path / "data", num_scenes=1, num_views=6, size=24)
    before = tree_digest(tmp_path / "data")
    code = main(["data", "check", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert code == 0
    assert "format: srn-root" in out and "problems: none" in out
    plot = workdir / "data_check.png"  # default: ./<name>_check.png
    assert f"plot: {plot}" in out
    image = np.asarray(Image.open(plot))
    assert image.shape[0] > 200 and image.shape[1] > 600 and image.std() > 10
    assert tree_digest(tmp_path / "data") == before
    # an explicit --plot path; a path inside the dataset is refused
    assert main(["data", "check", str(tmp_path / "data"), "--plot", str(tmp_path / "p" / "x.png")]) == 0
    assert (tmp_path / "p" / "x.png").stat().st_size > 10_000
    assert main(["data", "check", str(tmp_path / "data"), "--plot", str(tmp_path / "data" / "x.png")]) == 2
    assert "inside the dataset" in capsys.readouterr().err
    assert tree_digest(tmp_path / "data") == before


def test_check_from_inside_the_dataset_writes_elsewhere(tmp_path: Path, monkeypatch, capsys):
    make_srn_dataset(tmp_path / "data", num_scenes=1, num_views=3, size=16)
    before = tree_digest(tmp_path / "data")
    monkeypatch.chdir(tmp_path / "data")
    assert main(["data", "check", "."]) == 0
    assert tree_digest(tmp_path / "data") == before
    plot_line = [line for line in capsys.readouterr().out.splitlines() if line.startswith("plot: ")][0]
    plot = Path(plot_line[6:])
    assert plot.is_file() and tmp_path / "data" not in plot.parents
    plot.unlink()


def test_blender_plot(tmp_path: Path, workdir: Path, capsys):
    make_blender_dataset(tmp_path / "lego", num_views=5, size=24)
    before = tree_digest(tmp_path / "lego")
    assert main(["data", "check", str(tmp_path / "lego")]) == 0
    assert (workdir / "lego_check.png").stat().st_size > 10_000
    assert tree_digest(tmp_path / "lego") == before


def test_problems_are_collected_and_exit_1(tmp_path: Path, workdir: Path, capsys):
    split = make_srn_dataset(tmp_path / "data", num_scenes=2, num_views=3, size=16)
    (split / "000001" / "pose" / "000002.txt").write_text("1 0 0 0 0 1 0 0 0 0 1 0 0 0 0\n")
    (split / "000000" / "rgb" / "000001.png").write_bytes(b"")
    code, report = run_json(capsys, str(tmp_path / "data"))
    assert code == 1
    problems = report["problems"]
    assert len(problems) == 2
    assert any("000001.png" in p and "empty" in p for p in problems)
    assert any("000002.txt" in p and "16 numbers" in p for p in problems)
    # every view is still reported; the bad pose has no matrix
    assert report["scenes"][1]["views"][2]["cam2world"] is None
    assert report["scenes"][0]["views"][1]["width"] is None
    code = main(["data", "check", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert code == 1 and "problems: 2" in captured.out
    assert len(captured.err.strip().splitlines()) == 1 and "2 problem(s)" in captured.err


def test_check_api_and_epipolar_geometry(tmp_path: Path):
    """The fundamental matrix of the plot maps true correspondences onto their epipolar lines."""
    make_srn_dataset(tmp_path / "data", num_scenes=1, num_views=4, size=16)
    report = check_dataset(tmp_path / "data")
    assert report.problems == [] and len(report.scenes[0].views) == 4
    cams = ring_cameras(4).numpy()
    assert np.allclose(rig_look_at(cams), 0.0, atol=1e-6)
    K = np.array([[20.0, 0, 8], [0, 20.0, 8], [0, 0, 1]])
    F = fundamental_matrix(cams[0], K, cams[1], K)
    rng = np.random.default_rng(0)
    for point in rng.uniform(-0.3, 0.3, size=(5, 3)):
        x = []
        for c2w in cams[:2]:
            cam = (point - c2w[:3, 3]) @ c2w[:3, :3]
            x.append(np.array([K[0, 0] * cam[0] / cam[2] + K[0, 2], K[1, 1] * cam[1] / cam[2] + K[1, 2], 1.0]))
        line = F @ x[0]
        assert abs(x[1] @ line) / np.linalg.norm(line[:2]) < 1e-9  # pixel distance to the line


def test_world2cam_scene_reported_in_our_convention(tmp_path: Path, capsys, workdir: Path):
    from sceneprior.data.export import export_srn_scene

    views = sphere_views(2, 8)
    scene = tmp_path / "scene"
    export_srn_scene(views, scene)
    write_metadata(tmp_path)  # depth_scale for the depth/ folder
    for k in range(2):
        world2cam = torch.linalg.inv(views.cam2world[k].double()).numpy()
        (scene / "pose" / f"{k:06d}.txt").write_text(" ".join(repr(float(v)) for v in world2cam.ravel()))
    text = (scene / "intrinsics.txt").read_text()
    (scene / "intrinsics.txt").write_text(text + "1\n")
    code, report = run_json(capsys, str(scene))
    assert code == 0 and report["format"] == "srn-scene"
    assert np.allclose(report["scenes"][0]["views"][1]["cam2world"], views.cam2world[1].numpy(), atol=1e-6)
    assert os.listdir(workdir) == []
