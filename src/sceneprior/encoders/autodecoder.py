"""The auto-decoder: one latent code per training scene, optimised jointly with the decoder (DeepSDF, SRN).

Initialised N(0, 0.01²) as nn.Embedding in SRN / LFN (REFERENCE.md §1-2). The table is an ordinary parameter,
so it is saved in the model's state dict (and thus in every checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from jaxtyping import Float, Int
from torch import Tensor, nn


@dataclass
class AutoDecoderConfig:
    latent_dim: int = 256
    init_std: float = 0.01


class AutoDecoder(nn.Module):
    """``codes[i]`` is the latent of training scene ``i`` (its index in the training split)."""

    def __init__(self, num_scenes: int, config: AutoDecoderConfig) -> None:
        super().__init__()
        self.config = config
        self.codes = nn.Embedding(num_scenes, config.latent_dim)
        nn.init.normal_(self.codes.weight, mean=0.0, std=config.init_std)

    @property
    def num_scenes(self) -> int:
        return self.codes.num_embeddings

    def forward(self, scene_index: Int[Tensor, " batch"]) -> Float[Tensor, "batch latent"]:
        return self.codes(scene_index)

    def mean_code(self) -> Float[Tensor, " latent"]:
        """Mean of the training latents: a starting point for test-time auto-decoding."""
        return self.codes.weight.detach().mean(0)
