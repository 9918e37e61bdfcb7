"""From any photo to the model's input: find the object, centre it, crop a square with the training data's
margin, resize to the model's resolution, composite on white.

The object is found from the alpha channel (RGBA images with some transparency), else from a plain background:
the colour of the image border (its median) must be nearly uniform, and every pixel that differs from it by more
than ``PreprocessConfig.background_tolerance`` (max over channels) is foreground; small specks are removed and
the remaining connected components above ``min_component_fraction`` of the largest one are kept.

The crop is a square of side ``longest side of the object's bounding box / object_fraction`` placed so that the
box's centre lands at ``object_centre``: how much of the frame the training objects fill at the default camera
and where (see :mod:`sceneprior.inference.prior`). Parts of the crop outside the photo are white.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Bool, Float
from PIL import Image
from scipy import ndimage
from torch import Tensor

from ..data.image_io import check_pixels, open_image, to_float
from ..errors import ConfigError, DataError

#: what an input image may be: a file, an HxWx3 / HxWx4 array (uint8 or float in [0, 1]), a PIL image or a tensor
ImageInput = str | Path | np.ndarray | Image.Image | Tensor
#: the one "non-white = object" threshold: a pixel whose largest channel difference from the background colour
#: (white in training images and renders) exceeds this is the object
BACKGROUND_TOLERANCE = 0.08


def non_white(rgb: Float[np.ndarray, "*shape 3"] | Float[Tensor, "*shape 3"], tolerance: float = BACKGROUND_TOLERANCE
              ) -> Bool[np.ndarray, "*shape"] | Bool[Tensor, "*shape"]:
    """Pixels of an RGB image in [0, 1] (channels last; an array or a tensor) that are not background white: the
    object."""
    if isinstance(rgb, Tensor):
        return (rgb - 1.0).abs().amax(-1) > tolerance
    return np.abs(rgb - 1.0).max(-1) > tolerance

#: Inputs with more pixels than this are refused before decoding (50-megapixel photos are refused).
MAX_INPUT_PIXELS = 40_000_000
#: Inputs with a side shorter than this are refused (nothing can be recognised in them).
MIN_INPUT_SIDE = 16
#: Input files larger than this many bytes are refused.
MAX_INPUT_BYTES = 50 * 1024 * 1024
#: Formats accepted as photos (checked from the header, before decoding).
INPUT_FORMATS = ("PNG", "JPEG", "WEBP")
#: Photos with a longer side are reduced by an integer factor while decoding: the model sees at most a few hundred
#: pixels of the crop, and every array after decoding stays small (see results/bomb_memory.md).
WORK_SIDE = 1024


@dataclass(frozen=True)
class PreprocessConfig:
    #: side of the model's square input image, pixels
    resolution: int = 64
    #: longest side of the object's bounding box / side of the crop (the training data's framing)
    object_fraction: float = 0.70
    #: where the centre of the object's bounding box lies in the training images, as fractions of the side
    object_centre: tuple[float, float] = (0.5, 0.56)
    #: max channel difference from the background colour above which a pixel is foreground
    background_tolerance: float = BACKGROUND_TOLERANCE
    #: the border's colours must have a per-channel spread (median absolute deviation) below this
    border_max_spread: float = 0.06
    #: alpha above which a pixel belongs to the object (for the bounding box)
    alpha_threshold: float = 0.5
    #: connected components smaller than this fraction of the largest are dropped
    min_component_fraction: float = 0.02


@dataclass
class PreprocessResult:
    """The model input and how it was made (all boxes are ``(x0, y0, x1, y1)`` in source pixels, exclusive)."""

    image: Float[np.ndarray, "height width 3"]
    #: the object mask in the model input, float in [0, 1]
    mask: Float[np.ndarray, "height width"]
    object_box: tuple[int, int, int, int]
    crop_box: tuple[float, float, float, float]
    source_size: tuple[int, int]  # (width, height)
    mask_source: str  # "alpha" or "background"


def load_image(path: str | Path, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(rgb HxWx3, alpha HxW or None) in [0, 1] of a photo, after checking the file size, its format and the
    pixel count its header declares (:func:`sceneprior.data.image_io.open_image`: huge images are refused before
    anything is decoded). The EXIF orientation is read after that check (a PNG keeps EXIF after its pixels, so
    reading it first would decode the whole image). ``max_side`` (default :data:`WORK_SIDE`) reduces larger photos
    by an integer factor while decoding, so memory stays bounded whatever the photo; ``max_side=0`` keeps every
    pixel. Errors are one-line :class:`DataError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise DataError(path, "is a directory, expected an image file")
    if size > MAX_INPUT_BYTES:
        raise DataError(path, f"file is {size / 2**20:.0f} MB, over the limit of {MAX_INPUT_BYTES / 2**20:.0f} MB")
    image = open_image(path, MAX_INPUT_PIXELS, MIN_INPUT_SIDE, INPUT_FORMATS,
                       max_side=WORK_SIDE if max_side is None else (max_side or None), advice="; downscale it first")
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the orientation
        orientation = 1
    rgb, alpha = to_float(image)
    if orientation in (2, 3, 4, 5, 6, 7, 8):  # camera photos stored sideways: turn them as viewers do
        rgb = _orient(rgb, orientation)
        alpha = None if alpha is None else _orient(alpha, orientation)
    return rgb, alpha


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply the EXIF orientation tag (2-8) to an HxW(xC) array, as ``PIL.ImageOps.exif_transpose`` does."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, -1)[::-1],
           8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops[orientation](array))


def check_size(width: int, height: int, where: str | Path | None = None) -> None:
    check_pixels(width, height, where, MAX_INPUT_PIXELS, MIN_INPUT_SIDE, "; downscale it first")


def object_mask(
    rgb: Float[np.ndarray, "height width 3"], alpha: Float[np.ndarray, "height width"] | None, config: PreprocessConfig,
    where: str | Path | None = None,
) -> tuple[np.ndarray, str]:
    """Boolean mask of the object and where it came from ("alpha" or "background")."""
    if alpha is not None and float(alpha.min()) < 0.99:
        mask = alpha > config.alpha_threshold
        source = "alpha"
    else:
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]], 0)
        colour = np.median(border, 0)
        spread = np.median(np.abs(border - colour), 0).max()
        if spread > config.border_max_spread:
            raise DataError(where, "cannot find the object: the background is not plain; give a PNG with transparency "
                            "or a photo on a white (or plain) background")
        mask = np.abs(rgb - colour).max(-1) > config.background_tolerance
        mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool)) if min(mask.shape) >= 32 else mask
        source = "background"
    labels, count = ndimage.label(mask)
    if count == 0:
        raise DataError(where, "no object found in the image (it is empty, all background or fully transparent)")
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, count + 1))
    keep = np.flatnonzero(sizes >= config.min_component_fraction * sizes.max()) + 1
    mask = np.isin(labels, keep)
    if mask.sum() < 4:
        raise DataError(where, "no object found in the image (only a few stray pixels differ from the background)")
    return mask, source


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def crop_box_for(
    object_box: tuple[int, int, int, int], object_fraction: float, object_centre: tuple[float, float] = (0.5, 0.5)
) -> tuple[float, float, float, float]:
    """The square crop in which ``object_box``'s longest side fills ``object_fraction`` of the side and its centre
    lies at ``object_centre`` (fractions of the side)."""
    x0, y0, x1, y1 = object_box
    side = max(x1 - x0, y1 - y0) / object_fraction
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    left, top = cx - object_centre[0] * side, cy - object_centre[1] * side
    return left, top, left + side, top + side


def _crop_resize(array: np.ndarray, box: tuple[float, float, float, float], size: int, fill: float) -> np.ndarray:
    """Crop ``box`` (may extend past the image; filled with ``fill``) and resize to ``size``² (area-averaging)."""
    height, width = array.shape[:2]
    x0, y0, x1, y1 = box
    pad = int(np.ceil(max(0.0, -x0, -y0, x1 - width, y1 - height))) + 1
    planes = array[..., None] if array.ndim == 2 else array
    padded = np.pad(planes, ((pad, pad), (pad, pad), (0, 0)), constant_values=fill).astype(np.float32)
    box_padded = (x0 + pad, y0 + pad, x1 + pad, y1 + pad)
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(padded[..., c])).resize((size, size), Image.Resampling.BOX,
                                                                                box=box_padded)) for c in range(padded.shape[-1])]
    result = np.stack(out, -1).astype(np.float32)
    return result[..., 0] if array.ndim == 2 else result


def preprocess_array(
    rgb: Float[np.ndarray, "height width 3"], alpha: Float[np.ndarray, "height width"] | None,
    config: PreprocessConfig, where: str | Path | None = None,
) -> PreprocessResult:
    """Find, centre, crop and resize the object of an image given as arrays in [0, 1]."""
    height, width = rgb.shape[:2]
    check_size(width, height, where)
    mask, source = object_mask(rgb, alpha, config, where)
    box = bounding_box(mask)
    crop = crop_box_for(box, config.object_fraction, config.object_centre)
    if alpha is not None and source == "alpha":
        matte = alpha
    else:
        # a soft matte: foreground pixels, grown by one pixel so antialiased edges keep their colour
        matte = ndimage.binary_dilation(mask, iterations=1).astype(np.float32)
    composited = rgb * matte[..., None] + (1.0 - matte[..., None])
    image = np.clip(_crop_resize(composited, crop, config.resolution, 1.0), 0.0, 1.0)
    small_mask = np.clip(_crop_resize(mask.astype(np.float32), crop, config.resolution, 0.0), 0.0, 1.0)
    return PreprocessResult(image=image, mask=small_mask, object_box=box, crop_box=crop, source_size=(width, height),
                            mask_source=source)


def preprocess_file(path: str | Path, config: PreprocessConfig) -> PreprocessResult:
    rgb, alpha = load_image(path)
    return preprocess_array(rgb, alpha, config, path)


def as_image_array(image: ImageInput, index: int) -> tuple[np.ndarray, np.ndarray | None, str | Path | None]:
    """(rgb HxWx3 float in [0, 1], alpha or None, where) from a path, PIL image, array or tensor."""
    if isinstance(image, (str, Path)):
        rgb, alpha = load_image(image)
        return rgb, alpha, image
    where = f"image {index}"
    if isinstance(image, Image.Image):
        mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
        array = np.asarray(image.convert(mode)).astype(np.float32) / 255.0
    elif isinstance(image, Tensor):
        array = image.detach().cpu().float().numpy()
        if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[-1] not in (3, 4):
            array = np.moveaxis(array, 0, -1)
    else:
        array = np.asarray(image)
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / 255.0
        array = array.astype(np.float32)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, -1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise DataError(where, f"expected an HxWx3 or HxWx4 image, got shape {array.shape}")
    array = np.clip(array, 0.0, 1.0)
    return array[..., :3], (array[..., 3] if array.shape[-1] == 4 else None), where


def reframe(image: Float[np.ndarray, "height width 3"], K_from: Float[Tensor, "3 3"], K_to: Float[Tensor, "3 3"],
            size: int) -> Float[np.ndarray, "size size 3"]:
    """``image`` seen with intrinsics ``K_from`` resampled (area-averaged) to what the same camera pose sees with
    ``K_to`` at ``size``²; outside ``image`` is white (the background). Both K: no skew."""
    a, b = torch.as_tensor(K_from, dtype=torch.float64), torch.as_tensor(K_to, dtype=torch.float64)
    if abs(float(a[0, 1])) > 1e-6 or abs(float(b[0, 1])) > 1e-6:
        raise ConfigError("reframe: intrinsics with skew are not supported")
    sx, sy = float(a[0, 0] / b[0, 0]), float(a[1, 1] / b[1, 1])
    box = (float(a[0, 2]) - sx * float(b[0, 2]), float(a[1, 2]) - sy * float(b[1, 2]),
           float(a[0, 2]) + sx * (size - float(b[0, 2])), float(a[1, 2]) + sy * (size - float(b[1, 2])))
    return np.clip(_crop_resize(np.asarray(image, np.float32), box, size, 1.0), 0.0, 1.0)
