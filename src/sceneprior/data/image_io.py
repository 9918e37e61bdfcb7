"""Reading and writing images with conversions instead of rejections, and one-line errors.

Every reader returns float32 arrays in [0, 1]. RGBA is composited on white, grayscale is repeated to
three channels, palette images are expanded, 16-bit images are scaled by 1/65535.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DataError

#: Images with more pixels than this are refused before decoding (decompression bombs, absurd sizes).
MAX_PIXELS = 64_000_000
# Pillow's own decompression-bomb guard (Image.MAX_IMAGE_PIXELS) stays on for every other reader in the process
# (e.g. trimesh's texture loading); our limits are lower and checked with a clearer message in open_image.


def check_pixels(width: int, height: int, where: str | Path | None, max_pixels: int = MAX_PIXELS,
                 min_side: int = 1, advice: str = "") -> None:
    """Refuse an image by the size its header declares (one line naming ``where``)."""
    if width * height > max_pixels:
        raise DataError(where, f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, over the limit of "
                        f"{max_pixels / 1e6:.0f}{advice}")
    if width < 1 or height < 1:
        raise DataError(where, f"image has no pixels ({width}x{height})")
    if min(width, height) < min_side:
        raise DataError(where, f"image is {width}x{height} pixels, too small (at least {min_side} per side)")


def open_image(path: str | Path, max_pixels: int = MAX_PIXELS, min_side: int = 1, formats: tuple[str, ...] | None = None,
               max_side: int | None = None, advice: str = "") -> Image.Image:
    """The one way an image file enters sceneprior: open it lazily, check its format and the pixel count its header
    declares, and only then decode it (decompression bombs cost nothing). Everything that reads an image file
    (datasets, ``data check``, ``reconstruct``, the demo, the API) goes through here.

    With ``max_side``, an image whose longest side is larger is decoded at a reduced scale where the format allows
    (JPEG) and reduced by an integer factor right after decoding, before any conversion, so the peak memory is the
    decoded image itself (at most ``max_pixels`` x 4 bytes) and everything downstream works on at most
    ``max_side`` pixels per side. Errors are one-line :class:`DataError` naming ``path``."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DataError(path, "file is empty (0 bytes)")
        with warnings.catch_warnings():  # Pillow warns above half its limit; ours, lower, answers below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:  # far over any limit: Pillow refuses it from the header too
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "too many megapixels"
        raise DataError(path, f"image is {size}, over the limit of {max_pixels / 1e6:.0f}{advice}") from None
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, expected an image file") from None
    except UnidentifiedImageError:
        raise DataError(path, "not a readable image (unknown or corrupt format)") from None
    except OSError as exc:
        raise DataError(path, f"cannot open image ({exc.strerror or exc})") from None
    except (SyntaxError, ValueError, struct.error) as exc:
        raise DataError(path, f"not a readable image ({exc})") from None
    if formats is not None and image.format not in formats:
        image.close()
        raise DataError(path, f"{image.format} images are not accepted (expected {' or '.join(formats)})")
    width, height = image.size
    check_pixels(width, height, path, max_pixels, min_side, advice)
    try:
        if max_side is not None and max(width, height) > max_side and image.format == "JPEG":
            image.draft(image.mode, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale, still >= max_side
        image.load()
        if max_side is not None and max(image.size) > max_side:
            factor = -(-max(image.size) // max_side)
            if image.mode in ("LA", "RGBA"):
                image = _reduce_in_bands(image, factor)
            elif image.mode in ("L", "RGB", "I", "F"):
                image = image.reduce(factor)  # box average, in place of a full-size float copy
            else:  # palette, bilevel, 16-bit: nearest pixels (no averaging in these modes)
                image = image.resize((max(1, image.width // factor), max(1, image.height // factor)),
                                     Image.Resampling.NEAREST)
    except DataError:
        raise
    except (OSError, SyntaxError, ValueError, struct.error, MemoryError) as exc:
        raise DataError(path, f"truncated or corrupt image data ({exc})") from None
    return image


def _reduce_in_bands(image: Image.Image, factor: int) -> Image.Image:
    """``image.reduce(factor)`` for images with alpha, a band of rows at a time: Pillow reduces those through a
    premultiplied full-size copy, which would double the peak memory of a large photo."""
    width, height = image.size
    out = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    rows = factor * 64
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        out.paste(band.reduce(factor), (0, top // factor))
    return out


def _open(path: Path) -> Image.Image:
    return open_image(path)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) read from the header only."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            return image.size
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except Image.DecompressionBombError as exc:
        raise DataError(path, f"image is far too large ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"not a readable image ({exc})") from None


def to_float(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert any PIL mode to (rgb float32 HxWx3 in [0,1], alpha HxW or None)."""
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image).astype(np.float32)
        scale = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        gray = np.clip(array / scale, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=-1), None
    if mode == "F":
        gray = np.clip(np.asarray(image).astype(np.float32), 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=-1), None
    if mode in ("L", "1"):
        gray = np.asarray(image.convert("L")).astype(np.float32) / 255.0
        return np.repeat(gray[..., None], 3, axis=-1), None
    if mode == "LA":
        array = np.asarray(image).astype(np.float32) / 255.0
        return np.repeat(array[..., :1], 3, axis=-1), array[..., 1]
    if mode in ("RGBA", "RGBa", "PA"):
        array = np.asarray(image.convert("RGBA")).astype(np.float32) / 255.0
        return array[..., :3], array[..., 3]
    array = np.asarray(image.convert("RGB")).astype(np.float32) / 255.0
    return array, None


def read_rgb(path: str | Path, background: float = 1.0) -> np.ndarray:
    """An image as float32 HxWx3 in [0, 1]; transparent pixels are composited on ``background`` (white)."""
    path = Path(path)
    rgb, alpha = to_float(_open(path))
    if alpha is not None:
        rgb = rgb * alpha[..., None] + background * (1.0 - alpha[..., None])
    return np.ascontiguousarray(rgb, dtype=np.float32)


def read_rgba(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(rgb HxWx3, alpha HxW or None), both float32 in [0, 1], without compositing."""
    path = Path(path)
    return to_float(_open(path))


def read_gray16(path: str | Path) -> np.ndarray:
    """A single-channel 8- or 16-bit PNG as its raw integer values (float32), e.g. depth maps."""
    path = Path(path)
    image = _open(path)
    if image.mode not in ("I;16", "I;16B", "I;16L", "I", "L"):
        raise DataError(path, f"expected a single-channel 8/16-bit image, got mode {image.mode}")
    return np.asarray(image).astype(np.float32)


def read_labels(path: str | Path) -> np.ndarray:
    """An 8-bit label image (e.g. part labels) as int64 HxW."""
    path = Path(path)
    image = _open(path)
    if image.mode not in ("L", "P", "I", "I;16"):
        raise DataError(path, f"expected a single-channel label image, got mode {image.mode}")
    return np.asarray(image).astype(np.int64)


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_png(path: str | Path, array: np.ndarray, compress_level: int = 1) -> None:
    """Write uint8 (HxW, HxWx3, HxWx4) or uint16 (HxW) arrays as PNG. Float arrays are taken as [0, 1]."""
    path = Path(path)
    if array.dtype.kind == "f":
        array = to_uint8(array)
    if array.dtype == np.uint16:
        image = Image.fromarray(array)  # mode I;16
    else:
        image = Image.fromarray(np.ascontiguousarray(array))
    image.save(path, compress_level=compress_level)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a file so that readers see either the old or the complete new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
