"""MLP building blocks and the MLP fields of the image models.

* :class:`MLP` — plain fully connected network (ReLU / softplus / LeakyReLU, optional LayerNorm without affine
  as in SRN and LFN) or a SIREN (Sitzmann et al. 2020: ``sin(omega_0 (W x + b))`` with omega_0 = 30 and the
  SIREN initialisation).
* :class:`ConditionedField` — a field with positional encoding, conditioned on a per-scene latent by
  concatenation or FiLM, giving density or SDF, colour and features.
* :class:`ResnetFCField` — pixelNeRF's ResnetFC: per-view inputs and pixel-aligned features, mean-pooled over
  source views before block ``combine_layer``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from ..conditioning.concat import ConcatLinear
from ..conditioning.film import FiLM
from ..conditioning.view_attention import ViewAttentionPool
from ..errors import ConfigError
from .base import FieldOutput
from .encoding import PositionalEncoding

Activation = Literal["relu", "softplus", "leaky_relu", "sine"]


class Sine(nn.Module):
    """``sin(omega_0 x)`` (SIREN)."""

    def __init__(self, omega_0: float = 30.0) -> None:
        super().__init__()
        self.omega_0 = omega_0

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(self.omega_0 * x)


def _activation(name: str, omega_0: float) -> nn.Module:
    # the (leaky) ReLUs work in place: :class:`MLP` applies them only to a linear layer's or a LayerNorm's fresh
    # output, which neither backward pass keeps, so autograd is unaffected; one activation-sized tensor less is
    # allocated and written per layer (results/speed_interleaved.md)
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "softplus":
        return nn.Softplus(beta=100.0)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "sine":
        return Sine(omega_0)
    raise ConfigError(f"unknown activation {name!r} (relu, softplus, leaky_relu, sine)")


def siren_init_(linear: nn.Linear, first: bool, omega_0: float = 30.0) -> None:
    """SIREN initialisation: first layer ``U(-1/in, 1/in)``, others ``U(-sqrt(6/in)/omega_0, +...)``.

    With inputs in [-1, 1] this keeps the pre-activations of every layer ~ arcsine-distributed with unit-ish
    spread (Sitzmann et al. 2020, Sec. 3.2). Biases use the same bound as the weights.
    """
    fan_in = linear.weight.shape[1]
    bound = 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega_0
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound)
        if linear.bias is not None:
            linear.bias.uniform_(-bound, bound)


class MLP(nn.Module):
    """``in_dim -> width -> (hidden_layers x width -> width) -> out_dim``: ``hidden_layers + 2`` linear layers.

    Every layer but the last is followed by LayerNorm without affine (if ``layer_norm``) and the activation;
    ``norm_last`` / ``activate_last`` apply them after the last layer too (SRN's phi does both).
    ``"softplus"`` is ``Softplus(beta=100)`` (a smooth ReLU, as in IDR/VolSDF SDF networks).
    ``activation="sine"`` builds a SIREN with ``omega_0`` and the SIREN init (no LayerNorm). Otherwise weights
    are kaiming-normal (fan-in, ReLU gain) and biases zero, as in SRN/LFN's ``init_weights_normal``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        hidden_layers: int = 2,
        activation: Activation = "relu",
        layer_norm: bool = False,
        norm_last: bool = False,
        activate_last: bool = False,
        omega_0: float = 30.0,
    ) -> None:
        super().__init__()
        if activation == "sine" and layer_norm:
            raise ConfigError("a SIREN has no LayerNorm")
        dims = [in_dim] + [width] * (hidden_layers + 1) + [out_dim]
        self.dims = dims
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.layer_norm = layer_norm
        self.norm_last = norm_last
        self.activate_last = activate_last
        self.act = _activation(activation, omega_0)
        for k, lin in enumerate(self.linears):
            if activation == "sine":
                siren_init_(lin, first=k == 0, omega_0=omega_0)
            else:
                nn.init.kaiming_normal_(lin.weight, a=0.0, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(lin.bias)

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """``(in, out)`` of each linear layer, e.g. the ``target_layers`` of a hypernetwork generating it."""
        return list(zip(self.dims[:-1], self.dims[1:]))

    def forward(self, x: Float[Tensor, "*b dim"]) -> Float[Tensor, "*b out"]:
        n = len(self.linears)
        for k, lin in enumerate(self.linears):
            x = lin(x)
            last = k == n - 1
            if self.layer_norm and (not last or self.norm_last):
                x = F.layer_norm(x, x.shape[-1:])
            if not last or self.activate_last:
                x = self.act(x)
        return x


def _density_activation(raw: Tensor, kind: str) -> Tensor:
    if kind == "relu":
        return torch.relu(raw)
    if kind == "softplus":
        return F.softplus(raw)
    raise ConfigError(f"unknown density activation {kind!r} (relu, softplus)")


class ConditionedField(nn.Module):
    """A latent-conditioned MLP field: ``(x, d, z) -> density or SDF, rgb, features``.

    ``x`` is positionally encoded (``num_freqs``, ``freq_factor``). With ``conditioning="concat"`` the
    first layer sees ``[gamma(x), z]`` (evaluated with :class:`ConcatLinear`, i.e. without repeating ``z``
    per point); with ``"film"`` every hidden layer is ``act(gamma_k(z) * (W_k h + b_k) + beta_k(z))``
    (pi-GAN style). ``hidden_layers`` counts the ``width -> width`` layers after the first. Heads:
    density (``density_activation`` of a linear output; softplus is the stable default, ReLU as in NeRF)
    or raw SDF; colour ``sigmoid(Linear)`` of the last hidden layer, concatenated with the encoded view
    direction when ``direction_freqs >= 0``. ``features`` is the last hidden layer (``width`` channels).
    """

    def __init__(
        self,
        latent_dim: int,
        width: int = 256,
        hidden_layers: int = 3,
        num_freqs: int = 6,
        freq_factor: float = 1.0,
        geometry: Literal["density", "sdf"] = "density",
        conditioning: Literal["concat", "film"] = "concat",
        direction_freqs: int = -1,
        density_activation: Literal["relu", "softplus"] = "softplus",
        density_bias: float = 0.0,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        if geometry not in ("density", "sdf"):
            raise ConfigError(f"unknown geometry {geometry!r} (density, sdf)")
        if conditioning not in ("concat", "film"):
            raise ConfigError(f"unknown conditioning {conditioning!r} (concat, film)")
        self.geometry = geometry
        self.conditioning = conditioning
        self.density_activation = density_activation
        self.layer_norm = layer_norm
        self.encoding = PositionalEncoding(num_freqs, freq_factor)
        self.dir_encoding = PositionalEncoding(direction_freqs, 1.0) if direction_freqs >= 0 else None
        in_dim = self.encoding.out_dim
        if conditioning == "concat":
            self.first = ConcatLinear(in_dim, latent_dim, width)
            self.films = None
        else:
            self.first = nn.Linear(in_dim, width)
            self.films = nn.ModuleList(FiLM(latent_dim, width) for _ in range(hidden_layers + 1))
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(hidden_layers))
        self.geometry_head = nn.Linear(width, 1)
        rgb_in = width + (self.dir_encoding.out_dim if self.dir_encoding is not None else 0)
        self.rgb_head = nn.Linear(rgb_in, 3)
        for lin in [*self.hidden, self.geometry_head, self.rgb_head] + ([self.first] if isinstance(self.first, nn.Linear) else []):
            nn.init.kaiming_normal_(lin.weight, a=0.0, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(lin.bias)
        with torch.no_grad():
            self.geometry_head.weight.mul_(0.1)
            self.geometry_head.bias.fill_(density_bias)

    def forward(
        self,
        points: Float[Tensor, "batch *rest 3"],
        directions: Float[Tensor, "batch *rest 3"] | None,
        latent: Float[Tensor, "batch latent"],
    ) -> FieldOutput:
        x = self.encoding(points)
        h = self.first(x, latent) if self.conditioning == "concat" else self.first(x)
        layers = [None, *self.hidden]
        for k, lin in enumerate(layers):
            if lin is not None:
                h = lin(h)
            if self.layer_norm:
                h = F.layer_norm(h, h.shape[-1:])
            if self.films is not None:
                h = self.films[k](h, latent)
            h = torch.relu(h)
        raw = self.geometry_head(h)
        if self.dir_encoding is not None:
            if directions is None:
                raise ConfigError("this field is view-dependent: pass directions")
            rgb_in = torch.cat([h, self.dir_encoding(directions)], dim=-1)
        else:
            rgb_in = h
        rgb = torch.sigmoid(self.rgb_head(rgb_in))
        if self.geometry == "density":
            return FieldOutput(density=_density_activation(raw, self.density_activation), rgb=rgb, features=h)
        return FieldOutput(sdf=raw, rgb=rgb, features=h)


class ResnetBlockFC(nn.Module):
    """Fully connected ResNet block ``x_s + fc_1(relu(fc_0(relu(x))))`` (pixelNeRF, Occupancy Networks /
    ConvONet ``ResnetBlockFC``), the one copy for fields, decoders and point encoders.

    The hidden width defaults to ``min(size_in, size_out)``; the skip ``x_s`` is ``x``, or a bias-free linear map
    when the widths differ; ``fc_1`` starts at zero so that every block starts as the identity (or a linear
    skip). ``init="kaiming"`` also draws ``fc_0`` kaiming-normal (fan-in) and zeroes both biases (pixelNeRF);
    ``"torch"`` keeps PyTorch's linear init otherwise (ONet / ConvONet)."""

    def __init__(self, size_in: int, size_out: int | None = None, size_hidden: int | None = None,
                 init: Literal["torch", "kaiming"] = "torch") -> None:
        super().__init__()
        size_out = size_in if size_out is None else size_out
        size_hidden = min(size_in, size_out) if size_hidden is None else size_hidden
        self.fc_0 = nn.Linear(size_in, size_hidden)
        self.fc_1 = nn.Linear(size_hidden, size_out)
        self.shortcut = None if size_in == size_out else nn.Linear(size_in, size_out, bias=False)
        if init == "kaiming":
            nn.init.kaiming_normal_(self.fc_0.weight, a=0.0, mode="fan_in")
            nn.init.zeros_(self.fc_0.bias)
            nn.init.zeros_(self.fc_1.bias)
        nn.init.zeros_(self.fc_1.weight)

    def forward(self, x: Float[Tensor, "*batch channel_in"]) -> Float[Tensor, "*batch channel_out"]:
        dx = self.fc_1(torch.relu(self.fc_0(torch.relu(x))))
        return (x if self.shortcut is None else self.shortcut(x)) + dx


class ResnetFCField(nn.Module):
    """pixelNeRF's ResnetFC (Yu et al. 2021): per-view inputs ``(batch, view, N, d_in)`` (e.g. encoded
    view-space xyz and view direction, see :func:`pixelnerf_inputs`) and per-view pixel-aligned features
    ``(batch, view, N, C)``.

    ``lin_in (d_in -> width)``; for each of ``n_blocks`` ResNet blocks: if the block index is
    ``combine_layer`` the per-view activations are pooled over views (``combine="mean"`` as in pixelNeRF, ``"max"``,
    or ``"attention"``: a :class:`~sceneprior.conditioning.ViewAttentionPool` of ``attention_layers`` transformer
    layers with ``attention_heads`` heads over the views, then learned softmax weights); before each of the
    first ``min(combine_layer, n_blocks)`` blocks ``Linear(C -> width)(features)`` is added; then the block.
    Head: ``ReLU -> Linear(width -> 4)``; rgb = sigmoid, density = ReLU (pixelNeRF) or softplus
    (``density_activation``, smoother gradients early in training). ``features`` of the output is the final
    pooled hidden activation (``width`` channels). pixelNeRF: ``d_in=42, feature_dim=512, width=512,
    n_blocks=5, combine_layer=3``.

    Initialisation: Kaiming (as pixelNeRF) except the density output, whose weights are scaled by 0.02 and whose
    bias starts at ``initial_density`` (> 0): the density starts close to that constant at every point, alive,
    and learns its shape from the first step. With a Kaiming density row its pre-activation is dominated by one offset shared by all points
    (the encoder's features are non-negative and enter every hidden unit through the same linear maps), positive
    or negative by chance: a ReLU density then starts at zero everywhere in about one network in five, gets no
    gradient and stays dead unless the shared encoder happens to drift it back (it did in the mean-pooled
    cars300 run of results/quality/view_aggregation, not in the attention one).
    """

    def __init__(
        self,
        d_in: int,
        feature_dim: int,
        width: int = 512,
        n_blocks: int = 5,
        combine_layer: int = 3,
        combine: Literal["mean", "max", "attention"] = "mean",
        density_activation: Literal["relu", "softplus"] = "relu",
        attention_heads: int = 4,
        attention_layers: int = 1,
        initial_density: float = 0.5,
    ) -> None:
        super().__init__()
        if initial_density <= 0:
            raise ConfigError(f"initial density {initial_density} must be positive (a ReLU density at 0 gets no gradient)")
        if combine not in ("mean", "max", "attention"):
            raise ConfigError(f"unknown view pooling {combine!r} (mean, max, attention)")
        self.n_blocks = n_blocks
        self.combine_layer = combine_layer
        self.combine = combine
        self.density_activation = density_activation
        self.lin_in = nn.Linear(d_in, width)
        self.blocks = nn.ModuleList(ResnetBlockFC(width, init="kaiming") for _ in range(n_blocks))
        n_lin_z = min(combine_layer, n_blocks) if feature_dim > 0 else 0
        self.lin_z = nn.ModuleList(nn.Linear(feature_dim, width) for _ in range(n_lin_z))
        self.lin_out = nn.Linear(width, 4)
        for lin in [self.lin_in, self.lin_out, *self.lin_z]:
            nn.init.kaiming_normal_(lin.weight, a=0.0, mode="fan_in")
            nn.init.zeros_(lin.bias)
        with torch.no_grad():  # the density starts near the constant initial_density (alive at every point)
            self.lin_out.weight[3].mul_(0.02)
            raw = initial_density if density_activation == "relu" else math.log(math.expm1(initial_density))
            self.lin_out.bias[3] = raw
        # built last: the other layers draw the same initial weights as with mean pooling
        self.attention = ViewAttentionPool(width, attention_heads, attention_layers) if combine == "attention" else None

    def _pool(self, h: Tensor) -> Tensor:
        if self.attention is not None:
            return self.attention(h)
        if h.shape[1] == 1:  # the mean or max of one view is that view: a view of it, not a copy
            return h[:, 0]
        return h.mean(dim=1) if self.combine == "mean" else h.amax(dim=1)

    def project_features(self, maps: Float[Tensor, "image channel height width"]) -> Float[Tensor, "image injected height width"]:
        """Every ``lin_z`` applied to every pixel of feature maps, concatenated along channels (``len(lin_z) *
        width``). Linear maps commute with bilinear sampling (its weights sum to one), so sampling these maps and
        calling :meth:`forward` with ``projected=True`` equals sampling ``maps`` and projecting per point, at a
        cost per feature-map pixel instead of per query point."""
        weight = torch.cat([layer.weight for layer in self.lin_z], 0)
        bias = torch.cat([layer.bias for layer in self.lin_z], 0)
        # one matmul over channels-last pixels (PyTorch's CPU 1x1 convolution took the slow im2col path); the result
        # is laid out channels-last, as pixel-aligned sampling reads it
        return F.linear(maps.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)

    def forward(
        self, inputs: Float[Tensor, "batch view point dim"], features: Float[Tensor, "batch view point channel"],
        projected: bool = False,
    ) -> FieldOutput:
        """``projected``: ``features`` are samples of :meth:`project_features` maps (the ``lin_z`` outputs).

        Without autograd (rendering) the same arithmetic runs in place on 2D activations (:meth:`_forward_inference`);
        under autograd every operation keeps its own output for the backward pass."""
        if not torch.is_grad_enabled():
            return self._forward_inference(inputs, features, projected)
        h = self.lin_in(inputs)
        width = h.shape[-1]
        pooled = False
        for k, block in enumerate(self.blocks):
            if k == self.combine_layer:
                h = self._pool(h)
                pooled = True
            if k < len(self.lin_z):
                h = h + (features[..., k * width : (k + 1) * width] if projected else self.lin_z[k](features))
            h = block(h)
        if not pooled:
            h = self._pool(h)
        out = self.lin_out(torch.relu(h))
        return FieldOutput(
            density=_density_activation(out[..., 3:4], self.density_activation), rgb=torch.sigmoid(out[..., :3]), features=h
        )


    def _forward_inference(
        self, inputs: Float[Tensor, "batch view point dim"], features: Float[Tensor, "batch view point channel"],
        projected: bool,
    ) -> FieldOutput:
        """:meth:`forward` without autograd: activations as ``(rows, width)`` matrices, bias and residual additions
        in place, two scratch buffers reused by every block (a narrow MLP is bound by memory traffic and allocation
        here, not by its matmuls). Same values as the autograd path up to float rounding (tested)."""
        batch, view, points = inputs.shape[:3]
        width = self.lin_in.out_features
        h = torch.addmm(self.lin_in.bias, inputs.reshape(-1, inputs.shape[-1]), self.lin_in.weight.t())
        rows = features.reshape(-1, features.shape[-1])
        relu_h = torch.empty_like(h)
        hidden = torch.empty_like(h)
        pooled = False
        for k, block in enumerate(self.blocks):
            if k == self.combine_layer:
                h = self._pool(h.view(batch, view, points, width)).reshape(-1, width)
                relu_h, hidden = relu_h[: h.shape[0]], hidden[: h.shape[0]]
                pooled = True
            if k < len(self.lin_z):
                h.add_(rows[:, k * width : (k + 1) * width] if projected else self.lin_z[k](rows))
            if block.shortcut is not None or block.fc_0.out_features != width:
                h = block(h)
                continue
            torch.clamp(h, min=0.0, out=relu_h)
            torch.addmm(block.fc_0.bias, relu_h, block.fc_0.weight.t(), out=hidden).relu_()
            h.addmm_(hidden, block.fc_1.weight.t()).add_(block.fc_1.bias)
        if not pooled:
            h = self._pool(h.view(batch, view, points, width)).reshape(-1, width)
        out = torch.addmm(self.lin_out.bias, torch.relu(h), self.lin_out.weight.t())
        out = out.view(batch, points, 4)
        return FieldOutput(density=_density_activation(out[..., 3:4], self.density_activation),
                           rgb=torch.sigmoid(out[..., :3]), features=h.view(batch, points, width))


def pixelnerf_inputs(
    points_view: Float[Tensor, "batch view point 3"],
    directions_view: Float[Tensor, "batch view point 3"] | None,
    encoding: PositionalEncoding,
) -> Float[Tensor, "batch view point dim"]:
    """pixelNeRF's per-view MLP input: ``[gamma(xyz_view), d_view]`` (39 + 3 = 42 with 6 frequencies).

    ``points_view`` is whichever view-space point the model chooses (pixelNeRF: ``points_rotated``).
    """
    if directions_view is None:
        return encoding(points_view)
    return torch.cat([*encoding.parts(points_view), directions_view], dim=-1)  # one concatenation, not two
