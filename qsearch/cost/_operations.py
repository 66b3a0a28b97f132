"""Compute cost: synaptic operations, energy per inference and latency.

SOPs (synaptic operations) of layer l = sum over its input neurons j of (spikes of j, summed over the T
timesteps) x (kept fan-out of j), averaged per test sample; every SOP is one accumulate (AC) of a weight into
a current. Spike-coded inputs (rate, regular, latency, event frames) make every layer's SOPs ACs.

A direct (analog) encoding is the exception: its first layer takes the input codes unchanged at every step,
so each step every nonzero input costs fan-out multiply-accumulates (MACs), input code x weight:
MACs = sum over inputs j of (steps with x_j != 0, i.e. T for a nonzero pixel) x (kept fan-out of j), per test
sample (:func:`analog_input_events`). A trial's ``sops`` counts both kinds (every synaptic operation), its
``macs`` the MAC part.

Energy per inference = ACs x E_add(accumulator bits) + MACs x (E_mult(max(weight, input bits)) + E_add(accumulator
bits)) + neuron updates x (2 E_mult + 3 E_add)(state bits), with neuron updates = neurons x T (each LIF step
multiplies by two decay factors and adds three times). A float32 MAC is then 3.7 + 0.9 = 4.6 pJ, an int8 MAC
with a 16-bit accumulator 0.2 + 0.053 pJ.

Per-operation energies: Horowitz, ISSCC 2014, 45 nm, 0.9 V (int8 add 0.03 pJ, int32 add 0.1 pJ, int8 mult
0.2 pJ, int32 mult 3.1 pJ, fp32 add 0.9 pJ, fp32 mult 3.7 pJ). Widths between the table's columns: an adder's
energy grows linearly with its width and a multiplier's quadratically, so below 8 bits E_add = 0.03 (b/8) and
E_mult = 0.2 (b/8)^2; between 8 and 32 bits both are interpolated linearly between the int8 and int32 figures.
Float32 (b = 32 with a float format) uses the fp32 figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from qsearch.quant import FLOAT_BITS, QuantConfig

PJ = 1e-12
INT8_ADD, INT32_ADD, INT8_MULT, INT32_MULT = 0.03, 0.1, 0.2, 3.1
FP32_ADD, FP32_MULT = 0.9, 3.7
NEURON_MULTS, NEURON_ADDS = 2, 3


def add_energy_pj(bits: int, is_float: bool = False) -> float:
    if is_float:
        return FP32_ADD
    if bits <= 8:
        return INT8_ADD * bits / 8
    return INT8_ADD + (INT32_ADD - INT8_ADD) * (min(bits, 32) - 8) / 24


def mult_energy_pj(bits: int, is_float: bool = False) -> float:
    if is_float:
        return FP32_MULT
    if bits <= 8:
        return INT8_MULT * (bits / 8) ** 2
    return INT8_MULT + (INT32_MULT - INT8_MULT) * (min(bits, 32) - 8) / 24


def synaptic_operations(input_spikes_per_sample: Sequence[torch.Tensor],
                        kept_fanout: Sequence[torch.Tensor]) -> list[float]:
    """SOPs per layer per sample: spikes arriving on each input neuron x that neuron's kept fan-out."""
    return [float((spikes.double() * fanout.double()).sum())
            for spikes, fanout in zip(input_spikes_per_sample, kept_fanout, strict=True)]


def analog_input_events(codes: torch.Tensor) -> torch.Tensor:
    """Per input (flattened), the steps with a nonzero analog input, averaged per sample, from the input codes
    (N, T, *shape): what multiplies the first layer's fan-out into its MACs."""
    return (codes != 0).reshape(codes.shape[0], codes.shape[1], -1).sum(1).double().mean(0)


def operation_counts(input_spikes_per_sample: Sequence[torch.Tensor], kept_fanout: Sequence[torch.Tensor],
                     analog_codes: torch.Tensor | None = None) -> tuple[float, list[float]]:
    """(MACs, ACs per layer) per sample. Spike input (``analog_codes`` None): every layer accumulates, no MACs.
    Analog input codes (N, T, *shape) of a direct encoding: the first layer's operations are MACs, counted from
    the codes (nonzero or not, not their values), and only the later layers accumulate."""
    if analog_codes is None:
        return 0.0, synaptic_operations(input_spikes_per_sample, kept_fanout)
    events = analog_input_events(analog_codes).to(kept_fanout[0].device)
    macs = synaptic_operations([events], kept_fanout[:1])[0]
    return macs, synaptic_operations(input_spikes_per_sample[1:], kept_fanout[1:])


def mac_energy_pj(weight_bits: int, input_bits: int, accumulator_bits: int, is_float: bool = False) -> float:
    """One multiply-accumulate of an analog input: a max(weight, input)-bit multiply plus the accumulate."""
    return mult_energy_pj(max(weight_bits, input_bits), is_float) + add_energy_pj(accumulator_bits, is_float)


def energy_per_inference_pj(sops: Sequence[float], neurons: int, timesteps: int, config: QuantConfig,
                            macs: float = 0.0, input_bits: int = 0) -> float:
    """Energy estimate (pJ) of one inference (see module docstring): ``sops`` are the accumulates of spike
    inputs; ``macs`` the multiply-accumulates of an analog first layer of ``input_bits``-bit inputs."""
    is_float = config.is_float or config.current_bits >= FLOAT_BITS
    accumulate = add_energy_pj(config.current_bits, is_float)
    state_bits = max(config.membrane_bits, config.current_bits)
    state_float = config.is_float or state_bits >= FLOAT_BITS
    update = NEURON_MULTS * mult_energy_pj(state_bits, state_float) + NEURON_ADDS * add_energy_pj(state_bits,
                                                                                                  state_float)
    mac = mac_energy_pj(config.layer_bits(0), input_bits, config.current_bits,
                        is_float or config.layer_bits(0) >= FLOAT_BITS) if macs else 0.0
    return sum(sops) * accumulate + macs * mac + neurons * timesteps * update
