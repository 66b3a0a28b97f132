"""Data-driven initialisation: scale each layer's weights until its LIF neurons fire at a target rate.

A spiking layer learns through surrogate gradients only while its neurons cross threshold now and then. How
strongly a default (Kaiming-uniform) initialisation drives them depends on the data — the input's spike rate,
its number of features, the time constants — so one fixed ``weight_scale`` leaves some data sets silent and
saturates others. This is LSUV (Mishkin & Matas 2016) for spiking layers: layer by layer, in the order the
spikes flow, find the factor that makes the layer's mean spike rate (spikes per neuron per timestep) on a
few training samples equal the target, and multiply the weights by it. Currents are linear in the weights, so
each layer's synaptic input is computed once and only the LIF recurrence is re-run while bisecting.
"""

from __future__ import annotations

import math

import torch

from qsearch.snn._dynamics import li_sequence, lif_sequence
from qsearch.snn._neuron import NeuronConstants
from qsearch.snn._topology import pool_spikes, synaptic_input
from qsearch.snn.network import is_leaky_readout, li_logits

#: the factor search spans [1/SPAN, SPAN] times the current weights (log-bisection)
SPAN = 1e4
ITERATIONS = 30
#: a leaky-integrator readout's logits (its membrane's peak or sum over time) are scaled to this standard deviation over
#: samples and classes: the softmax starts responsive, as a spiking readout's counts at ``init_output_rate`` do,
#: whatever the hidden layer's width, rate and the time constants (Kaiming's default alone gives ~0.05)
LI_LOGIT_STD = 1.0


def spike_rate(currents: torch.Tensor, constants: NeuronConstants) -> float:
    """Mean spikes per neuron per timestep of a LIF layer driven by ``currents`` (T, B, *shape)."""
    flat = currents.reshape(currents.shape[0], currents.shape[1], -1)
    return float(lif_sequence(flat, constants).mean())


def rate_matching_factor(currents: torch.Tensor, constants: NeuronConstants, target: float) -> float:
    """The factor ``s`` for which ``s * currents`` makes the layer fire at ``target`` (log-bisection).

    The rate grows with ``s`` (a larger input crosses threshold sooner); the result is clipped to the search
    span, and a layer that receives no input at all keeps factor 1.
    """
    if not bool(currents.abs().amax() > 0):
        return 1.0
    low, high = -math.log(SPAN), math.log(SPAN)
    for _ in range(ITERATIONS):
        middle = (low + high) / 2
        if spike_rate(currents * math.exp(middle), constants) < target:
            low = middle
        else:
            high = middle
    return math.exp((low + high) / 2)


def li_readout_factor(currents: torch.Tensor, constants: NeuronConstants, readout: str,
                      target_std: float = LI_LOGIT_STD) -> float:
    """The factor that gives a leaky-integrator readout driven by ``currents`` logits of ``target_std``.

    The membrane is linear in its input, its peak and sum over time positively homogeneous: the factor is exact;
    a readout whose logits do not vary keeps factor 1.
    """
    logits = li_logits(li_sequence(currents.reshape(*currents.shape[:2], -1), constants), readout)
    spread = float(logits.std()) if logits.numel() > 1 else 0.0
    return target_std / spread if spread > 0 and math.isfinite(spread) else 1.0


def layer_spike_rates(model, x: torch.Tensor) -> list[float]:
    """Mean spikes per neuron per timestep of every LIF layer for input spikes ``x`` (T, B, *shape).

    A leaky-integrator readout emits no spikes and is left out.
    """
    rates: list[float] = []
    constants = model.neuron.constants()
    with torch.no_grad():
        h = x.reshape(x.shape[0], x.shape[1], *model.input_shape).float()
        for index, (layer, weight) in enumerate(zip(model.topology, model.weights, strict=True)):
            if index == len(model.layers) - 1 and is_leaky_readout(model.readout):
                break
            currents = synaptic_input(layer, h, weight)
            spikes = lif_sequence(currents.reshape(*currents.shape[:2], -1), constants).reshape(currents.shape)
            rates.append(float(spikes.mean()))
            h = pool_spikes(layer, spikes)
    return rates


def fit_firing_rates(model, x: torch.Tensor, hidden_rate: float, output_rate: float) -> list[float]:
    """Scale ``model``'s weights in place so each LIF layer fires at its target on ``x``; returns the factors.

    Hidden (and conv) layers aim at ``hidden_rate``, a spiking readout at ``output_rate``; a leaky-integrator
    readout (its output is a membrane value, not a rate) at logits of standard deviation :data:`LI_LOGIT_STD`.
    """
    factors: list[float] = []
    constants = model.neuron.constants()
    last = len(model.layers) - 1
    with torch.no_grad():
        h = x.reshape(x.shape[0], x.shape[1], *model.input_shape).float()
        for index, (layer, weight) in enumerate(zip(model.topology, model.weights, strict=True)):
            currents = synaptic_input(layer, h, weight)
            if index == last and is_leaky_readout(model.readout):
                factor = li_readout_factor(currents, constants, model.readout)
                weight.mul_(factor)
                factors.append(factor)
                break
            factor = rate_matching_factor(currents, constants, output_rate if index == last else hidden_rate)
            weight.mul_(factor)
            factors.append(factor)
            spikes = lif_sequence((currents * factor).reshape(*currents.shape[:2], -1), constants)
            h = pool_spikes(layer, spikes.reshape(currents.shape))
    return factors


__all__ = ["fit_firing_rates", "layer_spike_rates", "li_readout_factor", "rate_matching_factor", "spike_rate"]
