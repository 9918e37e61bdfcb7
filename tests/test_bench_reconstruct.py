"""The shipped models, encoder inference with --refine, the posed-crop camera, and the two main-job benchmarks
(``bench reconstruct`` timing, ``bench reconstruct-check`` scoring against ground truth) on tiny models."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from sceneprior.api import MODELS_DIR, crop_intrinsics, example_images, load_model, reconstruct, reframe, shipped_models
from sceneprior.cli.main import main
from sceneprior.cli.reconstruct import DEFAULT_MODEL
from sceneprior.training.tiny import save_tiny_run
from sceneprior.errors import ConfigError


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {kind: save_tiny_run(root / kind, kind, resolution=32) for kind in ("srn-encoder", "srn", "splatter")}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from sceneprior.data.generator import GeneratorConfig, generate_dataset

    out = tmp_path_factory.mktemp("data") / "cars_seed1"
    return generate_dataset(GeneratorConfig(category="cars", out=out, objects=2, views=4, test_objects=2, val_objects=1,
                                            resolution=32, seed=1, workers=1, splits=("test",), surface_points=100,
                                            sdf_samples=100))


# ------------------------------------------------------------------------------------------------- shipped models


def test_shipped_models_load_and_the_default_is_a_feed_forward_splatter_model():
    assert {"cars", "cars-srn", "cars-splatter", DEFAULT_MODEL} <= set(shipped_models())
    default = load_model(DEFAULT_MODEL)
    assert default.kind == "splatter" and default.modes == ("encode",) and default.prior.resolution == 64
    cars, srn = load_model("cars"), load_model("cars-srn")
    assert cars.kind == srn.kind == "srn" and cars.name == "cars" and srn.name == "cars-srn"
    assert cars.modes == ("encode", "autodecode", "encode+autodecode") and srn.modes == ("autodecode",)
    assert cars.step == 2281 and srn.step == 3268
    for loaded in (cars, srn):
        assert loaded.prior.resolution == 64 and loaded.prior.source.endswith("view_prior.json")
        assert (MODELS_DIR / loaded.name / "MODEL_CARD.md").is_file()


def test_package_data_ships_every_model_folder():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["sceneprior"]
    package = MODELS_DIR.parents[1]
    shipped = {str(p.relative_to(package)) for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    for name in ("cars", "cars-srn", "cars-pixelnerf", "cars-splatter", DEFAULT_MODEL):
        files = [str(p.relative_to(package)) for p in (MODELS_DIR / name).rglob("*") if p.is_file()]
        assert files and set(files) <= shipped, name


# ------------------------------------------------------------------------------------------------- inference modes


def test_encoder_model_encodes_by_default_and_refines_on_request(runs):
    loaded = load_model(runs["srn-encoder"])
    image = example_images()[0]
    rec = reconstruct(loaded, image)
    assert rec.mode == "encode" and rec.losses == [] and rec.inference_label == "encode (one forward pass)"
    refined = reconstruct(loaded, image, refine_steps=3)
    assert refined.mode == "encode+autodecode" and len(refined.losses) == 3
    assert refined.inference_label == "encode+autodecode (3 steps)"
    assert not torch.equal(refined.latent.code, rec.latent.code)  # refined from the encoder's latent
    with pytest.raises(ConfigError, match="encode\\+autodecode"):
        reconstruct(loaded, image, mode="autodecode", refine_steps=3)
    # an auto-decoder keeps auto-decoding; it has nothing to refine
    srn = load_model(runs["srn"])
    assert reconstruct(srn, image, steps=2).mode == "autodecode"
    with pytest.raises(ConfigError, match="no encoder"):
        reconstruct(srn, image, refine_steps=3)
    # a feed-forward model (one Gaussian per pixel) encodes; it has no latent code to refine
    splatter = load_model(runs["splatter"])
    assert reconstruct(splatter, image).mode == "encode"
    with pytest.raises(ConfigError, match="no latent code to refine"):
        reconstruct(splatter, image, refine_steps=3)


def test_cli_refine_prints_the_mode_and_time(runs, tmp_path, capsys):
    base = ["reconstruct", "--model", str(runs["srn-encoder"]), "--views", "2", "--no-mesh", "--threads", "1"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    assert "inference: encode (one forward pass) in " in capsys.readouterr().out
    assert main(base + ["--out", str(tmp_path / "b"), "--refine", "3"]) == 0
    out = capsys.readouterr().out
    assert "inference: encode+autodecode (3 steps) in " in out
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["mode"] == "encode+autodecode" and summary["inference_steps"] == 3
    code = main(["reconstruct", "--model", str(runs["srn"]), "--refine", "3", "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "no encoder" in err[0] and not (tmp_path / "c").exists()


# ------------------------------------------------------------------------------------------------- posed crop


def test_crop_intrinsics_follow_a_projected_point():
    K = torch.tensor([[80.0, 0.0, 32.0], [0.0, 80.0, 32.0], [0.0, 0.0, 1.0]])
    box = (10.0, -4.0, 50.0, 36.0)  # 40 px square, partly above the image
    Kc = crop_intrinsics(K, box, 64)
    point = torch.tensor([0.1, -0.05, 1.3])
    u = (K @ point)[:2] / point[2]
    uc = (Kc @ point)[:2] / point[2]
    expected = (u - torch.tensor([box[0], box[1]])) * 64 / 40
    assert torch.allclose(uc, expected, atol=1e-4)


def test_a_posed_photo_is_cropped_and_mapped_back_to_the_model_framing(runs):
    """A dataset-like image at the model's own intrinsics: cropping and mapping back gives (nearly) the image."""
    loaded = load_model(runs["srn-encoder"])
    rgb = np.ones((32, 32, 3), np.float32)
    rgb[12:22, 9:20] = (0.8, 0.1, 0.1)
    rgb[12:16, 9:20] = (0.1, 0.2, 0.7)
    cam, K = loaded.prior.camera(10.0), loaded.prior.intrinsics(32)
    rec = reconstruct(loaded, rgb, cam2world=cam[None], K=K[None], crop=True)
    crop = rec.preprocessed[0]
    assert crop is not None and crop.crop_box[2] - crop.crop_box[0] < 20  # the crop really zooms in
    assert torch.allclose(rec.K[0], K) and torch.allclose(rec.cam2world[0], cam)
    back = rec.images[0].permute(1, 2, 0).numpy()
    assert np.abs(back - rgb).mean() < 0.03
    with pytest.raises(ConfigError, match="camera"):
        reconstruct(loaded, rgb, crop=False)


