"""Compute cost: synaptic operations, energy per inference and latency.

SOPs (synaptic operations) of layer l = sum over its input neurons j of (spikes of j, summed over the T
timesteps) x (kept fan-out of j), averaged per test sample; every SOP is one accumulate (AC) of a weight into
a current. qsearch's inputs are spikes too (rate- or latency-coded), so no layer needs multiply-accumulates.

Energy per inference = SOPs x E_add(accumulator bits) + neuron updates x (2 E_mult + 3 E_add)(state bits), with
neuron updates = neurons x T (each LIF step multiplies by two decay factors and adds three times).

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


def energy_per_inference_pj(sops: Sequence[float], neurons: int, timesteps: int, config: QuantConfig) -> float:
    """Energy estimate (pJ) of one inference, from SOPs and neuron updates (see module docstring)."""
    is_float = config.is_float or config.current_bits >= FLOAT_BITS
    accumulate = add_energy_pj(config.current_bits, is_float)
    state_bits = max(config.membrane_bits, config.current_bits)
    state_float = config.is_float or state_bits >= FLOAT_BITS
    update = NEURON_MULTS * mult_energy_pj(state_bits, state_float) + NEURON_ADDS * add_energy_pj(state_bits,
                                                                                                  state_float)
    return sum(sops) * accumulate + neurons * timesteps * update
