"""Inference: auto-decoding lowers the image error of a held-out scene with the network frozen; encode is one
forward pass; encode+autodecode starts from the encoder's latent."""

from __future__ import annotations

import pytest
import torch

from sceneprior.errors import ConfigError
from sceneprior.evaluation import psnr
from sceneprior.inference import InferenceConfig, infer
from sceneprior.models import LFNConfig
from sceneprior.models.lfn import LFN
from sceneprior.training import BatchConfig, TrainConfig, load_run, open_split, train


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained_lfn(tmp_path_factory):
    from image_model_toys import write_toy_dataset

    root = tmp_path_factory.mktemp("inference")
    data = write_toy_dataset(root / "data", {"train": 6, "test": 1}, views=6, size=16)
    config = TrainConfig(data=str(data), preset="lfn", steps=300, seed=0, lr=1e-3, latent_lr=1e-2,
                         batch=BatchConfig(6, 2, 256, (1,)), image_every=0, checkpoint_every=0, progress=False,
                         model_overrides={"latent_dim": 32, "width": 32, "hyper_hidden": 32, "hidden_layers": 2})
    train(root / "run", config)
    model, _, _ = load_run(root / "run")
    return model, open_split(data, "test")[0]


def test_autodecoding_lowers_the_error_of_a_held_out_scene(trained_lfn):
    model, views = trained_lfn
    observed = views.select([0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = InferenceConfig(mode="autodecode", steps=60, lr=1e-2, init="mean", rays_per_step=None)
    result = infer(model, observed, config)
    assert len(result.losses) == 60
    assert result.losses[-1] < 0.5 * result.losses[0]
    start = model.initial_latent(1, "mean")
    with torch.no_grad():
        image = lambda latent: model.render(latent, views.cam2world[:1], views.intrinsics[:1], 16, 16).rgb[0]  # noqa: E731
        error_start = psnr(image(start).permute(1, 2, 0).numpy(), views.images[0].permute(1, 2, 0).numpy())
        error_end = psnr(image(result.latent).permute(1, 2, 0).numpy(), views.images[0].permute(1, 2, 0).numpy())
    assert error_end > error_start + 1.0  # dB on the observed view
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed: weights must stay frozen"
    assert all(p.requires_grad for p in model.parameters())  # restored afterwards


def test_autodecode_init_options():
    model = LFN(LFNConfig(latent_dim=8, width=8, hidden_layers=1, hyper_hidden=8), num_train_scenes=3)
    assert torch.equal(model.initial_latent(2, "zeros").code, torch.zeros(2, 8))
    torch.testing.assert_close(model.initial_latent(1, "mean").code[0], model.latents.codes.weight.mean(0))
    given = torch.arange(8.0)[None]
    assert torch.equal(model.initial_latent(1, "given", given).code, given)
    with pytest.raises(ConfigError):
        model.initial_latent(1, "given")


def test_encode_and_encode_then_autodecode(tmp_path):
    from image_model_toys import write_toy_dataset

    from sceneprior.registry import get_preset

    data = write_toy_dataset(tmp_path, {"test": 1}, views=3, size=16)
    views = open_split(data, "test")[0].select([0])
    preset = get_preset("lfn-encoder")
    torch.manual_seed(0)
    model = preset.model.build(0).eval()
    encoded = infer(model, views, InferenceConfig(mode="encode"))
    assert encoded.losses == [] and encoded.latent.code.shape == (1, 128)
    refined = infer(model, views, InferenceConfig(mode="encode+autodecode", steps=10, lr=1e-2))
    assert len(refined.losses) == 10 and refined.losses[-1] < refined.losses[0]
    # the optimisation started at the encoder's latent: one small Adam step away from it
    first = infer(model, views, InferenceConfig(mode="encode+autodecode", steps=1, lr=1e-3))
    assert (first.latent.code - encoded.latent.code).abs().max() <= 1e-3 + 1e-6
    with pytest.raises(ConfigError):
        infer(get_preset("pixelnerf").model.build(0), views, InferenceConfig(mode="autodecode"))