# ------------------------------------------------------------------------------------------------- benchmarks


def test_bench_reconstruct_smoke(runs, tmp_path, capsys):
    path = tmp_path / "speed.json"
    assert main(["bench", "reconstruct", "--model", str(runs["srn-encoder"]), "--quick", "--threads", "1",
                 "--json", str(path), "--md", str(tmp_path / "speed.md")]) == 0
    report = json.loads(path.read_text())
    names = [s["name"] for s in report["stages"]]
    assert names[:3] == ["load model", "preprocess (find, crop, resize)", "infer: encode (one forward pass)"]
    assert any(n.startswith("infer: encode+autodecode (3 steps)") for n in names)
    assert any(n.startswith("infer: autodecode (3 steps)") for n in names)
    assert any(n.startswith("render 4-view turntable") for n in names) and any(n.startswith("mesh") for n in names)
    assert report["model"]["default_mode"] == "encode" and report["machine"]["torch_threads"] == 1
    assert len(report["load_average_before"]) == 3 and report["target"]["seconds"] == 10.0
    assert set(report["input_to_turntable_and_mesh_s"]) == {"encode", "encode+autodecode", "autodecode"}
    assert all(s["median_s"] >= 0 for s in report["stages"])
    assert "| stage |" in capsys.readouterr().out and "Made by `sceneprior" in (tmp_path / "speed.md").read_text()


def test_reconstruct_check_on_a_tiny_dataset(runs, tiny_data, tmp_path):
    path = tmp_path / "check.json"
    assert main(["bench", "reconstruct-check", "--model", str(runs["srn-encoder"]), "--data", str(tiny_data),
                 "--reference-psnr", "10", "--json", str(path), "--md", str(tmp_path / "check.md")]) == 0
    result = json.loads(path.read_text())
    assert result["num_objects"] == 2 and result["views_per_object"] == 3 and result["dataset_seed"] == 1
    assert result["mode"] == "encode" and np.isfinite(result["psnr"]) and 0 < result["ssim"] <= 1
    assert np.isfinite(result["control_uncropped_psnr"])
    assert result["psnr_minus_reference"] == pytest.approx(result["psnr"] - 10)
    for obj in result["objects"]:
        assert obj["input_view"] == 0 and obj["input_file"].endswith(".png") and Path(obj["input_file"]).is_file()
    # the verdict follows the numbers, both ways: the first reference decides one verdict, a second run with a
    # reference chosen to give the other verdict must print that one
    within = abs(result["psnr"] - 10) <= 0.5
    assert result["within_0_5_db"] is within
    assert ("NOT within 0.5 dB" in (tmp_path / "check.md").read_text()) is (not within)
    other = result["psnr"] + 3.0 if within else result["psnr"]
    assert main(["bench", "reconstruct-check", "--model", str(runs["srn-encoder"]), "--data", str(tiny_data),
                 "--reference-psnr", f"{other:.6f}", "--json", str(path), "--md", str(tmp_path / "check2.md")]) == 0
    again = json.loads(path.read_text())
    assert again["psnr"] == pytest.approx(result["psnr"]) and again["within_0_5_db"] is (not within)
    text = (tmp_path / "check2.md").read_text()
    assert ("NOT within 0.5 dB" in text) is within and "within 0.5 dB" in text


