"""Metrics against hand-computed values, and ``sceneprior eval`` end to end on a tiny dataset."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sceneprior.evaluation import depth_coverage, depth_error, psnr, ssim


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_psnr_of_a_constant_offset_is_20_db():
    target = np.full((8, 8, 3), 0.5)
    assert psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-9)  # MSE 0.01
    assert psnr(target, target) == math.inf


def test_psnr_clips_the_prediction_to_unit_range():
    target = np.ones((4, 4, 3))
    assert psnr(np.full((4, 4, 3), 3.0), target) == math.inf


def test_ssim_of_constant_images_is_the_luminance_term():
    # zero variance: SSIM = (2ab + C1) / (a² + b² + C1), C1 = (0.01·1)²
    a, b, c1 = 0.5, 0.25, 1e-4
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    value = ssim(np.full((16, 16, 3), a), np.full((16, 16, 3), b))
    assert value == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(0.800064, abs=1e-6)


def _ssim_brute_force(x: np.ndarray, y: np.ndarray) -> float:
    """Every 7x7 window away from the border, sample (co)variances (ddof 1), mean over windows and channels."""
    c1, c2, r = 1e-4, 9e-4, 3
    values = []
    for ch in range(x.shape[-1]):
        for i in range(r, x.shape[0] - r):
            for j in range(r, x.shape[1] - r):
                wx = x[i - r : i + r + 1, j - r : j + r + 1, ch].ravel()
                wy = y[i - r : i + r + 1, j - r : j + r + 1, ch].ravel()
                mx, my = wx.mean(), wy.mean()
                vx, vy = wx.var(ddof=1), wy.var(ddof=1)
                cov = ((wx - mx) * (wy - my)).sum() / (wx.size - 1)
                values.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def test_ssim_matches_a_brute_force_window_loop():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(12, 11, 3))
    y = np.clip(x + rng.normal(scale=0.1, size=x.shape), 0, 1)
    assert ssim(x, y) == pytest.approx(_ssim_brute_force(x, y), abs=1e-6)
    assert ssim(x, x) == pytest.approx(1.0)


def test_ssim_accepts_channels_first():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=(3, 10, 10)), rng.uniform(size=(3, 10, 10))
    assert ssim(x, y) == pytest.approx(ssim(x.transpose(1, 2, 0), y.transpose(1, 2, 0)))


def test_depth_error_uses_pixels_foreground_in_both():
    truth = np.array([[1.0, 2.0], [0.0, 4.0]])  # 0 = background
    prediction = np.array([[1.5, 1.0], [9.0, 4.0]])
    assert depth_error(prediction, truth) == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    predicted_fg = np.array([[True, False], [True, True]])
    assert depth_error(prediction, truth, predicted_fg) == pytest.approx((0.5 + 0.0) / 2)
    assert depth_error(prediction, np.zeros((2, 2))) is None


def test_depth_coverage_counts_the_scored_pixels_with_a_depth():
    """Sparse depth (LFN): NaN pixels are left out of the error and counted against the coverage."""
    truth = np.array([[1.0, 2.0], [0.0, 3.0]])
    sparse = np.array([[1.5, np.nan], [9.0, np.nan]])
    assert depth_error(sparse, truth) == pytest.approx(0.5)
    assert depth_coverage(sparse, truth) == pytest.approx(1 / 3)
    assert depth_coverage(sparse, truth, np.array([[True, True], [True, False]])) == pytest.approx(1 / 2)
    assert depth_coverage(np.ones((2, 2)), truth) == 1.0 and depth_coverage(sparse, np.zeros((2, 2))) is None


def test_eval_command_writes_the_documented_json(tmp_path):
    from image_model_toys import write_toy_dataset

    from sceneprior.cli.main import main

    data = write_toy_dataset(tmp_path / "data", {"train": 3, "test": 2}, views=4, size=16)
    run = tmp_path / "run"
    assert main(["train", "--preset", "autoencoder", "--data", str(data), "--out", str(run), "--steps", "2",
                 "--image-every", "0", "--no-progress"]) == 0
    out = tmp_path / "eval.json"
    assert main(["eval", str(run), "--data", str(data), "--json", str(out), "--max-objects", "2"]) == 0
    result = json.loads(out.read_text())
    for key in ("split", "mode", "input_views", "num_objects", "psnr", "ssim", "depth_error",
                "inference_seconds_per_object", "render_seconds_per_view", "objects", "run", "checkpoint_step"):
        assert key in result
    assert result["num_objects"] == 2 and result["mode"] == "encode" and result["checkpoint_step"] == 2
    first = result["objects"][0]
    assert first["input_views"] == [0] and first["num_views"] == 3  # every view but the fixed input view
    assert 0 < first["psnr"] < 100 and -1 <= first["ssim"] <= 1


def test_eval_takes_a_shipped_model_name_and_default(tmp_path, capsys):
    """``sceneprior eval MODEL`` resolves MODEL as ``reconstruct --model`` does; ``default`` is the main job's model."""
    from image_model_toys import write_toy_dataset

    from sceneprior.api import load_model
    from sceneprior.cli.main import main
    from sceneprior.cli.reconstruct import DEFAULT_MODEL

    data = write_toy_dataset(tmp_path / "data", {"test": 1}, views=3, size=64)
    results = {}
    for name in ("default", DEFAULT_MODEL, "cars-pixelnerf"):
        out = tmp_path / f"{name}.json"
        assert main(["eval", name, "--data", str(data), "--json", str(out), "--max-objects", "1"]) == 0
        results[name] = json.loads(out.read_text())
    assert results["default"]["checkpoint_step"] == load_model(DEFAULT_MODEL).step
    assert results["default"]["psnr"] == results[DEFAULT_MODEL]["psnr"]  # the same model, deterministic encoder
    assert results["cars-pixelnerf"]["checkpoint_step"] == load_model("cars-pixelnerf").step
    assert results["cars-pixelnerf"]["psnr"] != results[DEFAULT_MODEL]["psnr"]
    capsys.readouterr()
    assert main(["eval", "no-such-model", "--data", str(data)]) == 2
    assert "'no-such-model' not found" in capsys.readouterr().err
