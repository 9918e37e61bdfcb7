"""Learned aggregation of per-view features over source views (IBRNet, Wang et al. 2021; NeRFormer, Reizenstein
et al. 2021): instead of averaging a sample point's per-view features, a transformer lets the views of one point
attend to each other and a learned softmax weight per view pools them.

For each point, the views' features ``x_v`` (``channel`` wide) are the tokens of ``layers`` pre-LayerNorm
transformer layers over the view axis (multi-head self-attention, then a two-layer MLP, each a residual branch;
no positional encoding, so the layers are equivariant to the order of the views). Pooling: ``sum_v w_v x_v`` with
``w = softmax_v(Linear(LayerNorm(x_v)))``, invariant to the order. Both residual branches' last linear maps and
the weight head start at zero, so an untrained module *is* mean pooling: a model trained with it starts where the
mean-pooled model starts, and learns how far to depart from it. One view (or several identical ones) gives back
that view's transformed feature: attention over identical tokens returns their common value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from ..errors import ConfigError


class ViewAttentionLayer(nn.Module):
    """One pre-LN transformer layer over the view axis: ``x + MHA(LN x)``, then ``x + MLP(LN x)``."""

    def __init__(self, channels: int, heads: int = 4, mlp_ratio: int = 2) -> None:
        super().__init__()
        if channels % heads != 0:
            raise ConfigError(f"view attention: {channels} channels do not split into {heads} heads")
        self.heads = heads
        self.norm_attn = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        self.norm_mlp = nn.LayerNorm(channels)
        self.mlp_in = nn.Linear(channels, mlp_ratio * channels)
        self.mlp_out = nn.Linear(mlp_ratio * channels, channels)
        for lin in (self.out, self.mlp_out):  # residual branches start at zero: the layer starts as the identity
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: Float[Tensor, "token view channel"]) -> Float[Tensor, "token view channel"]:
        q, k, v = rearrange(self.qkv(self.norm_attn(x)), "t v (three h c) -> three t h v c", three=3, h=self.heads)
        attended = rearrange(F.scaled_dot_product_attention(q, k, v), "t h v c -> t v (h c)")
        x = x + self.out(attended)
        return x + self.mlp_out(torch.relu(self.mlp_in(self.norm_mlp(x))))


class ViewAttentionPool(nn.Module):
    """Pool ``(batch, view, point, channel)`` over views with ``layers`` view-attention layers and learned
    softmax weights (see the module docstring); at initialisation it equals the mean over views."""

    def __init__(self, channels: int, heads: int = 4, layers: int = 1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ViewAttentionLayer(channels, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(channels)
        self.score = nn.Linear(channels, 1)
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def view_weights(self, values: Float[Tensor, "batch view point channel"]) -> tuple[Tensor, Tensor]:
        """(the transformed per-view values, their pooling weights ``(batch, view, point, 1)``, summing to 1 over
        views)."""
        batch = values.shape[0]
        x = rearrange(values, "b v n c -> (b n) v c")
        for layer in self.layers:
            x = layer(x)
        weights = torch.softmax(self.score(self.norm(x)), dim=1)
        unflat = lambda t: rearrange(t, "(b n) v c -> b v n c", b=batch)  # noqa: E731
        return unflat(x), unflat(weights)

    def forward(self, values: Float[Tensor, "batch view point channel"]) -> Float[Tensor, "batch point channel"]:
        x, weights = self.view_weights(values)
        return (weights * x).sum(dim=1)
