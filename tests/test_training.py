"""Training loop: checkpoints round-trip exactly, resume continues the same loss sequence, old checkpoints go."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from sceneprior.errors import ConfigError
from sceneprior.training import (BatchConfig, TrainConfig, list_checkpoints, load_checkpoint, load_run, lr_scale,
                                 make_optimizer, train)
from sceneprior.checkpoint import align_optimizer_state


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    from image_model_toys import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toys"), {"train": 3, "val": 1}, views=4, size=16)


SMALL = {
    "lfn": {"latent_dim": 16, "width": 16, "hyper_hidden": 16, "hidden_layers": 1},
    "srn": {"latent_dim": 16, "phi_width": 16, "hyper_hidden": 16, "pixel_width": 16, "marcher_steps": 4},
    "pixelnerf": {"width": 16, "coarse_samples": 8, "importance_samples": 4, "depth_samples": 2,
                  "encoder": {"stem_channels": 8, "stage_channels": [8, 8, 8], "blocks_per_stage": 1}},
    "autoencoder": None,
}


def _config(data, steps, preset="lfn", **kw):
    return TrainConfig(model_overrides=SMALL[preset], data=str(data), preset=preset, steps=steps, seed=3, lr=1e-3, latent_lr=1e-2,
                       batch=BatchConfig(2, 1, 64, (1,)), image_every=0, checkpoint_every=2, keep_checkpoints=2,
                       progress=False, **kw)


def test_resume_continues_the_same_loss_sequence(toy_data, tmp_path):
    full = train(tmp_path / "full", _config(toy_data, 6))
    train(tmp_path / "split", _config(toy_data, 3))
    resumed = train(tmp_path / "split", _config(toy_data, 6), resume=True)
    assert [s for s, _ in resumed.losses] == [4, 5, 6]
    assert [loss for _, loss in resumed.losses] == [loss for _, loss in full.losses[3:]]


def test_checkpoint_round_trip_gives_the_same_outputs(toy_data, tmp_path):
    result = train(tmp_path / "run", _config(toy_data, 2, preset="pixelnerf"))
    model, run, step = load_run(tmp_path / "run")
    assert step == 2 and run.kind == "pixelnerf"
    again, _, _ = load_run(tmp_path / "run")
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name
    origins = torch.tensor([[[0.0, 0.0, 2.0]]]).expand(1, 5, 3).contiguous()
    dirs = torch.nn.functional.normalize(torch.tensor([[[0.01 * k, 0.0, -1.0] for k in range(5)]]), dim=-1)
    from sceneprior.training.data import SplitCache, open_split

    stored = SplitCache(open_split(toy_data, "train")).scene(0)
    observed = (stored.float_images()[None, :1], stored.cam2world[None, :1], stored.intrinsics[None, :1])
    torch.manual_seed(0)
    a = model.render_rays(model.encode(*observed), origins, dirs).rgb
    torch.manual_seed(0)
    b = again.render_rays(again.encode(*observed), origins, dirs).rgb
    assert torch.equal(a, b)
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt.optimizer_state is not None and ckpt.optimizer_state["state"]
    assert set(ckpt.rng) == {"torch", "sampler"}
    assert json.loads((tmp_path / "run" / "config.json").read_text())["kind"] == "pixelnerf"


def test_only_the_last_checkpoints_are_kept_and_no_temporaries_remain(toy_data, tmp_path):
    train(tmp_path / "run", _config(toy_data, 8))
    assert [s for s, _ in list_checkpoints(tmp_path / "run")] == [6, 8]
    assert not list((tmp_path / "run").rglob("*.tmp"))
    state = load_checkpoint(list_checkpoints(tmp_path / "run")[-1][1]).model_state
    assert "latents.codes.weight" in state and state["latents.codes.weight"].shape[0] == 3


def test_a_run_folder_with_checkpoints_is_not_overwritten(toy_data, tmp_path):
    train(tmp_path / "run", _config(toy_data, 2))
    with pytest.raises(ConfigError):
        train(tmp_path / "run", _config(toy_data, 2))
    with pytest.raises(ConfigError):
        train(tmp_path / "empty", _config(toy_data, 2), resume=True)


def test_same_seed_same_losses(toy_data, tmp_path):
    a = train(tmp_path / "a", _config(toy_data, 3, preset="srn"))
    b = train(tmp_path / "b", _config(toy_data, 3, preset="srn"))
    assert a.losses == b.losses


def test_train_command_logs_tensorboard_and_images(toy_data, tmp_path):
    from sceneprior.cli.main import main

    run = tmp_path / "run"
    assert main(["train", "--preset", "autoencoder", "--data", str(toy_data), "--out", str(run), "--steps", "2",
                 "--image-every", "2", "--batch-size", "2", "--no-progress"]) == 0
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert (run / "metrics.jsonl").read_text().count("\n") >= 1


def _logged(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_learning_rate_schedule_is_constant_then_a_cosine_to_the_final_scale(toy_data, tmp_path):
    config = _config(toy_data, 8, lr_decay_start=2, lr_decay_steps=4, lr_final_scale=0.25, log_every=1)
    assert [lr_scale(s, config) for s in (1, 2, 4, 6, 8)] == pytest.approx([1.0, 1.0, 0.625, 0.25, 0.25])
    assert lr_scale(10**6, _config(toy_data, 8)) == 1.0  # no schedule: constant
    train(tmp_path / "run", config)
    logged = _logged(tmp_path / "run")
    assert [r["step"] for r in logged] == list(range(1, 9))
    assert [r["lr"] for r in logged] == pytest.approx([1e-3 * lr_scale(r["step"], config) for r in logged])
    groups = load_checkpoint(list_checkpoints(tmp_path / "run")[-1][1]).optimizer_state["param_groups"]
    assert [g["lr"] for g in groups] == pytest.approx([0.25e-3, 0.25e-2])  # network and latent rates, both scaled


def test_ray_rate_is_the_steps_own_rate_and_the_mean_since_the_start():
    from sceneprior.training.trainer import RayRate, mean_rays_per_second

    rate = RayRate(started=10.0)
    assert rate.step(12.0, 100) == pytest.approx((50.0, 50.0))  # 100 rays in the first 2 s
    rate.lap(13.0)  # 1 s of logging / checkpointing: not the next step's, but the mean's
    assert rate.step(13.5, 100) == pytest.approx((200.0, 200 / 3.5))
    rate.lap(13.5)
    assert rate.step(17.5, 400) == pytest.approx((100.0, 600 / 7.5))
    assert rate.rays == 600
    # records of logs written before the step's own rate existed hold the mean under rays_per_second
    assert mean_rays_per_second({"step": 3, "rays_per_second": 7.0}) == 7.0
    assert mean_rays_per_second({"step": 3, "rays_per_second": 7.0, "rays_per_second_since_start": 5.0}) == 5.0
    assert mean_rays_per_second({"step": 3, "skipped": True}) is None


def test_metrics_log_each_steps_rate_and_the_mean_since_the_start(toy_data, tmp_path):
    result = train(tmp_path / "run", _config(toy_data, 4, log_every=1))
    logged = _logged(tmp_path / "run")
    assert [r["step"] for r in logged] == [1, 2, 3, 4]
    rays = 2 * 1 * 64  # scenes × target views × rays per step
    own = [r["rays_per_second"] for r in logged]
    mean = [r["rays_per_second_since_start"] for r in logged]
    assert all(x > 0 for x in own + mean)
    # each step's own time (rays / its rate) is part of the wall time the mean divides by (which also holds the
    # checkpoints written after steps 2 and 4), so the mean is at most the rate over the steps' own times
    for k in range(4):
        step_seconds = sum(rays / own[i] for i in range(k + 1))
        assert mean[k] <= (k + 1) * rays / step_seconds * (1 + 1e-9)
    assert mean[0] == pytest.approx(own[0], rel=1e-6)  # the first step starts the clock
    assert result.rays_per_second == pytest.approx(4 * rays / result.seconds)


def test_an_impossible_learning_rate_schedule_is_a_one_line_error(toy_data, tmp_path):
    for bad in ({"lr_decay_steps": 0}, {"lr_final_scale": 0.0}, {"lr_final_scale": 1.5}):
        with pytest.raises(ConfigError, match="learning-rate schedule"):
            train(tmp_path / "run", _config(toy_data, 2, lr_decay_start=1, **bad))
    assert not (tmp_path / "run").exists()


def test_a_schedule_given_on_resume_anneals_the_rest_of_a_constant_run(toy_data, tmp_path):
    train(tmp_path / "run", _config(toy_data, 4, log_every=1))
    anneal = _config(toy_data, 8, lr_decay_start=4, lr_decay_steps=4, lr_final_scale=0.1, log_every=1)
    train(tmp_path / "run", anneal, resume=True)
    lrs = [r["lr"] for r in _logged(tmp_path / "run")]
    assert lrs[:4] == pytest.approx([1e-3] * 4)
    assert lrs[4:] == pytest.approx([1e-3 * lr_scale(s, anneal) for s in range(5, 9)]) and lrs[-1] == pytest.approx(1e-4)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["lr_decay_start"] == 4


def test_optimizer_moments_are_matched_to_parameters_by_name(toy_data, tmp_path):
    train(tmp_path / "run", _config(toy_data, 2))
    path = list_checkpoints(tmp_path / "run")[-1][1]
    state = load_checkpoint(path).optimizer_state
    names = state["param_names"]
    model, _, _ = load_run(tmp_path / "run")
    assert names == [[n for n, p in model.named_parameters() if not n.startswith("latents.")],
                     [n for n, p in model.named_parameters() if n.startswith("latents.")]]
    # the same state stored in another parameter order (e.g. a module that defines its layers in another order)
    first = len(names[0])
    order = list(reversed(range(first))) + list(range(first, first + len(names[1])))
    stored = {"state": {new: state["state"][old] for new, old in enumerate(order)},
              "param_groups": state["param_groups"], "param_names": [[names[0][i] for i in order[:first]], names[1]]}
    optimizer = make_optimizer(model, 1e-3, 1e-2)
    aligned = align_optimizer_state(stored, model, optimizer, path)
    for i in range(len(order)):
        assert torch.equal(aligned["state"][i]["exp_avg"], state["state"][i]["exp_avg"])
    optimizer.load_state_dict(aligned)
    # a state that does not fit the parameters (an older layout, recorded without names) is a one-line error
    swapped = {"state": {0: state["state"][1], 1: state["state"][0], **{i: state["state"][i] for i in range(2, len(order))}},
               "param_groups": state["param_groups"]}
    with pytest.raises(ConfigError, match=r"step_00000002\.safetensors: its optimizer state does not match.*--reset-optimizer"):
        align_optimizer_state(swapped, model, make_optimizer(model, 1e-3, 1e-2), path)


def test_resume_with_reset_optimizer_starts_fresh_moments(toy_data, tmp_path):
    train(tmp_path / "run", _config(toy_data, 4))
    train(tmp_path / "run", _config(toy_data, 6), resume=True, reset_optimizer=True)
    state = load_checkpoint(list_checkpoints(tmp_path / "run")[-1][1]).optimizer_state["state"]
    assert float(state[0]["step"]) == 2  # Adam counted only the two steps since the resume
    train(tmp_path / "run", _config(toy_data, 7), resume=True)
    assert float(load_checkpoint(list_checkpoints(tmp_path / "run")[-1][1]).optimizer_state["state"][0]["step"]) == 3


# --------------------------------------------------------------------------------------------- fine-tuning


def _tune(data, steps, source, preset="lfn"):
    """A fine-tuning config: the source's architecture, so no model overrides."""
    from dataclasses import replace

    return replace(_config(data, steps, preset=preset), model_overrides=None, init_from=str(source))


