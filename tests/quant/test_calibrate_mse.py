"""MSE calibration of weight formats: the power-of-two step with the least squared error, never worse than max."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.quant import (
    FLOAT_BITS,
    FixedPoint,
    QuantConfig,
    calibrate,
    calibrate_mse,
    frac_bits_for_range,
    quantize,
    squared_error,
)

FAST = settings(max_examples=120, deadline=None)

low_bits = st.integers(min_value=2, max_value=8)
magnitudes = st.floats(min_value=1e-4, max_value=1e3, allow_nan=False, allow_infinity=False)
weights = st.lists(st.one_of(magnitudes, magnitudes.map(lambda v: -v), st.just(0.0)), min_size=1, max_size=64)


def _max_based(bits: int, values: torch.Tensor) -> FixedPoint:
    return calibrate(bits, float(values.abs().max()), float(values.abs().mean()))


@FAST
@given(bits=low_bits, values=weights)
def test_chosen_format_never_has_more_error_than_the_max_based_one(bits: int, values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    assert squared_error(x, calibrate_mse(bits, x)) <= squared_error(x, _max_based(bits, x))


@FAST
@given(bits=low_bits, values=weights)
def test_chosen_step_is_a_power_of_two_at_most_four_times_finer_than_max(bits: int, values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    fmt = calibrate_mse(bits, x)
    assert fmt.bits == bits
    assert math.log2(fmt.step) == round(math.log2(fmt.step))
    assert 0 <= fmt.frac_bits - _max_based(bits, x).frac_bits <= 2


@FAST
@given(bits=low_bits, values=weights)
def test_quantized_weights_lie_on_the_chosen_grid(bits: int, values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    fmt = calibrate_mse(bits, x)
    units = quantize(x, fmt, "nearest") / fmt.step
    assert torch.equal(units, torch.round(units))
    assert fmt.min_code <= float(units.min()) and float(units.max()) <= fmt.max_code


@FAST
@given(bits=low_bits, values=weights)
def test_the_minimum_wins_and_a_tie_keeps_fewer_fraction_bits(bits: int, values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    chosen = calibrate_mse(bits, x)
    f_max = frac_bits_for_range(bits, float(x.abs().max()))
    candidates = [FixedPoint(bits, f_max + extra) for extra in range(3)] if float(x.abs().max()) > 0 else [chosen]
    error = squared_error(x, chosen)
    for fmt in candidates:
        if fmt.frac_bits < chosen.frac_bits:
            assert squared_error(x, fmt) > error
        else:
            assert squared_error(x, fmt) >= error


def test_one_outlier_is_clipped_when_that_refines_the_many_small_weights() -> None:
    # 2 bits: max-based Q2.0 (step 1) rounds every 0.3 to 0: error 10 * 0.09 = 0.9;
    # Q1.1 (step 1/2): 10 * 0.2**2 + (1 - 0.5)**2 = 0.65; Q0.2 (step 1/4, max 1/4): 10 * 0.05**2 + 0.75**2 = 0.5875
    x = torch.tensor([1.0] + [0.3] * 10, dtype=torch.float64)
    fmt = calibrate_mse(2, x)
    assert fmt == FixedPoint(2, 2)
    assert squared_error(x, fmt) == pytest.approx(0.5875)
    assert squared_error(x, FixedPoint(2, 0)) == pytest.approx(0.9)


def test_a_tensor_dominated_by_its_largest_weights_keeps_the_max_based_format() -> None:
    # 2 bits, [1, 1, 0.1]: Q2.0 errs 0.01 on 0.1; Q1.1 clips both ones by 0.5: 0.5 + 0.01
    x = torch.tensor([1.0, 1.0, 0.1], dtype=torch.float64)
    assert calibrate_mse(2, x) == calibrate(2, 1.0)


def test_equal_errors_keep_fewer_fraction_bits() -> None:
    # 2 bits, [1, 0.5]: Q2.0 rounds 0.5 down to 0 (ties go down), Q1.1 clips 1 to 0.5: both 0.25
    x = torch.tensor([1.0, 0.5], dtype=torch.float64)
    assert squared_error(x, FixedPoint(2, 0)) == squared_error(x, FixedPoint(2, 1)) == 0.25
    assert calibrate_mse(2, x) == FixedPoint(2, 0)


@pytest.mark.parametrize("values", [[0.0, 0.0], []])
def test_all_zero_or_empty_tensors_take_the_finest_max_based_format(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    assert calibrate_mse(4, x) == calibrate(4, 0.0) == FixedPoint(4, 3)


@FAST
@given(values=weights)
def test_binary_and_float_widths_keep_their_rules(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    assert calibrate_mse(1, x) == _max_based(1, x)
    assert calibrate_mse(FLOAT_BITS, x).is_float


def test_quant_config_records_the_calibration_and_reads_old_dicts_as_max() -> None:
    cfg = QuantConfig(scheme="ptq", weight_bits=(3, 4), membrane_bits=8, weight_calibration="mse")
    assert QuantConfig.from_dict(cfg.to_dict()) == cfg
    stored_before = {k: v for k, v in cfg.to_dict().items() if k != "weight_calibration"}
    assert QuantConfig.from_dict(stored_before).weight_calibration == "max"
    with pytest.raises(ValueError, match="weight_calibration"):
        QuantConfig(scheme="ptq", weight_bits=(4,), weight_calibration="percentile")
