"""Surviving kills and numerical faults: a run killed with SIGKILL after a checkpoint resumes to exactly the losses
of an uninterrupted run (bit for bit: CPU, fixed seed, one thread, batches that depend only on seed and step);
checkpoints never unpickle; a NaN/Inf loss or gradient is reported with its step and scenes and then skipped
(counted, logged) or stops the run, as ``--on-nonfinite`` says."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sceneprior.cli.main import main
from sceneprior.errors import ConfigError, SceneError
from sceneprior.models.lfn import LFN
from sceneprior.training import BatchConfig, TrainConfig, list_checkpoints, load_checkpoint, load_run, train

SMALL_LFN = {"latent_dim": 8, "width": 16, "hyper_hidden": 16, "hidden_layers": 1}


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    from image_model_toys import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toys"), {"train": 4}, views=4, size=12)


def _command(data: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sceneprior", "train", "--preset", "lfn", "--data", str(data), "--out", str(out),
            "--steps", str(steps), "--batch-size", "2", "--rays", "32", "--image-every", "0", "--log-every", "1",
            "--checkpoint-every", "3", "--keep", "2", "--threads", "1", "--no-progress",
            *(f"--model-override={k}={v}" for k, v in SMALL_LFN.items()), *extra]


def _logged(run: Path) -> dict[int, float]:
    """step -> loss of metrics.jsonl; a step logged twice (before a kill and after the resume) keeps the last."""
    out: dict[int, float] = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if "loss" in entry:
            out[entry["step"]] = entry["loss"]
    return out


def test_sigkill_then_resume_gives_the_uninterrupted_losses(toy_data, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(_command(toy_data, killed, 10**6), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not list_checkpoints(killed) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    assert list_checkpoints(killed), process.stderr.read().decode() if process.poll() is not None else "no checkpoint"
    time.sleep(0.3)  # mid-run, past the checkpoint
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    saved = list_checkpoints(killed)[-1][0]
    before_kill = _logged(killed)
    target = saved + 4
    resumed = subprocess.run(_command(toy_data, killed, target, "--resume"), env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    threads = torch.get_num_threads()
    try:  # the uninterrupted reference runs in this process (same command line, one thread)
        assert main(_command(toy_data, tmp_path / "whole", target)[3:]) == 0
    finally:
        torch.set_num_threads(threads)
    expected, got = _logged(tmp_path / "whole"), _logged(killed)
    assert sorted(expected) == sorted(got) == list(range(1, target + 1))
    assert got == expected  # bit for bit (JSON floats round-trip exactly)
    assert all(before_kill[s] == expected[s] for s in before_kill if s <= target)
    assert not list((killed / "checkpoints").glob(".*.tmp"))  # a write cut by the kill is cleaned up on resume
    a, _, _ = load_run(killed)
    b, _, _ = load_run(tmp_path / "whole")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def _config(data, steps, **kw) -> TrainConfig:
    return TrainConfig(data=str(data), preset="lfn", steps=steps, seed=1, lr=1e-3, latent_lr=1e-2,
                       batch=BatchConfig(2, 1, 32, (1,)), image_every=0, checkpoint_every=2, keep_checkpoints=2,
                       progress=False, model_overrides=SMALL_LFN, log_every=1, **kw)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned_by_pickle",))


def test_checkpoints_hold_the_state_and_never_unpickle(toy_data, tmp_path, monkeypatch):
    result = train(tmp_path / "run", _config(toy_data, 2))
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt.step == 2 and ckpt.optimizer_state["state"] and "latents.codes.weight" in ckpt.model_state
    assert {"torch", "sampler"} <= set(ckpt.rng) and ckpt.extra["world_size"] == 1
    monkeypatch.chdir(tmp_path)
    payload = pickle.dumps({"model": _Evil()})
    for name in ("step_00000009.safetensors", "model.pt"):
        path = tmp_path / "run" / "checkpoints" / name
        path.write_bytes(payload)
        with pytest.raises(ConfigError, match="not a readable checkpoint"):
            load_checkpoint(path)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "torch_save.pt")  # a torch.save zip archive: refused too
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "torch_save.pt")
    # --resume refuses the newest file, the pickle (never unpickled), sets it aside and continues from step 2
    assert train(tmp_path / "run", _config(toy_data, 4), resume=True).step == 4
    assert (tmp_path / "run" / "checkpoints" / "step_00000009.safetensors.damaged").is_file()
    assert not (tmp_path / "pwned_by_pickle").exists()


class _NaNGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


def _inject(monkeypatch, bad_calls: set[int], where: str) -> None:
    original = LFN.loss
    calls = {"n": 0}

    def loss(self, batch):
        calls["n"] += 1
        out = original(self, batch)
        if calls["n"] in bad_calls:
            out.total = out.total * float("inf") if where == "loss" else _NaNGradient.apply(out.total)
        return out

    monkeypatch.setattr(LFN, "loss", loss)


@pytest.mark.parametrize("where", ["loss", "gradient"])
def test_nonfinite_batches_are_skipped_counted_and_logged(toy_data, tmp_path, monkeypatch, capsys, where):
    _inject(monkeypatch, {3, 5}, where)
    result = train(tmp_path / "run", _config(toy_data, 6, on_nonfinite="skip"))
    assert result.skipped == 2 and [s for s, _ in result.losses] == [1, 2, 4, 6]
    assert all(torch.isfinite(v).all() for v in result.model.state_dict().values())
    err = capsys.readouterr().err
    assert "step 3" in err and "step 5" in err and "skipped" in err
    skipped = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() if "skipped" in line]
    assert [e["step"] for e in skipped] == [3, 5] and all(len(e["scenes"]) == 2 for e in skipped)
    assert load_checkpoint(result.checkpoint).extra["skipped"] == 2


def test_nonfinite_stops_by_default_naming_step_and_scenes(toy_data, tmp_path, monkeypatch):
    _inject(monkeypatch, {2}, "loss")
    with pytest.raises(SceneError) as info:
        train(tmp_path / "run", _config(toy_data, 6))
    message = str(info.value)
    assert "step 2" in message and "scenes" in message and "\n" not in message
    assert "train" in message  # scene ids of the toy split are train000 ...


def test_nonfinite_stop_from_the_command_line_is_one_line(toy_data, tmp_path, monkeypatch, capsys):
    _inject(monkeypatch, {1}, "gradient")
    code = main(["train", "--preset", "lfn", "--data", str(toy_data), "--out", str(tmp_path / "run"), "--steps", "3",
                 "--batch-size", "2", "--rays", "16", "--image-every", "0", "--no-progress", "--on-nonfinite", "stop"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "step 1" in err[0] and "gradient" in err[0], err
