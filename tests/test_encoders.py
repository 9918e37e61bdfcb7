"""Encoders: output shapes, pixelNeRF's multi-scale structure, batch independence, auto-decoder init."""

from __future__ import annotations

import pytest
import torch

from sceneprior.encoders import (
    AutoDecoder, AutoDecoderConfig, ConvEncoderConfig, ConvGlobalEncoder, FeatureMapEncoder, FeatureMapEncoderConfig,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_global_encoder_gives_one_latent_per_image_for_any_size():
    encoder = ConvGlobalEncoder(ConvEncoderConfig(channels=(8, 16), latent_dim=12, pool=2))
    assert encoder(torch.rand(3, 3, 32, 32)).shape == (3, 12)
    assert encoder(torch.rand(1, 3, 20, 28)).shape == (1, 12)


def test_encoders_do_not_mix_images_of_a_batch():
    torch.manual_seed(0)
    images = torch.rand(4, 3, 16, 16)
    for encoder in (ConvGlobalEncoder(ConvEncoderConfig(channels=(8, 16), latent_dim=6)),
                    FeatureMapEncoder(FeatureMapEncoderConfig(8, (8, 8, 16)))):
        together = encoder(images)
        alone = torch.cat([encoder(images[i : i + 1]) for i in range(4)])
        torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)


def test_feature_maps_are_at_half_resolution_with_all_stages_concatenated():
    config = FeatureMapEncoderConfig(stem_channels=8, stage_channels=(8, 16, 24))
    maps = FeatureMapEncoder(config)(torch.rand(2, 3, 64, 48))
    assert config.out_channels == 56
    assert maps.shape == (2, 56, 32, 24)


def test_deep_stage_features_are_upsampled_smoothly():
    # the last stage (H/16) is bilinearly upsampled: neighbouring H/2 pixels of its channels differ little
    torch.manual_seed(0)
    config = FeatureMapEncoderConfig(stem_channels=4, stage_channels=(4, 4, 4))
    maps = FeatureMapEncoder(config)(torch.rand(1, 3, 64, 64))
    deep = maps[:, -4:]
    assert deep.shape[-1] == 32
    step = (deep[..., 1:] - deep[..., :-1]).abs().mean()
    assert step < 0.5 * deep.abs().mean() + 1e-6


def test_autodecoder_table():
    torch.manual_seed(0)
    table = AutoDecoder(1000, AutoDecoderConfig(latent_dim=64, init_std=0.01))
    assert abs(float(table.codes.weight.detach().std()) - 0.01) < 5e-4
    index = torch.tensor([3, 3, 7])
    codes = table(index)
    assert codes.shape == (3, 64) and torch.equal(codes[0], codes[1])
    torch.testing.assert_close(table.mean_code(), table.codes.weight.mean(0))
    assert "codes.weight" in table.state_dict()