def _max_diff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_init_from_starts_a_new_run_from_another_runs_weights(toy_data, tmp_path):
    train(tmp_path / "source", _config(toy_data, 3, preset="pixelnerf"))
    source, source_run, _ = load_run(tmp_path / "source")
    tuned = train(tmp_path / "tuned", _tune(toy_data, 1, tmp_path / "source", "pixelnerf"))
    from dataclasses import replace

    fresh = train(tmp_path / "fresh", replace(_config(toy_data, 1, preset="pixelnerf"), seed=4))
    assert tuned.step == 1  # a new run: step 0 is the source's weights, then its own steps
    a, b, c = source.state_dict(), tuned.model.state_dict(), fresh.model.state_dict()
    # Adam's first step moves each weight by at most about the learning rate (1e-3); a fresh start is elsewhere
    assert _max_diff(a, b) < 1.5e-3 and _max_diff(a, c) > 0.05
    saved = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert saved["train"]["init_from"] == str(tmp_path / "source")
    assert saved["model"] == json.loads((tmp_path / "source" / "config.json").read_text())["model"]
    assert load_checkpoint(tuned.checkpoint).step == 1


def test_init_from_an_auto_decoder_on_other_data_keeps_the_networks_not_the_latent_table(toy_data, tmp_path):
    from image_model_toys import write_toy_dataset

    other = write_toy_dataset(tmp_path / "other", {"train": 2}, views=4, size=16)
    train(tmp_path / "source", _config(toy_data, 2))  # lfn: 3 training latents
    source, _, _ = load_run(tmp_path / "source")
    tuned = train(tmp_path / "tuned", _tune(other, 1, tmp_path / "source"))
    a, b = source.state_dict(), tuned.model.state_dict()
    assert a["latents.codes.weight"].shape[0] == 3 and b["latents.codes.weight"].shape[0] == 2
    shared = {k: a[k] for k in a if not k.startswith("latents.")}
    assert shared and _max_diff(shared, {k: b[k] for k in shared}) < 1.5e-3


