"""Evaluation of image models with the SRN / pixelNeRF protocol: PSNR, SSIM, depth error, inference time."""

from .evaluate import EvalConfig, EvalResult, ObjectResult, evaluate
from .metrics import depth_coverage, depth_error, psnr, ssim

__all__ = ["EvalConfig", "EvalResult", "ObjectResult", "depth_coverage", "depth_error", "evaluate", "psnr", "ssim"]
