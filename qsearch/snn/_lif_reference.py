"""The neuron recurrences as plain tensor loops: the reference every other implementation must reproduce.

Pure functions. The synaptic input of all T steps arrives precomputed; only the recurrence loops. ``state_quant``
(when given) puts membrane and current on their fixed-point grids at every timestep, exactly where a fixed-point
neuron would round: after each update of that state variable. These loops run on any device and carry autograd
for BPTT; faster implementations (:mod:`qsearch.snn._fused`) plug into :mod:`qsearch.snn._dynamics` beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from qsearch._norse import threshold
from qsearch.quant import FixedPoint, Rounding, fake_quantize
from qsearch.snn._neuron import NeuronConstants

Quantizer = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class StateQuant:
    """Formats of the neuron state of one layer and how to round onto them.

    ``generator`` drives stochastic rounding; it must live on the device of the state it rounds.
    """

    membrane: FixedPoint
    current: FixedPoint
    rounding: Rounding
    generator: torch.Generator | None = None

    def membrane_quantizer(self) -> Quantizer:
        return _quantizer(self.membrane, self.rounding, self.generator)

    def current_quantizer(self) -> Quantizer:
        return _quantizer(self.current, self.rounding, self.generator)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _quantizer(fmt: FixedPoint, rounding: Rounding, generator: torch.Generator | None) -> Quantizer:
    if fmt.is_float:
        return _identity
    return lambda x: fake_quantize(x, fmt, rounding, generator)


def lif_sequence_reference(currents: torch.Tensor, p: NeuronConstants,
                           state_quant: StateQuant | None = None) -> torch.Tensor:
    """Spikes (T, B, N) of a feed-forward LIF layer driven by ``currents`` (T, B, N); Norse's step semantics.

    One tensor operation per term, autograd for BPTT.
    """
    q_v = state_quant.membrane_quantizer() if state_quant else _identity
    q_i = state_quant.current_quantizer() if state_quant else _identity
    v = torch.zeros_like(currents[0])
    i = torch.zeros_like(currents[0])
    spikes = []
    for t in range(currents.shape[0]):
        i = q_i(i + currents[t])
        v_decayed = q_v(v + p.a_mem * ((p.v_leak - v) + i))
        i = q_i(i + (-p.a_syn) * i)
        z = threshold(v_decayed - p.v_th, "super", p.alpha)
        v = (1 - z) * v_decayed + z * p.v_reset
        spikes.append(z)
    return torch.stack(spikes)


def li_sequence(currents: torch.Tensor, p: NeuronConstants,
                state_quant: StateQuant | None = None) -> torch.Tensor:
    """Membrane trace (T, B, N) of a leaky-integrator readout (Norse's ``li_feed_forward_step``)."""
    q_v = state_quant.membrane_quantizer() if state_quant else _identity
    q_i = state_quant.current_quantizer() if state_quant else _identity
    v = torch.zeros_like(currents[0])
    i = torch.zeros_like(currents[0])
    trace = []
    for t in range(currents.shape[0]):
        i = q_i(i + currents[t])
        v = q_v(v + p.a_mem * ((p.v_leak - v) + i))
        i = q_i(i + (-p.a_syn) * i)
        trace.append(v)
    return torch.stack(trace)
