"""Feed-forward SNNs of Norse LIF neurons whose weight layers run time-batched.

Each layer's synaptic input for all T steps is one matmul or convolution (:mod:`qsearch.snn._topology`); only
the neuron recurrence loops over time (:mod:`qsearch.snn._dynamics`). The same module serves float training,
QAT (a plan rebuilt every step) and PTQ/fake-quantized evaluation (one fixed plan).

:class:`SpikingMLP` (linear layers) and :class:`SpikingConvNet` (conv LIF blocks with pooling, then linear
layers) differ only in their :class:`~qsearch.snn._topology.LayerShape` chain; both run one forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import torch
from torch import nn

from qsearch.errors import InputError
from qsearch.snn._dynamics import li_sequence, lif_sequence
from qsearch.snn._neuron import NeuronSpec
from qsearch.snn._plan import QuantPlan
from qsearch.snn._topology import (
    LayerShape,
    Pooling,
    TopologyShapes,
    chain_shapes,
    conv_layer,
    linear_layer,
    pool_spikes,
    synaptic_input,
)

#: ``spiking``: logits are the LIF output layer's spike counts. ``li`` / ``li_sum``: a leaky-integrator output
#: layer, logits its membrane's peak over time (Norse's convention, kept for imported networks) / its sum over
#: time. The sum integrates the whole window, as counts do; the peak is reached within a few membrane time
#: constants, where regularly spaced inputs of close intensities look alike (measured, benchmarks/real_data.py:
#: iris, 2 classes never separated in 4 of 6 seeds with the peak, in none with the sum)
Readout = Literal["spiking", "li", "li_sum"]


def is_leaky_readout(readout: str) -> bool:
    """Whether the output layer is a leaky integrator (no spikes; logits from its membrane)."""
    return readout != "spiking"


def li_logits(trace: torch.Tensor, readout: str) -> torch.Tensor:
    """A leaky-integrator readout's logits (B, classes) from its membrane trace (T, B, classes): float or
    integer codes alike (the integer path's sums are exact)."""
    return trace.sum(0) if readout == "li_sum" else trace.max(dim=0).values
#: multiplies PyTorch's default initialisation; the one default of code and study file (``model.weight_scale``),
#: the value the shipped studies of static data use (event studies set 1.0)
DEFAULT_WEIGHT_SCALE = 2.0


@dataclass
class NetworkOutput:
    """What one forward pass reports.

    ``logits`` (B, classes); ``input_spikes`` per weight layer: spikes arriving per input position, summed over
    time and flattened (B, inputs) — the basis of SOP counts; ``watched_spikes`` (B,): spikes of the layer the
    silent-network rule watches (the output layer, or the last hidden layer under a leaky-integrator readout).
    """

    logits: torch.Tensor
    input_spikes: list[torch.Tensor]
    watched_spikes: torch.Tensor
    current_max: list[float]


def max_abs_current(currents: torch.Tensor, a_syn: float) -> float:
    """Largest |i| the synaptic-current recurrence reaches for these inputs (it does not depend on spikes)."""
    i = torch.zeros_like(currents[0])
    peak = 0.0
    for t in range(currents.shape[0]):
        i = i + currents[t]
        peak = max(peak, float(i.abs().max()))
        i = i + (-a_syn) * i
    return peak


def _weight_module(layer: LayerShape) -> nn.Module:
    if layer.kind == "conv":
        return nn.Conv2d(layer.in_shape[0], layer.out_shape[0], layer.kernel_size, padding=layer.padding,
                         bias=False)
    return nn.Linear(layer.weight_shape[1], layer.out_shape[0], bias=False)


class SpikingNetwork(TopologyShapes, nn.Module):
    """Weight layer -> LIF blocks along a topology, then a spiking or leaky-integrator readout (the last layer)."""

    def __init__(self, topology: Sequence[LayerShape], neuron: NeuronSpec = NeuronSpec(),
                 readout: Readout = "spiking", weight_scale: float = DEFAULT_WEIGHT_SCALE) -> None:
        super().__init__()
        self.topology = tuple(topology)
        if not self.topology:
            raise InputError("model: needs at least one weight layer")
        if self.topology[-1].kind != "linear":
            raise InputError("model: the readout (last layer) must be linear")
        chain_shapes(self.topology)
        self.neuron = neuron
        self.readout = readout
        self.layers = nn.ModuleList(_weight_module(layer) for layer in self.topology)
        if weight_scale != 1.0:
            with torch.no_grad():
                for weight in self.weights:
                    weight.mul_(weight_scale)

    @property
    def device(self) -> torch.device:
        """Where the parameters live; a trial moves its data, plans and generators here."""
        return self.weights[0].device

    @property
    def weights(self) -> list[torch.Tensor]:
        """Each layer's weight (a Parameter: the float shadow weights under QAT)."""
        return [cast(torch.Tensor, layer.weight) for layer in self.layers]

    def forward(self, x: torch.Tensor, plan: QuantPlan | None = None, record_currents: bool = False) -> NetworkOutput:
        """``x``: input spikes (T, B, *input_shape) (a flat input is reshaped to the first layer's shape)."""
        steps, batch = x.shape[0], x.shape[1]
        constants = plan.constants if plan is not None else self.neuron.constants()
        h = x.reshape(steps, batch, *self.input_shape)
        input_spikes: list[torch.Tensor] = []
        current_max: list[float] = []
        watched = torch.zeros(batch, device=x.device)
        logits = torch.zeros(batch, self.n_classes, device=x.device)
        last = len(self.layers) - 1
        for index, (layer, shadow) in enumerate(zip(self.topology, self.weights, strict=True)):
            input_spikes.append(h.sum(0).detach().reshape(batch, -1))
            weight = plan.weight(index, shadow) if plan is not None else shadow
            currents = synaptic_input(layer, h, weight)
            if record_currents:
                current_max.append(max_abs_current(currents.detach(), constants.a_syn))
            state = plan.state[index] if plan is not None else None
            if index == last and is_leaky_readout(self.readout):
                logits = li_logits(li_sequence(currents, constants, state), self.readout)
                break
            spikes = lif_sequence(currents, constants, state)
            if index == last:
                logits = spikes.sum(0)
                watched = logits.detach().sum(1)
            elif index == last - 1:
                watched = spikes.detach().reshape(steps, batch, -1).sum((0, 2))
            h = pool_spikes(layer, spikes)
        return NetworkOutput(logits=logits, input_spikes=input_spikes, watched_spikes=watched,
                             current_max=current_max)


def mlp_topology(sizes: Sequence[int]) -> tuple[LayerShape, ...]:
    return tuple(linear_layer((int(a),), int(b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True))


class SpikingMLP(SpikingNetwork):
    """Linear (no bias) -> LIF blocks of the given ``sizes`` (input, hidden..., classes)."""

    def __init__(self, sizes: Sequence[int], neuron: NeuronSpec = NeuronSpec(), readout: Readout = "spiking",
                 weight_scale: float = DEFAULT_WEIGHT_SCALE) -> None:
        if len(sizes) < 2:
            raise InputError("model.sizes: needs at least an input and an output size")
        self.sizes = tuple(int(s) for s in sizes)
        super().__init__(mlp_topology(self.sizes), neuron, readout, weight_scale)


def conv_topology(input_shape: Sequence[int], channels: Sequence[int], kernel_size: int, pool: int,
                  hidden: Sequence[int], n_classes: int, pooling: Pooling = "sum") -> tuple[LayerShape, ...]:
    """Conv LIF blocks (each pooled by ``pool``), then linear LIF layers of ``hidden`` sizes, then the readout."""
    layers: list[LayerShape] = []
    shape = tuple(int(s) for s in input_shape)
    for out_channels in channels:
        layer = conv_layer(shape, int(out_channels), kernel_size, pool, pooling)
        layers.append(layer)
        shape = layer.spikes_shape
    for size in [*hidden, n_classes]:
        layer = linear_layer(shape, int(size))
        layers.append(layer)
        shape = layer.spikes_shape
    return tuple(layers)


class SpikingConvNet(SpikingNetwork):
    """Conv (no bias) -> LIF -> pool blocks, then linear LIF layers and a linear readout.

    For image-like inputs (C, H, W): event frames (2 polarities) or images with a channel axis.
    """

    def __init__(self, input_shape: Sequence[int], channels: Sequence[int], n_classes: int, *,
                 kernel_size: int = 3, pool: int = 2, pooling: Pooling = "sum", hidden: Sequence[int] = (),
                 neuron: NeuronSpec = NeuronSpec(), readout: Readout = "spiking",
                 weight_scale: float = DEFAULT_WEIGHT_SCALE) -> None:
        if not channels:
            raise InputError("model.channels: a conv network needs at least one conv block")
        super().__init__(conv_topology(input_shape, channels, kernel_size, pool, hidden, n_classes, pooling),
                         neuron, readout, weight_scale)
