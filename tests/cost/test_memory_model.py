"""The memory model counted by hand on tiny networks (every number below is written out, not recomputed)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.cost import float_memory_bits, memory_breakdown, memory_breakdown_for_layers, sparse_index_bits
from qsearch.quant import QuantConfig
from qsearch.snn import magnitude_mask

PTQ = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5)


def test_dense_quantized_network_memory_by_hand() -> None:
    mem = memory_breakdown([4, 3, 2], PTQ)
    # weights: layer 0 has 4*3 = 12 weights at 4 bits = 48, layer 1 has 3*2 = 6 weights at 2 bits = 12
    assert mem.weights == (48, 12)
    # dense layers need no sparsity index
    assert mem.sparsity_index == (0, 0)
    # neuron state: 3 + 2 = 5 neurons, each a membrane (8) and a current (6): 5 * 14 = 70
    assert mem.neuron_state == 70
    # neuron parameters: 5 constants per layer, 2 layers, 5 bits: 5 * 2 * 5 = 50
    assert mem.neuron_params == 50
    # scales: 2 weight tensors + 2 layers * (membrane + current) = 6 fixed-point tensors, 8 bits each: 48
    assert mem.formats == 48
    # total: 48 + 12 + 0 + 70 + 50 + 48 = 228
    assert mem.total == 228
    assert mem.as_dict() == {"weights_layer0": 48, "weights_layer1": 12, "sparsity_index_layer0": 0,
                             "sparsity_index_layer1": 0, "neuron_state": 70, "neuron_params": 50,
                             "formats": 48, "total": 228}


def test_float_memory_by_hand() -> None:
    # weights (12 + 6) * 32 = 576; state 5 * (32 + 32) = 320; params 5 * 2 * 32 = 320; no scales: 1216
    assert float_memory_bits([4, 3, 2]) == 1216
    mem = memory_breakdown([4, 3, 2], QuantConfig())
    assert (sum(mem.weights), mem.neuron_state, mem.neuron_params, mem.formats) == (576, 320, 320, 0)


def test_pruned_small_layers_use_a_bitmask_by_hand() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5,
                      sparsity=(0.5, 0.5))
    mem = memory_breakdown([4, 3, 2], cfg)
    # kept: round(0.5 * 12) = 6 at 4 bits = 24; round(0.5 * 6) = 3 at 2 bits = 6
    assert mem.weights == (24, 6)
    # layer 0: bitmask 12 vs CSR 6 * ceil(log2 4) + 3 * ceil(log2 7) = 12 + 9 = 21 -> 12
    # layer 1: bitmask 6 vs CSR 3 * ceil(log2 3) + 2 * ceil(log2 4) = 6 + 4 = 10 -> 6
    assert mem.sparsity_index == (12, 6)
    # 24 + 6 + 12 + 6 + 70 + 50 + 48 = 216
    assert mem.total == 216


def test_very_sparse_layer_uses_csr_by_hand() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5,
                      sparsity=(0.875, 0.5))
    mem = memory_breakdown([64, 8, 2], cfg)
    # kept: round(0.125 * 512) = 64 at 4 bits = 256; round(0.5 * 16) = 8 at 2 bits = 16
    assert mem.weights == (256, 16)
    # layer 0: bitmask 512 vs CSR 64 * ceil(log2 64) + 8 * ceil(log2 65) = 64*6 + 8*7 = 384 + 56 = 440 -> 440
    # layer 1: bitmask 16 vs CSR 8 * ceil(log2 8) + 2 * ceil(log2 9) = 24 + 8 = 32 -> 16
    assert mem.sparsity_index == (440, 16)
    # state (8 + 2) * 14 = 140; params 50; scales 48
    assert (mem.neuron_state, mem.neuron_params, mem.formats) == (140, 50, 48)
    # 256 + 16 + 440 + 16 + 140 + 50 + 48 = 966
    assert mem.total == 966


def test_measured_kept_counts_override_the_configured_sparsity() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5,
                      sparsity=(0.5, 0.5))
    mem = memory_breakdown([4, 3, 2], cfg, kept_weights=[10, 6])
    # 10 kept at 4 bits = 40, layer 1 fully kept: 6 * 2 = 12
    assert mem.weights == (40, 12)
    # layer 0: bitmask 12 vs CSR 10 * 2 + 3 * ceil(log2 11) = 20 + 12 = 32 -> 12; layer 1 dense -> 0
    assert mem.sparsity_index == (12, 0)


def test_binary_weights_and_float_state_by_hand() -> None:
    cfg = QuantConfig(scheme="qat", weight_bits=(1, 32), membrane_bits=32, current_bits=32, param_bits=32)
    mem = memory_breakdown([4, 3, 2], cfg)
    # layer 0 binary: 12 * 1 = 12; layer 1 float: 6 * 32 = 192
    assert mem.weights == (12, 192)
    # only layer 0's weights are fixed point -> a single 8-bit scale
    assert mem.formats == 8
    assert mem.neuron_state == 5 * 64


def test_sparse_index_bits_by_hand() -> None:
    assert sparse_index_bits(fan_in=256, fan_out=10, kept=20) == 210  # CSR 20*8 + 10*ceil(log2 21) = 160 + 50
    assert sparse_index_bits(fan_in=4, fan_out=3, kept=6) == 12  # bitmask 12 < CSR 21
    assert sparse_index_bits(fan_in=4, fan_out=3, kept=12) == 0  # nothing pruned
    assert sparse_index_bits(fan_in=1, fan_out=4, kept=1) == 4  # bitmask 4 < CSR 1*1 + 4*1 = 5


@settings(max_examples=60, deadline=None)
@given(fan_in=st.integers(1, 300), fan_out=st.integers(1, 50), share=st.floats(0.0, 0.999))
def test_sparse_index_is_the_cheaper_of_bitmask_and_csr(fan_in: int, fan_out: int, share: float) -> None:
    dense = fan_in * fan_out
    kept = int(share * dense)
    bits = sparse_index_bits(fan_in, fan_out, kept)
    csr = kept * max(1, math.ceil(math.log2(fan_in))) + fan_out * max(1, math.ceil(math.log2(kept + 1)))
    assert bits == min(dense, csr)
    assert bits <= dense


def test_conv_style_layers_by_hand() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(8,), membrane_bits=8, current_bits=8, param_bits=8)
    # one layer of 72 weights, fan-in 9, 100 neurons sharing them (a convolution)
    mem = memory_breakdown_for_layers(dense_weights=[72], fan_in=[9], neurons=[100], config=cfg)
    # weights 72 * 8 = 576; state 100 * 16 = 1600; params 5 * 8 = 40; scales 3 * 8 = 24 -> 2240
    assert (sum(mem.weights), mem.neuron_state, mem.neuron_params, mem.formats, mem.total) == (
        576, 1600, 40, 24, 2240)


@pytest.mark.parametrize("bits", [1, 2, 4, 8, 16])
def test_quantized_network_is_smaller_than_float(bits: int) -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(bits,), membrane_bits=16, current_bits=16, param_bits=16)
    assert memory_breakdown([64, 16, 10], cfg).total < float_memory_bits([64, 16, 10])


def test_default_kept_count_matches_what_magnitude_pruning_keeps() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(8,), membrane_bits=8, current_bits=8, param_bits=8,
                      sparsity=(0.5,))
    # 1 x 5 layer at sparsity 0.5: magnitude pruning drops round(2.5) = 2 weights and keeps 3 (a .5 tie, where
    # round((1 - s) * n) = round(2.5) = 2 would disagree); 3 kept weights at 8 bits = 24
    mask = magnitude_mask(torch.arange(1.0, 6.0).reshape(1, 5), 0.5)
    assert mask is not None and int(mask.sum()) == 3
    assert memory_breakdown([5, 1], cfg).weights[0] == 24


@settings(max_examples=60, deadline=None)
@given(fan_in=st.integers(1, 12), fan_out=st.integers(1, 12), sparsity=st.floats(0.0, 0.99))
def test_default_kept_count_agrees_with_magnitude_mask_for_any_sparsity(fan_in: int, fan_out: int,
                                                                        sparsity: float) -> None:
    n = fan_in * fan_out
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    weight = (order + 1).float().reshape(fan_out, fan_in)  # distinct magnitudes
    mask = magnitude_mask(weight, sparsity)
    kept = n if mask is None else int(mask.sum())
    cfg = QuantConfig(scheme="ptq", weight_bits=(1,), membrane_bits=8, current_bits=8, param_bits=8,
                      sparsity=(sparsity,))
    assert memory_breakdown([fan_in, fan_out], cfg).weights[0] == kept  # 1-bit weights: bits == kept count


def test_conv_network_memory_by_hand() -> None:
    from qsearch.snn import SpikingConvNet
    from qsearch.trial._pipeline import float_config, network_memory

    net = SpikingConvNet((1, 4, 4), [2], 3, kernel_size=3, pool=2)  # conv 1->2 @4x4, sum-pool 2, linear 8->3
    cfg = QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6, param_bits=5)
    mem = network_memory(net, cfg)
    # weights: conv 2*1*3*3 = 18 at 4 bits = 72; linear 3*(2*2*2) = 24 at 2 bits = 48
    assert mem.weights == (72, 48)
    # neurons: one per conv output position, 2*4*4 = 32, plus 3 readout neurons: 35 * (8 + 6) = 490
    assert mem.neuron_state == 490
    # 5 constants * 2 layers * 5 bits = 50; scales (2 weight tensors + 2 * 2 state tensors) * 8 = 48
    assert (mem.neuron_params, mem.formats) == (50, 48)
    assert mem.total == 72 + 48 + 490 + 50 + 48 == 708

    pruned = network_memory(net, QuantConfig(scheme="ptq", weight_bits=(4, 2), membrane_bits=8, current_bits=6,
                                             param_bits=5, sparsity=(0.5, 0.0)))
    # conv keeps 9 of 18 at 4 bits = 36; index: bitmask 18 vs CSR 9 * ceil(log2 9) + 2 rows * ceil(log2 10)
    # = 36 + 8 = 44 -> the bitmask, 18 bits
    assert pruned.weights == (36, 48) and pruned.sparsity_index == (18, 0)
    assert pruned.total == 36 + 18 + 48 + 490 + 50 + 48 == 690

    # float32: (18 + 24) * 32 = 1344 weights, 35 * 64 = 2240 state, 2 * 5 * 32 = 320 params, no scales
    assert network_memory(net, float_config(net)).total == 1344 + 2240 + 320 == 3904
