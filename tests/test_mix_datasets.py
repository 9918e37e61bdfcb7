"""scripts/mix_datasets.py: one training split of several datasets' scenes, as links the data reader accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from image_model_toys import write_toy_dataset

from sceneprior.data.srn import SRNDataset

SCRIPT = Path(__file__).parents[1] / "scripts" / "mix_datasets.py"


def _mix(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True)


def test_mixture_links_the_chosen_scenes_and_refuses_mismatches(tmp_path):
    a = write_toy_dataset(tmp_path / "a", {"train": 3}, views=2, size=16, seed=0)
    b = write_toy_dataset(tmp_path / "b", {"train": 4}, views=2, size=16, seed=1)
    done = _mix("--out", str(tmp_path / "mix"), "--source", str(a), "all", "--source", str(b), "2", "--prefixes", "x", "y")
    assert done.returncode == 0, done.stderr
    dataset = SRNDataset(tmp_path / "mix" / "toys_train")
    assert dataset.scene_ids == ["x_train000", "x_train001", "x_train002", "y_train000", "y_train001"]
    assert (tmp_path / "mix" / "toys_train" / "y_train001").resolve() == (b / "toys_train" / "train001").resolve()
    meta = json.loads((tmp_path / "mix" / "metadata.json").read_text())
    assert meta["splits"] == {"train": 5} and [m["scenes"] for m in meta["mixture"]] == [3, 2]
    # never over an existing folder; another resolution cannot be mixed in; a bad count is one line
    again = _mix("--out", str(tmp_path / "mix"), "--source", str(a), "all")
    assert again.returncode == 2 and "exists" in again.stderr
    c = write_toy_dataset(tmp_path / "c", {"train": 2}, views=2, size=8)
    other = _mix("--out", str(tmp_path / "m2"), "--source", str(a), "all", "--source", str(c), "all")
    assert other.returncode == 2 and "resolution" in other.stderr and not (tmp_path / "m2").exists()
    bad = _mix("--out", str(tmp_path / "m3"), "--source", str(a), "9")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "1..3" in bad.stderr