def test_shipped_pixelnerf_renders_held_out_views_of_a_car_it_never_saw(tmp_path):
    """cars-pixelnerf (trained on generator seed 0): one posed 64² view of a car of another seed in, the other
    views rendered at their cameras and scored. An untrained or mis-loaded model scores far below the bound."""
    from sceneprior.data.generator import GeneratorConfig, generate_dataset
    from sceneprior.evaluation.metrics import psnr
    from sceneprior.training.data import SplitCache, open_split

    loaded = load_model("cars-pixelnerf")
    assert loaded.kind == "pixelnerf" and loaded.modes == ("encode",) and loaded.step == 7306
    assert loaded.prior.resolution == 64 and (MODELS_DIR / "cars-pixelnerf" / "MODEL_CARD.md").is_file()
    root = generate_dataset(GeneratorConfig(category="cars", out=tmp_path / "cars", objects=1, views=2, test_views=4,
                                            test_objects=2, val_objects=1, resolution=64, seed=11, workers=1,
                                            splits=("test",), surface_points=100, sdf_samples=100))
    split = open_split(root, "test")
    cache = SplitCache(split)
    scores = []
    for index in range(len(split)):
        stored = cache.scene(index)
        cam2world, K = stored.cam2world, stored.intrinsics
        rgb = stored.images.permute(0, 2, 3, 1).numpy()  # (view, H, W, 3) uint8
        rec = reconstruct(loaded, [rgb[0]], cam2world[:1], K[:1])
        assert rec.mode == "encode"
        for v in range(1, len(rgb)):
            view = rec.render(cam2world[v], K[v], 64, 64)
            scores.append(psnr(view.rgb, rgb[v].astype(np.float32) / 255))
    assert len(scores) == 6 and float(np.mean(scores)) > 17.0, scores


def test_shipped_pixelnerf_renders_within_the_stated_tolerance_of_every_sample_with_empty_space_skipping(tmp_path):
    """cars-pixelnerf renders with empty-space skipping by default (render_skip_weight=0, a 16³ occupancy grid):
    against the same model evaluating every sample (render_skip_weight=None), the stated tolerance is PSNR >= 45 dB
    and no pixel channel off by more than 0.15 (measured on cars300 test: >= 52 dB, <= 0.083; docs/IMAGE_MODELS.md)."""
    from dataclasses import replace

    from sceneprior.data.generator import GeneratorConfig, generate_dataset
    from sceneprior.evaluation.metrics import psnr
    from sceneprior.training.data import open_split

    model = load_model("cars-pixelnerf").model
    assert model.config.render_skip_weight == 0.0 and model.config.render_grid == 16
    root = generate_dataset(GeneratorConfig(category="cars", out=tmp_path / "cars", objects=1, views=2, test_views=3,
                                            test_objects=2, val_objects=1, resolution=64, seed=5, workers=1,
                                            splits=("test",), surface_points=100, sdf_samples=100))
    split = open_split(root, "test")
    fast_config = model.config
    for index in range(len(split)):
        views = split[index]
        with torch.no_grad():
            latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
            for v in (1, 2):
                K = views.intrinsics[v:v + 1] * torch.tensor([0.5, 0.5, 1.0])[:, None]  # a 32² render, same camera
                model.config = fast_config
                fast = model.render(latent, views.cam2world[v:v + 1], K, 32, 32).rgb[0]
                model.config = replace(fast_config, render_skip_weight=None)
                dense = model.render(latent, views.cam2world[v:v + 1], K, 32, 32).rgb[0]
                model.config = fast_config
                assert psnr(fast.permute(1, 2, 0).numpy(), dense.permute(1, 2, 0).numpy()) >= 45.0
                assert float((fast - dense).abs().max()) <= 0.15
