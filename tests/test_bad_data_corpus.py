"""A corpus of malformed datasets, each generated here: ``sceneprior data check`` and ``sceneprior train`` both
answer with one line naming the file and the problem and a non-zero exit (or convert, for image modes that
convert), never a traceback, and never write into the dataset folder (the tree is hashed before and after).

Helpers are shared with ``test_bad_data.py`` (the 26 cases there cover the loaders; this corpus adds the
cases of issue 7 and runs ``train`` on every one of them)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sceneprior.cli.main import main
from test_bad_data import blender, edit_transforms, srn, write_pose

# --------------------------------------------------------------------------------------------------- helpers


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, raw_rows: bytes | None = None) -> bytes:
    """A PNG written by hand (any bit depth / colour type, or a header claiming any size)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = zlib.compress(raw_rows if raw_rows is not None else b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def rgb16_png(size: int) -> bytes:
    """A 48-bit RGB PNG (16 bits per channel), a mode PIL cannot write."""
    values = np.random.default_rng(1).integers(0, 65535, (size, size, 3), dtype=np.uint16).astype(">u2")
    rows = b"".join(b"\x00" + values[y].tobytes() for y in range(size))
    return png_bytes(size, size, 16, 2, rows)


def tree_digest(root: Path) -> str:
    """Hash of names, link targets, sizes and contents of every entry under ``root`` (links not followed)."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(os.fsencode(root), followlinks=False):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            digest.update(path)
            if os.path.islink(path):
                digest.update(b"->" + os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def replace_image(scene: Path, name: str, image: Image.Image) -> None:
    for view in sorted((scene / "rgb").iterdir()):
        if view.name == name or name == "*":
            image.save(view)


def rgb_image(mode: str, size: int = 8) -> Image.Image:
    base = Image.fromarray(np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8))
    if mode == "P":
        return base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "I;16":
        return Image.fromarray(np.random.default_rng(0).integers(0, 65535, (size, size), dtype=np.uint16))
    return base.convert(mode)


# --------------------------------------------------------------------------------------------------- cases
# each case damages a fresh small dataset and returns (path given to the commands, text the error must contain)
# conversion cases return (path, None): both commands must succeed.


def png_signature_only(tmp: Path):
    (srn(tmp) / "rgb" / "000001.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return tmp / "data", "000001.png"


def png_truncated_after_header(tmp: Path):
    path = srn(tmp) / "rgb" / "000002.png"
    path.write_bytes(path.read_bytes()[:33])
    return tmp / "data", "000002.png"


def png_zero_bytes_in_split(tmp: Path):
    (srn(tmp) / "rgb" / "000001.png").write_bytes(b"")
    return tmp / "data", "000001.png"


def png_claims_100000_squared(tmp: Path):
    (srn(tmp) / "rgb" / "000000.png").write_bytes(png_bytes(100_000, 100_000, 8, 2))
    return tmp / "data", "000000.png"


def png_is_text(tmp: Path):
    (srn(tmp) / "rgb" / "000001.png").write_text("this is not an image\n")
    return tmp / "data", "000001.png"


def png_is_a_directory(tmp: Path):
    scene = srn(tmp)
    (scene / "rgb" / "000001.png").unlink()
    (scene / "rgb" / "000001.png").mkdir()
    return tmp / "data", "000001.png"


def png_symlink_loop(tmp: Path):
    scene = srn(tmp)
    (scene / "rgb" / "000001.png").unlink()
    os.symlink("000001.png", scene / "rgb" / "000001.png")
    return tmp / "data", "000001.png"


def png_dangling_symlink(tmp: Path):
    scene = srn(tmp)
    (scene / "rgb" / "000002.png").unlink()
    os.symlink("/nonexistent/elsewhere.png", scene / "rgb" / "000002.png")
    return tmp / "data", "000002.png"


def pose_folder_symlink_loop(tmp: Path):
    scene = srn(tmp)
    for f in (scene / "pose").iterdir():
        f.unlink()
    (scene / "pose").rmdir()
    os.symlink("pose", scene / "pose")
    return tmp / "data", "pose"


def non_utf8_image_name(tmp: Path):
    scene = srn(tmp)
    os.rename(scene / "rgb" / "000001.png", os.path.join(os.fsencode(scene / "rgb"), b"caf\xe9.png"))
    return tmp / "data", "no pose file"


def pose_nan_everywhere(tmp: Path):
    (srn(tmp) / "pose" / "000001.txt").write_text(" ".join(["nan"] * 16) + "\n")
    return tmp / "data", "000001.txt"


def pose_inf_translation(tmp: Path):
    matrix = np.eye(4)
    matrix[0, 3] = np.inf
    write_pose(srn(tmp) / "pose" / "000002.txt", matrix)
    return tmp / "data", "000002.txt"


def pose_sheared(tmp: Path):
    matrix = np.eye(4)
    matrix[0, 1] = 0.3
    write_pose(srn(tmp) / "pose" / "000000.txt", matrix)
    return tmp / "data", "000000.txt"


def pose_det_minus_one(tmp: Path):
    rotation = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # a swap of two axes: det -1
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    write_pose(srn(tmp) / "pose" / "000001.txt", matrix)
    return tmp / "data", "000001.txt"


def pose_3x4(tmp: Path):
    (srn(tmp) / "pose" / "000000.txt").write_text("1 0 0 0\n0 1 0 0\n0 0 1 2\n")
    return tmp / "data", "000000.txt"


def pose_empty(tmp: Path):
    (srn(tmp) / "pose" / "000002.txt").write_bytes(b"")
    return tmp / "data", "000002.txt"


def pose_binary(tmp: Path):
    (srn(tmp) / "pose" / "000002.txt").write_bytes(bytes(range(128, 256)))
    return tmp / "data", "000002.txt"


def pose_missing_for_image(tmp: Path):
    (srn(tmp) / "pose" / "000002.txt").unlink()
    return tmp / "data", "000002.png"


def image_missing_for_pose(tmp: Path):
    (srn(tmp) / "rgb" / "000000.png").unlink()
    return tmp / "data", "000000.txt"


def intrinsics_as_3x3_matrix(tmp: Path):
    (srn(tmp) / "intrinsics.txt").write_text("9.6 0 4\n0 9.6 4\n0 0 1\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_on_one_line(tmp: Path):
    (srn(tmp) / "intrinsics.txt").write_text("9.6 4 4 0 0 0 0 1 8 8\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_negative_focal(tmp: Path):
    (srn(tmp) / "intrinsics.txt").write_text("-9.6 4 4 0.\n0. 0. 0.\n1.\n8 8\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_nan(tmp: Path):
    (srn(tmp) / "intrinsics.txt").write_text("nan 4 4 0.\n0. 0. 0.\n1.\n8 8\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_zero_size(tmp: Path):
    (srn(tmp) / "intrinsics.txt").write_text("9.6 4 4 0.\n0. 0. 0.\n1.\n0 0\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_principal_point_outside(tmp: Path):
    (srn(tmp) / "intrinsics.txt").write_text("9.6 400 4 0.\n0. 0. 0.\n1.\n8 8\n")
    return tmp / "data", "intrinsics.txt"


def intrinsics_is_a_directory(tmp: Path):
    scene = srn(tmp)
    (scene / "intrinsics.txt").unlink()
    (scene / "intrinsics.txt").mkdir()
    return scene, "intrinsics.txt"


def mixed_sizes_three_ways(tmp: Path):
    scene = srn(tmp)
    Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(scene / "rgb" / "000001.png")
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(scene / "rgb" / "000002.png")
    return tmp / "data", "000001.png"


def rgb_folder_empty(tmp: Path):
    scene = srn(tmp)
    for f in (scene / "rgb").iterdir():
        f.unlink()
    return scene, "rgb"


def metadata_is_a_list(tmp: Path):
    srn(tmp)
    (tmp / "data" / "metadata.json").write_text("[1, 2, 3]")
    return tmp / "data", "metadata.json"


def metadata_negative_depth_scale(tmp: Path):
    srn(tmp)
    (tmp / "data" / "metadata.json").write_text(json.dumps({"depth_scale": -1.0}))
    return tmp / "data", "metadata.json"


def transforms_top_level_list(tmp: Path):
    root = blender(tmp)
    (root / "transforms_train.json").write_text("[]")
    return root, "transforms_train.json"


def transforms_empty_file(tmp: Path):
    root = blender(tmp)
    (root / "transforms_train.json").write_text("")
    return root, "transforms_train.json"


def transforms_not_utf8(tmp: Path):
    root = blender(tmp)
    (root / "transforms_train.json").write_bytes(b'{"camera_angle_x": 0.69, "frames": ["\xff\xfe"]}')
    return root, "transforms_train.json"


def transforms_json_missing_frames(tmp: Path):
    root = blender(tmp)
    for split in ("train", "test"):
        (root / f"transforms_{split}.json").unlink()
    (root / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.69, "frame": []}))
    return root, "transforms.json"


def transforms_frames_is_object(tmp: Path):
    root = blender(tmp)
    edit_transforms(root, lambda d: d.update(frames={"0": d["frames"][0]}))
    return root, "transforms_train.json"


def transforms_file_path_is_number(tmp: Path):
    root = blender(tmp)
    edit_transforms(root, lambda d: d["frames"][0].update(file_path=7))
    return root, "transforms_train.json"


def transforms_width_is_string(tmp: Path):
    root = blender(tmp)
    edit_transforms(root, lambda d: d.update(w="800"))
    return root, "transforms_train.json"


def transforms_angle_in_degrees(tmp: Path):
    root = blender(tmp)
    edit_transforms(root, lambda d: d.update(camera_angle_x=40.0))
    return root, "transforms_train.json"


def transforms_matrix_row_of_strings(tmp: Path):
    root = blender(tmp)
    edit_transforms(root, lambda d: d["frames"][1]["transform_matrix"].__setitem__(0, ["1", "0", "0", "0"]))
    return root, "transforms_train.json"


def transforms_reflected_matrix(tmp: Path):
    root = blender(tmp)
    edit_transforms(root, lambda d: d["frames"][0].update(transform_matrix=np.diag([-1.0, 1, 1, 1]).tolist()))
    return root, "transforms_train.json"


# issue 13: cases where data check and train disagreed; both now refuse them the same way
def pose_translation_1e30(tmp: Path):
    matrix = np.eye(4)
    matrix[2, 3] = 1e30
    write_pose(srn(tmp) / "pose" / "000001.txt", matrix)
    return tmp / "data", "000001.txt"


def train_split_without_scenes(tmp: Path):
    scene = srn(tmp)
    (tmp / "data" / "spheres_val").mkdir()
    os.rename(scene, tmp / "data" / "spheres_val" / "000000")  # the val split has the scene, train none
    return tmp / "data", "spheres_train"


# usable datasets with a part that is not read: both commands succeed and print the same warning
def depth_without_metadata(tmp: Path):
    srn(tmp)
    (tmp / "data" / "metadata.json").unlink()
    return tmp / "data", "depth/ images are not read"


def depth_folder_of_npy_files(tmp: Path):
    scene = srn(tmp)
    for view in sorted((scene / "depth").iterdir()):
        np.save(scene / "depth" / (view.stem + ".npy"), np.ones((8, 8), np.float32))
        view.unlink()
    return tmp / "data", "depth: holds no <view>.png (3 other files); not read"


WARNINGS = [depth_without_metadata, depth_folder_of_npy_files]


# images in another mode: converted (RGBA composited on white, gray repeated, palette expanded, 16 bit scaled)
def gray_images(tmp: Path):
    replace_image(srn(tmp), "*", rgb_image("L"))
    return tmp / "data", None


def gray16_images(tmp: Path):
    replace_image(srn(tmp), "*", rgb_image("I;16"))
    return tmp / "data", None


def rgb16_images(tmp: Path):
    for view in sorted((srn(tmp) / "rgb").iterdir()):
        view.write_bytes(rgb16_png(8))
    return tmp / "data", None


def rgba_images(tmp: Path):
    replace_image(srn(tmp), "*", rgb_image("RGBA"))
    return tmp / "data", None


def palette_images(tmp: Path):
    replace_image(srn(tmp), "*", rgb_image("P"))
    return tmp / "data", None


def gray_alpha_and_bilevel_mixed(tmp: Path):
    scene = srn(tmp)
    replace_image(scene, "000000.png", rgb_image("LA"))
    replace_image(scene, "000001.png", rgb_image("1"))
    return tmp / "data", None


ERRORS = [
    png_signature_only, png_truncated_after_header, png_zero_bytes_in_split, png_claims_100000_squared, png_is_text,
    png_is_a_directory, png_symlink_loop, png_dangling_symlink, pose_folder_symlink_loop, non_utf8_image_name,
    pose_nan_everywhere, pose_inf_translation, pose_sheared, pose_det_minus_one, pose_3x4, pose_empty, pose_binary,
    pose_missing_for_image, image_missing_for_pose, intrinsics_as_3x3_matrix, intrinsics_on_one_line,
    intrinsics_negative_focal, intrinsics_nan, intrinsics_zero_size, intrinsics_principal_point_outside,
    intrinsics_is_a_directory, mixed_sizes_three_ways, rgb_folder_empty, metadata_is_a_list,
    metadata_negative_depth_scale, transforms_top_level_list, transforms_empty_file, transforms_not_utf8,
    transforms_json_missing_frames, transforms_frames_is_object, transforms_file_path_is_number, transforms_width_is_string,
    transforms_angle_in_degrees, transforms_matrix_row_of_strings, transforms_reflected_matrix,
    pose_translation_1e30, train_split_without_scenes,
]
CONVERSIONS = [gray_images, gray16_images, rgb16_images, rgba_images, palette_images, gray_alpha_and_bilevel_mixed]
CASES = ERRORS + CONVERSIONS


def test_the_corpus_is_large_enough():
    assert len(ERRORS) >= 40 and len(CASES) == len({c.__name__ for c in CASES})


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _train_argv(data: Path, out: Path) -> list[str]:
    return ["train", "--preset", "lfn", "--data", str(data), "--out", str(out), "--steps", "1", "--batch-size", "1",
            "--rays", "16", "--image-every", "0", "--checkpoint-every", "0", "--no-progress",
            "--model-override=latent_dim=8", "--model-override=width=16", "--model-override=hyper_hidden=16"]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_check_and_train_refuse_in_one_line_without_writing(case: Callable, tmp_path: Path, capsys, monkeypatch):
    path, culprit = case(tmp_path)
    dataset_root = tmp_path / ("lego" if (tmp_path / "lego").exists() else "data")
    before = tree_digest(dataset_root)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name, argv in (("check", ["data", "check", str(path), "--plot", str(cwd / "plot.png")]),
                       ("train", _train_argv(path, tmp_path / "run"))):
        code, out, err = _run(argv, capsys)
        assert "Traceback" not in out + err, f"{name}: {err}"
        if culprit is None:  # converted: both commands succeed
            assert code == 0, f"{name}: {err}"
            continue
        lines = err.strip().splitlines()
        assert code != 0 and len(lines) == 1 and lines[0].startswith("error: "), f"{name}: exit {code}: {err!r}"
        assert culprit in lines[0], f"{name}: {lines[0]}"
        assert "internal error" not in lines[0], f"{name}: {lines[0]}"
        lines[0].encode("utf-8")  # printable on any terminal (no lone surrogates)
    assert tree_digest(dataset_root) == before, "the dataset folder was modified"


@pytest.mark.parametrize("case", WARNINGS, ids=[c.__name__ for c in WARNINGS])
def test_check_and_train_accept_with_the_same_warning(case: Callable, tmp_path: Path, capsys, monkeypatch):
    """Input that is usable but has a part nobody reads: a warning (exit 0) from both commands, not a problem
    per file from one of them."""
    path, warning = case(tmp_path)
    before = tree_digest(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["data", "check", str(path), "--plot", str(tmp_path / "plot.png")], capsys)
    assert code == 0 and "problems: none" in out and warning in out, out + err
    code, out, err = _run(_train_argv(path, tmp_path / "run"), capsys)
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert code == 0 and warnings and all(warning in line for line in warnings), err
    assert "Traceback" not in out + err and tree_digest(tmp_path / "data") == before


def test_converted_modes_load_as_rgb_in_unit_range(tmp_path: Path):
    from sceneprior.data.datasets import open_dataset

    for case in CONVERSIONS:
        path, _ = case(tmp_path / case.__name__)
        views = open_dataset(path)[0]
        assert views.images.shape[1] == 3 and views.images.dtype.is_floating_point
        assert 0.0 <= float(views.images.min()) and float(views.images.max()) <= 1.0


@pytest.mark.parametrize("case", [intrinsics_nan, png_claims_100000_squared], ids=lambda c: c.__name__)
def test_train_with_loader_workers_refuses_in_one_line(case: Callable, tmp_path: Path, capsys):
    """Errors found in a DataLoader worker (which reads lazily) reach the user as the same one line."""
    path, culprit = case(tmp_path)
    for view in sorted((tmp_path / "data" / "spheres_train" / "000000" / "rgb").iterdir()):
        if case is png_claims_100000_squared:  # every view, so that the first batch meets one
            view.write_bytes(png_bytes(100_000, 100_000, 8, 2))
    code, out, err = _run(_train_argv(path, tmp_path / "run") + ["--workers", "1"], capsys)
    lines = err.strip().splitlines()
    expected = "over the limit" if case is png_claims_100000_squared else culprit  # whichever view comes first
    assert code != 0 and len(lines) == 1 and expected in lines[0] and "Traceback" not in out + err, err
