"""Benchmark machinery: memory accounting, per-preset training figures, the quality benchmark's cache and table."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sceneprior.bench.presets import preset_speed
from sceneprior.training.memory import saved_activation_bytes
from sceneprior.bench.quality import QualityConfig, comparison_figure, figure_tiles, run_quality
from sceneprior.data.generator import GeneratorConfig, generate_dataset
from sceneprior.errors import ConfigError


def test_saved_activation_bytes_counts_each_saved_storage_once():
    x = torch.randn(100, requires_grad=True)
    y = torch.randn(100, requires_grad=True)
    # x*y saves x and y (400 B each); exp saves its result (400 B); sum saves nothing of size
    assert saved_activation_bytes(lambda: torch.exp(x * y).sum()) == 3 * 400
    # the same tensor saved twice is one storage
    assert saved_activation_bytes(lambda: (x * x).sum()) == 400
    with torch.no_grad():
        assert saved_activation_bytes(lambda: (x * y).sum()) == 0


def test_interleaved_timing_alternates_the_ops_in_each_repeat():
    from sceneprior.bench.speed import interleaved_seconds

    calls = []
    times = interleaved_seconds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4  # one warm-up round, then A B A B A B
    assert [len(v) for v in times.values()] == [3, 3]


def test_ratio_is_refused_when_the_limits_spread_shows_a_busy_machine():
    from sceneprior.bench.speed import judge_ratio, relative_spread

    steady = [160.0, 158.0, 163.0, 161.0, 159.0]  # spread 5 / 160
    mlp = [112.0, 110.0, 115.0, 113.0, 111.0]
    assert relative_spread(steady) == pytest.approx(5 / 160)
    ratio, why = judge_ratio(steady, mlp, max_spread=0.10)
    assert why is None
    assert ratio == pytest.approx(np.median([m / s for m, s in zip(mlp, steady)]))  # paired, then the median
    # a neighbour starts halfway: the limit drops to 60% of itself; the MLP, timed between, drops too
    busy = [160.0, 158.0, 96.0, 95.0, 161.0]
    ratio, why = judge_ratio(busy, [112.0, 110.0, 68.0, 66.0, 113.0], max_spread=0.10)
    assert ratio is None and "busy" in why and "spread" in why and "42%" in why  # (161 - 95) / 158
    assert judge_ratio(busy, mlp, max_spread=0.5)[0] is not None  # a looser bound accepts the same series
    with pytest.raises(ValueError):
        judge_ratio(steady, mlp[:3], max_spread=0.1)


def test_speed_report_prints_the_spread_and_why_no_ratio(monkeypatch):
    from sceneprior.bench import speed

    # synthetic seconds (no timing): the limit's repeats swing 2x, so the report must refuse a ratio and say why
    seconds = {"matmul": [0.10, 0.20, 0.10], "forward": [0.05, 0.05, 0.05], "train": [0.15, 0.15, 0.15]}
    monkeypatch.setattr(speed, "interleaved_seconds", lambda ops, repeats, warmup=2: {k: seconds[k] for k in ops})
    report = speed.run_speed(quick=True, limit_only=True)
    figure = report.limit_and_mlp
    assert figure.train_fraction_of_matmul is None and figure.forward_fraction_of_matmul is None
    assert figure.limit_spread == pytest.approx(0.5)  # GFLOP/s 2g, g, 2g: (2g - g) / the median 2g
    text = speed.format_report(report)
    assert "spread 50%" in text and "not reported" in text and "machine was busy" in text
    seconds["matmul"] = [0.10, 0.10, 0.10]
    figure = speed.run_speed(quick=True, limit_only=True).limit_and_mlp
    flops = 2 * 1024**3 / 0.10 / 1e9
    assert figure.refused is None and figure.train_fraction_of_matmul == pytest.approx(figure.train_median / flops)


def test_preset_speed_reports_the_trainers_batch(tmp_path):
    rows = preset_speed(("lfn",), steps=1, warmup=1)
    (row,) = rows
    assert row.preset == "lfn"
    assert row.rays_per_step == 8 * 1024  # the preset's 8 scenes x 1024 rays
    assert row.state_mb == pytest.approx(16 * row.params / 2**20)
    assert row.seconds_per_step > 0 and row.rays_per_second == pytest.approx(row.rays_per_step / row.seconds_per_step)
    assert row.activation_mb > 0


@pytest.fixture(scope="module")
def tiny_cars(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality") / "cars"
    generate_dataset(GeneratorConfig(category="cars", out=str(root), objects=4, views=4, test_objects=2, val_objects=2,
                                     resolution=32, seed=0, workers=1, surface_points=500, sdf_samples=500))
    return root


@pytest.mark.timeout(300)
def test_bench_quality_trains_evaluates_and_reuses_its_cache(tiny_cars, tmp_path):
    config = QualityConfig(data=str(tiny_cars), out=str(tmp_path / "out"), runs=str(tmp_path / "runs"),
                           presets=("autoencoder",), budget_minutes=0.02, max_objects=1, max_views=2,
                           autodecode_steps=2, save_images=1, command="test")
    report = run_quality(config)
    (row,) = report["rows"]
    assert row["train_steps"] > 0 and row["params"] > 0
    done = {(r["mode"], r["split"], r["input_views"]) for r in row["results"] if r["ok"]}
    assert done == {("encode", "test", 1), ("encode", "test_ood_pose", 1), ("autodecode", "test", 1),
                    ("autodecode", "test_ood_pose", 1), ("encode+autodecode", "test", 1),
                    ("encode+autodecode", "test_ood_pose", 1), ("encode", "test", 2)}
    for r in row["results"]:
        assert 0 < r["psnr"] < 60 and r["num_objects"] == 1
    table = (tmp_path / "out" / "quality.md").read_text()
    assert "| autoencoder | encode+autodecode |" in table
    assert json.loads((tmp_path / "out" / "quality.json").read_text())["rows"][0]["preset"] == "autoencoder"
    # cached: a second call trains nothing and re-scores nothing
    log = tmp_path / "runs" / "autoencoder.train.log"
    before = log.stat().st_mtime_ns
    again = run_quality(config)
    assert log.stat().st_mtime_ns == before
    assert again["rows"][0]["results"] == row["results"]
    # a run made with another budget is refused, not overwritten
    other = QualityConfig(**{**config.__dict__, "budget_minutes": 0.05})
    with pytest.raises(ConfigError, match="other settings"):
        run_quality(other)
    rendered = sorted((tmp_path / "runs" / "autoencoder" / "renders" / "test").glob("*/*.png"))[0]  # first object
    view = int(rendered.stem)
    figure = comparison_figure(tmp_path / "runs", tiny_cars, "test", tmp_path / "views.png",
                               presets=("autoencoder",), objects=1, views=(view,))
    assert figure.exists() and "autoencoder" in figure.with_suffix(".txt").read_text()
    # cut back into its renders (lossless) and re-assembled: the same picture
    from sceneprior.data.image_io import read_rgb

    tiles = figure_tiles(figure, tmp_path / "tiles")
    assert [t.relative_to(tmp_path / "tiles") for t in tiles] == [rendered.relative_to(tmp_path / "runs")]
    assert np.array_equal(read_rgb(tiles[0]), read_rgb(rendered))
    again = comparison_figure(tmp_path / "tiles", tiny_cars, "test", tmp_path / "again.png", presets=("autoencoder",),
                              objects=1, views=(view,))
    assert np.array_equal(read_rgb(again), read_rgb(figure))
    (tmp_path / "bad.png").write_bytes(figure.read_bytes())
    (tmp_path / "bad.txt").write_text("something else\n")
    with pytest.raises(ConfigError, match=r"bad\.txt: not the legend"):
        figure_tiles(tmp_path / "bad.png", tmp_path / "tiles")


@pytest.mark.timeout(300)
def test_bench_quality_scores_3d_presets_in_their_own_section(tiny_cars, tmp_path):
    """A 3D preset goes through the same train / eval commands and lands in the 3D section with mesh metrics
    (full and partial point clouds); the image section is absent when no image preset was asked for."""
    config = QualityConfig(data=str(tiny_cars), out=str(tmp_path / "out"), runs=str(tmp_path / "runs"),
                           presets=("occnet",), budget_minutes=0.02, max_objects=1, partial_3d=True, command="test")
    report = run_quality(config)
    (row,) = report["rows"]
    assert row["section"] == "shapes" and row["train_steps"] > 0 and row["params"] > 0
    assert [r["observation"] for r in row["results"]] == ["full", "partial"]
    for r in row["results"]:
        assert r["ok"] and r["num_objects"] == 1 and 0.0 <= r["iou"] <= 1.0 and r["latent_floats"] == 128
        assert r["chamfer_l1"] is None or r["chamfer_l1"] > 0
    table = (tmp_path / "out" / "quality.md").read_text()
    assert "## 3D shapes" in table and "## Novel views" not in table
    assert "| occnet | " in table and "| full |" in table and "| partial |" in table


def test_bench_quality_rejects_unknown_presets_and_missing_data(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset"):
        run_quality(QualityConfig(data=str(tmp_path), presets=("no-such-preset",)))
    with pytest.raises(ConfigError, match="metadata.json"):
        run_quality(QualityConfig(data=str(tmp_path), presets=("srn",)))
