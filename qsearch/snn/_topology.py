"""What each weight layer of a feed-forward SNN connects: shapes, fan-in, neurons, and its synaptic input.

A network is a chain of weight layers, each driving one population of LIF neurons (one neuron per output
position). A *linear* layer connects every input to every neuron. A *conv* layer connects a k x k window of
every input channel to each output position (stride 1, zero padding ``k // 2``: the map keeps its size), and
may pool its spikes over p x p windows before the next layer:

- ``sum`` pooling (default) adds the spikes of a window: the next layer receives small integer counts. It is
  linear, so it costs no neuron, keeps the network integer-exact and is NIR's ``SumPool2d`` (exportable);
- ``max`` pooling keeps a window's largest value: an OR of spikes, outputs stay 0/1 (NIR has no max pool).

These pure functions are shared by the float/fake-quantized forward pass, the integer-only inference (which
passes int64 tensors; :func:`synaptic_input` then builds the convolution from ``unfold`` and an integer
matmul) and the cost models (:func:`kept_fanout` for synaptic operations, the fields for memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from qsearch.errors import InputError

LayerKind = Literal["linear", "conv"]
Pooling = Literal["sum", "max"]


@dataclass(frozen=True)
class LayerShape:
    """One weight layer: input shape -> neuron map shape (before pooling), and how it connects."""

    kind: LayerKind
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel_size: int = 1
    pool: int = 1
    pooling: Pooling = "sum"

    @property
    def padding(self) -> int:
        return self.kernel_size // 2 if self.kind == "conv" else 0

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "conv":
            return (self.out_shape[0], self.in_shape[0], self.kernel_size, self.kernel_size)
        return (self.out_shape[0], math.prod(self.in_shape))

    @property
    def rows(self) -> int:
        """Output channels (conv) or neurons (linear): the rows of a sparse weight index."""
        return self.out_shape[0]

    @property
    def fan_in(self) -> int:
        """Weights per row: inputs of one neuron (linear) or one output channel's kernel (conv)."""
        return math.prod(self.weight_shape[1:])

    @property
    def dense_weights(self) -> int:
        return math.prod(self.weight_shape)

    @property
    def neurons(self) -> int:
        return math.prod(self.out_shape)

    @property
    def spikes_shape(self) -> tuple[int, ...]:
        """Shape of what this layer passes on: its spikes, pooled."""
        if self.kind == "conv" and self.pool > 1:
            channels, height, width = self.out_shape
            return (channels, height // self.pool, width // self.pool)
        return self.out_shape

    def describe(self) -> str:
        if self.kind == "linear":
            return f"linear {math.prod(self.in_shape)}->{self.out_shape[0]}"
        pooled = f", {self.pooling}-pool {self.pool}" if self.pool > 1 else ""
        return f"conv{self.kernel_size}x{self.kernel_size} {self.in_shape[0]}->{self.out_shape[0]} " \
               f"@{self.out_shape[1]}x{self.out_shape[2]}{pooled}"


class TopologyShapes:
    """What a network's ends look like, for anything that holds a ``topology`` (float and integer networks)."""

    topology: tuple[LayerShape, ...]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.topology[0].in_shape

    @property
    def n_classes(self) -> int:
        return self.topology[-1].out_shape[0]

    def neuron_count(self) -> int:
        return sum(layer.neurons for layer in self.topology)


def linear_layer(in_shape: tuple[int, ...], out_features: int) -> LayerShape:
    return LayerShape("linear", tuple(in_shape), (int(out_features),))


def conv_layer(in_shape: tuple[int, ...], out_channels: int, kernel_size: int, pool: int = 1,
               pooling: Pooling = "sum") -> LayerShape:
    """A 'same'-padded stride-1 convolution; ``kernel_size`` must be odd so the map keeps its size."""
    if len(in_shape) != 3:
        raise InputError(f"model.kind: conv needs image-like input (channels, height, width), got shape {in_shape}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise InputError(f"model.kernel_size: {kernel_size} must be odd and >= 1")
    channels, height, width = in_shape
    if pool > 1 and (height < pool or width < pool):
        raise InputError(f"model.pool: {pool} exceeds the {height}x{width} map; use fewer conv blocks or pool 1")
    return LayerShape("conv", tuple(in_shape), (int(out_channels), height, width), kernel_size, pool, pooling)


def chain_shapes(layers: tuple[LayerShape, ...]) -> None:
    """Raise unless each layer's input is the previous layer's (flattened, for linear) pooled spikes."""
    for before, after in zip(layers, layers[1:], strict=False):
        expected = before.spikes_shape
        got = after.in_shape
        if after.kind == "linear":
            expected, got = (math.prod(expected),), (math.prod(got),)
        if tuple(expected) != tuple(got):
            raise InputError(f"topology: {after.describe()} expects input {after.in_shape}, "
                             f"the layer before gives {before.spikes_shape}")


def synaptic_input(layer: LayerShape, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Currents (*lead, *out_shape) that ``spikes`` (*lead, *in_shape) inject through ``weight``.

    All leading axes (time, batch) are folded into one batch: one matmul or convolution for every timestep.
    Integer tensors (int64) are supported, for integer-only inference.
    """
    lead = spikes.shape[:spikes.dim() - len(layer.in_shape)]
    n = math.prod(lead)
    if layer.kind == "linear" and spikes.dtype.is_floating_point:
        flat = spikes.reshape(n, -1) @ weight.to(spikes.dtype).t()
    elif layer.kind == "linear":
        flat = integer_matmul(spikes.reshape(n, -1), weight.to(spikes.dtype).t())
    elif spikes.dtype.is_floating_point:
        flat = F.conv2d(spikes.reshape(n, *layer.in_shape), weight.to(spikes.dtype), padding=layer.padding)
    else:
        flat = _integer_conv2d(spikes.reshape(n, *layer.in_shape), weight, layer.padding)
    return flat.reshape(*lead, *layer.out_shape)


#: float64 holds every integer below 2**53 exactly: the bound for integer matmuls done in float64
_FLOAT64_EXACT = 2 ** 53


def integer_matmul(a: torch.Tensor, b: torch.Tensor, via_float64: bool | None = None) -> torch.Tensor:
    """``a @ b`` of int64 tensors, exactly. CPU has int64 matmul kernels; CUDA has none, so there (or with
    ``via_float64``) the product is formed in float64, which is exact while every partial sum stays below 2**53
    (checked from the operands' largest magnitudes; spikes are 0/1 or small counts, weight codes <= 2**15)."""
    if via_float64 is None:
        via_float64 = a.device.type != "cpu"
    if not via_float64:
        return a @ b
    bound = int(a.abs().max()) * int(b.abs().max()) * a.shape[-1] if a.numel() and b.numel() else 0
    if bound >= _FLOAT64_EXACT:
        raise ValueError(f"integer inference: sums up to {bound} exceed float64's exact range on {a.device}")
    return (a.to(torch.float64) @ b.to(torch.float64)).to(torch.int64)


def _integer_conv2d(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """conv2d for int64 tensors (PyTorch's kernels are float-only): unfold windows, then one integer matmul."""
    out_channels, _, k, _ = weight.shape
    n, _, height, width = x.shape
    padded = F.pad(x, (padding,) * 4)
    windows = padded.unfold(2, k, 1).unfold(3, k, 1)  # (N, C, H', W', k, k)
    out_h, out_w = windows.shape[2], windows.shape[3]
    columns = windows.permute(0, 2, 3, 1, 4, 5).reshape(n * out_h * out_w, -1)
    out = integer_matmul(columns, weight.reshape(out_channels, -1).t())
    return out.reshape(n, out_h, out_w, out_channels).permute(0, 3, 1, 2)


def pool_spikes(layer: LayerShape, spikes: torch.Tensor) -> torch.Tensor:
    """The layer's spikes (*lead, C, H, W) pooled over p x p windows (floor: a ragged edge is dropped)."""
    if layer.kind != "conv" or layer.pool <= 1:
        return spikes
    p = layer.pool
    if spikes.dtype.is_floating_point:  # PyTorch's pooling kernels: far faster than summing unfolded windows
        images = spikes.reshape(-1, *spikes.shape[-3:])
        # the mean of p*p spike counts times p*p is exact in float (p*p small, a power of two for p = 2, 4)
        pooled = F.avg_pool2d(images, p) * (p * p) if layer.pooling == "sum" else F.max_pool2d(images, p)
        return pooled.reshape(*spikes.shape[:-3], *pooled.shape[-3:])
    windows = spikes.unfold(-2, p, p).unfold(-2, p, p)  # int64 (integer inference): (*lead, C, H/p, W/p, p, p)
    return windows.sum((-1, -2)) if layer.pooling == "sum" else windows.amax((-1, -2))


def kept_fanout(layer: LayerShape, mask: torch.Tensor | None,
                device: torch.device | str | None = None) -> torch.Tensor:
    """Kept synapses leaving each input position (shape ``in_shape``), pruned weights excluded.

    A spike arriving at an input position costs that many synaptic operations. For conv layers this counts
    the zero-padded border exactly (a corner pixel reaches fewer output positions than a central one).
    """
    kept = (mask if mask is not None else torch.ones(layer.weight_shape, device=device)).to(torch.float64)
    if layer.kind == "linear":
        return kept.sum(0).reshape(layer.in_shape)
    ones = torch.ones(1, *layer.out_shape, dtype=torch.float64, device=kept.device)
    return F.conv_transpose2d(ones, kept, padding=layer.padding)[0]


__all__ = ["LayerKind", "LayerShape", "Pooling", "TopologyShapes", "chain_shapes", "conv_layer", "integer_matmul",
           "kept_fanout", "linear_layer", "pool_spikes", "synaptic_input"]
