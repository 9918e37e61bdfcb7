"""Learned aggregation over source views (IBRNet / NeRFormer-style): order of the views does not matter, one view
(or copies of it) reduces to that view, an untrained module is the mean, pixelNeRF takes it as an option and any
number of source views in eval and training (``--input-views N``)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from sceneprior.conditioning import ViewAttentionPool
from sceneprior.evaluation.evaluate import source_views
from sceneprior.errors import ConfigError
from sceneprior.fields import ResnetFCField
from sceneprior.models.pixelnerf import PixelNeRFConfig
from sceneprior.registry import get_preset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _trained_pool(channels: int = 16, layers: int = 2) -> ViewAttentionPool:
    """A pool whose zero-initialised parts are given random values (an untrained one is exactly the mean)."""
    torch.manual_seed(0)
    pool = ViewAttentionPool(channels, heads=4, layers=layers)
    with torch.no_grad():
        for p in pool.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return pool


def test_attention_pool_is_invariant_to_the_order_of_views():
    pool = _trained_pool()
    values = torch.randn(2, 5, 7, 16)
    out = pool(values)
    assert out.shape == (2, 7, 16)
    for perm in ([4, 3, 2, 1, 0], [1, 0, 3, 4, 2]):
        torch.testing.assert_close(pool(values[:, perm]), out, rtol=1e-5, atol=1e-5)
    # and it is not the mean (nor any fixed per-view weighting) once trained
    assert (out - values.mean(1)).abs().max() > 1e-2


def test_attention_pool_weights_sum_to_one_and_depend_on_the_views():
    pool = _trained_pool()
    values = torch.randn(1, 3, 11, 16)
    _, weights = pool.view_weights(values)
    assert weights.shape == (1, 3, 11, 1)
    torch.testing.assert_close(weights.sum(1), torch.ones(1, 11, 1))
    assert weights.std() > 1e-3  # not uniform


def test_one_view_and_copies_of_it_give_the_same_result():
    """N=1 reduces sensibly: attention over k identical views returns what one view gives (softmax over equal
    scores and attention over equal tokens are both the common value)."""
    pool = _trained_pool()
    one = torch.randn(2, 1, 9, 16)
    single = pool(one)
    assert single.shape == (2, 9, 16)
    for copies in (2, 5):
        torch.testing.assert_close(pool(one.expand(-1, copies, -1, -1)), single, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("views", [1, 2, 3, 4, 5])
def test_untrained_attention_pool_is_the_mean_and_its_gradients_are_finite(views):
    torch.manual_seed(1)
    pool = ViewAttentionPool(16, heads=4, layers=1)
    values = (3.0 * torch.randn(3, views, 5, 16) + 2.0).requires_grad_()
    out = pool(values)
    torch.testing.assert_close(out, values.mean(1), rtol=1e-6, atol=1e-6)
    out.pow(2).sum().backward()
    grads = [values.grad, *(p.grad for p in pool.parameters() if p.grad is not None)]
    assert all(torch.isfinite(g).all() for g in grads)
    assert pool.layers[0].out.weight.grad.abs().sum() > 0  # the zero-initialised branches do learn
    assert views == 1 or pool.score.weight.grad.abs().sum() > 0  # one view: the softmax weight is 1 whatever the score


def test_pixelnerf_density_starts_alive_at_every_point():
    """The cause of the dead coarse network of results/quality/view_aggregation: with a Kaiming density row the
    ReLU density started at zero at every point in some networks (one offset shared by all points, sign by
    chance), got no gradient and never recovered. Now it starts close to a positive constant, whatever the seed, the
    pooling or the number of views, and the density head gets finite gradients from the first step."""
    from sceneprior.geometry import intrinsics_matrix, look_at

    angles = (0.0, 1.3, 2.6)
    cams = torch.stack([look_at(torch.tensor([1.6 * math.cos(a), 0.4, 1.6 * math.sin(a)]), torch.zeros(3),
                                torch.tensor([0.0, 1.0, 0.0])) for a in angles])[None]
    K = intrinsics_matrix(20.0, 20.0, 8.0, 8.0)[None, None].expand(1, 3, 3, 3)
    points = torch.rand(1, 64, 3) - 0.5
    dirs = torch.nn.functional.normalize(torch.randn(1, 64, 3), dim=-1)
    for preset in ("pixelnerf", "pixelnerf-attention"):
        for seed in range(3):
            torch.manual_seed(seed)
            model = get_preset(preset).model.tiny().build(0)
            images = torch.rand(1, 3, 3, 16, 16)
            for n in (1, 3):
                latent = model.encode(images[:, :n], cams[:, :n], K[:, :n])
                for net, fine in ((model.coarse, False), (model.fine, True)):
                    density = model.field(latent, fine=fine)(points, dirs).density
                    assert (density > 0).all(), (preset, seed, n, fine)
                    net.zero_grad()
                    density.sum().backward(retain_graph=True)
                    grad = net.lin_out.weight.grad[3]
                    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_resnetfc_with_attention_starts_as_the_mean_pooled_field():
    torch.manual_seed(2)
    mean = ResnetFCField(10, 6, width=16, n_blocks=3, combine_layer=1)
    torch.manual_seed(2)
    attention = ResnetFCField(10, 6, width=16, n_blocks=3, combine_layer=1, combine="attention")
    inputs, features = torch.randn(2, 3, 8, 10), torch.randn(2, 3, 8, 6)
    a, b = mean(inputs, features), attention(inputs, features)
    torch.testing.assert_close(a.density, b.density)
    torch.testing.assert_close(a.rgb, b.rgb)


def test_attention_gets_gradients_and_changes_the_pooling():
    pool = ViewAttentionPool(16, heads=4, layers=1)
    values = torch.randn(2, 3, 5, 16)
    target = torch.randn(2, 5, 16)
    optimizer = torch.optim.Adam(pool.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = (pool(values) - target).pow(2).mean()
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.8 * first


def test_pixelnerf_attention_renders_any_number_of_views_and_is_view_order_invariant():
    torch.manual_seed(0)
    config = get_preset("pixelnerf-attention").model.tiny()
    assert config.view_pooling == "attention"
    model = config.build(0).eval()
    with torch.no_grad():
        for p in model.parameters():  # away from the mean-pooling start
            p.add_(0.05 * torch.randn_like(p))
    images = torch.rand(1, 4, 3, 16, 16)
    from sceneprior.geometry import intrinsics_matrix, look_at

    cams = torch.stack([look_at(torch.tensor([1.6 * torch.cos(torch.tensor(a)), 0.5, 1.6 * torch.sin(torch.tensor(a))]),
                                torch.zeros(3), torch.tensor([0.0, 1.0, 0.0])) for a in (0.0, 1.5, 3.0, 4.5)])[None]
    K = intrinsics_matrix(20.0, 20.0, 8.0, 8.0)[None, None].expand(1, 4, 3, 3)
    points = torch.rand(1, 50, 3) - 0.5
    dirs = torch.nn.functional.normalize(torch.randn(1, 50, 3), dim=-1)
    outputs = {}
    with torch.no_grad():
        for n in (1, 2, 4):
            latent = model.encode(images[:, :n], cams[:, :n], K[:, :n])
            outputs[n] = model.field(latent)(points, dirs)
            assert outputs[n].density.shape == (1, 50, 1) and outputs[n].rgb.shape == (1, 50, 3)
        perm = [2, 0, 3, 1]
        shuffled = model.field(model.encode(images[:, perm], cams[:, perm], K[:, perm]))(points, dirs)
    torch.testing.assert_close(shuffled.density, outputs[4].density, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(shuffled.rgb, outputs[4].rgb, rtol=1e-4, atol=1e-5)
    assert (outputs[4].rgb - outputs[1].rgb).abs().max() > 1e-4  # more views change the answer


def test_pixelnerf_config_without_the_new_fields_reads_as_mean_pooling():
    """Runs saved before the option existed keep loading (their config has no view_pooling)."""
    from sceneprior.models.configs import to_plain
    from sceneprior.registry import config_from_plain

    plain = to_plain(PixelNeRFConfig())
    for key in ("view_pooling", "attention_heads", "attention_layers"):
        plain.pop(key)
    assert config_from_plain("pixelnerf", plain).view_pooling == "mean"


def test_source_views_fixed_first_then_spread_over_the_rest():
    meta = {"input_views": {"test": [0, 1]}}
    assert source_views(meta, "test", 50, 1) == [0]
    assert source_views(meta, "test", 50, 2) == [0, 1]
    three, five = source_views(meta, "test", 50, 3), source_views(meta, "test", 50, 5)
    assert three[:2] == [0, 1] and five[:2] == [0, 1] and len(set(five)) == 5 and all(0 <= v < 50 for v in five)
    assert five[2] == three[2] == 2  # the first extra view is the first remaining one; the rest are spread
    assert max(five) >= 30
    assert source_views({}, "test", 10, 2) == [0, 5]
    assert sorted(source_views(meta, "test", 10, 9)) == list(range(9))
    for bad in (0, 10, 11):
        with pytest.raises(ConfigError, match="--input-views"):
            source_views(meta, "test", 10, bad)


def test_train_and_eval_take_input_views(tmp_path, capsys):
    from image_model_toys import write_toy_dataset

    from sceneprior.cli.main import main

    data = write_toy_dataset(tmp_path / "data", {"train": 2, "test": 1}, views=6, size=16)
    run = tmp_path / "run"
    argv = ["train", "--preset", "pixelnerf-attention", "--data", str(data), "--out", str(run), "--steps", "1",
            "--image-every", "0", "--no-progress", "--input-views", "3", "--rays", "16",
            "--model-override", "width=16", "--model-override", "blocks=2", "--model-override", "combine_layer=1",
            "--model-override", "coarse_samples=4", "--model-override", "importance_samples=2",
            "--model-override", "depth_samples=0"]
    assert main(argv) == 0
    assert json.loads((run / "config.json").read_text())["train"]["batch"]["input_views"] == [3]
    out = tmp_path / "eval.json"
    assert main(["eval", str(run), "--data", str(data), "--json", str(out), "--input-views", "4", "--max-views", "1"]) == 0
    result = json.loads(out.read_text())
    assert result["input_views"] == 4 and len(result["objects"][0]["input_views"]) == 4
    assert main(["train", "--preset", "pixelnerf", "--data", str(data), "--out", str(tmp_path / "r2"), "--steps", "1",
                 "--input-views", "0"]) != 0
    assert "--input-views 0" in capsys.readouterr().err
    assert main(["eval", str(run), "--data", str(data), "--input-views", "6"]) != 0
    assert "only 6 views" in capsys.readouterr().err
