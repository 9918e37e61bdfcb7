"""Bad input: every case gives a one-line error naming the file, and a non-zero exit, never a traceback —
from ``data check`` (problems collected, exit 1; unreadable input, exit 2) and from the loaders used for
training (:class:`DataError`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sceneprior.cli.main import main
from sceneprior.data.blender import BlenderDataset
from sceneprior.data.datasets import open_dataset
from sceneprior.data.srn import SRNDataset
from sceneprior.errors import DataError
from test_loaders import make_blender_dataset, make_srn_dataset

# --------------------------------------------------------------------------------------------------- cases
# each case damages a fresh small dataset and returns (path to check, name of the file the error must name)


def srn(tmp: Path) -> Path:
    return make_srn_dataset(tmp / "data", num_scenes=1, num_views=3, size=8) / "000000"


def write_pose(path: Path, matrix: np.ndarray) -> None:
    path.write_text(" ".join(repr(float(v)) for v in np.asarray(matrix).ravel()) + "\n")


def truncated_png(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    path = scene / "rgb" / "000001.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return tmp / "data", "000001.png"


def corrupt_png(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "rgb" / "000002.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    return tmp / "data", "000002.png"


def zero_byte_png(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "rgb" / "000000.png").write_bytes(b"")
    return scene, "000000.png"


def missing_pose(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "pose" / "000001.txt").unlink()
    return tmp / "data" / "spheres_train", "000001.png"


def nan_pose(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    path = scene / "pose" / "000002.txt"
    path.write_text(path.read_text().replace(" ", " nan ", 1).split(" ", 1)[1])  # first value -> nan, still 16
    assert len(path.read_text().split()) == 16
    return tmp / "data", "000002.txt"


def non_orthonormal_pose(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    matrix = np.eye(4)
    matrix[:3, :3] *= 1.1
    write_pose(scene / "pose" / "000001.txt", matrix)
    return tmp / "data", "000001.txt"


def reflected_pose(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    write_pose(scene / "pose" / "000000.txt", np.diag([1.0, 1.0, -1.0, 1.0]))
    return tmp / "data", "000000.txt"


def bad_bottom_row(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    matrix = np.eye(4)
    matrix[3, 0] = 0.5
    write_pose(scene / "pose" / "000000.txt", matrix)
    return tmp / "data", "000000.txt"


def intrinsics_wrong_count(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    lines = (scene / "intrinsics.txt").read_text().splitlines()
    lines[0] = "9.6 4.0 4.0"  # SRN's first line has four numbers
    (scene / "intrinsics.txt").write_text("\n".join(lines) + "\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_missing(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "intrinsics.txt").unlink()
    return scene, "intrinsics.txt"


def intrinsics_text(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "intrinsics.txt").write_text("focal 4 4 0\n0 0 0\n1\n8 8\n")
    return scene, "intrinsics.txt"


def pose_wrong_count(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "pose" / "000002.txt").write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n")
    return tmp / "data", "000002.txt"


def pose_not_numbers(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    (scene / "pose" / "000002.txt").write_text("identity\n")
    return tmp / "data", "000002.txt"


def mixed_image_sizes(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(scene / "rgb" / "000002.png")
    return tmp / "data", "000002.png"


def depth_truncated(tmp: Path) -> tuple[Path, str]:
    scene = srn(tmp)
    path = scene / "depth" / "000001.png"
    path.write_bytes(path.read_bytes()[:40])
    return tmp / "data", "000001.png"


def blender(tmp: Path) -> Path:
    return make_blender_dataset(tmp / "lego", num_views=3, size=8)


def edit_transforms(root: Path, edit: Callable[[dict], None], name: str = "transforms_train.json") -> None:
    path = root / name
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def transforms_invalid_json(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    path = root / "transforms_train.json"
    path.write_text(path.read_text()[:-20])
    return root, "transforms_train.json"


def transforms_no_frames(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    edit_transforms(root, lambda d: d.pop("frames"))
    return root, "transforms_train.json"


def transforms_no_camera_angle(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    edit_transforms(root, lambda d: [d.pop(k) for k in ("camera_angle_x", "fl_x", "fl_y")])
    return root, "transforms_train.json"


def transforms_frame_missing_matrix(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    edit_transforms(root, lambda d: d["frames"][1].pop("transform_matrix"))
    return root, "transforms_train.json"


def transforms_angle_is_string(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    edit_transforms(root, lambda d: d.update(camera_angle_x="0.69"))
    return root, "transforms_train.json"


def transforms_matrix_3x3(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    edit_transforms(root, lambda d: d["frames"][0].update(transform_matrix=[[1, 0, 0], [0, 1, 0], [0, 0, 1]]))
    return root, "transforms_train.json"


def transforms_nan_matrix(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    path = root / "transforms_train.json"
    document = json.loads(path.read_text())
    document["frames"][0]["transform_matrix"][0][0] = float("nan")
    path.write_text(json.dumps(document))  # json writes NaN, which Python reads back
    return root, "transforms_train.json"


def transforms_missing_image(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    (root / "train" / "r_1.png").unlink()
    return root, "transforms_train.json"


def blender_zero_byte_image(tmp: Path) -> tuple[Path, str]:
    root = blender(tmp)
    (root / "train" / "r_0.png").write_bytes(b"")
    return root, "r_0.png"


def path_does_not_exist(tmp: Path) -> tuple[Path, str]:
    return tmp / "no_such_dataset", "no_such_dataset"


def not_a_dataset(tmp: Path) -> tuple[Path, str]:
    (tmp / "holiday_photos").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp / "holiday_photos" / "a.png")
    return tmp / "holiday_photos", "holiday_photos"


CASES = [
    truncated_png, corrupt_png, zero_byte_png, missing_pose, nan_pose, non_orthonormal_pose, reflected_pose,
    bad_bottom_row, intrinsics_wrong_count, intrinsics_missing, intrinsics_text, pose_wrong_count, pose_not_numbers,
    mixed_image_sizes, depth_truncated, transforms_invalid_json, transforms_no_frames, transforms_no_camera_angle,
    transforms_frame_missing_matrix, transforms_angle_is_string, transforms_matrix_3x3, transforms_nan_matrix,
    transforms_missing_image, blender_zero_byte_image, path_does_not_exist, not_a_dataset,
]
#: cases where nothing can be read as a dataset: exit 2 (the others are problems found: exit 1)
UNREADABLE = {path_does_not_exist, not_a_dataset}


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_check_reports_bad_input_in_one_line(case, tmp_path: Path, capsys, monkeypatch):
    path, culprit = case(tmp_path)
    out = tmp_path / "cwd"
    out.mkdir()
    monkeypatch.chdir(out)
    code = main(["data", "check", str(path)])
    captured = capsys.readouterr()
    assert code == (2 if case in UNREADABLE else 1)
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), captured.err
    assert culprit in err[0], err[0]
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_loader_raises_data_error_naming_the_file(case, tmp_path: Path):
    path, culprit = case(tmp_path)
    with pytest.raises(DataError) as info:
        dataset = open_dataset(path)
        for i in range(len(dataset)):
            dataset[i]
        if isinstance(dataset, BlenderDataset):
            BlenderDataset(path, "all")[0]
    message = str(info.value)
    assert culprit in message and "\n" not in message, message


def test_depth_without_metadata_is_a_warning_as_the_loaders_ignore_it(tmp_path: Path, capsys, monkeypatch):
    """Depth is optional: without a depth_scale the loaders do not read it, so the check warns (exit 0) instead
    of failing a dataset that trains (issue 13: check and train disagreed)."""
    scene = srn(tmp_path)
    (tmp_path / "data" / "metadata.json").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["data", "check", str(scene), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and len(report["warnings"]) == 1 and "depth_scale" in report["warnings"][0]
    assert SRNDataset(scene).warnings == report["warnings"]


def test_broken_metadata_json(tmp_path: Path, capsys, monkeypatch):
    srn(tmp_path)
    (tmp_path / "data" / "metadata.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    assert main(["data", "check", str(tmp_path / "data")]) == 1
    assert "metadata.json" in capsys.readouterr().err
    with pytest.raises(DataError, match="metadata.json: invalid JSON"):
        open_dataset(tmp_path / "data")


def test_pickled_npz_is_refused(tmp_path: Path, capsys, monkeypatch):
    scene = srn(tmp_path)
    np.savez(scene / "points.npz", points=np.array([object()] * 3, dtype=object), normals=np.zeros((3, 3)))
    monkeypatch.chdir(tmp_path)
    assert main(["data", "check", str(scene)]) == 1
    assert "points.npz" in capsys.readouterr().err


@pytest.mark.parametrize("case", [truncated_png, path_does_not_exist], ids=lambda c: c.__name__)
def test_subprocess_has_no_traceback(case, tmp_path: Path):
    path, culprit = case(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "sceneprior", "data", "check", str(path), "--json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert culprit in result.stderr
