"""Shape presets (DeepSDF, ONet, ConvONet grid/plane/triplane, voxel decoder): configs are golden and round-trip,
every preset learns on a tiny generated dataset, user meshes become correct occupancy samples, test-time
latent optimisation fits, and the 3D evaluation reports its documented keys."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from sceneprior.errors import DataError
from sceneprior.models.configs import from_plain, to_plain
from sceneprior.models3d import (
    ShapeDataConfig,
    ShapeModelConfig,
    front_facing,
    samples_from_mesh,
    surface_observation,
    winding_number,
)
from sceneprior.inference import FitConfig, fit_shape_latent
from sceneprior.registry import presets


def shape_presets() -> dict:
    return presets(ShapeModelConfig)

GOLDEN = Path(__file__).parent / "data" / "models3d_presets.json"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_cars(tmp_path_factory):
    from sceneprior.data.generator import GeneratorConfig, generate_dataset

    out = tmp_path_factory.mktemp("cars3d") / "cars"
    config = GeneratorConfig(category="cars", out=out, objects=4, views=2, resolution=32, workers=1,
                             splits=("train", "test"), test_objects=2, surface_points=2000, sdf_samples=4000)
    return generate_dataset(config)


def _plain_presets() -> dict:
    return {name: {"kind": p.kind, "model": to_plain(p.model), "training": to_plain(p.training)}
            for name, p in shape_presets().items()}


def test_preset_configs_match_the_golden_file_and_round_trip():
    plain = json.loads(json.dumps(_plain_presets()))
    golden = json.loads(GOLDEN.read_text())
    assert plain == golden, "a shape preset changed; regenerate tests/data/models3d_presets.json if on purpose"
    for name, preset in shape_presets().items():
        again = from_plain(type(preset.model), json.loads(json.dumps(to_plain(preset.model))))
        assert again == preset.model, name


@pytest.mark.parametrize("name", list(shape_presets()))
def test_each_preset_loss_falls_on_generated_shapes(tiny_cars, name):
    from sceneprior.data.srn import SRNDataset
    from sceneprior.training import BatchConfig, dataset_metadata, training_batches

    preset = shape_presets()[name]
    dataset = SRNDataset(Path(tiny_cars) / "cars_train", load_extras=False)
    config = preset.model.for_dataset(dataset_metadata(tiny_cars)).tiny()  # fewer points per step
    torch.manual_seed(0)
    model = config.build(len(dataset))
    model.train()
    batch = training_batches(model, dataset, BatchConfig(scenes_per_batch=2), seed=0).at(1)
    assert batch.input_points.shape == (2, config.data.input_points, 3)
    assert batch.query_points.shape == (2, 256, 3) and batch.query_sdf.shape == (2, 256)
    assert torch.equal(batch.query_occupancy, (batch.query_sdf < 0).float())
    # the tanh SDF MLP learns slower per step but its steps are cheap
    lr, steps = (3e-3, 60) if model.geometry == "sdf" else (1e-3, 40)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        out = model.loss(batch)
        optimizer.zero_grad()
        out.total.backward()
        optimizer.step()
        losses.append(float(out.total.detach()))
    assert all(np.isfinite(losses))
    # it must beat the best prediction that ignores the point: the occupancy rate's entropy (BCE) or the
    # mean absolute deviation from the median of the clamped SDF (L1)
    if model.geometry == "sdf":
        clamped = batch.query_sdf.clamp(-0.1, 0.1)
        constant = float((clamped - clamped.median()).abs().mean())
    else:
        rate = float(batch.query_occupancy.mean())
        constant = -(rate * np.log(rate) + (1 - rate) * np.log(1 - rate))
    print(name, constant, losses[0], losses[-1])
    assert np.mean(losses[-3:]) < 0.9 * constant, (constant, losses)
    assert np.mean(losses[-3:]) < 0.85 * np.mean(losses[:3]), losses


def _box_file(tmp_path, extents=(1.0, 0.5, 0.25), suffix=".obj") -> Path:
    path = tmp_path / f"box{suffix}"
    trimesh.creation.box(extents=extents).export(path)
    return path


def test_samples_from_mesh_box_has_the_right_occupancy_fraction(tmp_path):
    path = _box_file(tmp_path)
    sample = samples_from_mesh(path, surface_points=2000, query_points=5000, normalize=True)
    # normalised: longest side 1 -> the box is 1 x 0.5 x 0.25 in the cube [-0.5, 0.5]^3 (volume 1)
    uniform = sample.query_occupancy[-1000:]
    assert abs(float(uniform.mean()) - 0.125) < 0.035
    points = sample.query_points.numpy()
    inside_box = (np.abs(points) <= np.array([0.5, 0.25, 0.125]) + 1e-9).all(-1)
    assert np.array_equal(sample.query_occupancy.numpy() > 0.5, inside_box)
    assert torch.all((sample.query_sdf < 0) == (sample.query_occupancy > 0.5))
    assert np.allclose(np.abs(sample.surface_points.numpy()).max(0), [0.5, 0.25, 0.125], atol=1e-5)
    assert torch.allclose(sample.surface_normals.norm(dim=-1), torch.ones(2000), atol=1e-5)


def test_samples_from_mesh_refuses_open_and_unreadable_meshes(tmp_path):
    box = trimesh.creation.box()
    open_mesh = trimesh.Trimesh(box.vertices, box.faces[:-2])
    open_path = tmp_path / "open.ply"
    open_mesh.export(open_path)
    with pytest.raises(DataError, match="not watertight") as info:
        samples_from_mesh(open_path)
    assert "\n" not in str(info.value)
    bad = tmp_path / "bad.obj"
    bad.write_text("this is not a mesh\n")
    with pytest.raises(DataError) as info:
        samples_from_mesh(bad)
    assert "\n" not in str(info.value) and str(bad) in str(info.value)
    with pytest.raises(DataError, match="not found"):
        samples_from_mesh(tmp_path / "missing.glb")


def test_winding_number_is_one_inside_and_zero_outside():
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    points = np.array([[0.0, 0.0, 0.0], [0.5, 0.2, -0.1], [2.0, 0.0, 0.0], [0.0, -3.0, 1.0]])
    w = winding_number(mesh, points)
    assert np.allclose(w, [1.0, 1.0, 0.0, 0.0], atol=1e-6)


def test_partial_view_and_surface_observation():
    normals = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    assert front_facing(normals, (1.0, 0.0, 0.0)).tolist() == [True, False, False, False]
    assert front_facing(normals, (1.0, 1.0, 0.0)).tolist() == [True, False, True, False]
    points = torch.zeros(2, 3)
    samples, sdf = surface_observation(points, 2.0 * normals[:2], eps=(0.1,))
    assert samples.shape == (6, 3)
    assert torch.allclose(samples[2:], torch.tensor([[0.1, 0, 0], [-0.1, 0, 0], [-0.1, 0, 0], [0.1, 0, 0]]))
    assert sdf.tolist() == pytest.approx([0.0, 0.0, 0.1, 0.1, -0.1, -0.1])


def test_deepsdf_test_time_optimisation_fits_a_sphere():
    from sceneprior.models3d import DeepSDF

    preset = shape_presets()["deepsdf"]
    torch.manual_seed(0)
    model = DeepSDF(preset.model, num_train_scenes=3)
    points = torch.nn.functional.normalize(torch.randn(400, 3), dim=-1) * 0.3
    samples, sdf = surface_observation(points, points / 0.3)
    latent, losses = fit_shape_latent(model, samples, sdf, FitConfig(steps=40, lr=5e-2, samples_per_step=600, init="zeros"))
    assert latent.code is not None and latent.code.shape == (1, 64)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert all(p.requires_grad for p in model.parameters())  # weights unfrozen again
    with torch.no_grad():  # e.g. the trainer's preview: the fit turns gradients on for itself
        _, again = fit_shape_latent(model, samples, sdf, FitConfig(steps=2, samples_per_step=100))
    assert len(again) == 2


def test_eval3d_reports_the_documented_keys(tiny_cars, tmp_path):
    from sceneprior.evaluation import eval3d
    from sceneprior.evaluation.eval3d import OBJECT_KEYS, RESULT_KEYS, Eval3DConfig, evaluate_shapes
    from sceneprior.training.data import dataset_metadata

    preset = shape_presets()["convonet-plane"]
    config = preset.model.for_dataset(dataset_metadata(tiny_cars))
    model = config.build(4)
    for partial in (False, True):
        result = evaluate_shapes(model, Eval3DConfig(data=str(tiny_cars), partial=partial, max_objects=1, mesh_resolution=16,
                                                     mesh_coarse_resolution=None, surface_samples=500,
                                                     save_meshes=str(tmp_path / "meshes")),
                                 "convonet-plane", "convonet", progress=False)
        data = json.loads(json.dumps(result.to_json()))
        assert tuple(data) == RESULT_KEYS
        assert tuple(data["objects"][0]) == OBJECT_KEYS
        assert data["partial"] is partial and data["num_objects"] == 1 and data["params"] > 0
        assert 0.0 <= data["iou"] <= 1.0 and data["peak_memory_mb"] > 0 and data["latent_floats"] == 32 * 32 * 32
    for key in (*RESULT_KEYS, *OBJECT_KEYS):
        assert key in eval3d.__doc__, key
    assert data["objects"][0]["observed_points"] < 2000  # partial: only front-facing points
    assert (tmp_path / "meshes").is_dir()


def test_shape_data_config_is_what_the_sampler_uses():
    assert ShapeDataConfig().query_points == 2048 and ShapeDataConfig().input_noise == 0.005
    assert shape_presets()["occnet"].model.data.input_points == 300
    assert shape_presets()["convonet-grid"].model.data.input_points == 3000


def test_shared_trainer_trains_a_shape_preset_resumes_exactly_and_cli_eval_writes_json(tiny_cars, tmp_path):
    from sceneprior.cli.main import main
    from sceneprior.evaluation.eval3d import RESULT_KEYS
    from sceneprior.models3d import ShapeModel
    from sceneprior.training import BatchConfig, TrainConfig, load_run, train

    small = {"data": {"input_points": 128, "input_noise": 0.005, "query_points": 128}}

    def config(steps):
        return TrainConfig(data=str(tiny_cars), preset="convonet-plane", steps=steps, seed=1, lr=1e-3,
                           batch=BatchConfig(scenes_per_batch=2), image_every=2, checkpoint_every=2,
                           keep_checkpoints=2, progress=False, model_overrides=small)

    full = train(tmp_path / "full", config(4))
    train(tmp_path / "split", config(2))
    resumed = train(tmp_path / "split", config(4), resume=True)
    assert [loss for _, loss in resumed.losses] == [loss for _, loss in full.losses[2:]]
    model, run, step = load_run(tmp_path / "full")
    assert isinstance(model, ShapeModel) and run.kind == "convonet" and step == 4
    assert run.model.bounds.half_extent == 0.5 and run.model.data.query_points == 128
    out = tmp_path / "eval.json"
    code = main(["eval", str(tmp_path / "full"), "--data", str(tiny_cars), "--max-objects", "1", "--partial",
                 "--mesh-resolution", "16", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert tuple(data) == RESULT_KEYS and data["partial"] is True and data["preset"] == "convonet-plane"
