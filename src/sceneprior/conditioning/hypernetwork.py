"""Hypernetwork conditioning (Ha et al. 2016; SRN, Sitzmann et al. 2019; LFN 2021).

:class:`HyperNetwork` maps a per-scene latent ``z`` to **every** weight and bias of a target MLP, with one small
MLP per target layer, as in SRN's ``hyperlayers``: ``Linear(latent, hidden) -> LayerNorm -> ReLU``, then
``hidden_layers`` x ``Linear(hidden, hidden) -> LayerNorm -> ReLU``, then a linear output layer to
``in * out + out`` values, whose weight is kaiming-normal (fan-in, ReLU gain) times ``init_scale = 0.1`` so the
generated network starts small. SRN's LayerNorm has no affine parameters (``norm_affine=False``); LFN's has
(``norm_affine=True``) and LFN gives the weight and the bias of each layer separate MLPs (``split_bias=True``).

:func:`batched_mlp` runs the generated MLP on each scene's points with one batched matmul per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn


@dataclass
class LayerParams:
    """Generated parameters of one linear layer, per scene: ``y = weight @ x + bias``."""

    weight: Float[Tensor, "batch out dim"]
    bias: Float[Tensor, "batch out"]


def _hyper_mlp(
    latent_dim: int, hidden: int, hidden_layers: int, out_dim: int, init_scale: float, norm_affine: bool, zero_bias: bool
) -> nn.Sequential:
    layers: list[nn.Module] = []
    dims = [latent_dim] + [hidden] * (hidden_layers + 1)
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.LayerNorm(b, elementwise_affine=norm_affine), nn.ReLU()]
    last = nn.Linear(dims[-1], out_dim)
    nn.init.kaiming_normal_(last.weight, a=0.0, mode="fan_in", nonlinearity="relu")
    with torch.no_grad():
        last.weight.mul_(init_scale)
        if zero_bias:
            last.bias.zero_()
    layers.append(last)
    for m in layers[:-1]:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, a=0.0, mode="fan_in", nonlinearity="relu")
    return nn.Sequential(*layers)


class HyperNetwork(nn.Module):
    """``forward(z) -> [LayerParams]``, one entry per ``(in, out)`` in ``target_layers``.

    Args:
        target_layers: ``(in_features, out_features)`` of each linear layer of the generated MLP, in order.
        latent_dim: size of ``z``.
        hidden: width of each per-layer MLP.
        hidden_layers: number of ``hidden -> hidden`` layers after the first (SRN and LFN: 1).
        init_scale: factor on the kaiming-normal init of each output layer (SRN/LFN: 0.1).
        norm_affine: LayerNorm with learnable affine parameters (LFN) or without (SRN).
        split_bias: separate MLPs for the weight and the bias of each target layer (LFN) instead of one (SRN).
        zero_output_bias: zero the bias of each output layer, so ``z = 0`` generates exactly zero parameters
            through it (SRN and LFN keep PyTorch's default bias init: False).
    """

    def __init__(
        self,
        target_layers: list[tuple[int, int]],
        latent_dim: int,
        hidden: int = 256,
        hidden_layers: int = 1,
        init_scale: float = 0.1,
        norm_affine: bool = False,
        split_bias: bool = False,
        zero_output_bias: bool = False,
    ) -> None:
        super().__init__()
        self.target_layers = [(int(i), int(o)) for i, o in target_layers]
        self.latent_dim = latent_dim
        self.split_bias = split_bias
        args = (hidden, hidden_layers)
        tail = (init_scale, norm_affine, zero_output_bias)
        if split_bias:
            self.weight_nets = nn.ModuleList(
                _hyper_mlp(latent_dim, *args, i * o, *tail) for i, o in self.target_layers
            )
            self.bias_nets = nn.ModuleList(_hyper_mlp(latent_dim, *args, o, *tail) for _, o in self.target_layers)
        else:
            self.nets = nn.ModuleList(_hyper_mlp(latent_dim, *args, i * o + o, *tail) for i, o in self.target_layers)

    def forward(self, latent: Float[Tensor, "batch latent"]) -> list[LayerParams]:
        batch = latent.shape[0]
        out: list[LayerParams] = []
        for k, (i, o) in enumerate(self.target_layers):
            if self.split_bias:
                weight, bias = self.weight_nets[k](latent), self.bias_nets[k](latent)
            else:
                flat = self.nets[k](latent)
                weight, bias = flat[:, : i * o], flat[:, i * o :]
            out.append(LayerParams(weight.reshape(batch, o, i), bias))
        return out


def batched_mlp(
    params: list[LayerParams],
    x: Float[Tensor, "batch *rest dim"],
    hidden_norm: bool = True,
    activation: Callable[[Tensor], Tensor] = torch.relu,
    last_activation: Callable[[Tensor], Tensor] | None = None,
    last_norm: bool = False,
) -> Float[Tensor, "batch *rest out"]:
    """Apply a generated MLP to each scene's points: ``x (batch, ..., in) -> (batch, ..., out)``.

    Every layer but the last is ``Linear -> LayerNorm (no affine, if hidden_norm) -> activation``; the last is
    ``Linear``, followed by LayerNorm if ``last_norm`` and by ``last_activation`` if given. (SRN's phi applies
    LayerNorm + ReLU after its output layer too: ``last_norm=True, last_activation=torch.relu``.)
    One ``baddbmm`` per layer: ``(batch, N, in) @ (batch, in, out) + bias``.
    """
    batch = x.shape[0]
    rest = x.shape[1:-1]
    h = x.reshape(batch, -1, x.shape[-1])
    for k, layer in enumerate(params):
        h = torch.baddbmm(layer.bias.unsqueeze(1), h, layer.weight.transpose(1, 2))
        is_last = k == len(params) - 1
        if (hidden_norm and not is_last) or (last_norm and is_last):
            h = F.layer_norm(h, h.shape[-1:])
        if not is_last:
            h = activation(h)
        elif last_activation is not None:
            h = last_activation(h)
    return h.reshape(batch, *rest, h.shape[-1])
