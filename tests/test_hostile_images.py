"""Hostile photos where images enter (``reconstruct``, the API, the demo's upload handler): decompression bombs are
refused from the header before anything is decoded, other bad files give one line naming the file, and large
photos are reduced while decoding so memory stays bounded (the figures: results/bomb_memory.md)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from sceneprior.cli.main import main
from sceneprior.data.image_io import open_image, read_rgb
from sceneprior.inference.preprocess import WORK_SIDE, load_image
from sceneprior.errors import DataError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, colour_type: int = 6, exif_after_pixels: bool = False) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` (its pixels are a few KB of deflated zeros)."""
    body = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
    body += _chunk(b"IDAT", zlib.compress(bytes(2**20), 9))
    if exif_after_pixels:
        exif = Image.Exif()
        exif[0x0112] = 6
        body += _chunk(b"eXIf", exif.tobytes())
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def jpeg_claiming(tmp: Path, width: int, height: int) -> bytes:
    """A real 64x64 JPEG whose start-of-frame header is edited to declare ``width`` x ``height``."""
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp / "small.jpg", quality=90)
    data = bytearray((tmp / "small.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode pixels fails the test: refusals must come from the header alone."""

    def refuse(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise AssertionError(f"decoded {self.size} pixels before refusing")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# --------------------------------------------------------------------------------------------- bombs, from the header


BOMBS = {
    "png_30000_squared_with_exif_after_the_pixels": lambda tmp: png_claiming(30_000, 30_000, exif_after_pixels=True),
    "png_20000_squared_rgba": lambda tmp: png_claiming(20_000, 20_000),
    "png_one_row_of_a_billion_pixels": lambda tmp: png_claiming(1_000_000_000, 1, colour_type=0),
    "jpeg_header_65000_squared": lambda tmp: jpeg_claiming(tmp, 65_000, 65_000),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bomb_is_refused_by_load_image_before_any_decoding(name, tmp_path, no_decoding):
    path = tmp_path / f"{name}.{'jpg' if 'jpeg' in name else 'png'}"
    path.write_bytes(BOMBS[name](tmp_path))
    with pytest.raises(DataError) as info:
        load_image(path)
    assert str(path) in str(info.value) and "megapixels, over the limit" in str(info.value)


@pytest.mark.parametrize("name", ["png_30000_squared_with_exif_after_the_pixels", "jpeg_header_65000_squared"])
def test_bomb_is_refused_by_reconstruct_in_one_line_without_output(name, tmp_path, capsys, no_decoding):
    path = tmp_path / f"{name}.{'jpg' if 'jpeg' in name else 'png'}"
    path.write_bytes(BOMBS[name](tmp_path))
    code = main(["reconstruct", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(path) in err[0] and "over the limit" in err[0], err
    assert not (tmp_path / "out").exists()


def test_bomb_is_refused_by_the_dataset_reader_before_decoding(tmp_path, no_decoding):
    path = tmp_path / "000000.png"
    path.write_bytes(png_claiming(100_000, 100_000))
    with pytest.raises(DataError, match="over the limit"):
        read_rgb(path)


def test_bomb_is_refused_by_the_api(tmp_path, no_decoding):
    from sceneprior.inference.preprocess import as_image_array

    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(30_000, 30_000))
    with pytest.raises(DataError, match="over the limit"):
        as_image_array(path, 0)


# --------------------------------------------------------------------------------------------- other bad photos


def _photo_cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    text = tmp / "text.png"
    text.write_text("this is not an image\n")
    cases["text_named_png"] = (text, "not a readable image")
    empty = tmp / "empty.jpg"
    empty.write_bytes(b"")
    cases["empty_file"] = (empty, "empty")
    tiny = tmp / "tiny.png"
    Image.new("RGB", (8, 8), "white").save(tiny)
    cases["eight_pixels_square"] = (tiny, "too small")
    tiff = tmp / "photo.tiff"
    Image.new("RGB", (64, 64), "white").save(tiff)
    cases["tiff_format"] = (tiff, "TIFF images are not accepted")
    truncated = tmp / "truncated.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:400])
    cases["truncated_png"] = (truncated, "truncated or corrupt")
    folder = tmp / "folder.png"
    folder.mkdir()
    cases["a_directory"] = (folder, "is a directory")
    cases["missing_file"] = (tmp / "missing.png", "file not found")
    return cases


@pytest.mark.parametrize("case", ["text_named_png", "empty_file", "eight_pixels_square", "tiff_format",
                                  "truncated_png", "a_directory", "missing_file"])
def test_bad_photo_gives_one_line_naming_the_file(case, tmp_path, capsys):
    path, problem = _photo_cases(tmp_path)[case]
    code = main(["reconstruct", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"error: {path}: ") and problem in err[0], err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------- large photos are reduced


def test_large_photo_is_reduced_while_decoding_and_keeps_its_content(tmp_path):
    side = 3 * WORK_SIDE + 7
    array = np.full((side, side // 2, 3), 255, np.uint8)
    array[side // 4: side // 2, side // 8: side // 4] = (10, 200, 30)  # a green box, a known place
    Image.fromarray(array).save(tmp_path / "large.png")
    rgb, alpha = load_image(tmp_path / "large.png")
    assert alpha is None and max(rgb.shape[:2]) <= WORK_SIDE and rgb.shape[0] == -(-side // 4)
    green = np.argwhere(rgb[..., 1] - rgb[..., 0] > 0.5)
    expected = np.array([[side // 4, side // 8], [side // 2 - 1, side // 4 - 1]]) / 4  # first and last pixel / 4
    assert np.abs(np.stack([green.min(0), green.max(0)]) - expected).max() <= 1
    full, _ = load_image(tmp_path / "large.png", max_side=0)
    assert full.shape[:2] == (side, side // 2)


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    Image.new("RGB", (4 * WORK_SIDE, 2 * WORK_SIDE), (250, 250, 250)).save(tmp_path / "large.jpg", quality=80)
    image = open_image(tmp_path / "large.jpg", max_side=WORK_SIDE)
    assert max(image.size) <= WORK_SIDE


def test_exif_orientation_after_the_pixels_is_applied_after_the_size_check(tmp_path):
    array = np.zeros((40, 60, 3), np.uint8)
    array[:5, :5] = 255  # a white corner at the top left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned; viewers rotate it 90 degrees clockwise
    Image.fromarray(array).save(tmp_path / "turned.png", exif=exif.tobytes())
    rgb, _ = load_image(tmp_path / "turned.png")
    assert rgb.shape[:2] == (60, 40) and rgb[0, -1].min() == 1.0 and rgb[0, 0].max() == 0.0


def test_posed_photo_intrinsics_follow_the_reduction(tmp_path):
    """A photo reduced while decoding keeps its camera: K given in the file's pixels is scaled with it."""
    from sceneprior.data.image_io import image_size

    side = 2 * WORK_SIDE
    Image.new("RGB", (side, side), "white").save(tmp_path / "big.png")
    rgb, _ = load_image(tmp_path / "big.png")
    assert max(rgb.shape[:2]) / max(image_size(tmp_path / "big.png")) == 0.5


# --------------------------------------------------------------------------------------------- the demo's upload handler


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    pytest.importorskip("gradio")
    from sceneprior.demo.app import DemoSession
    from sceneprior.training.tiny import save_tiny_run

    run = save_tiny_run(tmp_path_factory.mktemp("runs") / "tiny", "autoencoder", resolution=32)
    demo = DemoSession(run, views=2, mesh_resolution=8)
    yield demo
    demo.close()


def test_demo_refuses_a_bomb_upload_with_one_logged_line_and_no_traceback(session, tmp_path, capsys, no_decoding):
    import gradio as gr

    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(30_000, 30_000, exif_after_pixels=True))
    with pytest.raises(gr.Error) as info:
        session.reconstruct(str(path))
    assert "over the limit" in info.value.message and str(tmp_path) not in info.value.message
    assert info.value.print_exception is False  # gradio would print a traceback for every rejected upload
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rejected upload bomb.png: ") and "over the limit" in err[0]


def test_pillows_own_bomb_guard_stays_on_for_other_readers(tmp_path):
    """Importing sceneprior does not switch off Pillow's guard (trimesh reads mesh textures through Pillow)."""
    import sceneprior.data.image_io  # noqa: F401

    path = tmp_path / "texture.png"
    path.write_bytes(png_claiming(30_000, 30_000))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(path)
