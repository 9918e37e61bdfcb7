"""Hostile checkpoints and flags: a checkpoint's tensors are verified against the checksum stored with them (shipped
models too); ``--resume`` continues from the newest intact checkpoint and says so; flags that conflict with the
run being resumed and absurd hyper-parameters are one-line errors before any work; metrics are not logged twice
after a resume; write errors name the path."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import torch

from sceneprior.cli.main import main
from sceneprior.errors import ConfigError
from sceneprior.training import list_checkpoints, load_checkpoint
from sceneprior.checkpoint import DIGEST_KEY

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL_LFN = {"latent_dim": 8, "width": 16, "hyper_hidden": 16, "hidden_layers": 1}
SHIPPED = sorted((Path(__file__).parents[1] / "src/sceneprior/assets/models").glob("*/checkpoints/*.safetensors"))


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    from image_model_toys import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toys"), {"train": 4}, views=4, size=12)


def _train(data: Path, out: Path, steps: int, *extra: str, preset: str = "lfn") -> list[str]:
    return ["train", "--preset", preset, "--data", str(data), "--out", str(out), "--steps", str(steps),
            "--batch-size", "2", "--rays", "32", "--image-every", "0", "--log-every", "1", "--checkpoint-every", "2",
            "--keep", "3", "--no-progress", *(f"--model-override={k}={v}" for k, v in SMALL_LFN.items()), *extra]


def _one_line(code: int, capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    assert "internal error" not in err[0] and "Traceback" not in err[0]
    for word in words:
        assert word in err[0], err[0]
    return err[0]


def _flip_bytes_in_a_tensor(path: Path) -> None:
    """Change a few bytes in the middle of the file's tensor data (its header stays valid)."""
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little")
    middle = 8 + header + (len(data) - 8 - header) // 2
    data[middle: middle + 4] = bytes(b ^ 0xFF for b in data[middle: middle + 4])
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def run(toy_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lfn"
    assert main(_train(toy_data, out, 6)) == 0
    return out


# --------------------------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parents[1].name)
def test_every_shipped_model_stores_a_checksum_that_verifies(path):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        assert DIGEST_KEY in (handle.metadata() or {})
    load_checkpoint(path)  # verifies


def test_a_shipped_model_with_flipped_tensor_bytes_is_one_line_not_black_images(tmp_path, capsys):
    import shutil

    model = tmp_path / "cars-pixelnerf"
    shutil.copytree(SHIPPED[0].parents[1], model)
    checkpoint = next((model / "checkpoints").glob("*.safetensors"))
    _flip_bytes_in_a_tensor(checkpoint)
    code = main(["reconstruct", "--model", str(model), "--out", str(tmp_path / "out"), "--views", "1"])
    _one_line(code, capsys, str(checkpoint), "corrupt checkpoint", "checksum")
    assert not (tmp_path / "out").exists()


def test_a_truncated_checkpoint_is_one_line(run, tmp_path):
    path = tmp_path / "step_00000006.safetensors"
    path.write_bytes(list_checkpoints(run)[-1][1].read_bytes()[:1000])
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_a_checkpoint_without_checksum_and_nan_weights_is_refused(run, tmp_path):
    """Files written before checksums existed are still checked for non-finite weights."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(list_checkpoints(run)[-1][1]), "pt") as handle:
        metadata = {k: v for k, v in handle.metadata().items() if k != DIGEST_KEY}
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    name = next(k for k, v in tensors.items() if k.startswith("model.") and v.is_floating_point())
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=metadata)
    with pytest.raises(ConfigError, match="holds NaN or infinite values"):
        load_checkpoint(tmp_path / "old.safetensors")


def test_resume_falls_back_to_the_newest_intact_checkpoint_and_says_so(toy_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_train(toy_data, out, 6)) == 0
    steps = [step for step, _ in list_checkpoints(out)]
    assert steps == [2, 4, 6]
    newest = list_checkpoints(out)[-1][1]
    newest.write_bytes(newest.read_bytes()[:-100])  # cut short
    capsys.readouterr()
    assert main(_train(toy_data, out, 8, "--resume")) == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and str(newest) in warning[0] and "resuming from step_00000004.safetensors (step 4)" in warning[0]
    assert "Traceback" not in err
    assert [step for step, _ in list_checkpoints(out)][-1] == 8 and (out / "checkpoints" / (newest.name + ".damaged")).is_file()


def test_resume_with_every_checkpoint_damaged_is_one_line(toy_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_train(toy_data, out, 4)) == 0
    for _, path in list_checkpoints(out):
        _flip_bytes_in_a_tensor(path)
    capsys.readouterr()
    code = main(_train(toy_data, out, 6, "--resume"))
    _one_line(code, capsys, "step_00000004.safetensors", "corrupt checkpoint", "no intact checkpoint")


def test_metrics_are_not_logged_twice_after_a_resume(toy_data, tmp_path):
    out = tmp_path / "run"
    assert main(_train(toy_data, out, 5)) == 0  # checkpoints at 2, 4 and the last step, 5
    (out / "checkpoints" / "step_00000005.safetensors").unlink()  # as if killed after step 5 was logged
    with open(out / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 6, "lo')  # and cut mid-line
    assert main(_train(toy_data, out, 7, "--resume")) == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6, 7]


# --------------------------------------------------------------------------------------------- flags


def test_resume_with_another_preset_is_an_explicit_error(run, toy_data, capsys):
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    code = main(_train(toy_data, run, 8, "--resume", preset="srn"))
    _one_line(code, capsys, str(run), "continues a lfn run", "--preset is srn", "give --preset lfn")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_resume_with_other_model_overrides_is_an_explicit_error(run, toy_data, capsys):
    argv = _train(toy_data, run, 8, "--resume")
    argv[argv.index("--model-override=width=16")] = "--model-override=width=32"
    _one_line(main(argv), capsys, "model overrides", "cannot change")


def test_init_from_with_resume_or_a_missing_model_is_one_line(run, toy_data, tmp_path, capsys):
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    _one_line(main(_train(toy_data, run, 8, "--resume", "--init-from", str(run))), capsys, "--init-from", "--resume", "give one")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
    argv = [a for a in _train(toy_data, tmp_path / "new", 2, "--init-from", str(tmp_path / "nowhere")) if not a.startswith("--model-override")]
    _one_line(main(argv), capsys, "nowhere", "not found")
    assert not (tmp_path / "new" / "checkpoints").exists() or not any((tmp_path / "new" / "checkpoints").iterdir())


@pytest.mark.parametrize("flag, value", [("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"), ("--lr", "-1"),
                                         ("--lr", "1e300"), ("--latent-lr", "-0.001"), ("--batch-size", "0"),
                                         ("--target-views", "0"), ("--minutes", "nan"), ("--steps", "0"),
                                         ("--keep", "0"), ("--image-size", "2"), ("--rays", "-5")])
def test_bad_hyper_parameter_is_refused_before_any_work(flag, value, toy_data, tmp_path, capsys):
    argv = _train(toy_data, tmp_path / "run", 2)
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    if flag == "--minutes":
        del argv[argv.index("--steps"): argv.index("--steps") + 2]
    _one_line(main(argv), capsys, flag, value if value != "1e300" else "1e+300")
    assert not (tmp_path / "run").exists()


def test_a_run_folder_that_cannot_be_written_is_one_line_naming_it(toy_data, tmp_path, capsys, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    _one_line(main(_train(toy_data, tmp_path / "run", 2)), capsys, str(tmp_path / "run"), "Read-only file system")


def test_disk_full_while_checkpointing_is_one_line_naming_the_file(toy_data, tmp_path, capsys, monkeypatch):
    from sceneprior import checkpoint

    def full(path, data):  # noqa: ANN001
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", full)
    code = main(_train(toy_data, tmp_path / "run", 2))
    _one_line(code, capsys, str(tmp_path / "run" / "checkpoints" / "step_00000002.safetensors"),
              "No space left on device", "free some space")