def test_init_from_another_kind_or_with_overrides_is_an_error(toy_data, tmp_path):
    train(tmp_path / "source", _config(toy_data, 1))  # lfn
    with pytest.raises(ConfigError, match="holds a lfn model, but preset pixelnerf"):
        train(tmp_path / "a", _tune(toy_data, 1, tmp_path / "source", "pixelnerf"))
    with pytest.raises(ConfigError, match="cannot change"):
        from dataclasses import replace

        train(tmp_path / "b", replace(_config(toy_data, 1), init_from=str(tmp_path / "source")))
    assert not list(tmp_path.glob("[ab]/checkpoints/*"))


def test_make_optimizer_is_fused_adam_with_the_same_updates():
    """The trainer's Adam runs fused where it can: the same three updates as the reference implementation."""
    from sceneprior.registry import get_preset

    torch.manual_seed(0)
    model = get_preset("pixelnerf").model.tiny().build(0)
    twin, start = copy.deepcopy(model), copy.deepcopy(model)
    optimizer = make_optimizer(model, 1e-2, None)
    assert optimizer.param_groups[0]["fused"]
    reference = torch.optim.Adam(twin.parameters(), lr=1e-2, foreach=False)
    targets = [torch.randn(p.shape) for p in model.parameters()]
    for _ in range(3):
        for module, opt in ((model, optimizer), (twin, reference)):
            opt.zero_grad()
            sum(((p - t) ** 2).sum() for p, t in zip(module.parameters(), targets)).backward()
            opt.step()
    for a, b, before in zip(model.parameters(), twin.parameters(), start.parameters()):
        assert not torch.allclose(a, before, atol=1e-3) and torch.allclose(a, b, atol=1e-6)


def test_nonfinite_gradient_check_names_the_parameter_and_ignores_overflowing_sums():
    from sceneprior.registry import get_preset
    from sceneprior.training.trainer import _nonfinite

    model = get_preset("pixelnerf").model.tiny().build(0)
    params = dict(model.named_parameters())
    for p in params.values():
        p.grad = torch.zeros_like(p)
    loss = torch.tensor(0.5)
    assert _nonfinite(loss, model) is None
    name = next(n for n, p in params.items() if p.numel() > 4)
    params[name].grad.fill_(3e38)  # finite values whose sum overflows: not a reason to skip
    assert _nonfinite(loss, model) is None
    params[name].grad[0].view(-1)[0] = float("nan")
    assert _nonfinite(loss, model) == f"gradient of {name} is not finite"
    assert _nonfinite(torch.tensor(float("inf")), model) == "loss is inf"
