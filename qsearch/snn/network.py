"""A feed-forward SNN of Norse LIF neurons whose linear layers run time-batched.

Each layer's synaptic input for all T steps is one matmul; only the neuron recurrence loops over time
(:mod:`qsearch.snn._dynamics`). The same module serves float training, QAT (a plan rebuilt every step) and
PTQ/fake-quantized evaluation (one fixed plan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from qsearch.snn._dynamics import li_sequence, lif_sequence
from qsearch.snn._neuron import NeuronSpec
from qsearch.snn._plan import QuantPlan

Readout = Literal["spiking", "li"]


@dataclass
class NetworkOutput:
    """What one forward pass reports.

    ``logits`` (B, classes); ``input_spikes`` per weight layer: spikes arriving per input neuron, summed over
    time (B, fan_in) — the basis of SOP counts; ``watched_spikes`` (B,): spikes of the layer the silent-network
    rule watches (the output layer, or the last hidden layer under a leaky-integrator readout).
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


class SpikingMLP(nn.Module):
    """Linear (no bias) -> LIF blocks, then a spiking or leaky-integrator readout."""

    def __init__(self, sizes: Sequence[int], neuron: NeuronSpec = NeuronSpec(), readout: Readout = "spiking",
                 weight_scale: float = 1.0) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError("model.sizes: needs at least an input and an output size")
        self.sizes = tuple(int(s) for s in sizes)
        self.neuron = neuron
        self.readout = readout
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        if weight_scale != 1.0:
            with torch.no_grad():
                for layer in self.layers:
                    layer.weight.mul_(weight_scale)

    @property
    def weights(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.layers]

    def neuron_count(self) -> int:
        return sum(self.sizes[1:])

    def forward(self, x: torch.Tensor, plan: QuantPlan | None = None, record_currents: bool = False) -> NetworkOutput:
        """``x``: input spikes (T, B, *input_shape)."""
        steps, batch = x.shape[0], x.shape[1]
        constants = plan.constants if plan is not None else self.neuron.constants()
        h = x.reshape(steps, batch, -1)
        input_spikes: list[torch.Tensor] = []
        current_max: list[float] = []
        watched = torch.zeros(batch, device=x.device)
        logits = torch.zeros(batch, self.sizes[-1], device=x.device)
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            input_spikes.append(h.sum(0).detach())
            weight = plan.weight(index, layer.weight) if plan is not None else layer.weight
            currents = (h.reshape(steps * batch, -1) @ weight.to(h.dtype).t()).reshape(steps, batch, -1)
            if record_currents:
                current_max.append(max_abs_current(currents.detach(), constants.a_syn))
            state = plan.state[index] if plan is not None else None
            if index == last and self.readout == "li":
                trace = li_sequence(currents, constants, state)
                logits = trace.max(dim=0).values
                break
            h = lif_sequence(currents, constants, state)
            if index == last:
                logits = h.sum(0)
                watched = logits.detach().sum(1)
            elif index == last - 1:
                watched = h.detach().sum((0, 2))
        return NetworkOutput(logits=logits, input_spikes=input_spikes, watched_spikes=watched,
                             current_max=current_max)
