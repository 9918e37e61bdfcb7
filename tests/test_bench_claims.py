"""The machinery of ``sceneprior bench claim``: probe, metrics, generated ground truth, fitting, interpolation, and
every claim end to end on a tiny dataset with tiny untrained models (the numbers are meaningless; the plumbing runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sceneprior.claims.common import ClaimConfig, generated_views, generator_config, resolve, run_claim, spread
from sceneprior.claims.generalisation import two_tone
from sceneprior.claims.latent import (
    depth_agreement,
    fit_probe,
    foreground,
    interpolate_latents,
    mean_iou,
    rgb_features,
    srn_pixel_features,
)
from sceneprior.claims.rendering import fit_without_prior, upsample
from sceneprior.data.generator import GeneratorConfig, generate_dataset, intrinsics_for, orbit_cameras, render_views, sample_car
from sceneprior.errors import ConfigError
from sceneprior.geometry import scale_intrinsics
from sceneprior.models.base import SceneLatent
from sceneprior.training.data import dataset_metadata, open_split


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("claims") / "cars"
    generate_dataset(GeneratorConfig(category="cars", out=out, objects=3, views=3, test_views=4, val_objects=1,
                                     test_objects=4, resolution=16, seed=3, workers=1, surface_points=50, sdf_samples=50))
    return out


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, tiny_data) -> dict[str, Path]:
    from sceneprior.training.tiny import save_tiny_run

    root = tmp_path_factory.mktemp("models")
    return {kind: save_tiny_run(root / kind, kind, resolution=16, num_train_scenes=3, data=tiny_data)
            for kind in ("srn", "srn-encoder", "lfn")}


# --------------------------------------------------------------------------------------------- pieces


def test_probe_recovers_a_linearly_separable_labelling_exactly():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 5, generator=g) * torch.tensor([1.0, 3.0, 0.5, 2.0, 1.0]) + 4.0
    w = torch.randn(5, 3, generator=g)
    scores = x @ w
    top2 = scores.topk(2, 1).values
    keep = (top2[:, 0] - top2[:, 1]) > 0.3  # a margin, so the labelling is separable with room to spare
    x, y = x[keep], scores[keep].argmax(1)
    predict = fit_probe(x, y, 3, weight_decay=0.0, iterations=300)
    assert torch.equal(predict(x), y)


def test_mean_iou_counts_present_classes():
    truth = torch.tensor([0, 0, 1, 1, 2, 2])
    miou, ious = mean_iou(truth.clone(), truth, 4)
    assert miou == 1.0 and ious[3] is None
    miou, ious = mean_iou(torch.tensor([0, 0, 1, 1, 1, 2]), truth, 3)
    assert ious == [1.0, pytest.approx(2 / 3), 0.5]
    assert miou == pytest.approx((1 + 2 / 3 + 0.5) / 3)


def test_rgb_features_are_the_pixel_and_its_position():
    image = torch.rand(3, 4, 5)
    f1 = rgb_features(image, 1)
    assert f1.shape == (20, 5)
    assert torch.allclose(f1[7, :3], image[:, 1, 2])  # pixel 7 = row 1, column 2
    assert torch.allclose(f1[7, 3:], torch.tensor([2.5 / 5, 1.5 / 4]))
    f5 = rgb_features(image, 5)
    assert f5.shape == (20, 3 * 25 + 2)
    centre = f5[7, :75].reshape(3, 5, 5)[:, 2, 2]
    assert torch.allclose(centre, image[:, 1, 2])


def test_interpolation_endpoints_are_the_latents():
    a, b = torch.randn(8), torch.randn(8)
    z = interpolate_latents(a, b, (0.0, 0.25, 1.0))
    assert torch.equal(z[0], a) and torch.allclose(z[2], b)
    assert torch.allclose(z[1], 0.75 * a + 0.25 * b)


def test_depth_agreement_is_one_for_true_geometry_and_low_for_wrong_depth():
    scene = sample_car(np.random.default_rng(2))
    cams = orbit_cameras(torch.tensor([30.0, 60.0], dtype=torch.float64), torch.tensor([30.0, 30.0], dtype=torch.float64),
                         torch.tensor([1.6, 1.6], dtype=torch.float64)).float()
    K = intrinsics_for(48, 40.0).float()
    out = render_views(scene, cams, K, 48, 48, supersample=1)
    depth, mask = out.depth.float(), out.mask
    value, counted = depth_agreement(depth[0], mask[0], cams[0], depth[1], mask[1], cams[1], K)
    assert counted > 100 and value > 0.95
    wrong, _ = depth_agreement(depth[0] + 0.3, mask[0], cams[0], depth[1], mask[1], cams[1], K)
    assert wrong < 0.2
    # the foreground of a rendered image: the object's pixels (white background is not)
    fg = foreground(out.rgb[0].permute(2, 0, 1).float(), torch.where(mask[0], depth[0], torch.zeros_like(depth[0])),
                    cam2world=cams[0], K=K)
    assert (fg & ~mask[0]).sum() == 0 and fg.sum() > 0.9 * mask[0].sum()


def test_upsample_keeps_constant_images():
    image = np.full((8, 8, 3), 0.3, np.float32)
    for mode in ("nearest", "bilinear", "bicubic"):
        assert np.allclose(upsample(image, 32, mode), 0.3, atol=1e-6)


def test_spread_excludes_and_counts():
    assert spread(3, 10, exclude=(0, 1)) == [2, 4, 7]
    assert spread(20, 5, exclude=(0,)) == [1, 2, 3, 4]


# --------------------------------------------------------------------------------------------- generated ground truth


def test_generated_views_equal_the_dataset_on_disk(tiny_data):
    config = generator_config(dataset_metadata(tiny_data))
    views = open_split(tiny_data, "test", load_extras=True).load_views(1, [0, 2, 3])
    generated = generated_views(config, "test", 1, [0, 2, 3])
    assert torch.equal(generated.cam2world, views.cam2world.float())
    assert torch.allclose(generated.intrinsics, views.intrinsics.float(), atol=1e-4)
    assert (generated.images - views.images).abs().max() <= 1.0 / 255 + 1e-6  # at most one 8-bit level
    assert torch.equal(generated.parts, views.parts[:, 0].long())


def test_other_resolution_is_the_same_camera_with_scaled_intrinsics(tiny_data):
    metadata = dataset_metadata(tiny_data)
    low = generated_views(generator_config(metadata), "test", 0, [0, 3])
    high = generated_views(generator_config(metadata, resolution=64), "test", 0, [0, 3])
    assert high.images.shape[-1] == 64
    assert torch.equal(high.cam2world, low.cam2world)
    assert torch.allclose(high.intrinsics, scale_intrinsics(low.intrinsics, 4.0, 4.0), atol=1e-5)
    # the same object: the 64² image averaged down to 16² is close to the 16² render
    down = torch.nn.functional.avg_pool2d(high.images, 4)
    assert (down - low.images).abs().mean() < 0.03


def test_two_tone_changes_colours_not_geometry(tiny_data):
    config = generator_config(dataset_metadata(tiny_data))
    plain = generated_views(config, "test", 0, [0])
    painted = generated_views(config, "test", 0, [0], two_tone(0, 0))
    assert torch.equal(plain.parts, painted.parts) and torch.equal(plain.depths, painted.depths)
    wheels = plain.parts[0] == 4
    assert wheels.any()
    assert (painted.images[0][:, wheels].mean() - plain.images[0][:, wheels].mean()) > 0.2  # tyres no longer dark


# --------------------------------------------------------------------------------------------- models


def test_srn_pixel_features_give_the_models_colours(tiny_models):
    from sceneprior.api import load_model

    model = load_model(tiny_models["srn"]).model
    latent = SceneLatent(code=torch.randn(1, model.latent_dim))
    cam = orbit_cameras(torch.tensor([40.0], dtype=torch.float64), torch.tensor([30.0], dtype=torch.float64),
                        torch.tensor([1.6], dtype=torch.float64))[0].float()
    K = intrinsics_for(8, 40.0).float()
    features, rgb = srn_pixel_features(model, latent, cam, K, 8, 8)
    with torch.no_grad():
        rendered = model.render(latent, cam[None], K[None], 8, 8).rgb[0]
    assert features.shape == (64, model.config.phi_width)
    assert torch.allclose(rgb.T.reshape(3, 8, 8), rendered, atol=1e-4)  # render may take a faster path: rounding


def test_no_prior_fit_lowers_its_loss_on_its_input_views(tiny_data):
    from sceneprior.training.tiny import tiny_config

    views = open_split(tiny_data, "test").load_views(0, [0, 1, 2])
    _, _, losses = fit_without_prior(tiny_config("lfn"), views.images, views.cam2world, views.intrinsics,
                                     steps=60, rays=256, seed=0, lr=3e-3)
    assert len(losses) == 60
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_resolve_fills_defaults_and_checks():
    config = resolve(ClaimConfig(name="resolution"))
    assert config.model == "cars-srn" and config.objects == 6 and config.out == "results/claims/resolution"
    with pytest.raises(ConfigError, match="unknown claim"):
        resolve(ClaimConfig(name="nope"))
    with pytest.raises(ConfigError, match="--model"):
        resolve(ClaimConfig(name="lfn-prior"))


# --------------------------------------------------------------------------------------------- end to end


def _check_report(out: Path, claim: str) -> dict:
    report = json.loads((out / "claim.json").read_text())
    text = (out / "README.md").read_text()
    assert report["claim"] == claim and isinstance(report["holds"], bool)
    assert "Made by `sceneprior bench claim" in text and ("Holds" in text or "Does not hold" in text)
    for figure in report["figures"]:
        assert (out / figure).stat().st_size > 0
    return report


def test_claim_pose_from_a_quality_table(tmp_path, tiny_data):
    quality = tmp_path / "quality"
    rows = []
    for preset, test, ood in (("autoencoder", 19.0, 15.0), ("srn", 23.0, 22.0), ("lfn", 21.0, 18.0)):
        mode = "encode" if preset == "autoencoder" else "autodecode"
        rows.append({"preset": preset, "results": [
            {"mode": mode, "split": s, "input_views": 1, "ok": True, "psnr": p, "ssim": 0.8, "num_objects": 4}
            for s, p in (("test", test), ("test_ood_pose", ood))]})
        run = quality / "runs" / preset
        run.mkdir(parents=True)
        (run / "metrics.jsonl").write_text("".join(json.dumps({"step": k, "psnr": 20.0 + k, "rays_per_second": 1.0}) + "\n"
                                                   for k in range(3)))
    (quality / "quality.json").write_text(json.dumps({"command": "x", "machine": "y", "rows": rows}))
    out = tmp_path / "pose"
    report = run_claim(ClaimConfig(name="pose", data=str(tiny_data), out=str(out), quality=str(quality),
                                   command="sceneprior bench claim pose"))
    _check_report(out, "pose")
    assert report.holds is True  # the auto-encoder drops 4 dB, the only 3D-structured model 1 dB
    assert report.headline["autoencoder_drop_db"] == pytest.approx(4.0)
    assert report.data["rows"][0]["train_batch_psnr"] == pytest.approx(21.0)


@pytest.mark.parametrize("claim,kind,sizes", [
    ("ood-input", "srn-encoder", {"objects": 1, "views": 1, "steps": 2, "rays": 32}),
    ("resolution", "srn", {"objects": 1, "views": 1, "steps": 2, "rays": 32}),
    ("lfn-prior", "lfn", {"objects": 1, "views": 1, "steps": 3, "rays": 64}),
    ("interpolation", "srn", {"objects": 1}),
    ("parts", "srn", {"objects": 3, "views": 1, "steps": 2, "rays": 32, "ks": (1, 2)}),
])
def test_every_claim_runs_end_to_end_on_tiny_models(tmp_path, tiny_data, tiny_models, claim, kind, sizes):
    out = tmp_path / claim
    run_claim(ClaimConfig(name=claim, model=str(tiny_models[kind]), data=str(tiny_data), out=str(out),
                          command=f"sceneprior bench claim {claim}", **sizes))
    report = _check_report(out, claim)
    assert report["model"]["kind"] == ("srn" if kind.startswith("srn") else kind)


def test_claims_refuse_the_wrong_model(tmp_path, tiny_data, tiny_models):
    with pytest.raises(ConfigError, match="no encoder"):
        run_claim(ClaimConfig(name="ood-input", model=str(tiny_models["srn"]), data=str(tiny_data), out=str(tmp_path / "x")))
    with pytest.raises(ConfigError, match="LFN"):
        run_claim(ClaimConfig(name="lfn-prior", model=str(tiny_models["srn"]), data=str(tiny_data), out=str(tmp_path / "y")))
