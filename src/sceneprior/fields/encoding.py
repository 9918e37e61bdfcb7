"""Sinusoidal positional encoding (NeRF; pixelNeRF's variant with ``freq_factor``)."""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn


class PositionalEncoding(nn.Module):
    """``gamma(x) = [x, sin(f_0 x), cos(f_0 x), ..., sin(f_{L-1} x), cos(f_{L-1} x)]`` with ``f_k = freq_factor * 2^k``.

    Each sin/cos block covers all ``in_dim`` coordinates, so ``out_dim = in_dim * (include_input + 2 L)``.
    No factor of pi is included: pixelNeRF uses ``num_freqs=6, freq_factor=1.5`` (39 values for xyz);
    NeRF's reference code uses ``freq_factor=1`` (pass ``math.pi`` for the paper's ``2^k pi``).
    """

    def __init__(self, num_freqs: int, freq_factor: float = 1.0, include_input: bool = True, in_dim: int = 3) -> None:
        super().__init__()
        self.num_freqs = num_freqs
        self.freq_factor = freq_factor
        self.include_input = include_input
        self.in_dim = in_dim
        self.register_buffer("freqs", freq_factor * 2.0 ** torch.arange(num_freqs, dtype=torch.float32), persistent=False)

    @property
    def out_dim(self) -> int:
        return self.in_dim * (int(self.include_input) + 2 * self.num_freqs)

    def forward(self, x: Float[Tensor, "*b dim"]) -> Float[Tensor, "*b out"]:
        parts = self.parts(x)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def parts(self, x: Float[Tensor, "*b dim"]) -> list[Tensor]:
        """The pieces :meth:`forward` concatenates (``x`` if included, then the waves), for a caller that appends
        more values in the same concatenation."""
        if self.num_freqs == 0:
            return [x if self.include_input else x[..., :0]]
        scaled = x.unsqueeze(-2) * self.freqs.to(x.dtype).unsqueeze(-1)  # (*b, L, dim)
        # sin and cos into their own contiguous tensors, then one stack: writing them straight into strided slots
        # of the output looked cheaper but runs PyTorch's scalar kernels there (~5x slower per rendered chunk)
        waves = torch.stack([torch.sin(scaled), torch.cos(scaled)], dim=-2).flatten(-3)  # (*b, L * 2 * dim)
        return [x, waves] if self.include_input else [waves]
