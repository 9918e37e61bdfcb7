"""Image metrics of the SRN / pixelNeRF protocol (REFERENCE.md §0): PSNR with data range 1 and SSIM as
skimage's ``structural_similarity(channel_axis=-1, data_range=1)`` (7x7 uniform window, K1=0.01, K2=0.03),
each per image; and the depth error on pixels that are foreground in both prediction and ground truth."""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity


def _hwc(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.transpose(image, (1, 2, 0))
    return image


def psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """10·log10(1 / MSE) with the prediction clipped to [0, 1] (inf for identical images)."""
    prediction, target = np.clip(_hwc(prediction), 0.0, 1.0), _hwc(target)
    mse = float(np.mean((prediction - target) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean SSIM over channels: skimage defaults (7x7 uniform window), data range 1, prediction clipped."""
    prediction, target = np.clip(_hwc(prediction), 0.0, 1.0), _hwc(target)
    return float(structural_similarity(prediction, target, channel_axis=-1, data_range=1.0))


def depth_coverage(
    prediction: np.ndarray, target: np.ndarray, predicted_foreground: np.ndarray | None = None
) -> float | None:
    """Fraction of the pixels :func:`depth_error` could score (ground truth foreground, and ``predicted_foreground``
    when given) where the prediction has a depth (finite): 1 for dense depth, less for a sparse estimate (LFN).
    None when no pixel qualifies."""
    prediction, target = np.asarray(prediction, np.float64).squeeze(), np.asarray(target, np.float64).squeeze()
    valid = target > 0
    if predicted_foreground is not None:
        valid &= np.asarray(predicted_foreground).squeeze().astype(bool)
    if not valid.any():
        return None
    return float(np.isfinite(prediction[valid]).mean())


def depth_error(
    prediction: np.ndarray, target: np.ndarray, predicted_foreground: np.ndarray | None = None
) -> float | None:
    """Mean |z_pred - z_true| over pixels foreground in both (ground truth foreground: depth > 0; prediction
    foreground: ``predicted_foreground`` when given, else every pixel). None when no pixel qualifies."""
    prediction, target = np.asarray(prediction, np.float64).squeeze(), np.asarray(target, np.float64).squeeze()
    valid = target > 0
    if predicted_foreground is not None:
        valid &= np.asarray(predicted_foreground).squeeze().astype(bool)
    valid &= np.isfinite(prediction)
    if not valid.any():
        return None
    return float(np.abs(prediction[valid] - target[valid]).mean())
