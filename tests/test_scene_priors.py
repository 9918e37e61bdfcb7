"""Priors over whole scenes: lifting 2D features to 3D (DeepVoxels-style) and static / dynamic ground plans."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from sceneprior.conditioning.lifting import OcclusionAwarePooling, grid_points, unproject
from sceneprior.data.generator.streets import StreetConfig, generate_streets
from sceneprior.fields.base import FieldOutput
from sceneprior.geometry import intrinsics_matrix, look_at
from sceneprior.models.groundplan import GroundPlanConfig, GroundPlanModel, VideoBatches, edit_dynamic, video_groups
from sceneprior.models.lifting import LiftedGrid, LiftingConfig
from sceneprior.renderers import VolumeRenderConfig, volume_render
from sceneprior.representations.groundplan import PlanGeometry, composite_densities, plan_at
from sceneprior.training import BatchConfig, SplitCache, make_optimizer, open_split, training_batches

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _camera(eye: tuple[float, float, float], target=(0.0, 0.0, 0.0)) -> torch.Tensor:
    return look_at(torch.tensor([eye]), torch.tensor([target]), torch.tensor([[0.0, 1.0, 0.0]]))[0]


@pytest.fixture(scope="module")
def streets(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("priors") / "streets"
    return generate_streets(StreetConfig(out=root, videos=2, cameras=3, time_steps=2, val_videos=1, test_videos=1, resolution=24,
                                         workers=1, splits=("train", "test", "test_composition")))


# ---------------------------------------------------------------------------------------------------- lifting


def test_lifted_features_project_back_onto_the_pixels_they_came_from() -> None:
    height, width = 20, 24
    K = intrinsics_matrix(40.0, 40.0, width / 2, height / 2)[None, None]
    cam2world = _camera((0.3, 0.8, 2.0))[None, None]
    # a feature map that holds its own pixel coordinates (u, v) at the pixel centres
    v, u = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    maps = torch.stack([u, v])[None, None]
    depth = torch.ones(1, 1, 1, height, width)
    points = grid_points((-0.5, -0.5, -0.5), (0.5, 0.5, 0.5), (8, 8, 8)).reshape(1, -1, 3)
    samples = unproject(maps, depth, points, cam2world, K, (height, width))
    # the projection of every voxel centre, computed independently
    world2cam = torch.linalg.inv(cam2world[0, 0])
    cam = points[0] @ world2cam[:3, :3].T + world2cam[:3, 3]
    uv = cam[:, :2] / cam[:, 2:] * 40.0 + torch.tensor([width / 2, height / 2])
    interior = (uv[:, 0] > 0.5) & (uv[:, 0] < width - 0.5) & (uv[:, 1] > 0.5) & (uv[:, 1] < height - 0.5)
    assert interior.sum() > 100
    assert torch.allclose(samples.features[0, 0][interior], uv[interior], atol=1e-4)
    assert torch.allclose(samples.z[0, 0], cam[:, 2], atol=1e-5)
    outside = (uv[:, 0] < 0) | (uv[:, 0] > width) | (uv[:, 1] < 0) | (uv[:, 1] > height)
    assert outside.any() and not samples.inside[0, 0][outside].any() and samples.inside[0, 0][interior].all()
    # one view: the lifted (pooled) feature of a voxel it sees is the feature of the pixel it projects to
    pool = OcclusionAwarePooling(2)
    pooled = pool(samples)[0]
    assert torch.allclose(pooled[interior, :2], uv[interior], atol=1e-4)
    assert torch.equal(pooled[outside], torch.zeros_like(pooled[outside]))  # nothing lifted where no view looks


def test_occlusion_aware_pooling_weights_views_by_visibility() -> None:
    torch.manual_seed(0)
    pool = OcclusionAwarePooling(3)
    batch, views, points = 2, 4, 50
    features = torch.randn(batch, views, points, 3)
    z = torch.rand(batch, views, points) + 1.0
    inside = torch.rand(batch, views, points) > 0.3
    from sceneprior.conditioning.lifting import ViewSamples

    samples = ViewSamples(features, z, z + 0.2 * torch.randn_like(z), inside)
    w = pool.weights(samples)
    seen = inside.any(1)
    assert torch.allclose(w.sum(1)[seen], torch.ones_like(w.sum(1)[seen]))
    assert torch.equal(w[~inside], torch.zeros_like(w[~inside]))
    # not a plain mean: the weights change when only the depth a view sees changes
    moved = replace(samples, seen=samples.seen + 1.0)
    assert not torch.allclose(pool.weights(moved)[inside], w[inside])


def test_lifting_preset_loss_falls_on_a_tiny_set(streets: Path) -> None:
    torch.manual_seed(0)
    config = replace(LiftingConfig(), grid=16, unet_levels=2, unet_feature_maps=4, grid_channels=8, decoder_width=32,
                     coarse_samples=16, importance_samples=8, bounds=(-1.0, -0.37, -1.0, 1.0, 0.2, 1.0))
    model = LiftedGrid(config)
    cache = SplitCache(open_split(streets, "train"))
    batch = training_batches(model, cache.dataset, BatchConfig(2, 2, 128, (1, 2)), seed=0, cache=cache).at(1)
    optimizer = make_optimizer(model, 2e-3, None)
    losses = []
    for _ in range(30):
        out = model.loss(batch)
        optimizer.zero_grad()
        out.total.backward()
        optimizer.step()
        losses.append(float(out.total.detach()))
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses


# ---------------------------------------------------------------------------------------------------- ground plans


def test_a_ground_plan_feature_at_a_known_xz_is_sampled_by_the_points_above_it() -> None:
    geometry = PlanGeometry(half_extent=1.0, resolution=9, y_min=-0.4, y_max=0.2)
    features = torch.zeros(1, 4, 9, 9)
    i, k = 6, 2  # cell at x = -1 + 6 * 0.25 = 0.5, z = -1 + 2 * 0.25 = -0.5
    features[0, :, k, i] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    plan = plan_at(features, geometry)
    heights = torch.linspace(-0.4, 0.2, 7)
    above = torch.stack([torch.full_like(heights, 0.5), heights, torch.full_like(heights, -0.5)], -1)[None]
    assert torch.allclose(plan.sample(above)[0], torch.tensor([1.0, 2.0, 3.0, 4.0]).expand(7, 4), atol=1e-3)
    # half a cell away, bilinear: half of it; a cell away: nothing
    half = above + torch.tensor([0.125, 0.0, 0.0])
    assert torch.allclose(plan.sample(half)[0], torch.tensor([0.5, 1.0, 1.5, 2.0]).expand(7, 4), atol=1e-3)
    assert torch.allclose(plan.sample(above + torch.tensor([0.0, 0.0, 0.25]))[0], torch.zeros(7, 4), atol=1e-3)
    # the model's static field decodes the same plan feature at every height above that cell
    model = GroundPlanModel(replace(GroundPlanConfig(), plan=geometry, plan_channels=4, unet_depth=1, unet_filters=8))
    seen = []
    model.static_decoder.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    latent = model.encode(torch.rand(1, 1, 3, 16, 16), _camera((0.0, 1.5, 2.0))[None, None],
                          intrinsics_matrix(16.0, 16.0, 8.0, 8.0)[None, None])
    latent = replace(latent, static=features)
    model.field(latent, "static")(above, torch.zeros_like(above))
    assert torch.allclose(seen[0][0], torch.tensor([1.0, 2.0, 3.0, 4.0]).expand(7, 4), atol=1e-3)


def _two_volumes(near_d: float = 0.0, far_s: float = 0.0):
    """A static and a dynamic field along rays down -z: densities from fixed random bumps in z."""
    torch.manual_seed(1)
    centres_s, centres_d = torch.rand(3) * 0.8 + 0.1 + far_s, torch.rand(3) * 0.8 + 0.1 - near_d
    colour_s, colour_d = torch.tensor([0.9, 0.2, 0.1]), torch.tensor([0.1, 0.3, 0.8])

    def bumps(z: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        return 6.0 * torch.exp(-((z[..., None] - centres) ** 2) / 0.005).sum(-1, keepdim=True)

    def static(points, dirs):
        return FieldOutput(density=bumps(points[..., 2], centres_s), rgb=colour_s.expand(*points.shape[:-1], 3))

    def dynamic(points, dirs):
        return FieldOutput(density=bumps(points[..., 2], centres_d), rgb=colour_d.expand(*points.shape[:-1], 3))

    def both(points, dirs):
        return composite_densities(static(points, dirs), dynamic(points, dirs))[0]

    return static, dynamic, both


def _render(field, samples: int = 4000, background: float | None = None):
    origins = torch.tensor([[[0.0, 0.0, 2.0]]])
    dirs = torch.tensor([[[0.0, 0.0, -1.0]]])
    near, far = torch.full((1, 1), 0.5), torch.full((1, 1), 3.0)
    config = VolumeRenderConfig(num_coarse=samples, num_fine=0, num_depth_jitter=0, perturb=False, background=background)
    return volume_render(field, origins, dirs, near, far, config)


def test_static_dynamic_composite_is_the_sum_of_its_densities_renders() -> None:
    static, dynamic, both = _two_volumes()
    full = _render(both)
    # the composite density is the sum of the two, its colour the density-weighted mean
    p = torch.rand(1, 100, 3)
    s, d, c = static(p, p), dynamic(p, p), both(p, p)
    assert torch.allclose(c.density, s.density + d.density)
    # rendered: each density's emission under the shared transmittance, summed (a Riemann sum)
    t = full.t[0, 0]
    points = torch.stack([torch.zeros_like(t), torch.zeros_like(t), 2.0 - t], -1)[None]
    sd, dd = static(points, points), dynamic(points, points)
    delta = torch.cat([t[1:] - t[:-1], (3.0 - t[-1:]).clamp_min(0)])
    trans = torch.exp(-torch.cumsum(torch.cat([torch.zeros(1), ((sd.density + dd.density)[0, :, 0] * delta)[:-1]]), 0))
    emitted_s = (trans * sd.density[0, :, 0] * delta)[:, None] * sd.rgb[0]
    emitted_d = (trans * dd.density[0, :, 0] * delta)[:, None] * dd.rgb[0]
    assert torch.allclose(full.rgb[0, 0], emitted_s.sum(0) + emitted_d.sum(0), atol=5e-3)
    # the composited dynamic share is the dynamic part of the opacity
    assert torch.allclose(full.features[0, 0, 0], (trans * dd.density[0, :, 0] * delta).sum(), atol=5e-3)


def test_composite_of_disjoint_parts_is_the_front_part_over_the_back_part() -> None:
    static, dynamic, both = _two_volumes(near_d=-1.0)  # dynamic bumps at z in 1.1..1.9 (nearer the camera at z = 2)
    full, front, back = _render(both, background=1.0), _render(dynamic), _render(static, background=1.0)
    over = front.rgb + (1.0 - front.opacity)[..., None] * back.rgb
    assert torch.allclose(full.rgb, over, atol=2e-3)


def test_model_parts_render_and_edits(streets: Path) -> None:
    torch.manual_seed(0)
    geometry = PlanGeometry(half_extent=1.0, resolution=16, y_min=-0.37, y_max=0.2, column_samples=4)
    model = GroundPlanModel(replace(GroundPlanConfig(), plan=geometry, plan_channels=4, unet_depth=2, unet_filters=8,
                                    coarse_samples=24)).eval()
    views = open_split(streets, "test")[0]
    with torch.no_grad():
        latent = model.encode(views.images[None, :1], views.cam2world[None, :1], views.intrinsics[None, :1])
        parts = model.render_parts(latent, views.cam2world[1:2], views.intrinsics[1:2], 24, 24)
        assert parts.full.shape == parts.static.shape == parts.dynamic.shape == (1, 3, 24, 24)
        assert ((parts.dynamic_share >= 0) & (parts.dynamic_share <= 1 + 1e-5)).all()
        # removing everything dynamic leaves exactly the static plan's render
        removed = edit_dynamic(latent, geometry, (-2.0, -2.0, 2.0, 2.0))
        again = model.render_parts(removed, views.cam2world[1:2], views.intrinsics[1:2], 24, 24)
        assert torch.allclose(again.full, parts.static, atol=1e-5)
        assert torch.allclose(again.dynamic, torch.ones_like(again.dynamic), atol=1e-5)
        # an edit touches only the region's cells of the dynamic plan; a move copies them
        region = (-0.3, -0.3, 0.3, 0.3)
        moved = edit_dynamic(latent, geometry, region, move=(0.4, 0.0))
        assert torch.equal(moved.static, latent.static)
        keep = moved.dynamic_keep[0, 0]
        lin = torch.linspace(-1, 1, 16)
        in_region = (lin[:, None].abs() <= 0.3) & (lin[None, :].abs() <= 0.3)
        shift = round(0.4 / geometry.cell)
        target = torch.roll(in_region, shift, dims=1)
        assert (keep[in_region & ~target] == 0).all() and (keep[target] == 1).all() and (keep[~in_region] == 1).all()
        src = in_region.nonzero()
        assert torch.equal(moved.dynamic[0][:, src[:, 0], src[:, 1] + shift], latent.dynamic[0][:, src[:, 0], src[:, 1]])


def test_ground_plan_preset_loss_falls_on_a_tiny_video_set(streets: Path) -> None:
    torch.manual_seed(0)
    geometry = PlanGeometry(half_extent=1.0, resolution=16, y_min=-0.37, y_max=0.2, column_samples=4)
    model = GroundPlanModel(replace(GroundPlanConfig(), plan=geometry, plan_channels=8, unet_depth=2, unet_filters=8,
                                    decoder_width=32, coarse_samples=24))
    dataset = open_split(streets, "train")
    assert video_groups(dataset.scene_ids) == [[0, 1], [2, 3]]
    batches = VideoBatches(dataset, BatchConfig(2, 2, 128, (1,)), seed=0)
    batch = batches.at(1)
    assert batch.input_images.shape == (2, 2, 1, 3, 24, 24) and batch.ray_rgb.shape == (2, 2, 128, 3)
    assert (batch.scene_index[:, 0] != batch.scene_index[:, 1]).all()  # two time steps of one video
    assert torch.equal(batches.at(1).ray_rgb, batch.ray_rgb)  # step-seeded
    optimizer = make_optimizer(model, 2e-3, None)
    losses = []
    for _ in range(30):
        out = model.loss(batch)
        optimizer.zero_grad()
        out.total.backward()
        optimizer.step()
        losses.append(float(out.total.detach()))
    assert {"mse", "mse_swap", "dynamic_weight"} <= set(out.terms)
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses


def test_static_dynamic_claim_writes_its_report(streets: Path, tmp_path: Path) -> None:
    import json

    from sceneprior.claims.common import ClaimConfig, run_claim
    from sceneprior.training import TrainConfig, train

    train(tmp_path / "run", TrainConfig(data=str(streets), preset="groundplan", steps=2, batch=BatchConfig(2, 1, 32, (1,)),
                                        image_every=0, checkpoint_every=2, progress=False,
                                        model_overrides={"plan": {"resolution": 16, "column_samples": 4}, "unet_depth": 2,
                                                         "unet_filters": 8, "coarse_samples": 12}))
    report = run_claim(ClaimConfig(name="static-dynamic", model=str(tmp_path / "run"), data=str(streets),
                                   out=str(tmp_path / "claim"), objects=1, views=1))
    data = json.loads((tmp_path / "claim" / "claim.json").read_text())
    assert (tmp_path / "claim" / "claim.png").is_file() and "static-dynamic" in (tmp_path / "claim" / "README.md").read_text()
    for split in ("test", "test_composition"):
        result = data["data"][split]
        assert result["streets"] == 1 and result["novel_views"] == 1
        assert 0.0 <= result["iou_dynamic_input"] <= 1.0 or result["iou_dynamic_input"] is None
        assert result["psnr_novel"] > 0
    assert report.holds in (True, False)


def test_video_rays_favour_pixels_that_change_over_time() -> None:
    from sceneprior.models.groundplan import _video_rays

    images = torch.rand(2, 3, 8, 8)
    changed = torch.zeros(2, 8, 8, dtype=torch.bool)
    changed[1, 2:4, 5:7] = True  # 4 of 128 pixels
    cams = _camera((0.0, 1.0, 2.0))[None].expand(2, 4, 4)
    K = intrinsics_matrix(8.0, 8.0, 4.0, 4.0)[None].expand(2, 3, 3)
    o, d, rgb, hit = _video_rays(images, cams, K, changed, 40, 0.5, torch.Generator().manual_seed(0))
    assert o.shape == d.shape == rgb.shape == (40, 3)
    # the flag says which drawn rays come from a changed pixel: exactly the 4 changed pixels' colours
    assert hit.shape == (40,) and int(hit.sum()) == 4
    assert all(bool((images[1, :, r, c] == rgb[hit]).all(-1).any()) for r in (2, 3) for c in (5, 6))
    # every changed pixel is drawn (4 pixels hold half the weight), and each colour is its pixel's
    hits = sum(bool((rgb == images[1, :, r, c]).all(-1).any()) for r in (2, 3) for c in (5, 6))
    assert hits == 4
    assert all(bool((images.permute(0, 2, 3, 1).reshape(-1, 3) == colour).all(-1).any()) for colour in rgb)


def test_unchanged_ray_penalty_pushes_only_unchanged_rays_out_of_the_dynamic_plan(streets: Path) -> None:
    """The extra penalty reads the batch's changed flags: with every ray flagged as changed it adds nothing; with
    none flagged it is the mean dynamic share; and it ramps up over the warm-up steps."""
    dataset = open_split(streets, "train")
    batches = VideoBatches(dataset, BatchConfig(1, 1, 16, (1,)), seed=0)
    batch = batches.at(3)
    assert batch.step == 3 and batch.ray_changed is not None and batch.ray_changed.shape == batch.ray_rgb.shape[:-1]
    torch.manual_seed(0)
    config = replace(GroundPlanConfig().tiny(), dynamic_weight=0.0, unchanged_dynamic_weight=2.0, dynamic_warmup_steps=6)
    model = config.build().eval()
    every = model.loss(replace(batch, ray_changed=torch.ones_like(batch.ray_changed)))
    none = model.loss(replace(batch, ray_changed=torch.zeros_like(batch.ray_changed)))
    assert "dynamic_weight_unchanged" not in every.terms or every.terms["dynamic_weight_unchanged"] == 0.0
    share = none.terms["dynamic_weight"]
    assert none.terms["dynamic_weight_unchanged"] == pytest.approx(share, rel=1e-5)
    # half way through the warm-up (step 3 of 6): half the weight
    assert float((none.total - every.total).detach()) == pytest.approx(0.5 * 2.0 * share, rel=1e-4, abs=1e-7)
