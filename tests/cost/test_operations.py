"""Energy per operation (Horowitz, ISSCC 2014), synaptic operations and energy per inference, by hand."""

from __future__ import annotations

import pytest
import torch

from qsearch.cost import (
    add_energy_pj,
    analog_input_events,
    energy_per_inference_pj,
    mac_energy_pj,
    mult_energy_pj,
    operation_counts,
    synaptic_operations,
)
from qsearch.quant import QuantConfig


def test_energies_at_8_and_32_bits_are_the_horowitz_table() -> None:
    # 45 nm, 0.9 V (pJ): int8 add 0.03, int32 add 0.1, int8 mult 0.2, int32 mult 3.1, fp32 add 0.9, mult 3.7
    assert add_energy_pj(8) == pytest.approx(0.03)
    assert add_energy_pj(32) == pytest.approx(0.1)
    assert mult_energy_pj(8) == pytest.approx(0.2)
    assert mult_energy_pj(32) == pytest.approx(3.1)
    assert add_energy_pj(32, is_float=True) == pytest.approx(0.9)
    assert mult_energy_pj(32, is_float=True) == pytest.approx(3.7)


def test_energies_between_table_columns_by_hand() -> None:
    assert add_energy_pj(4) == pytest.approx(0.015)  # linear below 8 bits: 0.03 * 4/8
    assert mult_energy_pj(4) == pytest.approx(0.05)  # quadratic below 8 bits: 0.2 * (4/8)^2
    assert add_energy_pj(20) == pytest.approx(0.065)  # 0.03 + 0.07 * 12/24
    assert mult_energy_pj(20) == pytest.approx(1.65)  # 0.2 + 2.9 * 12/24


@pytest.mark.parametrize("energy", [add_energy_pj, mult_energy_pj])
def test_integer_energy_grows_strictly_with_the_width(energy) -> None:
    values = [energy(bits) for bits in range(1, 33)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False))
    assert all(v > 0 for v in values)


@pytest.mark.parametrize("energy", [add_energy_pj, mult_energy_pj])
def test_float32_costs_more_than_int32(energy) -> None:
    assert energy(32, is_float=True) > energy(32)


def test_synaptic_operations_by_hand() -> None:
    # layer 0: input spikes (2, 0, 1) per sample, kept fan-out (3, 3, 1): 2*3 + 0*3 + 1*1 = 7
    # layer 1: input spikes (0.5, 4), kept fan-out (2, 0): 0.5*2 + 4*0 = 1
    sops = synaptic_operations([torch.tensor([2.0, 0.0, 1.0]), torch.tensor([0.5, 4.0])],
                               [torch.tensor([3, 3, 1]), torch.tensor([2, 0])])
    assert sops == [7.0, 1.0]


def test_synaptic_operations_need_one_fanout_per_layer() -> None:
    with pytest.raises(ValueError):
        synaptic_operations([torch.ones(3), torch.ones(2)], [torch.ones(3)])


def test_quantized_energy_per_inference_by_hand() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5)
    # accumulate at current_bits = 6: 0.03 * 6/8 = 0.0225 pJ per SOP; 7 + 3 = 10 SOPs -> 0.225
    # neuron update at max(8, 6) = 8 bits: 2 * 0.2 + 3 * 0.03 = 0.49 pJ; 5 neurons * 4 steps = 20 -> 9.8
    assert energy_per_inference_pj([7.0, 3.0], neurons=5, timesteps=4, config=cfg) == pytest.approx(10.025)


def test_float_energy_per_inference_by_hand() -> None:
    # accumulate 0.9 pJ * 10 SOPs = 9; update 2 * 3.7 + 3 * 0.9 = 10.1 pJ * 20 = 202 -> 211
    energy = energy_per_inference_pj([7.0, 3.0], neurons=5, timesteps=4, config=QuantConfig())
    assert energy == pytest.approx(211.0)


def test_float_current_makes_the_accumulate_float() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(4,), membrane_bits=8, current_bits=32, param_bits=8)
    # accumulate fp32 0.9 * 10 = 9; state bits max(8, 32) = 32 with a float format: 10.1 * 20 = 202
    assert energy_per_inference_pj([10.0], neurons=5, timesteps=4, config=cfg) == pytest.approx(211.0)


def test_a_direct_first_layer_is_counted_as_macs_by_hand() -> None:
    # analog input codes (N=2, T=3, 3 inputs): sample a (5, 0, 2), sample b (0, 0, 7) at every step
    codes = torch.tensor([[5, 0, 2], [0, 0, 7]], dtype=torch.uint8).unsqueeze(1).expand(2, 3, 3)
    # steps with a nonzero input, per sample: a (3, 0, 3), b (0, 0, 3) -> mean (1.5, 0, 3)
    assert torch.equal(analog_input_events(codes), torch.tensor([1.5, 0.0, 3.0], dtype=torch.float64))
    # layer 0, kept fan-out (4, 4, 2): 1.5*4 + 0*4 + 3*2 = 12 MACs (the code values 5, 2, 7 do not matter)
    # layer 1, input spikes (2, 1), kept fan-out (10, 10): 30 ACs
    layer0_values = torch.tensor([7.5, 0.0, 13.5])  # what the forward pass sums: code values, not counts
    spikes = [layer0_values, torch.tensor([2.0, 1.0])]
    fanout = [torch.tensor([4, 4, 2]), torch.tensor([10, 10])]
    assert operation_counts(spikes, fanout, codes) == (12.0, [30.0])
    assert operation_counts(spikes, fanout) == (0.0, [57.0, 30.0])  # spike input: every layer accumulates


def test_mac_energy_by_hand() -> None:
    # a MAC is a max(weight, input)-bit multiply plus the accumulate: float32 3.7 + 0.9 = 4.6 pJ (Horowitz)
    assert mac_energy_pj(32, 8, 32, is_float=True) == pytest.approx(4.6)
    assert mac_energy_pj(4, 8, 6) == pytest.approx(0.2 + 0.0225)  # int8 multiply, 6-bit accumulate
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5)
    # 12 MACs x 0.2225 = 2.67; 30 ACs x 0.0225 = 0.675; 5 neurons x 4 steps x 0.49 = 9.8
    energy = energy_per_inference_pj([30.0], neurons=5, timesteps=4, config=cfg, macs=12.0, input_bits=8)
    assert energy == pytest.approx(2.67 + 0.675 + 9.8)
    float_cfg = QuantConfig(weight_bits=(32, 32))
    # float32: 12 MACs x 4.6 + 30 ACs x 0.9 + 20 updates x (2 x 3.7 + 3 x 0.9)
    assert energy_per_inference_pj([30.0], 5, 4, float_cfg, macs=12.0, input_bits=8) == pytest.approx(
        55.2 + 27.0 + 20 * 10.1)
