"""SRN + pixel-aligned features (CO3D's SRN+WCE): φ reads the source image where a point projects, with or without
a global code; the embedding is the sampled pixel's feature; view pooling by mean or attention; loss falls."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from sceneprior.geometry import intrinsics_matrix, look_at
from sceneprior.registry import get_preset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cameras(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    angles = [0.0, 1.7, 3.1, 4.4][:count]
    cams = torch.stack([look_at(torch.tensor([1.6 * torch.cos(torch.tensor(a)), 0.4, 1.6 * torch.sin(torch.tensor(a))]),
                                torch.zeros(3), torch.tensor([0.0, 1.0, 0.0])) for a in angles])[None]
    K = intrinsics_matrix(20.0, 20.0, 8.0, 8.0)[None, None].expand(1, count, 3, 3)
    return cams, K


@pytest.mark.parametrize("global_code", [True, False])
def test_phi_reads_the_source_images_through_the_pixel_aligned_term(global_code):
    """Editing the source image changes φ (with the global code held fixed); with the image term's projection
    zeroed, it does not: the change comes through the pixel-aligned features."""
    torch.manual_seed(0)
    config = replace(get_preset("srn-pixel").model.tiny(), global_code=global_code)
    model = config.build(0).eval()
    cams, K = _cameras(1)
    images = torch.rand(1, 1, 3, 16, 16)
    edited = images.clone()
    edited[..., 4:12, 4:12] = 1.0 - edited[..., 4:12, 4:12]
    points = 0.3 * (torch.rand(1, 30, 3) - 0.5)

    def both() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            first = model.encode(images, cams, K)
            second = replace(model.encode(edited, cams, K), code=first.code)
            return model.phi(first)(points), model.phi(second)(points)

    a, b = both()
    assert a.shape == (1, 30, config.phi_width)
    assert (a - b).abs().max() > 1e-2
    with torch.no_grad():
        model.project.weight.zero_()
        model.project.bias.zero_()
    a, b = both()
    torch.testing.assert_close(a, b)


def test_without_global_code_there_is_no_hypernetwork_and_no_code():
    config = replace(get_preset("srn-pixel").model.tiny(), global_code=False)
    model = config.build(0)
    assert model.hyper is None and model.global_encoder is None
    cams, K = _cameras(2)
    latent = model.encode(torch.rand(1, 2, 3, 16, 16), cams, K)
    assert latent.code is None and latent.feature_maps.shape[:2] == (1, 2)


def test_attention_pooling_is_view_order_invariant_and_shapes_hold():
    torch.manual_seed(0)
    config = replace(get_preset("srn-pixel").model.tiny(), view_pooling="attention")
    model = config.build(0).eval()
    with torch.no_grad():
        for p in model.attention.parameters():
            p.add_(0.2 * torch.randn_like(p))
    cams, K = _cameras(3)
    images = torch.rand(1, 3, 3, 16, 16)
    origins = cams[:, 0, :3, 3][:, None].expand(1, 20, 3)
    dirs = torch.nn.functional.normalize(-origins + 0.1 * torch.randn(1, 20, 3), dim=-1)
    with torch.no_grad():
        out = model.render_rays(model.encode(images, cams, K), origins, dirs)
        perm = [2, 0, 1]
        shuffled = model.render_rays(model.encode(images[:, perm], cams[:, perm], K[:, perm]), origins, dirs)
    assert out.rgb.shape == (1, 20, 3) and out.depth.shape == (1, 20)
    torch.testing.assert_close(shuffled.rgb, out.rgb, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(shuffled.depth, out.depth, rtol=1e-4, atol=1e-5)
