"""Part segmentation from a few labelled views (``reconstruct --parts``, ``bench parts``): the probe, its plumbing
through cameras and pixels (a known answer), and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sceneprior.data.datasets import open_dataset
from sceneprior.data.image_io import read_rgb, write_png
from sceneprior.geometry import get_rays
from sceneprior.inference.infer import InferenceConfig
from sceneprior.inference.parts import PART_COLOURS, evaluate_parts, fit_part_probe, fit_probe, mean_iou

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DISC = 0.45


def _plane_hits(cam2world: torch.Tensor, K: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each pixel's ray meets the plane y = 0 (x, z) and whether it lands in the disc of radius DISC."""
    origins, dirs, _ = get_rays(cam2world[None].double(), K[None].double(), size, size)
    t = -origins[0, ..., 1] / dirs[0, ..., 1]
    hit = origins[0] + t[..., None] * dirs[0]
    inside = (t > 0) & (hit[..., 0] ** 2 + hit[..., 2] ** 2 < DISC**2)
    return hit[..., [0, 2]], inside


def _labels(cam2world: torch.Tensor, K: torch.Tensor, size: int) -> np.ndarray:
    """Parts of a flat disc: 0 off it, 1 on its x < 0 half, 2 on its x > 0 half."""
    xz, inside = _plane_hits(cam2world, K, size)
    return np.where(inside.numpy(), np.where(xz[..., 0].numpy() < 0, 1, 2), 0).astype(np.uint8)


@pytest.fixture(scope="module")
def labelled_data(tmp_path_factory) -> Path:
    """The toy SRN dataset with part label images of the disc (and the part names in metadata.json)."""
    from image_model_toys import write_toy_dataset

    root = write_toy_dataset(tmp_path_factory.mktemp("parts") / "data", {"train": 3, "test": 2}, views=4, size=16)
    for split in ("train", "test"):
        dataset = open_dataset(root, split=split)
        for i in range(len(dataset)):
            views = dataset[i]
            folder = dataset.scene_dir(i) / "parts"
            folder.mkdir()
            for k, view_id in enumerate(views.view_ids):
                write_png(folder / f"{view_id}.png", _labels(views.cam2world[k], views.intrinsics[k], 16))
    meta = json.loads((root / "metadata.json").read_text())
    meta["part_names"] = ["background", "left", "right"]
    (root / "metadata.json").write_text(json.dumps(meta))
    return root


def _disc_model(tiny_srn_run: Path):
    """A tiny SRN whose per-pixel features are, instead of its φ, where the pixel's ray meets the plane (x, z) and
    whether it lands on the disc: features that determine the parts, so the probe's plumbing has a known answer."""
    from sceneprior.api import load_model

    model = load_model(tiny_srn_run).model

    def features(latent, cam2world, K, height, width):  # noqa: ANN001, ANN202
        xz, inside = _plane_hits(cam2world, K, height)
        return torch.cat([xz * inside[..., None], inside[..., None].double()], -1).reshape(height * width, 3).float()

    model.pixel_features = features
    return model


@pytest.fixture(scope="module")
def tiny_srn_run(tmp_path_factory) -> Path:
    from sceneprior.training.tiny import save_tiny_run

    return save_tiny_run(tmp_path_factory.mktemp("runs") / "srn", "srn", resolution=16)


def test_probe_and_miou_known_answers():
    x = torch.tensor([[-2.0], [-1.0], [1.0], [2.0]])
    probe = fit_probe(x, torch.tensor([0, 0, 1, 1]), 2, weight_decay=0.0)
    assert probe(torch.tensor([[-5.0], [5.0]])).tolist() == [0, 1]
    miou, ious = mean_iou(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 4)
    assert ious == [1.0, 0.5, 0.5, None] and miou == pytest.approx(2 / 3)


def test_part_maps_of_held_out_objects_match_the_labels(labelled_data, tiny_srn_run):
    """Fitted on view 0 of two training objects, the probe maps the novel views of held-out objects (other cameras)
    to their parts: mIoU near 1 when features and labels line up pixel for pixel, far lower when the part map is
    read transposed."""
    model = _disc_model(tiny_srn_run)
    inference = InferenceConfig(mode="autodecode", steps=1, rays_per_step=64)
    probe = fit_part_probe(model, labelled_data, inference, objects=2)
    assert probe.names == ["background", "left", "right"] and len(probe.labelled) == 2
    result = evaluate_parts(model, probe, labelled_data, inference, split="test", objects=2)
    assert [o["views"] for o in result.objects] == [3, 3]  # every view but the input view
    assert result.miou > 0.9, result
    assert all(v is not None and v > 0.8 for v in result.per_class)
    # the same maps read transposed score far lower: the test sees a mix-up of rows and columns
    test = open_dataset(labelled_data, split="test", load_extras=True)
    views = test.load_views(0, [1])
    latent = None
    part_map = probe.part_map(model, latent, views.cam2world[0], views.intrinsics[0], 16, 16)
    truth = views.parts[0, 0]
    assert mean_iou(part_map.reshape(-1), truth.reshape(-1), 3)[0] > 0.9
    assert mean_iou(part_map.T.reshape(-1), truth.reshape(-1), 3)[0] < 0.8


def test_reconstruct_parts_writes_part_maps_and_a_legend(labelled_data, tiny_srn_run, tmp_path):
    from sceneprior.cli.main import main

    out = tmp_path / "rec"
    assert main(["reconstruct", "--model", str(tiny_srn_run), "--out", str(out), "--views", "3", "--steps", "2",
                 "--no-mesh", "--parts", str(labelled_data), "--parts-objects", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"]["parts"] == [f"parts/parts_{k:03d}.png" for k in range(3)]
    assert any(n.startswith("Part maps:") and "background white, left red, right blue" in n for n in summary["notes"])
    picture = read_rgb(out / "parts" / "parts_000.png")
    assert picture.shape[:2] == (16, 16)
    palette = np.round(PART_COLOURS[:3] * 255)
    assert np.isin(np.round(picture * 255).reshape(-1, 3), palette).all(1).all()  # nothing but the parts' colours
    assert "parts/parts_000.png" in (out / "index.html").read_text()


def test_reconstruct_parts_needs_pixel_features(labelled_data, tmp_path, capsys):
    from sceneprior.cli.main import main
    from sceneprior.training.tiny import save_tiny_run

    run = save_tiny_run(tmp_path / "ae", "autoencoder", resolution=16)
    assert main(["reconstruct", "--model", str(run), "--out", str(tmp_path / "rec"), "--views", "2", "--no-mesh",
                 "--parts", str(labelled_data), "--parts-objects", "1"]) != 0
    assert "exposes no per-pixel features" in capsys.readouterr().err
    assert not (tmp_path / "rec").exists()


def test_bench_parts_reports_miou(labelled_data, tiny_srn_run, tmp_path):
    from sceneprior.cli.main import main

    out = tmp_path / "parts.json"
    assert main(["bench", "parts", "--model", str(tiny_srn_run), "--data", str(labelled_data), "--labelled", "2",
                 "--objects", "2", "--max-views", "2", "--steps", "2", "--json", str(out), "--md", str(tmp_path / "p.md")]) == 0
    report = json.loads(out.read_text())
    assert 0.0 <= report["miou"] <= 1.0 and len(report["objects"]) == 2 and report["part_names"][0] == "background"
    assert "mIoU" in (tmp_path / "p.md").read_text()
