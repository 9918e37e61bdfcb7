"""Training on several processes (DDP, gloo on CPU): shards partition the global batch, loader workers give the
same batches, two processes hold identical weights and follow a single process with the same global batch, and
``torchrun -m sceneprior train`` (with --resume) writes one set of logs and checkpoints.

Tolerance of the 1- vs 2-process comparison: 2 processes average two half-batch gradients ((g0 + g1) / 2, summed
by gloo), one process differentiates the mean over the whole batch; both are the same number up to the order of
float32 additions (relative differences ~1e-7 per step). Adam divides by sqrt(v), which can magnify such
differences where gradients are tiny, so a few steps are compared with rtol 1e-4 rather than bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sceneprior.cli.main import main
from sceneprior.training import BatchConfig, TrainConfig, list_checkpoints, load_checkpoint, train
from sceneprior.training.data import SplitCache, open_split
from sceneprior.training.distributed import DistContext, ShardedBatches, free_port, plan_batch

SMALL_LFN = {"latent_dim": 8, "width": 16, "hyper_hidden": 16, "hidden_layers": 1}


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    from image_model_toys import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toys"), {"train": 6, "val": 1}, views=4, size=12)


def _config(data, steps, batch=4, **kw) -> TrainConfig:
    base = dict(data=str(data), preset="lfn", steps=steps, seed=5, lr=1e-3, latent_lr=1e-2,
                batch=BatchConfig(batch, 1, 32, (1,)), image_every=0, checkpoint_every=2, keep_checkpoints=3,
                progress=False, model_overrides=SMALL_LFN, log_every=1)
    base.update(kw)
    return TrainConfig(**base)


def _batches(data, world: int, rank: int, steps: int, workers: int = 0, scenes: int = 4):
    split = open_split(data, "train")
    ctx = DistContext(rank=rank, world_size=world)
    sharded = ShardedBatches(split, SplitCache(split), BatchConfig(scenes, 2, 16, (1, 2)), seed=7, ctx=ctx, workers=workers)
    return list(sharded.iterate(0, steps))


def test_plans_depend_only_on_seed_and_step():
    a = plan_batch(3, 10, 20, 4, (1, 2))
    assert a == plan_batch(3, 10, 20, 4, (1, 2))
    assert a != plan_batch(3, 11, 20, 4, (1, 2)) and a != plan_batch(4, 10, 20, 4, (1, 2))
    assert len(set(a.scenes)) == 4 and a.shard(1, 2) == range(2, 4)
    small = plan_batch(3, 10, 2, 4, (1,))  # fewer scenes than the batch: drawn with replacement
    assert len(small.scenes) == 4 and set(small.scenes) <= {0, 1}


def test_shards_of_two_processes_are_the_single_process_batch(toy_data):
    single = _batches(toy_data, 1, 0, 3)
    halves = [_batches(toy_data, 2, r, 3) for r in range(2)]
    for (step, whole), (_, first), (_, second) in zip(single, *halves):
        assert not set(first.scene_index.tolist()) & set(second.scene_index.tolist())
        for name, value in whole.__dict__.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, torch.cat([getattr(first, name), getattr(second, name)])), (step, name)


def test_loader_workers_read_lazily_and_give_the_same_batches(toy_data):
    in_memory = _batches(toy_data, 2, 1, 3, workers=0)
    lazy = _batches(toy_data, 2, 1, 3, workers=2)
    assert [s for s, _ in lazy] == [1, 2, 3]
    for (_, a), (_, b) in zip(in_memory, lazy):
        for name, value in a.__dict__.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, getattr(b, name)), name


def test_global_batch_must_divide_among_processes(toy_data):
    from sceneprior.errors import ConfigError

    with pytest.raises(ConfigError, match="multiple of the number of processes"):
        _batches(toy_data, 2, 0, 1, scenes=3)


def _spawned(rank: int, world: int, port: int, run_dir: str, config: TrainConfig, out: str) -> None:
    from safetensors.torch import save_file

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    result = train(run_dir, config)
    state = {k: v.contiguous() for k, v in result.model.state_dict().items()}
    save_file(state, os.path.join(out, f"rank{rank}.safetensors"))
    Path(out, f"losses{rank}.json").write_text(json.dumps(result.losses))


def test_two_processes_hold_identical_weights_and_follow_one_process(toy_data, tmp_path):
    from safetensors.torch import load_file

    steps = 4
    torch.multiprocessing.spawn(_spawned, args=(2, free_port(), str(tmp_path / "ddp"), _config(toy_data, steps), str(tmp_path)),
                                nprocs=2, join=True)
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in range(2)]
    assert ranks[0].keys() == ranks[1].keys() and "latents.codes.weight" in ranks[0]
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    losses = [json.loads((tmp_path / f"losses{r}.json").read_text()) for r in range(2)]
    assert losses[0] == losses[1]  # the logged loss is the global mean, the same on every process
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = train(tmp_path / "single", _config(toy_data, steps))
    finally:
        torch.set_num_threads(threads)
    assert [s for s, _ in single.losses] == [s for s, _ in losses[0]] == list(range(1, steps + 1))
    torch.testing.assert_close(torch.tensor([v for _, v in losses[0]]), torch.tensor([v for _, v in single.losses]),
                               rtol=1e-4, atol=1e-6)
    final = single.model.state_dict()
    for name, value in final.items():  # latents included: rows unused on one process still match
        torch.testing.assert_close(ranks[0][name], value, rtol=1e-3, atol=1e-5, msg=name)
    # only rank 0 wrote: one events file, one line per logged step, checkpoints of the one run
    ddp = tmp_path / "ddp"
    assert len(list((ddp / "tb").glob("events.out.tfevents.*"))) == 1
    assert [json.loads(line)["step"] for line in (ddp / "metrics.jsonl").read_text().splitlines()] == list(range(1, steps + 1))
    assert load_checkpoint(list_checkpoints(ddp)[-1][1]).extra["world_size"] == 2


def test_torchrun_command_resumes_a_run(toy_data, tmp_path):
    """A run started by one process (in-process here, to keep the test short) goes on under torchrun with two."""
    run = tmp_path / "run"
    args = ["train", "--preset", "lfn", "--data", str(toy_data), "--out", str(run), "--batch-size", "2",
            "--rays", "16", "--image-every", "0", "--checkpoint-every", "2", "--log-every", "1", "--no-progress",
            *(f"--model-override={k}={v}" for k, v in SMALL_LFN.items())]
    assert main(args + ["--steps", "2"]) == 0
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
               "-m", "sceneprior", *args, "--steps", "4", "--resume"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("trained lfn to step 4") == 1  # printed by rank 0 only
    assert [s for s, _ in list_checkpoints(run)] == [2, 4]
    assert load_checkpoint(list_checkpoints(run)[-1][1]).extra["world_size"] == 2
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
