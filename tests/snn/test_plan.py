"""Quantization plans: magnitude pruning masks, calibrated formats, quantized constants and frozen weights."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.quant import (
    ROUNDING_MODES,
    FixedPoint,
    QuantConfig,
    calibrate,
    calibrate_mse,
    membrane_format,
    quantize,
)
from qsearch.snn import NeuronSpec, SpikingMLP, freeze, magnitude_mask, make_plan


def _distinct_weights(n: int, cols: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    magnitudes = (torch.randperm(n, generator=g) + 1).double() / n
    signs = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0)
    return (magnitudes * signs).reshape(n // cols, cols).float()


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(1, 12), cols=st.integers(1, 12), sparsity=st.floats(0.0, 0.99),
       seed=st.integers(0, 2 ** 31))
def test_magnitude_mask_keeps_the_largest_share(rows: int, cols: int, sparsity: float, seed: int) -> None:
    n = rows * cols
    weight = _distinct_weights(n, cols, seed)
    mask = magnitude_mask(weight, sparsity)
    pruned = round(sparsity * n)
    if pruned == 0:
        assert mask is None  # nothing to prune: no mask, no index cost
        return
    assert mask is not None
    assert mask.shape == weight.shape and mask.dtype == weight.dtype
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    kept = int(mask.sum())
    assert kept == n - pruned
    assert abs(kept - (1 - sparsity) * n) <= 0.5 + 1e-9  # round((1 - s) * n) up to the tie rule
    magnitudes = weight.abs()
    if 0 < kept < n:
        assert float(magnitudes[mask > 0].min()) > float(magnitudes[mask == 0].max())


def test_magnitude_mask_by_hand() -> None:
    weight = torch.tensor([[0.3, -0.9, 0.1], [-0.2, 0.5, -0.05]])
    # sparsity 0.5 of 6 weights: prune the 3 smallest magnitudes 0.05, 0.1, 0.2
    assert magnitude_mask(weight, 0.5).tolist() == [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    assert magnitude_mask(weight, 0.0) is None


def _weights(seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(16, 12, generator=g) * 0.3, torch.randn(5, 16, generator=g) * 0.2]


def _config(mode: str, bits: tuple[int, int] = (4, 1)) -> QuantConfig:
    """The max-based weight calibration, whose formats these tests compute by hand."""
    return QuantConfig(scheme="ptq", weight_bits=bits, membrane_bits=8, current_bits=8, param_bits=6,
                       rounding=mode, sparsity=(0.5, 0.25), weight_calibration="max")


#: Norse's own time constants: decays 0.1 and 0.2, which round visibly at 6 bits (test_plan_constants_by_hand)
NORSE_RATES = NeuronSpec(tau_mem_inv=100.0, tau_syn_inv=200.0)


def _plan(mode: str, seed: int = 0, bits: tuple[int, int] = (4, 1)):
    return make_plan(_config(mode, bits), _weights(), NORSE_RATES.constants(), [3.0, 2.0],
                     generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@pytest.mark.parametrize("bits", [(4, 1), (8, 3), (2, 16)])
def test_frozen_weights_lie_on_each_layers_grid_and_pruned_positions_are_zero(mode: str, bits) -> None:
    weights = _weights()
    plan = _plan(mode, bits=bits)
    frozen = freeze(plan, weights)
    assert frozen.fixed_weights is not None
    for layer, (fixed, mask, fmt) in enumerate(zip(frozen.fixed_weights, plan.masks, plan.weight_formats,
                                                   strict=True)):
        assert mask is not None
        assert fmt.bits == bits[layer]
        kept = weights[layer][mask > 0]
        assert fmt == calibrate(bits[layer], float(kept.abs().max()), float(kept.abs().mean()))
        units = fixed.double() / fmt.step
        assert torch.equal(units, torch.round(units))
        assert float(fixed.min()) >= fmt.min_value and float(fixed.max()) <= fmt.max_value
        assert bool((fixed[mask == 0] == 0).all())
        if fmt.is_binary:
            assert set(fixed[mask > 0].abs().unique().tolist()) == {fmt.step}


@pytest.mark.parametrize("bits", [(2, 2), (3, 4), (4, 1)])
def test_mse_calibration_calibrates_each_layer_on_its_kept_weights(bits: tuple[int, int]) -> None:
    weights = _weights()
    config = replace(_config("nearest", bits), weight_calibration="mse")
    plan = make_plan(config, weights, NeuronSpec().constants(), [3.0, 2.0])
    for layer, (w, mask, fmt) in enumerate(zip(weights, plan.masks, plan.weight_formats, strict=True)):
        assert fmt == calibrate_mse(bits[layer], w[mask > 0])
    max_plan = make_plan(_config("nearest", bits), weights, NeuronSpec().constants(), [3.0, 2.0])
    assert plan.weight_formats != max_plan.weight_formats  # Gaussian weights: clipping the tails pays off


def test_pruning_keeps_the_configured_share_per_layer() -> None:
    plan = _plan("nearest")
    # layer 0: 192 weights, prune round(0.5 * 192) = 96; layer 1: 80 weights, prune round(0.25 * 80) = 20
    assert [int(m.sum()) for m in plan.masks] == [96, 60]


@pytest.mark.parametrize("mode", ["truncate", "nearest"])
def test_deterministic_frozen_weights_are_the_quantized_masked_weights(mode: str) -> None:
    weights = _weights()
    plan = _plan(mode, bits=(4, 6))
    frozen = freeze(plan, weights)
    layers = zip(frozen.fixed_weights, weights, plan.masks, plan.weight_formats, strict=True)
    for fixed, w, mask, fmt in layers:
        assert torch.equal(fixed, quantize(w * mask, fmt, mode) * mask)


def test_stochastic_freeze_is_reproducible_with_the_same_seed() -> None:
    weights = _weights()
    a = freeze(_plan("stochastic", seed=3, bits=(4, 4)), weights).fixed_weights
    b = freeze(_plan("stochastic", seed=3, bits=(4, 4)), weights).fixed_weights
    c = freeze(_plan("stochastic", seed=4, bits=(4, 4)), weights).fixed_weights
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_frozen_plan_draws_stochastic_rounding_once() -> None:
    weights = _weights()
    frozen = freeze(_plan("stochastic", bits=(4, 4)), weights)
    first = frozen.weight(0, weights[0])
    assert torch.equal(frozen.weight(0, weights[0]), first)
    assert torch.equal(frozen.weight(0, torch.zeros_like(weights[0])), first)  # ignores the shadow weights


def test_plan_constants_by_hand() -> None:
    plan = _plan("nearest")
    c = plan.constants
    # a_mem = 0.001 * 100 = 0.1 at 6 bits: frac = 6 - 2 - floor(log2 0.1) = 8, 0.1 * 256 = 25.6 -> 26/256
    assert c.a_mem == 26 / 256
    # a_syn = 0.2: frac = 6 - 2 + 3 = 7, 0.2 * 128 = 25.6 -> 26/128
    assert c.a_syn == 26 / 128
    assert (c.v_th, c.v_reset, c.v_leak) == (1.0, 0.0, 0.0)
    assert plan.param_formats["a_mem"] == FixedPoint(6, 8)


def test_reset_value_lies_on_the_membrane_grid() -> None:
    spec = NeuronSpec(v_th=1.0, v_reset=-0.3)
    config = QuantConfig(scheme="ptq", weight_bits=(8,), membrane_bits=4, current_bits=8, param_bits=12)
    plan = make_plan(config, [torch.randn(3, 4)], spec.constants(), [1.0])
    membrane = membrane_format(4, 1.0, -0.3)  # Q2.2: step 0.25
    assert plan.state[0].membrane == membrane
    assert plan.constants.v_reset == -0.25  # -0.3 on 12 bits, then nearest on the 0.25 grid
    for name, value in plan.constants.items().items():
        fmt = plan.param_formats[name]
        assert (value / fmt.step) == round(value / fmt.step)


def test_state_formats_come_from_membrane_bits_and_current_ranges() -> None:
    plan = _plan("nearest")
    assert [s.membrane for s in plan.state] == [FixedPoint(8, 6), FixedPoint(8, 6)]  # v_th = 1: Q2.6
    assert [s.current for s in plan.state] == [FixedPoint(8, 5), FixedPoint(8, 5)]  # ranges 3 and 2: Q3.5
    assert all(s.rounding == "nearest" for s in plan.state)


def test_float_plan_only_prunes() -> None:
    weights = _weights()
    config = QuantConfig(sparsity=(0.5, 0.0))
    constants = NeuronSpec().constants()
    plan = make_plan(config, weights, constants, [3.0, 2.0])
    assert plan.constants == constants
    assert plan.masks[1] is None
    assert torch.equal(plan.weight(0, weights[0]), weights[0] * plan.masks[0])
    assert torch.equal(plan.weight(1, weights[1]), weights[1])


def test_qat_weight_gradient_is_straight_through_on_kept_weights_and_zero_on_pruned() -> None:
    shadow = [w.clone().requires_grad_() for w in _weights()]
    config = QuantConfig(scheme="qat", weight_bits=(4, 4), membrane_bits=8, current_bits=8, param_bits=8,
                         sparsity=(0.5, 0.0))
    plan = make_plan(config, shadow, NeuronSpec().constants(), [3.0, 2.0])
    plan.weight(0, shadow[0]).sum().backward()
    assert shadow[0].grad is not None
    assert torch.equal(shadow[0].grad, plan.masks[0])


def test_network_forward_with_a_frozen_plan_uses_the_frozen_weights() -> None:
    torch.manual_seed(0)
    model = SpikingMLP([12, 16, 5])
    plan = make_plan(_config("nearest", (4, 4)), model.weights, model.neuron.constants(), [3.0, 2.0])
    frozen = freeze(plan, model.weights)
    x = (torch.rand(4, 3, 12, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    before = model(x, frozen).logits
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.mul_(-3.0)  # the shadow weights change; the deployed network must not
    assert torch.equal(model(x, frozen).logits, before)
